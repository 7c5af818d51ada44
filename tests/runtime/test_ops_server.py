"""The operators' endpoints on a real runtime: /healthz, /readyz turning 503 while the
database cannot answer and 200 again after, /metrics moving with real events."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.config import ServerConfig
from bot.domain.clock import ManualClock
from bot.domain.events import CommandEvent
from bot.handlers.core import Core
from bot.runtime.runner import Runtime
from storage import open_repository
from tests.junk_requests import Junk, assert_no_traceback, junk, send
from tests.runtime.test_runtime import CIRCLE, T0, RecordingAdapter


class Ops:
    def __init__(self, runtime: Runtime, session: aiohttp.ClientSession) -> None:
        self.runtime = runtime
        self.session = session
        assert runtime.ops is not None
        self.base = f"http://127.0.0.1:{runtime.ops.port}"

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(self.base + path) as response:
            return response.status, await response.text()

    async def metric(self, name: str, **labels: str) -> float | None:
        status, text = await self.get("/metrics")
        assert status == 200
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    return float(sample.value)
        return None


@pytest.fixture
async def ops(tmp_path: Path) -> AsyncIterator[Ops]:
    core = Core(
        open_repository(f"sqlite:///{tmp_path / 'bot.db'}"), [CIRCLE], ManualClock(T0), ["fake"]
    )
    runtime = Runtime(core, [RecordingAdapter()], server=ServerConfig("127.0.0.1", 0))
    await runtime.start()
    async with aiohttp.ClientSession() as session:
        yield Ops(runtime, session)
    await runtime.stop()


async def test_health_and_readiness(ops: Ops) -> None:
    assert await ops.get("/healthz") == (200, '{"status": "ok"}')
    assert await ops.get("/readyz") == (200, '{"status": "ready"}')


async def test_readiness_is_503_while_the_database_cannot_answer_and_200_after(
    ops: Ops, tmp_path: Path
) -> None:
    blocker = sqlite3.connect(tmp_path / "bot.db", timeout=1)
    blocker.execute("BEGIN EXCLUSIVE")  # another program holds the database
    try:
        status, body = await ops.get("/readyz")
        assert status == 503
        assert '"database"' in body and "no answer within 2 s" in body
    finally:
        blocker.rollback()
        blocker.close()
    assert (await ops.get("/readyz"))[0] == 200


async def test_readiness_names_an_adapter_that_is_not_connected(ops: Ops) -> None:
    adapter = ops.runtime.adapters["fake"]
    assert isinstance(adapter, RecordingAdapter)
    adapter.not_ready = "the connection is down"
    status, body = await ops.get("/readyz")
    assert status == 503 and '"fake": "the connection is down"' in body
    adapter.not_ready = None
    assert (await ops.get("/readyz"))[0] == 200


async def test_a_deleted_database_file_keeps_it_not_ready(ops: Ops, tmp_path: Path) -> None:
    (tmp_path / "bot.db").unlink()
    await ops.runtime.on_event(CommandEvent("fake", "e1", "council", "ana", "propose X"))
    status, body = await ops.get("/readyz")
    assert status == 503 and "the database file was deleted" in body


async def test_metrics_move_with_real_events(ops: Ops) -> None:
    assert await ops.metric("circlebot_open_proposals") == 0
    assert await ops.metric("circlebot_leader") == 1
    event = CommandEvent("fake", "e1", "council", "ana", "propose Adopt it by 3d")
    await ops.runtime.on_event(event)
    await ops.runtime.on_event(event)  # redelivered: dropped, and counted as such
    events = await ops.metric("circlebot_events_total", platform="fake", kind="command")
    assert events == 2
    assert await ops.metric("circlebot_duplicates_total", platform="fake") == 1
    assert await ops.metric("circlebot_open_proposals") == 1
    jobs = await ops.metric("circlebot_scheduled_jobs")
    assert jobs is not None and jobs >= 1  # the proposal's wake-up
    assert await ops.metric("circlebot_outbox_pending") == 0


@pytest.mark.parametrize("what", junk("/readyz"), ids=lambda j: j.name)
async def test_junk_on_the_operators_port_is_4xx_and_one_warning_at_most(
    ops: Ops, caplog: pytest.LogCaptureFixture, what: Junk
) -> None:
    assert ops.runtime.ops is not None
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    status = await send(ops.runtime.ops.port, what)
    if what.answerable:
        assert status is not None and 400 <= status < 500, status
    else:
        assert status is None or 400 <= status < 500, status
    assert_no_traceback(caplog)
    assert await ops.get("/healthz") == (200, '{"status": "ok"}')  # still serving
