"""Fixtures for the core: a Core over a real temporary database, a ManualClock, the
console platform, and a small circle (two sides, two leaders each, one voice)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import adapters.matrix
import adapters.slack
from bot.domain.circle import Channel, CircleSpec, MemberSpec, Rules
from bot.domain.clock import ManualClock
from bot.domain.events import CommandEvent, ReactionEvent
from bot.domain.model import PendingMessage, Proposal, Role
from bot.handlers.core import Core, RoundState
from bot.ports.platform import PlatformTraits, traits_of
from bot.text.messages import Reply
from storage import open_repository
from storage.repository import Repository

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # a Monday, 02:00 in Los Angeles
CIRCLE = "council"

MEMBERS = (
    MemberSpec("ana", "milpa", Role.LEADER),
    MemberSpec("ben", "milpa", Role.LEADER),
    MemberSpec("cy", "vera", Role.LEADER),
    MemberSpec("dee", "vera", Role.LEADER),
    MemberSpec("eve", "milpa", Role.MEMBER),  # a voice
)


def make_spec(name: str = CIRCLE, **rules: Any) -> CircleSpec:
    return CircleSpec(
        name=name,
        sides=("milpa", "vera"),
        members=MEMBERS,
        timezone="America/Los_Angeles",
        admins=("ana",),
        rules=Rules(**rules),
        channels={"matrix": Channel(f"!{name}:example.org")},
    )


def traits(platforms: Sequence[str]) -> list[PlatformTraits]:
    """What the core knows of each platform, as its plug-in says (the console's and a
    made-up platform's: known by their names)."""
    known = {adapters.slack.TRAITS.name: adapters.slack.TRAITS}
    known[adapters.matrix.TRAITS.name] = adapters.matrix.TRAITS
    return [known.get(name) or traits_of(name) for name in platforms]


class Harness:
    """A Core plus what tests need to drive it and look inside."""

    def __init__(
        self,
        url: str,
        specs: Sequence[CircleSpec],
        platforms: Sequence[str] = ("console",),
        clock: ManualClock | None = None,
    ) -> None:
        self.url = url
        self.specs = list(specs)
        self.platforms = tuple(platforms)
        self.clock = clock or ManualClock(T0)
        self.repo: Repository = open_repository(url)
        self.core = Core(self.repo, self.specs, self.clock, traits(self.platforms))
        self.start_notes = self.core.start()
        self._ids = itertools.count(1)
        self._repos = [self.repo]

    # -- driving -----------------------------------------------------------------------

    def next_id(self, prefix: str = "ev") -> str:
        return f"{prefix}{next(self._ids)}"

    def cmd(
        self,
        user: str,
        text: str,
        *,
        event_id: str | None = None,
        channel: str = CIRCLE,
        platform: str = "console",
    ) -> list[Reply]:
        event = CommandEvent(platform, event_id or self.next_id("c"), channel, user, text)
        return self.core.handle(event)

    def ok(self, user: str, text: str, **kwargs: Any) -> str:
        replies = self.cmd(user, text, **kwargs)
        assert len(replies) == 1, replies
        assert replies[0].ok, replies[0].text
        return replies[0].text

    def refused(self, user: str, text: str, **kwargs: Any) -> str:
        replies = self.cmd(user, text, **kwargs)
        assert len(replies) == 1, replies
        assert replies[0].ok is False, replies[0].text
        return replies[0].text

    def propose(self, user: str = "ana", text: str = "Adopt the visiting policy") -> int:
        reply = self.ok(user, f"propose {text}")
        assert reply.startswith("Proposal #"), reply
        return int(reply.split("#")[1].split()[0])

    def react(
        self,
        user: str,
        emoji: str,
        pid: int,
        *,
        added: bool = True,
        at: datetime | None = None,
        event_id: str | None = None,
        platform: str = "console",
        channel: str = CIRCLE,
        move_clock: bool = True,
    ) -> str:
        """A reaction made at `at`. The clock moves there first (a platform stamps an event
        no later than it arrives) unless `move_clock` is False."""
        event_id = event_id or self.next_id("r")
        if at is not None and move_clock and at > self.clock.now():
            self.clock.set(at)
        self.core.handle(
            ReactionEvent(
                platform=platform,
                event_id=event_id,
                channel=channel,
                user=user,
                emoji=emoji,
                added=added,
                proposal_id=pid,
                at=at,
            )
        )
        return event_id

    def tick(self, **span: float) -> datetime:
        return self.clock.advance(timedelta(**span))

    def advance_to(self, moment: datetime) -> list[int]:
        self.clock.set(moment)
        return self.core.advance()

    # -- looking inside ------------------------------------------------------------------

    def state(self, pid: int) -> RoundState:
        return self.core.state(pid)

    def rebuilt_state(self, pid: int) -> RoundState:
        """The proposal's state recomputed from the append-only history alone."""
        with self.core.repo.transaction() as tx:
            proposal = tx.proposal(pid)
            assert proposal is not None
            return self.core.ctx.rounds.rebuilt_state(tx, proposal)

    def proposal(self, pid: int) -> Proposal:
        with self.repo.transaction() as tx:
            found = tx.proposal(pid)
        assert found is not None, pid
        return found

    def proposals(self) -> list[Proposal]:
        with self.repo.transaction() as tx:
            return tx.proposals()

    def history(self, **match: Any) -> list[dict[str, Any]]:
        with self.repo.transaction() as tx:
            rows = tx.history()
        return [r for r in rows if all(r[k] == v for k, v in match.items())]

    def pending(self, platform: str = "console") -> list[PendingMessage]:
        with self.repo.transaction() as tx:
            return tx.pending_messages(platform)

    def outcomes(self, pid: int, platform: str = "console") -> list[PendingMessage]:
        return [
            m for m in self.pending(platform) if m.proposal_id == pid and m.payload.get("outcome")
        ]

    def notices(self, pid: int, platform: str = "console") -> list[str]:
        texts = []
        for m in self.pending(platform):
            if m.proposal_id == pid and "notice" in m.payload:
                texts.append(
                    "".join(
                        p if isinstance(p, str) else f"@{p['member']}" for p in m.payload["notice"]
                    )
                )
        return texts

    def card_versions(self, pid: int) -> dict[str, int]:
        with self.repo.transaction() as tx:
            return {c.platform: c.version for c in tx.cards(pid)}

    def snapshot(self) -> tuple[Any, ...]:
        """Everything a refused command must leave unchanged."""
        with self.repo.transaction() as tx:
            return (
                tx.history(),
                tx.proposals(),
                [tx.pending_messages(p) for p in ("console", "slack", "matrix")],
                tx.members(tx.circle_id(CIRCLE) or 0),
                {p.id: tx.marks(p.id, p.round) for p in tx.proposals()},
                {p.id: tx.cards(p.id) for p in tx.proposals()},
            )

    # -- restarting ----------------------------------------------------------------------

    def restart(self, specs: Sequence[CircleSpec] | None = None) -> Core:
        """A new Core (and a new engine) on the same database, as after a process restart."""
        if specs is not None:
            self.specs = list(specs)
        self.repo = open_repository(self.url)
        self._repos.append(self.repo)
        self.core = Core(self.repo, self.specs, self.clock, traits(self.platforms))
        self.start_notes = self.core.start()
        return self.core

    def close(self) -> None:
        for repo in self._repos:
            repo.engine.dispose()


HarnessFactory = Callable[..., Harness]


@pytest.fixture
def make_harness(tmp_path: Path) -> Iterator[HarnessFactory]:
    """Build a Harness: make_harness(url=None, specs=None, platforms=("console",), **rules)."""
    made: list[Harness] = []
    counter = itertools.count()

    def build(
        url: str | None = None,
        specs: Sequence[CircleSpec] | None = None,
        platforms: Sequence[str] = ("console",),
        **rules: Any,
    ) -> Harness:
        url = url or f"sqlite:///{tmp_path}/core{next(counter)}.db"
        harness = Harness(url, specs or [make_spec(**rules)], platforms)
        made.append(harness)
        return harness

    yield build
    for harness in made:
        harness.close()


@pytest.fixture
def h(make_harness: HarnessFactory) -> Harness:
    """The default circle on a temporary SQLite database."""
    return make_harness()


@pytest.fixture
def hdb(make_harness: HarnessFactory, db_url: str) -> Harness:
    """The default circle on each backend (SQLite and PostgreSQL)."""
    return make_harness(url=db_url)


@pytest.fixture(name="make_spec")
def make_spec_fixture() -> Callable[..., CircleSpec]:
    """make_spec(name="council", **rules): the default circle with other rules."""
    return make_spec
