"""Log lines written on the core's thread while an event is handled carry that event's
ids: the runtime hands its context to the core's thread."""

from __future__ import annotations

import logging
from pathlib import Path

from bot.domain.clock import ManualClock
from bot.domain.events import CommandEvent, InboundEvent
from bot.handlers.core import Core
from bot.runtime.logs import EventContextFilter
from bot.runtime.runner import Runtime
from bot.text.messages import Reply
from storage import open_repository
from tests.runtime.test_runtime import CIRCLE, T0, RecordingAdapter


async def test_core_thread_log_lines_carry_the_event_ids(tmp_path: Path) -> None:
    core = Core(open_repository(f"sqlite:///{tmp_path / 'bot.db'}"), [CIRCLE], ManualClock(T0))
    runtime = Runtime(core, [RecordingAdapter()])
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    handler.addFilter(EventContextFilter())
    logger = logging.getLogger("bot.handlers.core")
    logger.addHandler(handler)
    real = core.handle

    def handle(event: InboundEvent) -> list[Reply]:
        logger.warning("on the core's thread")
        return real(event)

    core.handle = handle  # type: ignore[method-assign]
    await runtime.start()
    try:
        await runtime.on_event(CommandEvent("fake", "e7", "council", "ana", "proposals"))
    finally:
        await runtime.stop()
        logger.removeHandler(handler)
    [record] = [r for r in seen if r.getMessage() == "on the core's thread"]
    assert (record.platform, record.event_id) == ("fake", "e7")  # type: ignore[attr-defined]
