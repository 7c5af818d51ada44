"""How an HTTP server on a public port (the operators' `[server]`, a platform's HTTP mode)
speaks of a request it cannot read: TLS sent to a plain port, a URL or header beyond the
parser's limits, bytes that are no HTTP, a body cut off. aiohttp answers those with a
4xx (or closes a connection that is no HTTP at all) and logs each as an error with a
traceback: anyone could fill the log for free. Here each is one line without a
traceback, a warning at most; anything else (a fault of our own handlers) keeps its
traceback."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import ClientPayloadError
from aiohttp.http_exceptions import HttpProcessingError

# What a client's bytes can raise before or while a request is read. ConnectionError:
# the client went away mid-body (a connection closed after a truncated body).
UNREADABLE: tuple[type[BaseException], ...] = (
    HttpProcessingError,
    ClientPayloadError,
    ConnectionError,
)


def _raised(exc_info: Any) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        return exc_info[1] if isinstance(exc_info[1], BaseException) else None
    return None


class UnreadableRequests(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's server logger (`AppRunner(..., logger=UnreadableRequests())`): a record
    about a request that could not be read becomes one line, at warning at most."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        super().__init__(logger or logging.getLogger("aiohttp.server"), {})

    def log(
        self,
        level: int,
        msg: object,
        *args: object,
        exc_info: Any = None,
        stack_info: bool = False,
        stacklevel: int = 1,
        extra: Mapping[str, object] | None = None,
        **kwargs: Any,
    ) -> None:
        raised = _raised(exc_info)
        if isinstance(raised, UNREADABLE):
            # Only the kind of fault: its text may quote what the client sent.
            level = min(level, logging.WARNING)
            if self.logger.isEnabledFor(level):
                said = str(msg) % args if args else str(msg)
                self.logger.log(
                    level, "%s: not a request it can read (%s)", said, type(raised).__name__
                )
            return
        super().log(
            level,
            msg,
            *args,
            exc_info=exc_info,
            stack_info=stack_info,
            stacklevel=stacklevel,
            extra=extra,
            **kwargs,
        )
