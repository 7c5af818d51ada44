"""How fast stance events go through the core into SQLite, against a baseline.

Prints, all measured in this run on the same kind of database (SQLite file, WAL,
synchronous=FULL, BEGIN IMMEDIATE — storage.db's settings):
  - raw: a bare SQLAlchemy single-row insert + commit, events/s;
  - core: reactions through Core.handle, one transaction each as in real use, events/s;
  - the ratio core/raw (target: >= 0.5);
  - the cost of one event on a proposal with 10 prior events vs 10,000 (target: <= 1.5x).

Absolute times on these machines are noisy; the ratios are the result.
Usage: python bench/stance_events.py [--events N] [--history N] [--repeats N]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.circle import CircleSpec, MemberSpec
from bot.clock import ManualClock
from bot.core import Core
from bot.events import CommandEvent, ReactionEvent
from bot.model import Role
from storage import open_repository
from storage.db import make_engine

LEADERS = ("ana", "ben", "cy", "dee")
VOTERS = LEADERS[:3]  # dee never answers, so the proposal stays open
EMOJI = ("+1", "thinking_face", "neutral_face", "white_check_mark")


def circle() -> CircleSpec:
    return CircleSpec(
        name="council",
        sides=("milpa", "vera"),
        members=tuple(
            MemberSpec(name, "milpa" if i < 2 else "vera", Role.LEADER)
            for i, name in enumerate(LEADERS)
        ),
        admins=("ana",),
    )


class CoreRig:
    """A core on its own SQLite file, with a clock that moves a second per event."""

    def __init__(self, folder: Path) -> None:
        self.clock = ManualClock(datetime(2026, 1, 5, 10, tzinfo=UTC))
        self.core = Core(
            open_repository(f"sqlite:///{folder / 'core.db'}"), [circle()], self.clock, ["console"]
        )
        self.core.start()
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
            n = next(self.pushed)
            voter = VOTERS[n % len(VOTERS)]
            emoji = EMOJI[(n // len(VOTERS)) % len(EMOJI)]
            self.core.handle(
                ReactionEvent(
                    platform="console",
                    event_id=f"r{next(self.ids)}",
                    channel="council",
                    user=voter,
                    emoji=emoji,
                    added=(n // (len(VOTERS) * len(EMOJI))) % 2 == 0,
                    proposal_id=proposal_id,
                    at=self.clock.advance(timedelta(seconds=1)),
                )
            )
        return time.perf_counter() - start


def raw_rate(folder: Path, count: int) -> float:
    engine = make_engine(f"sqlite:///{folder / 'raw.db'}")
    table = Table(
        "events",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("event_id", String(255), unique=True),
    )
    table.metadata.create_all(engine)
    start = time.perf_counter()
    for n in range(count):
        with engine.begin() as connection:
            connection.execute(insert(table).values(event_id=f"e{n}-{start}"))
    elapsed = time.perf_counter() - start
    engine.dispose()
    return count / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000, help="events per measurement")
    parser.add_argument("--history", type=int, default=10_000, help="prior events, long case")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rig = CoreRig(folder)
        short, long = rig.propose(), rig.propose()
        rig.push(short, 10)
        print(f"preparing: {args.history:,} prior events on one proposal…", file=sys.stderr)
        rig.push(long, args.history)

        raw, core, short_cost, long_cost = [], [], [], []
        for _ in range(args.repeats):  # interleaved, so drift hits every series alike
            raw.append(raw_rate(folder, args.events))
            seconds = rig.push(short, args.events)
            core.append(args.events / seconds)
            short_cost.append(seconds / args.events)
            long_cost.append(rig.push(long, args.events) / args.events)

    raw_m, core_m = statistics.median(raw), statistics.median(core)
    short_m, long_m = statistics.median(short_cost), statistics.median(long_cost)
    print(f"raw insert+commit : {raw_m:8.0f} events/s")
    print(f"core stance event : {core_m:8.0f} events/s")
    print(f"ratio core/raw    : {core_m / raw_m:8.2f}   (target >= 0.50)")
    print(f"per event, 10 prior     : {short_m * 1e3:7.3f} ms")
    print(f"per event, {args.history:,} prior : {long_m * 1e3:7.3f} ms")
    print(f"ratio long/short  : {long_m / short_m:8.2f}   (target <= 1.50)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
