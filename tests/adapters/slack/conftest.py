"""The Slack adapter under test: the real Bolt AsyncApp (HTTP or Socket Mode) built by
build_adapter, a real Core + Runtime on SQLite, and the fake Slack it talks to."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from adapters.slack import TRAITS, SlackAdapter, build_adapter
from adapters.slack.config import SlackConfig
from bot.config import Config, StorageConfig
from bot.domain.circle import Channel, CircleSpec, MemberSpec, Rules
from bot.domain.clock import SystemClock
from bot.domain.model import Role, Status
from bot.handlers.core import Core
from bot.runtime.runner import Runtime
from storage import open_repository
from tests.adapters.slack.fakeslack import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    Answer,
    Delivery,
    FakeSlack,
    HttpDelivery,
    Message,
    SocketDelivery,
    block_action,
    command_payload,
    event_envelope,
    eventually,
    reaction_event,
)

CHANNEL = "CCOUNCIL"
USERS = {"ana": "UANA", "ben": "UBEN", "cy": "UCY", "dee": "UDEE", "eve": "UEVE"}
LEADERS = ("ana", "ben", "cy", "dee")


def texts(blocks: list[dict[str, Any]] | None) -> str:
    """Every text on a Block Kit surface, one per line (buttons' labels included)."""
    found: list[str] = []
    for block in blocks or []:
        if isinstance(block.get("text"), dict):
            found.append(block["text"]["text"])
        for element in block.get("elements", []):
            if isinstance(element, dict) and "text" in element:
                text = element["text"]
                found.append(text["text"] if isinstance(text, dict) else text)
    return "\n".join(found)


def council(**rules: Any) -> CircleSpec:
    return CircleSpec(
        name="council",
        sides=("milpa", "vera"),
        members=(
            MemberSpec("ana", "milpa", Role.LEADER, handles={"slack": "UANA"}),
            MemberSpec("ben", "milpa", Role.LEADER, handles={"slack": "UBEN"}),
            MemberSpec("cy", "vera", Role.LEADER, handles={"slack": "UCY"}),
            MemberSpec("dee", "vera", Role.LEADER, handles={"slack": "UDEE"}),
            MemberSpec("eve", "milpa", Role.MEMBER, handles={"slack": "UEVE"}),
        ),
        admins=("ana",),
        timezone="America/Los_Angeles",
        rules=Rules(**rules),
        channels={"slack": Channel(CHANNEL)},
    )


def env_for(mode: str) -> dict[str, str]:
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN}
    if mode == "http":
        env["SLACK_SIGNING_SECRET"] = SIGNING_SECRET
    else:
        env["SLACK_APP_TOKEN"] = APP_TOKEN
    return env


class Rig:
    """One running bot on Slack (fake), driven like Slack drives it."""

    def __init__(
        self,
        fake: FakeSlack,
        path: Path,
        mode: str,
        spec: CircleSpec,
        edit_interval: float = 0.2,
        timeout: float = 15.0,
    ) -> None:
        self.fake = fake
        self.timeout = timeout
        self.edit_interval = edit_interval
        self.path = path
        self.mode = mode
        self.spec = spec
        self.config = Config(
            storage=StorageConfig(f"sqlite:///{path}"),
            platforms={
                "slack": SlackConfig(mode=mode, host="127.0.0.1", port=0, api_url=fake.api_url)
            },
            circles=(spec,),
            warnings=(),
            path="test.toml",
        )
        self.runtime, self.adapter = self._build()
        self.deliver: Delivery = SocketDelivery(fake)
        self.http: HttpDelivery | None = None

    def _build(self) -> tuple[Runtime, SlackAdapter]:
        adapter = build_adapter(self.config, env_for(self.mode))
        adapter.backoff = 0.05  # fast retries on 5xx for the tests
        adapter.timeout = self.timeout
        adapter.body_timeout = 1.0  # a body that stops short of its length: answered sooner
        # Slack's real pace is 3.0 s between edits of a card (the burst test keeps it);
        # the flows need not wait that long between steps.
        adapter.edit_interval = self.edit_interval
        repo = open_repository(self.config.storage.url)
        core = Core(repo, self.config.circles, SystemClock(), [TRAITS])
        return Runtime(core, [adapter]), adapter

    @property
    def core(self) -> Core:
        return self.runtime.core

    async def start(self) -> None:
        await self.runtime.start()
        if self.mode == "http":
            if self.http is None:
                self.http = HttpDelivery(f"http://127.0.0.1:{self.adapter.port}/slack/events")
            self.http.url = f"http://127.0.0.1:{self.adapter.port}/slack/events"
            self.deliver = self.http
        else:
            await eventually(lambda: self.fake.sockets, 5.0, "the socket mode connection")

    async def stop(self) -> None:
        await self.runtime.stop()
        self.runtime.core.repo.engine.dispose()

    async def restart(self) -> None:
        await self.stop()
        self.runtime, self.adapter = self._build()
        await self.start()

    async def close(self) -> None:
        await self.stop()
        if self.http is not None:
            await self.http.close()

    # -- driving -------------------------------------------------------------------

    async def command(
        self, who: str, command: str, text: str, channel: str = CHANNEL, **more: Any
    ) -> Answer:
        payload = command_payload(
            command, text, USERS.get(who, who), channel, self.fake.response_url(who), **more
        )
        return await self.deliver.command(payload)

    async def propose(self, text: str, who: str = "ana") -> Message:
        before = len(self.fake.channel_messages(CHANNEL))
        await self.command(who, "/propose", text)
        await eventually(lambda: len(self.fake.channel_messages(CHANNEL)) > before, what="the card")
        return self.fake.channel_messages(CHANNEL)[-1]

    async def react(
        self,
        who: str,
        name: str,
        card: Message,
        added: bool = True,
        event_id: str | None = None,
        retry: int = 0,
        **more: Any,
    ) -> Answer:
        event = reaction_event(USERS.get(who, who), name, card.ts, card.channel, added, **more)
        return await self.deliver.event(event_envelope(event, event_id), retry=retry)

    async def click(self, who: str, stance: str, card: Message) -> Answer:
        payload = block_action(
            USERS.get(who, who), f"circlebot_stance:{stance}", "1", card.ts, card.channel
        )
        return await self.deliver.interactive(payload)

    async def cosponsor(self, who: str, card: Message, proposal: str = "1") -> Answer:
        """Press the Co-sponsor button of a draft's card."""
        payload = block_action(
            USERS.get(who, who), "circlebot_cosponsor", proposal, card.ts, card.channel
        )
        return await self.deliver.interactive(payload)

    # -- looking -------------------------------------------------------------------

    def tally(self, card: Message) -> str:
        """The card's tally line as shown on Slack."""
        assert card.blocks is not None
        for block in card.blocks:
            text = (block.get("text") or {}).get("text", "")
            if text.startswith("*Tally*"):
                return str(text.removeprefix("*Tally*").strip())
        raise AssertionError("no tally on the card")

    def has_buttons(self, card: Message) -> bool:
        return any(block["type"] == "actions" for block in card.blocks or [])

    async def shows(self, card: Message, tally: str) -> None:
        await eventually(lambda: self.tally(card) == tally, what=f"the tally {tally!r}")

    async def status(self, pid: int = 1) -> Status:
        state = await self.runtime.call(self.core.state, pid)
        return Status(state.proposal.status)

    async def history(self) -> list[dict[str, Any]]:
        def read() -> list[dict[str, Any]]:
            with self.core.repo.transaction() as tx:
                return tx.history()

        rows: list[dict[str, Any]] = await self.runtime.call(read)
        return rows


RigFactory = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack().start()
    yield server
    await server.close()


@pytest.fixture
async def make_rig(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[RigFactory]:
    made: list[Rig] = []
    counter = itertools.count()

    async def build(
        mode: str = "http",
        spec: CircleSpec | None = None,
        edit_interval: float = 0.2,
        timeout: float = 15.0,
        **rules: Any,
    ) -> Rig:
        chosen = spec or council(**rules)
        if spec is not None and rules:
            chosen = replace(spec, rules=Rules(**rules))
        rig = Rig(fake, tmp_path / f"bot{next(counter)}.db", mode, chosen, edit_interval, timeout)
        await rig.start()
        made.append(rig)
        return rig

    yield build
    for rig in made:
        await rig.close()


@pytest.fixture(params=["http", "socket"])
async def rig(request: pytest.FixtureRequest, make_rig: RigFactory) -> Rig:
    """The bot, over HTTP (signed requests) and over Socket Mode."""
    return await make_rig(request.param)


@pytest.fixture
async def http_rig(make_rig: RigFactory) -> Rig:
    return await make_rig("http")
