"""Start-up as /readyz sees it, in process: "starting" until the last step has run, and a
step the database does not answer tried again (one log line) instead of crashing."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bot.domain.clock import ManualClock
from bot.domain.errors import StorageUnavailable
from bot.handlers.core import Core
from bot.runtime import runner as runtime_module
from bot.runtime.runner import Runtime
from storage import open_repository
from tests.runtime.test_runtime import CIRCLE, T0, RecordingAdapter


async def readyz(runtime: Runtime) -> tuple[int, dict[str, object]]:
    page = await runtime.pages.page("/readyz")
    assert page is not None
    return page.status, json.loads(page.body)


async def test_not_ready_until_start_up_has_finished_and_a_silent_database_is_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(runtime_module, "FIRST_RETRY_SECONDS", 0.01)
    core = Core(
        open_repository(f"sqlite:///{tmp_path / 'bot.db'}"), [CIRCLE], ManualClock(T0), ["fake"]
    )
    tries: list[int] = []

    def prepare_store() -> None:  # the store's first step: no answer twice, then one
        tries.append(len(tries) + 1)
        if len(tries) <= 2:
            raise StorageUnavailable("the database server cannot be reached")

    runtime = Runtime(core, [RecordingAdapter()], prepare_store=prepare_store)
    status, body = await readyz(runtime)
    assert status == 503
    assert body["not_ready"] == {"startup": "starting", "scheduler": "not running"}
    with caplog.at_level(logging.INFO, logger="bot.runtime.runner"):
        await runtime.start()
    try:
        assert tries == [1, 2, 3]
        said = [r.getMessage() for r in caplog.records if r.name == "bot.runtime.runner"]
        no_answer = [line for line in said if line.startswith("database: no answer")]
        assert no_answer == [
            "database: no answer while opening the store (the database server cannot be "
            "reached); start-up waits for it, trying again every few seconds"
        ]
        assert "database: answers again; start-up goes on" in said
        assert said[-1].startswith("ready: started in ")
        assert await readyz(runtime) == (200, {"status": "ready"})
    finally:
        await runtime.stop()
