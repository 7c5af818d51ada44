"""How long /readyz takes to notice a lost PostgreSQL database, and to notice it back.

A real runtime with the operators' server on a throw-away PostgreSQL; a prober asks
/readyz every 50 ms. The server is stopped as a crash would stop it (immediate
shutdown), then started again. Printed next to a baseline measured in the same run:
one /readyz round trip while all is well. The first probe after the change is
immediate, so each figure is what the bot itself takes, not the probe interval.

Usage: python bench/readyz_lost_database.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stance_events import circle
from bot.config import ServerConfig
from bot.domain.clock import SystemClock
from bot.handlers.core import Core
from bot.runtime.runner import Runtime
from storage import open_repository
from tests.pgserver import PostgresServer
from tests.runtime.test_runtime import RecordingAdapter

PROBE_EVERY = 0.05  # seconds between probes, as a tight load balancer would


async def status(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url) as response:
        return response.status


async def until(session: aiohttp.ClientSession, url: str, wanted: int, since: float) -> float:
    """Seconds from `since` until /readyz answers `wanted`."""
    while await status(session, url) != wanted:
        await asyncio.sleep(PROBE_EVERY)
    return time.monotonic() - since


async def main(rounds: int) -> None:
    with PostgresServer() as server:
        core = Core(open_repository(server.url), [circle()], SystemClock(), ["fake"])
        runtime = Runtime(core, [RecordingAdapter()], server=ServerConfig("127.0.0.1", 0))
        await runtime.start()
        assert runtime.ops is not None
        url = f"http://127.0.0.1:{runtime.ops.port}/readyz"
        lost, back, healthy = [], [], []
        try:
            async with aiohttp.ClientSession() as session:
                for _ in range(rounds):
                    for _ in range(20):
                        began = time.monotonic()
                        assert await status(session, url) == 200
                        healthy.append(time.monotonic() - began)
                    # Timed from when the server is down (pg_ctl has returned) and from
                    # when it accepts connections again.
                    await asyncio.to_thread(server.halt)
                    lost.append(await until(session, url, 503, time.monotonic()))
                    await asyncio.to_thread(server.resume)
                    back.append(await until(session, url, 200, time.monotonic()))
        finally:
            await runtime.stop()
            core.repo.engine.dispose()
    base = statistics.median(healthy)
    print(f"/readyz round trip while healthy (baseline): {base * 1000:.1f} ms median")
    for name, times in (("notices the lost database", lost), ("ready again after", back)):
        median = statistics.median(times)
        print(
            f"{name}: {median * 1000:.0f} ms median, {max(times) * 1000:.0f} ms worst "
            f"of {rounds} ({median / base:.0f}x the baseline; probes every "
            f"{PROBE_EVERY * 1000:.0f} ms)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args().rounds))
