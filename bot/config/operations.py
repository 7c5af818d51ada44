"""`[server]` (health, readiness and metrics for operators) and `[logging]`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.config.errors import fail
from bot.config.values import check_keys, integer, show, string, table

SERVER_KEYS = ("host", "port")
LOGGING_KEYS = ("format", "level")
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080  # GET /healthz, /readyz, /metrics


@dataclass(frozen=True)
class LoggingConfig:
    format: str = "text"  # or "json": one JSON object a line
    level: str = "warning"  # what `circlebot run` logs without -v


def parse_server(data: Mapping[str, Any]) -> ServerConfig | None:
    """`[server]`; None when absent (no operator endpoints)."""
    server = table(data, "", "server")
    if server is None:
        return None
    check_keys(server, "server", SERVER_KEYS)
    defaults = ServerConfig()
    host = string(server, "server", "host", default=defaults.host)
    assert host is not None
    port = integer(server, "server", "port", defaults.port, 0, 65535)
    return ServerConfig(host=host, port=port)


def parse_logging(data: Mapping[str, Any]) -> LoggingConfig:
    """`[logging]`; the defaults when absent."""
    section = table(data, "", "logging")
    if section is None:
        return LoggingConfig()
    check_keys(section, "logging", LOGGING_KEYS)
    defaults = LoggingConfig()
    fmt = string(section, "logging", "format", default=defaults.format)
    if fmt not in LOG_FORMATS:
        fail("logging.format", f'{show(fmt)} is not a format; use "text" or "json"')
    level = string(section, "logging", "level", default=defaults.level)
    assert level is not None
    if level.lower() not in LOG_LEVELS:
        fail("logging.level", f"{show(level)} is not a level; use one of {', '.join(LOG_LEVELS)}")
    assert fmt is not None
    return LoggingConfig(format=fmt, level=level.lower())
