"""Every benchmark in bench/ still runs: each is run here, small, as a person would run it,
and must print its figures. A benchmark that stopped at its imports after a change
went unnoticed once; its figures are only measured at full size by `make bench`.

The two that start a Synapse or three replicas run in the fault harness's long target
(`make prove`) instead: they take a minute or more even small."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import pgserver

ROOT = Path(__file__).resolve().parent.parent

# (script, small arguments, what its output must hold)
SMALL = {
    "stance_events": (
        ["--events", "60", "--history", "200", "--repeats", "1"],
        ["ratio core/raw", "ratio writes/raw", "ratio long/short", "ratio path long/short"],
    ),
    "startup_jobs": (["--proposals", "200"], ["ratio start-up/baseline"]),
    "report": (["--proposals", "200"], ["ratio:"]),
    "when_parsers": ([], ["of SPEC's forms right"]),
    "slack_latency": (
        ["--samples", "5", "--paced", "1", "--burst", "20", "--burst-seconds", "0.5"],
        ["p50"],
    ),
    "readyz_lost_database": (["--rounds", "1"], ["notices the lost database"]),
}
NEEDS_POSTGRES = {"readyz_lost_database"}


def run_bench(name: str, arguments: list[str], timeout: float = 240) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / f"{name}.py"), *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert done.returncode == 0, f"bench/{name}.py exited {done.returncode}:\n{done.stderr}"
    return done.stdout


@pytest.mark.parametrize("name", sorted(SMALL))
def test_the_benchmark_runs_and_prints_its_figures(name: str) -> None:
    if name in NEEDS_POSTGRES and (reason := pgserver.available()) is not None:
        pytest.skip(reason)
    arguments, expected = SMALL[name]
    printed = run_bench(name, arguments)
    for words in expected:
        assert words in printed, f"bench/{name}.py did not print {words!r}:\n{printed}"


def test_every_benchmark_is_run_here_or_in_the_long_target() -> None:
    scripts = {p.stem for p in (ROOT / "bench").glob("*.py") if p.stem != "__init__"}
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    long_target = makefile.split("\nprove:", 1)[1].split("\n\n", 1)[0]
    in_prove = {name for name in scripts if f"bench/{name}.py" in long_target}
    assert scripts - set(SMALL) == in_prove, "a benchmark nothing runs"
