"""What can go wrong talking to a homeserver, and how the adapter tells the kinds apart."""

from __future__ import annotations

import asyncio

import aiohttp
import nio

from bot.domain.errors import AppError

# Connection-level failures: the homeserver is unreachable, restarting, or too slow.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    aiohttp.ClientError,
    asyncio.TimeoutError,
    TimeoutError,
    ConnectionError,
    OSError,
)


class MatrixError(Exception):
    """A request the homeserver refused or failed."""

    def __init__(
        self,
        what: str,
        status: int,
        errcode: str | None,
        message: str,
        retry_after_ms: int | None = None,
    ) -> None:
        super().__init__(f"{what}: HTTP {status or '?'} {errcode or ''} {message}".strip())
        self.status = status
        self.errcode = errcode
        self.retry_after_ms = retry_after_ms

    @property
    def rate_limited(self) -> bool:
        return self.status == 429 or self.errcode == "M_LIMIT_EXCEEDED"

    @property
    def transient(self) -> bool:
        """Worth trying again later: rate limits and server-side failures."""
        return self.rate_limited or self.status >= 500 or self.status == 0

    @property
    def unauthorized(self) -> bool:
        return self.errcode in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN") or self.status == 401

    @classmethod
    def of(cls, response: nio.ErrorResponse, what: str) -> MatrixError:
        """From nio's answer to a failed request (an ErrorResponse, or another answer
        than the one expected)."""
        transport = getattr(response, "transport_response", None)
        status = int(getattr(transport, "status", 0) or 0)
        code = getattr(response, "status_code", None)
        return cls(
            what,
            status,
            code if isinstance(code, str) else None,
            str(getattr(response, "message", "") or ""),
            getattr(response, "retry_after_ms", None),
        )


class FatalMatrixError(AppError):
    """The bot cannot work with this homeserver as configured (bad token, password)."""
