"""How fast stance events go through the core into the database, against a baseline,
and how many transactions and statements one reaction costs.

Prints, for SQLite (a file, WAL, synchronous=FULL, BEGIN IMMEDIATE: storage.db's
settings) and for PostgreSQL (a throw-away server, skipped with a note when PostgreSQL
is not installed), all measured in this run:
  - raw: a bare SQLAlchemy single-row insert + commit, events/s;
  - core: reactions through Core.handle (the decision), events/s, and core/raw
    (target: >= 0.80);
  - writes alone: the two writes every counted reaction makes (its history record and
    its live mark), in one transaction, with no load and no decision: the floor under
    core/raw on this machine, and what the load and the decision add on top of it;
  - path: reactions through the whole runtime as Slack brings them (stored in the inbox,
    applied, the card edited on a recording platform), events/s, and path/raw;
  - transactions and statements per reaction, counted on the engine, for the decision
    and for the whole path (inbox and delivery included), on one workspace and on two
    Slack workspaces sharing the card's channel id;
  - on SQLite, the cost of one event on a proposal with 10 prior events vs 10,000
    (target: <= 1.5x), and of one on the whole path with a fifth of that before it.

Raw, core and path are measured in turns, in short blocks, so that the drift of a shared
machine hits each alike; absolute times are noisy, the ratios are the result.
Usage: python bench/stance_events.py [--events N] [--history N] [--repeats N]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, event, insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.slack import TRAITS as SLACK
from bot.domain.circle import Channel, CircleSpec, MemberSpec
from bot.domain.clock import ManualClock
from bot.domain.events import CommandEvent, ReactionEvent
from bot.domain.model import Mark, MarkSource, Role
from bot.domain.tally import reaction_key
from bot.handlers.core import Core
from bot.runtime.runner import Runtime
from storage import open_repository
from storage.db import make_engine
from tests import pgserver
from tests.runtime.test_runtime import RecordingAdapter

LEADERS = ("ana", "ben", "cy", "dee")
VOTERS = LEADERS[:3]  # dee never answers, so the proposal stays open
EMOJI = ("+1", "thinking_face", "neutral_face", "white_check_mark")
BLOCK = 50  # events per turn of each series
CHANNEL = "C0COUNCIL"


def circle(name: str = "council", team: str | None = None) -> CircleSpec:
    return CircleSpec(
        name=name,
        sides=("milpa", "vera"),
        members=tuple(
            MemberSpec(
                leader, "milpa" if i < 2 else "vera", Role.LEADER, handles={"slack": f"U{leader}"}
            )
            for i, leader in enumerate(LEADERS)
        ),
        admins=("ana",),
        channels={"slack": Channel(CHANNEL, team)} if team else {},
    )


class Counter:
    """Transactions begun and statements run on an engine (from any thread)."""

    def __init__(self, engine: Engine) -> None:
        self.transactions = 0
        self.statements = 0
        self._lock = threading.Lock()
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "before_cursor_execute", self._statement)

    def _begin(self, _connection: Any) -> None:
        with self._lock:
            self.transactions += 1

    def _statement(self, _connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("BEGIN"):
            return  # the transaction's own start (SQLite's BEGIN IMMEDIATE), not a statement
        with self._lock:
            self.statements += 1

    def read(self) -> tuple[int, int]:
        with self._lock:
            return self.transactions, self.statements


@dataclass(frozen=True)
class PerReaction:
    transactions: float
    statements: float

    def __str__(self) -> str:
        return f"{self.transactions:4.1f} transactions, {self.statements:5.1f} statements"


def reaction_number(n: int) -> tuple[str, str, bool]:
    """The n-th reaction of a series: who, which emoji, added or removed."""
    voter = VOTERS[n % len(VOTERS)]
    emoji = EMOJI[(n // len(VOTERS)) % len(EMOJI)]
    return voter, emoji, (n // (len(VOTERS) * len(EMOJI))) % 2 == 0


class CoreRig:
    """A core on its own database, with a clock that moves a second per event."""

    def __init__(self, url: str) -> None:
        self.clock = ManualClock(datetime(2026, 1, 5, 10, tzinfo=UTC))
        self.repo = open_repository(url)
        self.core = Core(self.repo, [circle()], self.clock, ["console"])
        self.core.start()
        self.counter = Counter(self.repo.engine)
        self.ids = itertools.count()
        self.pushed = itertools.count()

    def propose(self) -> int:
        self.core.handle(
            CommandEvent("console", f"p{next(self.ids)}", "council", "ana", "propose P by 4w")
        )
        with self.core.repo.transaction() as tx:
            return tx.proposals(newest_first=True, limit=1)[0].id

    def push(self, proposal_id: int, count: int) -> float:
        """Push `count` reactions; returns seconds taken."""
        start = time.perf_counter()
        for _ in range(count):
            voter, emoji, added = reaction_number(next(self.pushed))
            self.core.handle(
                ReactionEvent(
                    platform="console",
                    event_id=f"r{next(self.ids)}",
                    channel="council",
                    user=voter,
                    emoji=emoji,
                    added=added,
                    proposal_id=proposal_id,
                    at=self.clock.advance(timedelta(seconds=1)),
                )
            )
        return time.perf_counter() - start

    def per_reaction(self, proposal_id: int, count: int) -> PerReaction:
        before = self.counter.read()
        self.push(proposal_id, count)
        return _per(before, self.counter.read(), count)

    def close(self) -> None:
        self.repo.engine.dispose()


class FloorRig:
    """The writes a counted reaction cannot do without, alone: its history record and
    its live mark, through the repository, on a proposal the core opened."""

    def __init__(self, rig: CoreRig) -> None:
        self.rig = rig
        self.proposal_id = rig.propose()
        with rig.repo.transaction() as tx:
            proposal = tx.proposal(self.proposal_id)
        assert proposal is not None
        self.round = proposal.round
        self.ids = itertools.count()
        self.stored: set[tuple[str, str]] = set()  # (voter, emoji) with a live mark

    def push(self, count: int) -> float:
        start = time.perf_counter()
        for _ in range(count):
            n = next(self.ids)
            voter, emoji, added = reaction_number(n)
            at = self.rig.clock.advance(timedelta(seconds=1))
            event_id = f"w{n}"
            mark = Mark(voter, reaction_key(emoji), added, at, MarkSource("console", event_id))
            with self.rig.repo.transaction() as tx:
                tx.record(
                    circle_id=1,
                    kind="reaction",
                    actor=voter,
                    at=at,
                    platform="console",
                    event_id=event_id,
                    proposal_id=self.proposal_id,
                    round=self.round,
                    member=voter,
                    sign=mark.sign,
                    added=added,
                )
                replace = (voter, emoji) in self.stored
                tx.put_mark(self.proposal_id, self.round, mark, replace=replace)
            self.stored.add((voter, emoji))
        return time.perf_counter() - start


class PathRig:
    """The whole runtime, as Slack drives it: each reaction stored in the inbox, then
    applied, then the card edited on a recording platform. With `workspaces`, two
    circles in two Slack workspaces share the card's channel id (the case that must tell
    them apart) and events carry their workspace."""

    def __init__(self, url: str, workspaces: bool = False) -> None:
        self.clock = ManualClock(datetime(2026, 1, 5, 10, tzinfo=UTC))
        self.repo = open_repository(url)
        self.adapter = RecordingAdapter()
        if workspaces:
            self.adapter.platform = "slack"
            circles = [circle("council", "T1"), circle("elsewhere", "T2")]
            self.channel, self.workspace, self.user = CHANNEL, "T1", "U{}"
        else:
            circles = [circle()]
            self.channel, self.workspace, self.user = "council", None, "{}"
        platform = SLACK if workspaces else self.adapter.platform  # Slack ids, not names
        core = Core(self.repo, circles, self.clock, [platform])
        self.runtime = Runtime(core, [self.adapter])
        self.counter = Counter(self.repo.engine)
        self.ids = itertools.count()
        self.pushed = itertools.count()

    async def start(self) -> None:
        await self.runtime.start()
        # Scheduled work (the 10 s sweep) is not a reaction's: it would be counted and
        # timed with them, and its timers fire whenever this loop happens to run.
        self.runtime.scheduler.pause()
        propose = CommandEvent(
            self.adapter.platform,
            "p0",
            self.channel,
            self.user.format("ana"),
            "propose P by 4w",
            workspace=self.workspace,
        )
        await self.runtime.on_event(propose)
        (self.card,) = self.adapter.cards

    async def push(self, count: int) -> float:
        start = time.perf_counter()
        for _ in range(count):
            voter, emoji, added = reaction_number(next(self.pushed))
            reaction = ReactionEvent(
                platform=self.adapter.platform,
                event_id=f"r{next(self.ids)}",
                channel=self.channel,
                user=self.user.format(voter),
                emoji=emoji,
                added=added,
                message_ref=self.card,
                at=self.clock.advance(timedelta(seconds=1)),
                workspace=self.workspace,
            )
            await self.runtime.sink.accept(reaction)
            await self.runtime.sink(reaction)
        return time.perf_counter() - start

    async def per_reaction(self, count: int) -> PerReaction:
        await asyncio.sleep(0.1)  # the inbox's last removal written
        before = self.counter.read()
        edits = len(self.adapter.edits)
        await self.push(count)
        await asyncio.sleep(0.1)
        assert len(self.adapter.edits) > edits, "the card was never edited"
        return _per(before, self.counter.read(), count)

    async def stop(self) -> None:
        await self.runtime.stop()
        self.repo.engine.dispose()


def _per(before: tuple[int, int], after: tuple[int, int], count: int) -> PerReaction:
    return PerReaction((after[0] - before[0]) / count, (after[1] - before[1]) / count)


class RawRig:
    """The baseline: a bare single-row insert + commit."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.table = Table(
            "events",
            MetaData(),
            Column("id", Integer, primary_key=True),
            Column("event_id", String(255), unique=True),
        )
        self.table.metadata.create_all(self.engine)
        self.ids = itertools.count()

    def push(self, count: int) -> float:
        start = time.perf_counter()
        for _ in range(count):
            with self.engine.begin() as connection:
                connection.execute(insert(self.table).values(event_id=f"e{next(self.ids)}"))
        return time.perf_counter() - start

    def close(self) -> None:
        self.engine.dispose()


def in_blocks(count: int, series: dict[str, Callable[[int], float]]) -> dict[str, float]:
    """Seconds per event of each series, `count` events each, run in turns of BLOCK."""
    spent = dict.fromkeys(series, 0.0)
    done = 0
    while done < count:
        size = min(BLOCK, count - done)
        for name, push in series.items():
            spent[name] += push(size)
        done += size
    return {name: seconds / count for name, seconds in spent.items()}


def measure(
    label: str, new_url: Callable[[], str], args: argparse.Namespace, history: bool
) -> None:
    print(f"== {label}")
    raw = RawRig(new_url())
    rig = CoreRig(new_url())
    loop = asyncio.new_event_loop()
    path = PathRig(new_url())
    several = PathRig(new_url(), workspaces=True)
    path_long = PathRig(new_url())
    path_history = args.history // 5  # each costs a whole delivery: a fifth is enough
    try:
        loop.run_until_complete(path.start())
        loop.run_until_complete(several.start())
        loop.run_until_complete(path_long.start())
        short, long = rig.propose(), rig.propose()
        floor = FloorRig(rig)
        rig.push(short, 10)
        decision = rig.per_reaction(short, 60)
        whole = loop.run_until_complete(path.per_reaction(60))
        apart = loop.run_until_complete(several.per_reaction(60))
        if history:
            print(f"preparing: {args.history:,} prior events on one proposal…", file=sys.stderr)
            rig.push(long, args.history)
            print(f"preparing: {path_history:,} prior reactions on one card…", file=sys.stderr)
            loop.run_until_complete(path_long.push(path_history))
        series: dict[str, Callable[[int], float]] = {
            "raw": raw.push,
            "core": lambda n: rig.push(short, n),
            "writes": floor.push,
            "path": lambda n: loop.run_until_complete(path.push(n)),
        }
        if history:
            series["long"] = lambda n: rig.push(long, n)
            series["path_long"] = lambda n: loop.run_until_complete(path_long.push(n))
        runs = [in_blocks(args.events, series) for _ in range(args.repeats)]
    finally:
        loop.run_until_complete(path.stop())
        loop.run_until_complete(several.stop())
        loop.run_until_complete(path_long.stop())
        loop.close()
        rig.close()
        raw.close()

    def median(name: str) -> float:
        return statistics.median(run[name] for run in runs)

    def ratio(name: str, over: str) -> float:  # the median of each run's own ratio
        return statistics.median(run[over] / run[name] for run in runs)

    print(f"raw insert+commit     : {1 / median('raw'):8.0f} events/s")
    print(f"core stance event     : {1 / median('core'):8.0f} events/s")
    print(f"ratio core/raw        : {ratio('core', 'raw'):8.2f}   (target >= 0.80)")
    print(f"writes alone          : {1 / median('writes'):8.0f} events/s")
    print(f"ratio writes/raw      : {ratio('writes', 'raw'):8.2f}   (the floor under core/raw)")
    added = (median("core") - median("writes")) * 1e6
    print(f"load + decision add   : {added:8.0f} µs a reaction, on top of its writes")
    print(f"whole path, delivered : {1 / median('path'):8.0f} events/s")
    print(f"ratio path/raw        : {ratio('path', 'raw'):8.2f}")
    print(f"per reaction, decision (Core.handle)         : {decision}")
    print(f"per reaction, whole path (inbox, delivery)   : {whole}")
    print(f"per reaction, whole path, 2 Slack workspaces : {apart}")
    if history:
        short_m, long_m = median("core"), median("long")
        print(f"per event, 10 prior      : {short_m * 1e3:7.3f} ms")
        print(f"per event, {args.history:,} prior : {long_m * 1e3:7.3f} ms")
        print(f"ratio long/short      : {long_m / short_m:8.2f}   (target <= 1.50)")
        # The card drawn after each reaction reads the round: it must not read it all.
        path_m, path_long_m = median("path"), median("path_long")
        print(f"whole path, {path_history:,} prior : {path_long_m * 1e3:7.3f} ms a reaction")
        print(f"ratio path long/short : {path_long_m / path_m:8.2f}   (target <= 1.50)")


@contextmanager
def postgres() -> Iterator[Callable[[], str] | None]:
    """A throw-away PostgreSQL server: a new database for each call; None if there is
    no PostgreSQL here."""
    reason = pgserver.available()
    if reason is not None:
        print(f"== PostgreSQL: skipped ({reason})")
        yield None
        return
    with pgserver.PostgresServer() as server:
        yield lambda: server.create_database(f"bench_{uuid.uuid4().hex[:12]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000, help="events per measurement")
    parser.add_argument("--history", type=int, default=10_000, help="prior events, long case")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        files = (f"sqlite:///{Path(tmp) / f'{n}.db'}" for n in itertools.count())
        measure("SQLite", lambda: next(files), args, history=True)
    with postgres() as new_database:
        if new_database is not None:
            measure("PostgreSQL", new_database, args, history=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
