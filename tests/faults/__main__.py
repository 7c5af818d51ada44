"""`python -m tests.faults [--runs N] [--seed S] [--config sqlite|replicas|both]
[--duration SECONDS] [--keep FOLDER]`: runs the harness, prints a summary line per run
and the totals; exit 1 when any invariant was violated."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections import Counter
from pathlib import Path

from tests.faults.harness import RunResult, run_once
from tests.faults.plan import Setup, make_plan
from tests.pgserver import PostgresServer


def totals(results: list[RunResult]) -> str:
    faults: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    checked: Counter[str] = Counter()
    for result in results:
        faults.update(result.faults)
        kinds.update(v.invariant for v in result.violations)
        checked.update(result.checked)
    return (
        f"TOTAL runs={len(results)} actions={sum(r.actions for r in results)} "
        f"faults={sum(faults.values())} ({listed(faults)}) "
        f"violations={sum(kinds.values())} ({listed(kinds) or 'none'}) "
        f"checked: {listed(checked)}"
    )


def listed(counts: Counter[str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))


def say(line: str) -> None:
    print(line, flush=True)


async def main(args: argparse.Namespace) -> int:
    setups = [Setup(args.config)] if args.config != "both" else list(Setup)
    results: list[RunResult] = []
    pg: PostgresServer | None = None
    try:
        if Setup.REPLICAS in setups:
            pg = PostgresServer().start()
        for n in range(args.runs):
            seed = args.seed + n
            for setup in setups:
                plan = make_plan(seed, setup, args.duration)
                print(f"run seed={seed} config={setup.value}", flush=True)
                with tempfile.TemporaryDirectory(prefix="circlebot-faults-") as folder:
                    # --keep: the processes' logs and databases stay, to read a violation.
                    where = Path(folder)
                    if args.keep is not None:
                        where = args.keep / f"seed{seed}-{setup.value}"
                        where.mkdir(parents=True, exist_ok=True)
                    result = await run_once(plan, where, pg, lambda line: print(line, flush=True))
                for violation in result.violations:
                    print(f"  violation: {violation}", flush=True)
                print(result.summary(), flush=True)
                results.append(result)
    finally:
        if pg is not None:
            pg.stop()
    print(totals(results))
    return 1 if any(r.violations for r in results) else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=1, help="seeds to run, from --seed on")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--config", choices=("sqlite", "replicas", "both"), default="both")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of workload")
    parser.add_argument("--keep", type=Path, help="a folder to keep each run's logs in")
    sys.exit(asyncio.run(main(parser.parse_args())))
