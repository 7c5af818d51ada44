"""bot.runtime.logs: JSON lines with the event's ids, the filter, levels, masking."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.runtime.logs import (
    TEXT_FORMAT,
    EventContextFilter,
    JsonLineFormatter,
    RedactingFormatter,
    current_event,
    event_context,
    level_number,
)


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of its own with a JSON handler, as `configure` builds it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonLineFormatter())
    handler.addFilter(EventContextFilter())
    test_logger = logging.getLogger("circlebot.test_logs")
    test_logger.addHandler(handler)
    test_logger.setLevel(logging.DEBUG)
    test_logger.propagate = False
    yield test_logger, out
    test_logger.removeHandler(handler)


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_json_line_has_time_level_logger_and_message(
    logger: tuple[logging.Logger, io.StringIO],
) -> None:
    test_logger, out = logger
    test_logger.warning("disk %s", "full")
    [line] = lines(out)
    assert line["level"] == "WARNING"
    assert line["logger"] == "circlebot.test_logs"
    assert line["message"] == "disk full"
    assert str(line["time"]).endswith("+00:00")
    assert not {"platform", "event_id", "circle", "proposal"} & line.keys()


def test_inside_an_event_every_line_carries_its_ids(
    logger: tuple[logging.Logger, io.StringIO],
) -> None:
    test_logger, out = logger
    with event_context("slack", "Ev1", circle="council", proposal=7):
        test_logger.info("one")
    with event_context("matrix", "$ev2"):
        test_logger.error("two")
    test_logger.info("after")
    one, two, after = (line for line in lines(out) if line["message"] in ("one", "two", "after"))
    assert (one["platform"], one["event_id"], one["circle"], one["proposal"]) == (
        "slack",
        "Ev1",
        "council",
        7,
    )
    assert (two["platform"], two["event_id"]) == ("matrix", "$ev2")
    assert "circle" not in two and "proposal" not in two  # only the ids in play
    assert "platform" not in after
    assert current_event() is None


def test_entering_an_event_logs_a_debug_line_about_it(
    logger: tuple[logging.Logger, io.StringIO],
) -> None:
    _, out = logger
    handler = logging.getLogger("circlebot.test_logs").handlers[0]
    bot_logs = logging.getLogger("bot.runtime.logs")
    bot_logs.addHandler(handler)
    bot_logs.setLevel(logging.DEBUG)
    try:
        with event_context("console", "c1-1"):
            pass
    finally:
        bot_logs.removeHandler(handler)
        bot_logs.setLevel(logging.NOTSET)
    [line] = lines(out)
    assert line["message"] == "handling event console:c1-1"
    assert (line["platform"], line["event_id"], line["level"]) == ("console", "c1-1", "DEBUG")


async def test_concurrent_events_keep_their_own_ids(
    logger: tuple[logging.Logger, io.StringIO],
) -> None:
    """Each asyncio task has its own context: two events handled at once never swap."""
    test_logger, out = logger
    both = asyncio.Event()
    entered = 0

    async def handle(event_id: str) -> None:
        nonlocal entered
        with event_context("console", event_id):
            entered += 1
            if entered == 2:
                both.set()
            await both.wait()
            test_logger.info("handled %s", event_id)

    await asyncio.gather(handle("a"), handle("b"))
    for line in lines(out):
        assert line["message"] == f"handled {line['event_id']}"


def test_a_traceback_stays_one_json_line_with_secrets_masked(
    logger: tuple[logging.Logger, io.StringIO],
) -> None:
    test_logger, out = logger
    try:
        raise RuntimeError("cannot reach postgresql://bot:hunter2@db/circle")
    except RuntimeError:
        test_logger.exception("failed on https://x/?token=hunter2")
    assert len(out.getvalue().splitlines()) == 1
    [line] = lines(out)
    assert "hunter2" not in out.getvalue()
    assert line["message"] == "failed on https://x/?token=***"
    assert "RuntimeError" in str(line["exc_info"])


def test_the_text_format_is_unchanged_and_masked() -> None:
    record = logging.LogRecord(
        "bot.runtime.runner", logging.INFO, __file__, 1, "open %s", ("sqlite://u:pw@h/db",), None
    )
    text = RedactingFormatter(TEXT_FORMAT).format(record)
    assert text.endswith(" INFO bot.runtime.runner: open sqlite://u:***@h/db")


@pytest.mark.parametrize(
    ("level", "verbose", "expected"),
    [
        ("warning", False, logging.WARNING),
        ("warning", True, logging.INFO),  # -v means at least info
        ("error", True, logging.INFO),
        ("debug", True, logging.DEBUG),  # and never less than the config asks
        ("debug", False, logging.DEBUG),
        ("error", False, logging.ERROR),
    ],
)
def test_the_level_comes_from_the_config_and_v(level: str, verbose: bool, expected: int) -> None:
    assert level_number(level, verbose) == expected
