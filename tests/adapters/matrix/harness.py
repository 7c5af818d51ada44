"""Real Matrix users and a real bot for the adapter tests (and the latency bench).

`Person` is a user with their own nio client that keeps syncing and records every
timeline event with its arrival time; tests wait on conditions over what arrived.
`InProcessBot` runs the real Runtime + Core + MatrixAdapter on a SQLite file;
`bot_config_toml` writes a config for a real `circlebot run` subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nio

from adapters.matrix import TRAITS, MatrixAdapter
from adapters.matrix.config import MatrixConfig
from bot.domain.circle import Channel, CircleSpec, MemberSpec
from bot.domain.clock import SystemClock
from bot.domain.model import Role
from bot.handlers.core import Core
from bot.runtime.runner import Runtime
from storage import open_repository
from tests.synapse_server import Account, SynapseServer

Event = dict[str, Any]
WAIT = 30.0  # seconds: the longest any condition in these tests may take
SIDES = {"ana": "milpa", "ben": "milpa", "cy": "vera", "dee": "vera"}
_names = itertools.count(1)


@dataclass(frozen=True)
class Cast:
    bot: Account
    ana: Account
    ben: Account
    cy: Account
    dee: Account
    eve: Account


def register_cast(server: SynapseServer) -> Cast:
    return Cast(
        bot=server.register("circlebot"),
        **{name: server.register(name) for name in ("ana", "ben", "cy", "dee", "eve")},
    )


def circle_spec(cast: Cast, room: str, name: str = "council") -> CircleSpec:
    return CircleSpec(
        name=name,
        sides=("milpa", "vera"),
        members=tuple(
            MemberSpec(person, side, Role.LEADER, handles={"matrix": getattr(cast, person).user_id})
            for person, side in SIDES.items()
        ),
        admins=("ana",),
        channels={"matrix": Channel(room)},
    )


def bot_config_toml(server_url: str, cast: Cast, room: str, db: Path) -> str:
    members = "\n".join(
        f'[[circles.members]]\nname = "{person}"\nside = "{side}"\nrole = "leader"\n'
        f'matrix = "{getattr(cast, person).user_id}"\n'
        for person, side in SIDES.items()
    )
    return (
        f'[storage]\nurl = "sqlite:///{db}"\n\n'
        f'[matrix]\nhomeserver = "{server_url}"\nuser_id = "{cast.bot.user_id}"\n'
        f'command_prefix = "!"\n\n'
        f'[[circles]]\nname = "council"\nmatrix_room = "{room}"\ntimezone = "UTC"\n'
        f'sides = ["milpa", "vera"]\nadmins = ["ana"]\n\n{members}'
    )


def content(event: Event) -> dict[str, Any]:
    found = event.get("content")
    return found if isinstance(found, dict) else {}


def relation(event: Event) -> dict[str, Any]:
    found = content(event).get("m.relates_to")
    return found if isinstance(found, dict) else {}


def shown(event: Event) -> dict[str, Any]:
    """What a client displays for a message: the new content of an edit."""
    new = content(event).get("m.new_content")
    return new if isinstance(new, dict) else content(event)


async def until(check: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    """Poll a cheap condition (a database row, a flag, a counter) until it holds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)  # polling a condition, with a deadline


class Person:
    """A Matrix user with a client that keeps syncing in the background. With a
    `store_path`, an end-to-end encryption capable device: it uploads its keys, sends
    encrypted in encrypted rooms and records what it received decrypted."""

    def __init__(self, url: str, account: Account, store_path: Path | None = None) -> None:
        self.account = account
        self.user_id = account.user_id
        if store_path is None:
            self.client = nio.AsyncClient(url, account.user_id)
        else:
            config = nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False)
            self.client = nio.AsyncClient(
                url, account.user_id, store_path=str(store_path), config=config
            )
        self.client.access_token = account.access_token
        self.client.user_id = account.user_id
        self.client.device_id = account.device_id
        if store_path is not None:
            self.client.load_store()
        self.arrived: list[tuple[float, str, Event]] = []  # (monotonic time, room, event)
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._since: str | None = None

    async def start(self) -> None:
        first = await self.client.sync(timeout=0, sync_filter={"room": {"timeline": {"limit": 1}}})
        assert isinstance(first, nio.SyncResponse), first
        self._since = first.next_batch
        await self._keys()
        self._task = asyncio.create_task(self._loop())

    async def _keys(self) -> None:
        """An encrypting device's chores after a sync: publish its keys, learn the other
        devices' keys, and send out the room keys it owes them."""
        client = self.client
        if client.olm is None:
            return
        if client.should_upload_keys:
            await self._ok(await client.keys_upload(), "uploading keys")
        if client.should_query_keys:
            await self._ok(await client.keys_query(), "querying keys")
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    def knows_device(self, user_id: str, device_id: str) -> bool:
        """This (encrypting) client has the keys of that device: it will share room keys
        with it."""
        if self.client.olm is None:
            return False
        return any(
            device.id == device_id
            for device in self.client.device_store.active_user_devices(user_id)
        )

    async def wait_for_device(self, user_id: str, device_id: str) -> None:
        await until(
            lambda: self.knows_device(user_id, device_id),
            f"{self.user_id} to learn {user_id}'s device {device_id}",
        )

    async def _loop(self) -> None:
        delay = 0.05
        while True:
            try:
                answer = await self.client.sync(timeout=10_000, since=self._since)
            except (OSError, TimeoutError, nio.ProtocolError, Exception):  # server down
                await asyncio.sleep(delay)  # retrying, not waiting for an outcome
                delay = min(delay * 2, 1.0)
                continue
            if not isinstance(answer, nio.SyncResponse):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            delay = 0.05
            now = time.monotonic()
            self._since = answer.next_batch
            for room, info in answer.rooms.join.items():
                for event in info.timeline.events:
                    self.arrived.append((now, room, event.source))
            for room in answer.rooms.invite:
                self.arrived.append((now, room, {"type": "invite"}))
            self._changed.set()
            with contextlib.suppress(Exception):  # tried again after the next sync
                await self._keys()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.close()

    def events(self, room: str, since: float = 0.0) -> list[Event]:
        return [event for at, where, event in self.arrived if where == room and at >= since]

    async def wait_for(
        self,
        room: str,
        check: Callable[[Event], bool],
        what: str,
        timeout: float = WAIT,
        after: float = 0.0,
    ) -> Event:
        """The first event in `room` that passes `check` (among those that arrived at or
        after the monotonic time `after`), waiting up to `timeout`."""
        seen = 0
        deadline = time.monotonic() + timeout
        while True:
            events = self.events(room, since=after)
            for event in events[seen:]:
                if check(event):
                    return event
            seen = len(events)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.user_id} never saw {what} in {room}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=left)

    async def wait_arrival(
        self,
        room: str,
        check: Callable[[Event], bool],
        what: str,
        timeout: float = WAIT,
        after: float = 0.0,
    ) -> tuple[float, Event]:
        """Like wait_for, with the time (monotonic) the event arrived."""
        event = await self.wait_for(room, check, what, timeout, after)
        for at, where, candidate in self.arrived:
            if where == room and candidate is event:
                return at, event
        raise AssertionError("unreachable")

    async def _ok(self, answer: Any, what: str) -> Any:
        if isinstance(answer, nio.ErrorResponse):
            raise AssertionError(f"{self.user_id}: {what} failed: {answer}")
        return answer

    async def _send(self, room: str, kind: str, body: dict[str, Any]) -> Any:
        # In an encrypted room: share the room key with every device, verified or not.
        return await self.client.room_send(room, kind, body, ignore_unverified_devices=True)

    async def create_room(
        self, invite: Sequence[str] = (), encrypted: bool = False, alias: str | None = None
    ) -> str:
        state = []
        if encrypted:
            state.append(
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            )
        answer = await self._ok(
            await self.client.room_create(
                name=f"circle {next(_names)}",
                invite=list(invite),
                initial_state=state,
                alias=alias,
            ),
            "creating a room",
        )
        return str(answer.room_id)

    async def join(self, room: str) -> None:
        await self._ok(await self.client.join(room), f"joining {room}")

    async def invite(self, room: str, user: str) -> None:
        await self._ok(await self.client.room_invite(room, user), f"inviting {user}")

    async def say(self, room: str, text: str, html: str | None = None) -> str:
        body: dict[str, Any] = {"msgtype": "m.text", "body": text}
        if html is not None:
            body |= {"format": "org.matrix.custom.html", "formatted_body": html}
        answer = await self._ok(await self._send(room, "m.room.message", body), "say")
        return str(answer.event_id)

    async def say_in_thread(self, room: str, root: str, text: str) -> str:
        body = {
            "msgtype": "m.text",
            "body": text,
            "m.relates_to": {"rel_type": "m.thread", "event_id": root},
        }
        answer = await self._ok(await self._send(room, "m.room.message", body), "say")
        return str(answer.event_id)

    async def react(self, room: str, target: str, key: str) -> str:
        body = {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}}
        answer = await self._ok(await self._send(room, "m.reaction", body), "react")
        return str(answer.event_id)

    async def redact(self, room: str, event_id: str) -> str:
        answer = await self._ok(await self.client.room_redact(room, event_id), "redact")
        return str(answer.event_id)


# Words the English renderings use; none may be left in a Spanish one.
ENGLISH = re.compile(
    r"\b(Proposal|by|Round|answer|React|Tally|Waiting|on|Voices|Co-sponsored|Review|"
    r"Closed|round|Draft|needs|co-sponsor|side|before|voting|opens|open|draft|passed|"
    r"blocked|withdrawn|quorum|consent|consents|consenting|concern|objecting|object|"
    r"objection|stand|aside|Objected|Stood|Consented|closes|late|offline|due|waiting|"
    r"Everyone|answered|of|shortened|status|shows|Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Jul)\b"
)
_TAGS = re.compile(r"<(/?)(p|strong|em|blockquote|br|span|a|code)\b[^>]*>")


def english_words(text: str) -> list[str]:
    """The English words in a rendering (HTML tags and their attributes ignored, but for
    a span's title, which people read)."""
    titles = " ".join(re.findall(r'title="([^"]*)"', text))
    return ENGLISH.findall(_TAGS.sub(" ", text) + " " + titles)


def has_body(text: str) -> Callable[[Event], bool]:
    return lambda event: content(event).get("body") == text


def has_id(event_id: str) -> Callable[[Event], bool]:
    return lambda event: event.get("event_id") == event_id


def is_card(bot: str, number: int | None = None) -> Callable[[Event], bool]:
    """The bot's original card message (not an edit)."""

    def check(event: Event) -> bool:
        body = content(event).get("body", "")
        title = "Proposal #" if number is None else f"Proposal #{number} by"
        return (
            event.get("sender") == bot
            and event.get("type") == "m.room.message"
            and "m.new_content" not in content(event)
            and isinstance(body, str)
            and body.startswith("── ")
            and title in body
        )

    return check


def is_edit_of(bot: str, card: str, needle: str = "") -> Callable[[Event], bool]:
    def check(event: Event) -> bool:
        return (
            event.get("sender") == bot
            and relation(event).get("rel_type") == "m.replace"
            and relation(event).get("event_id") == card
            and needle in str(shown(event).get("body", ""))
        )

    return check


def in_thread_of(bot: str, card: str, needle: str = "") -> Callable[[Event], bool]:
    def check(event: Event) -> bool:
        return (
            event.get("sender") == bot
            and relation(event).get("rel_type") == "m.thread"
            and relation(event).get("event_id") == card
            and needle in str(content(event).get("body", ""))
        )

    return check


def reply_to(bot: str, command: str) -> Callable[[Event], bool]:
    def check(event: Event) -> bool:
        reply = relation(event).get("m.in_reply_to")
        return (
            event.get("sender") == bot
            and isinstance(reply, dict)
            and reply.get("event_id") == command
        )

    return check


class InProcessBot:
    """The real Runtime, Core and MatrixAdapter on a SQLite file, in this event loop."""

    def __init__(
        self,
        server: SynapseServer,
        account: Account,
        circles: Sequence[CircleSpec],
        db: Path,
        store_path: Path | None = None,
        **adapter_options: Any,
    ) -> None:
        self.server = server
        self.account = account
        self.circles = list(circles)
        self.db = db
        self.store_path = store_path  # matrix.store_path: the bot's encryption keys
        self.options = adapter_options
        self.adapter: MatrixAdapter | None = None
        self.runtime: Runtime | None = None
        self._task: asyncio.Task[None] | None = None

    def _config(self) -> MatrixConfig:
        return MatrixConfig(
            homeserver=self.server.url,
            user_id=self.account.user_id,
            store_path=None if self.store_path is None else str(self.store_path),
        )

    async def start(self, **overrides: Any) -> MatrixAdapter:
        """Start like Runtime.run() does: start everything (the adapter catches up, the
        runtime reads the cards back), then serve in the background."""
        core = Core(open_repository(f"sqlite:///{self.db}"), self.circles, SystemClock(), [TRAITS])
        options = {"access_token": self.account.access_token, **self.options, **overrides}
        self.adapter = MatrixAdapter(self._config(), self.circles, **options)
        self.runtime = Runtime(core, [self.adapter])
        try:
            await asyncio.wait_for(self.runtime.start(), timeout=WAIT)
        except BaseException:
            await self.runtime.stop()
            raise
        self._task = asyncio.create_task(self._serve(self.runtime, self.adapter))
        return self.adapter

    @staticmethod
    async def _serve(runtime: Runtime, adapter: MatrixAdapter) -> None:
        try:
            await adapter.run()
        finally:
            await runtime.stop()

    async def stop(self) -> None:
        if self.adapter is not None:
            await self.adapter.stop()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout=WAIT)
            self._task = None

    @property
    def core(self) -> Core:
        assert self.runtime is not None
        return self.runtime.core


def fresh_bot(
    synapse: SynapseServer, cast: Cast, room: str, db: Path, **options: object
) -> InProcessBot:
    # A new device (access token) per test: transaction ids are scoped to a device.
    return InProcessBot(synapse, synapse.login(cast.bot), [circle_spec(cast, room)], db, **options)
