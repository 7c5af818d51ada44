"""Logging for `circlebot run`: text or JSON lines, secrets masked, and the ids of the
event being handled (platform, event_id, circle, proposal) on every record logged
while it is."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

from bot.domain.redact import redact_text

log = logging.getLogger(__name__)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries whose INFO lines (migrations, job bookkeeping) are noise unless asked for.
QUIET_LIBRARIES = ("alembic", "apscheduler")


@dataclass(frozen=True)
class EventIds:
    platform: str
    event_id: str
    circle: str | None = None
    proposal: int | None = None


ID_FIELDS = ("platform", "event_id", "circle", "proposal")
_current: ContextVar[EventIds | None] = ContextVar("circlebot_event", default=None)


def current_event() -> EventIds | None:
    return _current.get()


@contextmanager
def event_context(
    platform: str, event_id: str, circle: str | None = None, proposal: int | None = None
) -> Iterator[EventIds]:
    """The ids of the inbound event being handled, for every record logged inside."""
    ids = EventIds(platform, event_id, circle, proposal)
    token = _current.set(ids)
    try:
        log.debug("handling event %s:%s", platform, event_id)
        yield ids
    finally:
        _current.reset(token)


class EventContextFilter(logging.Filter):
    """Copies the current event's ids onto each record (those that are set)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = _current.get()
        if ids is not None:
            for key, value in asdict(ids).items():
                if value is not None and not hasattr(record, key):
                    setattr(record, key, value)
        return True


class RedactingFormatter(logging.Formatter):
    """Log lines (tracebacks included) with the secrets of any URL in them masked."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


class JsonLineFormatter(JsonFormatter):
    """One JSON object a line: time, level, logger, message, the event's ids when there
    are any (and exc_info for a traceback); secrets of URLs masked like the text lines."""

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(
            timespec="milliseconds"
        )
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.message
        for key in ID_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                log_data[key] = value
        log_data.update(message_dict)  # exc_info, stack_info

    def format(self, record: logging.LogRecord) -> str:
        # The URL pattern stops at quotes, so masking the serialized line keeps it JSON.
        return redact_text(super().format(record))


def level_number(level: str, verbose: bool = False) -> int:
    """`[logging] level` as a number; `-v` means at least info."""
    number = logging.getLevelNamesMapping()[level.upper()]
    return min(number, logging.INFO) if verbose else number


def configure(
    fmt: str = "text", level: str = "warning", verbose: bool = False, stream: TextIO | None = None
) -> logging.Handler:
    """Send the process's log records to `stream` (standard error) in `fmt`."""
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    formatter: logging.Formatter = (
        JsonLineFormatter() if fmt == "json" else RedactingFormatter(TEXT_FORMAT)
    )
    handler.setFormatter(formatter)
    handler.addFilter(EventContextFilter())  # on the handler: sees every logger's records
    number = level_number(level, verbose)
    # Like before: a process that already logs somewhere (a test runner) keeps that.
    logging.basicConfig(level=number, handlers=[handler])
    if not verbose and number > logging.DEBUG:
        for name in QUIET_LIBRARIES:
            logging.getLogger(name).setLevel(logging.WARNING)
    return handler
