"""The short version of the fault harness (`make prove` runs the long one): one seeded
run on SQLite under libfaketime across a daylight-saving change, one on three replicas
sharing PostgreSQL; every invariant holds in both."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ci import unavailable
from tests.faults.cluster import faketime_library
from tests.faults.harness import run_once
from tests.faults.plan import Setup, make_plan
from tests.pgserver import PostgresServer

pytestmark = pytest.mark.slow

SEED = 1
DURATION = 45.0  # seconds of workload per run; the settle and start-up add about 30 s


async def test_one_process_on_sqlite_keeps_its_promises_across_faults(tmp_path: Path) -> None:
    if faketime_library() is None:
        unavailable("libfaketime", "libfaketime missing; install it with: apt-get install faketime")
    result = await run_once(make_plan(SEED, Setup.SQLITE, DURATION), tmp_path, None)
    print(result.summary())
    assert not result.violations, "\n".join(map(str, result.violations))


@pytest.mark.postgres
async def test_three_replicas_on_postgresql_keep_their_promises_across_faults(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    result = await run_once(make_plan(SEED, Setup.REPLICAS, DURATION), tmp_path, postgres_server)
    print(result.summary())
    assert not result.violations, "\n".join(map(str, result.violations))
