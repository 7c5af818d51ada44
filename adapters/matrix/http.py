"""Requests to the homeserver: sends with transaction ids derived from idempotency keys,
and the raw client-server API calls nio has no helper for. Both wait out M_LIMIT_EXCEEDED
as the homeserver asks (bounded).

Counting (bot.domain.api_calls, for /metrics): every request the adapter makes goes either
through one of nio's API methods, all of which funnel into AsyncClient._send (counted by
CountingClient, labelled with nio's method name: `sync`, `room_send`, ...), or through
Transport.api (labelled with the endpoint's template: `GET /rooms/{room}/messages`).
No label holds an id. A rate-limited request counts RATE_LIMITED only: the adapter always
waits and asks again (the loops here; the sync loop for everything a sync step does), and
that request counts the outcome; when a loop here gives up, it counts the call's ERROR."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol
from urllib.parse import unquote

import aiohttp
import nio

from adapters.matrix import render
from adapters.matrix.errors import MatrixError
from bot.domain.api_calls import ApiCalls, ApiOutcome

log = logging.getLogger("adapters.matrix")

SEND_ATTEMPTS = 5  # per request, when the homeserver says M_LIMIT_EXCEEDED
LONGEST_WAIT = 60.0  # seconds: the most we wait on one retry_after_ms

# An id in a path, by its sigil (room ids, aliases and event ids are quoted in paths).
ID_SIGILS = {"!": "{room}", "#": "{alias}", "$": "{event}", "@": "{user}"}
# A path segment kept as it is in a label: a word of the API (`messages`, `sendToDevice`,
# `m.room.encryption`); anything else (a transaction id, a device id) becomes {}.
LITERAL = re.compile(r"[a-z][A-Za-z._]{0,63}")


def nio_method(response_class: type) -> str:
    """The name of nio's method that expects this answer: RoomSendResponse -> room_send."""
    name = response_class.__name__.removesuffix("Response")
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


ROOM_SEND = nio_method(nio.RoomSendResponse)  # "room_send"


def endpoint(method: str, path: str) -> str:
    """A raw request's label: its method and its path's template, without the query, the
    /_matrix/client/vN prefix or any id: `GET /rooms/{room}/relations/{event}/m.annotation`."""
    parts = path.split("?", 1)[0].strip("/").split("/")
    if parts[:2] == ["_matrix", "client"]:
        parts = parts[3:]  # and the version
    template = []
    for part in parts:
        word = unquote(part)
        if word[:1] in ID_SIGILS:
            template.append(ID_SIGILS[word[:1]])
        else:
            template.append(word if LITERAL.fullmatch(word) else "{}")
    return f"{method.upper()} /{'/'.join(template)}"


def outcome_of(answer: object) -> ApiOutcome:
    """What one of nio's answers says about its request."""
    if isinstance(answer, nio.ErrorResponse):
        rate_limited = MatrixError.of(answer, "").rate_limited
        return ApiOutcome.RATE_LIMITED if rate_limited else ApiOutcome.ERROR
    return ApiOutcome.OK


class CountingClient(nio.AsyncClient):  # type: ignore[misc]  # nio is untyped
    """nio's client, counting each of its API requests in `calls`."""

    def __init__(self, *args: Any, calls: ApiCalls, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls = calls

    # Every API method of nio's AsyncClient sends through _send (nio's own retries, which
    # the session turns off, would happen inside it): the one place that knows the method
    # (by the answer it expects) and sees nio's answer or exception.
    async def _send(self, response_class: type, *args: Any, **kwargs: Any) -> Any:
        method = nio_method(response_class)
        try:
            answer = await super()._send(response_class, *args, **kwargs)
        except Exception:  # a timeout, a lost connection (not a cancellation)
            self.calls.add(method, ApiOutcome.ERROR)
            raise
        self.calls.add(method, outcome_of(answer))
        return answer


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
        calls: ApiCalls | None = None,
    ) -> None:
        self.holder = holder
        self.stats = stats
        self.sleep = sleep  # wakes at once when the adapter stops
        # Raw calls are counted here; nio's by the client (CountingClient), into the same.
        self.calls = calls if calls is not None else ApiCalls()

    def _client(self) -> nio.AsyncClient:
        client = self.holder.client
        assert client is not None, "start() first"
        return client

    async def api(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        absent_is_an_answer: bool = False,
    ) -> dict[str, Any]:
        """A client-server API call; its JSON answer (an object: {} when there is none).
        With `absent_is_an_answer`, a 404 still raises but counts as a call that worked
        (asking whether a state event exists), not as an error for /metrics."""
        client = self._client()
        label = endpoint(method, path)
        for attempt in range(SEND_ATTEMPTS):
            try:
                status, data = await self._request(client, method, path, body)
            except Exception:  # a timeout, a lost connection (not a cancellation)
                self.calls.add(label, ApiOutcome.ERROR)
                raise
            if 200 <= status < 300:
                self.calls.add(label, ApiOutcome.OK)
                return data
            answered = absent_is_an_answer and status == 404
            error = MatrixError(
                f"{method} {path.split('?', 1)[0]}",
                status,
                data.get("errcode"),
                str(data.get("error", "")),
                data.get("retry_after_ms"),
            )
            if error.rate_limited:
                self.calls.add(label, ApiOutcome.RATE_LIMITED)
                if attempt + 1 < SEND_ATTEMPTS:
                    await self.rate_limited(error)
                    continue
            self.calls.add(label, ApiOutcome.OK if answered else ApiOutcome.ERROR)
            raise error
        raise AssertionError("unreachable")

    @staticmethod
    async def _request(
        client: nio.AsyncClient, method: str, path: str, body: Mapping[str, Any] | None
    ) -> tuple[int, dict[str, Any]]:
        """One request: its status and its JSON object ({} when there is none)."""
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
        return int(response.status), data if isinstance(data, dict) else {}

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
            if error.rate_limited:
                if attempt + 1 < SEND_ATTEMPTS:
                    await self.rate_limited(error)
                    continue
                # The client counted each 429 of this send; giving up ends it as failed.
                self.calls.add(ROOM_SEND, ApiOutcome.ERROR)
            raise error
        raise AssertionError("unreachable")
