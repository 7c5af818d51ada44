"""What the internet sends to a public HTTP port that is not an HTTP request a server can
read: written byte for byte to a raw connection on loopback, and the status line read
back (None when the server closed the connection without one)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import pytest

# A TLS 1.2 ClientHello record (as a browser opening https:// on a plain port sends):
# handshake record, version, length, then the hello with its random and cipher suites.
_HELLO_BODY = (
    b"\x03\x03"
    + bytes(range(32))  # client random
    + b"\x00"  # no session id
    + b"\x00\x04\x13\x01\xc0\x2f"  # two cipher suites
    + b"\x01\x00"  # no compression
    + b"\x00\x00"  # no extensions
)
_HANDSHAKE = b"\x01" + len(_HELLO_BODY).to_bytes(3, "big") + _HELLO_BODY
TLS_CLIENT_HELLO = b"\x16\x03\x01" + len(_HANDSHAKE).to_bytes(2, "big") + _HANDSHAKE


@dataclass(frozen=True)
class Junk:
    name: str
    data: bytes
    close_after: bool = False  # stop sending (half-close) once written: a cut-off body
    tls: bool = False  # not HTTP at all: no HTTP status can be expected back

    @property
    def answerable(self) -> bool:
        """Whether a status can be expected: not when the client closed its side first
        (the server's end closes too), nor for bytes that are not HTTP."""
        return not (self.tls or self.close_after)


def junk(path: str) -> list[Junk]:
    """Each kind, aimed at `path` where a path is asked."""
    target = path.encode()
    truncated = (
        b"POST " + target + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n" + b'{"type": "event_callback", "ev'
    )
    return [
        Junk("TLS ClientHello", TLS_CLIENT_HELLO, tls=True),
        Junk("100 KB URL", b"GET " + target + b"?" + b"a" * 100_000 + b" HTTP/1.1\r\n\r\n"),
        Junk(
            "70 KB header",
            b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 70_000 + b"\r\n\r\n",
        ),
        Junk("garbage bytes", bytes(range(256)) * 4 + b"\r\n\r\n"),
        Junk("truncated body, then waiting", truncated),
        Junk("truncated body, then closing", truncated, close_after=True),
    ]


async def send(port: int, what: Junk, timeout: float = 10.0) -> int | None:
    """Write `what` to 127.0.0.1:`port`; the HTTP status answered, None if none was."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(what.data)
        await writer.drain()
        if what.close_after:
            writer.write_eof()
        try:
            line = await asyncio.wait_for(reader.readline(), timeout)
        except (ConnectionError, asyncio.IncompleteReadError):
            return None
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
            return int(parts[1])
        return None
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing at ERROR, no traceback at any level, and at most one warning line."""
    for record in caplog.records:
        text = record.getMessage()
        assert record.levelno < logging.ERROR, f"{record.levelname}: {text}"
        assert record.exc_info is None, f"a traceback was logged: {text}"
        assert "Traceback" not in text and "\n" not in text, text
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) <= 1, [r.getMessage() for r in warnings]
    assert "Traceback" not in caplog.text
