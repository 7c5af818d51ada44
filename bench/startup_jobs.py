"""Start-up with many open proposals: how long rebuilding every scheduler job takes.

Each open proposal needs a deadline job and one job per reminder offset (three per
proposal with the default 24h and 1h reminders). The jobs are derived from the database
on every start, so this is start-up cost. Printed next to a baseline measured in the same
run: reading the same proposals' rows with a bare SELECT.

Usage: python bench/startup_jobs.py [--proposals N]   (target: 10,000 in under 2 s)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stance_events import circle
from bot.domain.clock import ManualClock
from bot.domain.events import CommandEvent
from bot.handlers.core import Core
from bot.runtime.runner import Runtime
from storage import open_repository


def fill(url: str, count: int) -> None:
    clock = ManualClock(datetime.now(UTC))
    core = Core(open_repository(url), [circle()], clock)
    core.start()
    for n in range(count):
        clock.advance(timedelta(seconds=1))
        core.handle(CommandEvent("console", f"p{n}", "council", "ana", f"propose P{n} by 3d"))
    core.repo.engine.dispose()


async def start(url: str) -> tuple[float, int]:
    core = Core(open_repository(url), [circle()], ManualClock(datetime.now(UTC)))
    runtime = Runtime(core, [])
    began = time.perf_counter()
    await runtime.start()
    elapsed = time.perf_counter() - began
    jobs = len(runtime.scheduler.get_jobs())
    await runtime.stop()
    core.repo.engine.dispose()
    return elapsed, jobs


def baseline(url: str) -> float:
    repo = open_repository(url)
    began = time.perf_counter()
    with repo.engine.connect() as connection:
        rows = connection.execute(text("select * from proposals where status = 'open'")).all()
    elapsed = time.perf_counter() - began
    assert rows
    repo.engine.dispose()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proposals", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/start.db"
        print(f"preparing {args.proposals:,} open proposals…", file=sys.stderr)
        fill(url, args.proposals)
        base = baseline(url)
        elapsed, jobs = asyncio.run(start(url))
    print(f"open proposals          : {args.proposals:8,}")
    print(f"jobs rebuilt            : {jobs:8,}")
    print(f"start-up (jobs included): {elapsed:8.3f} s   (target < 2 s)")
    print(f"baseline SELECT of rows : {base:8.3f} s")
    print(f"ratio start-up/baseline : {elapsed / base:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
