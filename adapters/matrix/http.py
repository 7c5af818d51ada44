"""Requests to the homeserver: sends with transaction ids derived from idempotency keys,
and the raw client-server API calls nio has no helper for. Both wait out M_LIMIT_EXCEEDED
as the homeserver asks (bounded)."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import aiohttp
import nio

from adapters.matrix import render
from adapters.matrix.errors import MatrixError

log = logging.getLogger("adapters.matrix")

SEND_ATTEMPTS = 5  # per request, when the homeserver says M_LIMIT_EXCEEDED
LONGEST_WAIT = 60.0  # seconds: the most we wait on one retry_after_ms


class ClientHolder(Protocol):
    """Whatever holds the bot's nio client (the session): None until started."""

    @property
    def client(self) -> nio.AsyncClient | None: ...


class Transport:
    def __init__(
        self,
        holder: ClientHolder,
        stats: Counter[str],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.holder = holder
        self.stats = stats
        self.sleep = sleep  # wakes at once when the adapter stops

    def _client(self) -> nio.AsyncClient:
        client = self.holder.client
        assert client is not None, "start() first"
        return client

    async def api(
        self, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """A client-server API call; its JSON answer (an object: {} when there is none)."""
        client = self._client()
        for attempt in range(SEND_ATTEMPTS):
            headers = {"Content-Type": "application/json"}
            if client.access_token:
                headers["Authorization"] = f"Bearer {client.access_token}"
            response = await client.send(
                method, path, None if body is None else json.dumps(body), headers
            )
            try:
                try:
                    data = await response.json(content_type=None)
                except (ValueError, aiohttp.ClientError):
                    data = None
            finally:
                response.release()
            data = data if isinstance(data, dict) else {}
            if 200 <= response.status < 300:
                return data
            error = MatrixError(
                f"{method} {path.split('?', 1)[0]}",
                response.status,
                data.get("errcode"),
                str(data.get("error", "")),
                data.get("retry_after_ms"),
            )
            if error.rate_limited and attempt + 1 < SEND_ATTEMPTS:
                await self.rate_limited(error)
                continue
            raise error
        raise AssertionError("unreachable")

    async def rate_limited(self, error: MatrixError) -> None:
        self.stats["rate_limited"] += 1
        delay = min(max((error.retry_after_ms or 1000) / 1000, 0.05), LONGEST_WAIT)
        log.warning("matrix: rate limited (%s); waiting %.2f s as asked", error, delay)
        await self.sleep(delay)

    async def send(self, room: str, content: dict[str, Any], key: str, channel: str) -> str:
        """Send one m.room.message to `room` (the configured `channel`) with a transaction
        id derived from `key`; returns its event id. Raises on failure: the dispatcher
        keeps the message and tries again later, and the same key gets the same event."""
        client = self._client()
        txn = render.txn_id(key)
        for attempt in range(SEND_ATTEMPTS):
            answer = await client.room_send(
                room, "m.room.message", content, tx_id=txn, ignore_unverified_devices=True
            )
            if isinstance(answer, nio.RoomSendResponse):
                self.stats["sent"] += 1
                return str(answer.event_id)
            error = MatrixError.of(answer, f"sending to {channel}")
            if error.rate_limited and attempt + 1 < SEND_ATTEMPTS:
                await self.rate_limited(error)
                continue
            raise error
        raise AssertionError("unreachable")
