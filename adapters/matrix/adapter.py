"""The Matrix adapter: matrix-nio's AsyncClient driven by our own sync loop.

Exactly once, crash-safe:
- the core applies each inbound event at most once (its (platform, event_id) is unique),
  so replaying a sync batch is harmless;
- the sync position (`next_batch`) is stored in the bot's database only after every
  event of the batch was handed to the core and applied. nio's own token store would
  save it before our handlers ran, so it is not used (`store_sync_tokens=False`);
- every send has a transaction id derived from the dispatcher's idempotency key: a
  retried send (after a crash, a timeout, a 5xx) gets the first event back instead of a
  second message.

Faults: M_LIMIT_EXCEEDED waits for `retry_after_ms`; 5xx and connection loss back off
exponentially (bounded, with jitter, never spinning); the loop keeps trying until the
homeserver is back and then catches up from the stored position, filling gaps in
`limited` timelines from /messages.

Encrypted rooms: an event the bot cannot decrypt waits for its room key for a while
(adapters/matrix/sealed.py); if the key never comes, its sender is told once per session.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import aiohttp
import nio
from nio.crypto import ENCRYPTION_ENABLED

from adapters.matrix import inbound, render
from adapters.matrix.sealed import Sealed, SealedEvents
from bot.circle import CircleSpec
from bot.config import MatrixConfig
from bot.errors import AppError
from bot.events import CommandEvent, InboundEvent
from bot.messages import ProposalCard, Reply
from bot.ports import CoreServices, EventSink, Message

log = logging.getLogger("adapters.matrix")

PLATFORM = inbound.PLATFORM
E2E_AVAILABLE: bool = bool(ENCRYPTION_ENABLED)
E2E_EXTRA_HINT = "pip install 'circlebot[e2e]' (matrix-nio[e2e], a binary wheel)"

SEND_ATTEMPTS = 5  # per send, when the homeserver says M_LIMIT_EXCEEDED
LONGEST_WAIT = 60.0  # seconds: the most we wait on one retry_after_ms
GAP_PAGES = 20  # /messages pages fetched to fill one gap in a limited timeline
RELATION_PAGES = 50
UNREADABLE_TEXT = (
    "I could not read your encrypted message: its key did not reach my device. "
    "If it was a command, send it again; if this keeps happening, check that your "
    "client shares keys with unverified devices in this room."
)
TIMELINE_LIMIT = 100

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
    def of(cls, response: Any, what: str) -> MatrixError:
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


class Backoff:
    """Bounded exponential back-off with jitter: 1, 2, 4 … `most` seconds."""

    def __init__(self, first: float = 1.0, most: float = 60.0) -> None:
        self.first, self.most = first, most
        self.failures = 0

    def next(self) -> float:
        delay = min(self.first * 2**self.failures, self.most)
        self.failures += 1
        jitter: float = 0.75 + random.random() / 2
        return float(delay) * jitter

    def reset(self) -> None:
        self.failures = 0


class CursorStore(Protocol):
    """Where the adapter keeps its resume position (and a password login's session)."""

    async def get(self, name: str) -> str | None: ...

    async def set(self, name: str, value: str) -> None: ...


class MemoryCursors:
    """For tests and for a bot without a runtime: forgets everything on exit."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get(self, name: str) -> str | None:
        return self.values.get(name)

    async def set(self, name: str, value: str) -> None:
        self.values[name] = value


class CoreCursors:
    """Positions kept in the bot's database, through the core's services."""

    def __init__(self, services: CoreServices) -> None:
        self.services = services

    async def get(self, name: str) -> str | None:
        return await self.services.cursor(name)

    async def set(self, name: str, value: str) -> None:
        await self.services.set_cursor(name, value)


class Answering:
    """The last command each person gave in each room, so that an answer to it, whenever
    it comes (while the command is handled, or later: after a replay), replies to it and
    in its thread. Bounded: the least recently heard are forgotten first."""

    def __init__(self, most: int = 1000) -> None:
        self.most = most
        # (channel, user) -> [command event id, its thread root, answers sent so far]
        self._last: OrderedDict[tuple[str, str], tuple[str, str | None, int]] = OrderedDict()

    def heard(self, command: CommandEvent, thread_root: str | None) -> None:
        where = (command.channel, command.user)
        self._last.pop(where, None)
        self._last[where] = (command.event_id, thread_root, 0)
        while len(self._last) > self.most:
            self._last.popitem(last=False)

    def reply_to(self, channel: str, user: str) -> tuple[str | None, str | None, str]:
        """(the command to reply to, its thread root, a key for the answer's send). With
        no command heard: no event to reply to, and a key of its own."""
        found = self._last.get((channel, user))
        if found is None:
            return None, None, f"reply:{uuid.uuid4()}"
        command, root, sent = found
        self._last[(channel, user)] = (command, root, sent + 1)
        return command, root, f"reply:{command}:{sent + 1}"


class FatalMatrixError(AppError):
    """The bot cannot work with this homeserver as configured (bad token, password)."""


class MatrixAdapter:
    platform = PLATFORM
    # Slack-like pacing for card edits: the dispatcher coalesces bursts of reactions
    # into at most one edit per card every 3 s; the final state always lands.
    edit_interval = 3.0

    def __init__(
        self,
        config: MatrixConfig,
        circles: Sequence[CircleSpec],
        *,
        access_token: str | None = None,
        password: str | None = None,
        cursors: CursorStore | None = None,
        sync_timeout_ms: int = 30_000,
        first_backoff: float = 1.0,
        max_backoff: float = 60.0,
        request_timeout: float = 60.0,
    ) -> None:
        if not access_token and not password:
            raise ValueError("an access token or a password is needed")
        self.config = config
        self.user_id = config.user_id
        self.prefix = config.command_prefix
        self.access_token = access_token
        self.password = password
        self.cursors = cursors
        self.sync_timeout_ms = sync_timeout_ms
        self.request_timeout = request_timeout
        self.backoff = Backoff(first_backoff, max_backoff)
        # Rooms as configured (ids, or aliases resolved on start) and their circles.
        self.circles = {c.matrix_room: c.name for c in circles if c.matrix_room}
        self._room_id: dict[str, str] = {r: r for r in self.circles if r.startswith("!")}
        self._configured: dict[str, str] = {r: r for r in self._room_id}
        self.client: nio.AsyncClient | None = None
        self.stats: Counter[str] = Counter()
        self.encrypted_rooms: set[str] = set()
        self.connected = asyncio.Event()  # the last request to the homeserver worked
        self.ready = asyncio.Event()  # start() is done
        self._sink: EventSink | None = None
        self._since: str | None = None
        self._logged_in = False
        self._prepared = False
        self._full_state = True  # nio learns the rooms' state on the first sync
        self._stopping = asyncio.Event()
        self.answering = Answering()
        self._sync_task: asyncio.Task[Any] | None = None
        self.sealed = SealedEvents()  # encrypted events waiting for their room key

    # -- names in the bot's database -------------------------------------------------

    @property
    def cursor_name(self) -> str:
        return f"matrix:{self.user_id}:next_batch"

    @property
    def session_name(self) -> str:
        return f"matrix:{self.user_id}:session"

    # -- lifecycle ------------------------------------------------------------------

    async def start(self, sink: EventSink, services: CoreServices) -> None:
        self._sink = sink
        if self.cursors is None:  # unless one was given: the bot's database
            self.cursors = CoreCursors(services)
        self._since = await self.cursors.get(self.cursor_name)
        self.client = self._new_client()
        try:
            # Log in, join, check the rooms, and catch up with what happened while the
            # bot was away, before the runtime reads the cards back.
            await self._step(timeout_ms=0)
        except MatrixError as exc:
            if not exc.transient:
                raise
            log.warning("matrix: %s; will keep trying", exc)
        except CONNECTION_ERRORS as exc:
            log.warning(
                "matrix: homeserver %s unreachable (%s); will keep trying",
                self.config.homeserver,
                exc.__class__.__name__,
            )
        self.ready.set()

    async def run(self) -> None:
        """Sync until stop(): long-polls, hands events to the core, stores the position."""
        while not self._stopping.is_set():
            self._sync_task = asyncio.ensure_future(self._step(self.sync_timeout_ms))
            try:
                await self._sync_task
            except asyncio.CancelledError:
                if self._stopping.is_set():
                    break
                raise
            except MatrixError as exc:
                if exc.unauthorized:
                    if self.access_token:
                        raise FatalMatrixError(
                            f"matrix: the homeserver no longer accepts MATRIX_ACCESS_TOKEN "
                            f"for {self.user_id} ({exc})"
                        ) from exc
                    log.warning("matrix: session ended (%s); logging in again", exc)
                    await self.cursors_forget_session()
                    self._logged_in = False
                elif not exc.transient:
                    log.error("matrix: %s", exc)
                await self._wait_after(exc)
            except CONNECTION_ERRORS as exc:
                self.connected.clear()
                self.stats["connection_errors"] += 1
                delay = self.backoff.next()
                log.warning(
                    "matrix: homeserver unreachable (%s: %s); retrying in %.1f s",
                    exc.__class__.__name__,
                    exc,
                    delay,
                )
                await self._sleep(delay)
            finally:
                self._sync_task = None

    async def stop(self) -> None:
        self._stopping.set()
        if self._sync_task is not None:
            self._sync_task.cancel()
        if self.client is not None:
            await self.client.close()

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake up at once when stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=max(seconds, 0))

    async def _wait_after(self, exc: MatrixError) -> None:
        if exc.rate_limited:
            self.stats["rate_limited"] += 1
            delay = min((exc.retry_after_ms or 1000) / 1000, LONGEST_WAIT)
            log.warning("matrix: rate limited; waiting %.1f s as asked", delay)
        else:
            self.connected.clear()
            self.stats["server_errors"] += 1
            delay = self.backoff.next()
            log.warning("matrix: %s; retrying in %.1f s", exc, delay)
        await self._sleep(delay)

    async def cursors_forget_session(self) -> None:
        if self.cursors is not None and self.password:
            saved = await self.cursors.get(self.session_name)
            device = json.loads(saved).get("device_id") if saved else None
            await self.cursors.set(self.session_name, json.dumps({"device_id": device}))
        if self.client is not None:
            self.client.access_token = ""

    def _new_client(self) -> nio.AsyncClient:
        store = self.config.store_path
        config = nio.AsyncClientConfig(
            # We retry ourselves: nio would sleep forever on 429s and timeouts.
            max_limit_exceeded=0,
            max_timeouts=0,
            request_timeout=self.request_timeout,
            store_sync_tokens=False,  # saved before handlers ran: see the module doc
            encryption_enabled=E2E_AVAILABLE and bool(store),
        )
        return nio.AsyncClient(
            self.config.homeserver,
            self.user_id,
            store_path=store or "",
            config=config,
        )

    # -- one step of the loop --------------------------------------------------------

    async def _step(self, timeout_ms: int) -> None:
        if not self._logged_in:
            await self._login()
        if not self._prepared:
            await self._prepare()
        due = self.sealed.next_due(time.monotonic())
        if due is not None:  # come back in time to give up on a missing room key
            timeout_ms = min(timeout_ms, int(due * 1000) + 1)
        await self._sync(timeout_ms)
        self.connected.set()
        self.backoff.reset()
        if self.client is not None and self.client.olm is not None:
            await self._e2e_housekeeping()

    async def _login(self) -> None:
        client = self.client
        assert client is not None and self.cursors is not None
        if self.access_token:
            client.access_token = self.access_token
            await self._whoami(client)
        else:
            assert self.password is not None
            saved = await self.cursors.get(self.session_name)
            session = json.loads(saved) if saved else {}
            if session.get("access_token"):
                client.access_token = session["access_token"]
                client.device_id = session.get("device_id")
                try:
                    await self._whoami(client)
                except MatrixError as exc:
                    if not exc.unauthorized:
                        raise
                    log.info("matrix: stored session expired; logging in again")
                    client.access_token = ""
            if not client.access_token:
                client.device_id = session.get("device_id")  # keep the same device
                answer = await client.login(
                    password=self.password, device_name=self.config.device_name
                )
                if not isinstance(answer, nio.LoginResponse):
                    error = MatrixError.of(answer, f"logging in as {self.user_id}")
                    if error.transient:
                        raise error
                    raise FatalMatrixError(
                        f"matrix: cannot log in as {self.user_id} with MATRIX_PASSWORD: "
                        f"{error.errcode or ''} {getattr(answer, 'message', '')}".strip()
                    )
                await self.cursors.set(
                    self.session_name,
                    json.dumps(
                        {"device_id": answer.device_id, "access_token": answer.access_token}
                    ),
                )
                log.info("matrix: logged in as %s (device %s)", self.user_id, answer.device_id)
        if client.olm is None and E2E_AVAILABLE and self.config.store_path and client.device_id:
            client.load_store()
        self._logged_in = True

    async def _whoami(self, client: nio.AsyncClient) -> None:
        answer = await client.whoami()
        if not isinstance(answer, nio.WhoamiResponse):
            error = MatrixError.of(answer, "checking the access token")
            if error.transient or (error.unauthorized and not self.access_token):
                raise error
            raise FatalMatrixError(
                f"matrix: the homeserver refused MATRIX_ACCESS_TOKEN for {self.user_id}: "
                f"{error.errcode or ''} {getattr(answer, 'message', '')}".strip()
            )
        if answer.user_id != self.user_id:
            raise FatalMatrixError(
                f"matrix: MATRIX_ACCESS_TOKEN belongs to {answer.user_id}, but matrix.user_id "
                f"is {self.user_id}; set matrix.user_id to the bot's own id"
            )
        client.user_id = answer.user_id
        if answer.device_id:
            client.device_id = answer.device_id

    async def _prepare(self) -> None:
        """Resolve aliases, join the configured rooms, say which are encrypted."""
        for configured in self.circles:
            if configured not in self._room_id:
                try:
                    answer = await self._api(
                        "GET", f"/_matrix/client/v3/directory/room/{quote(configured, safe='')}"
                    )
                except MatrixError as exc:
                    if exc.transient:
                        raise
                    log.error(
                        "matrix: room alias %s (circle %s) cannot be resolved: %s",
                        configured,
                        self.circles[configured],
                        exc,
                    )
                    continue
                room = answer.get("room_id")
                if isinstance(room, str):
                    self._room_id[configured] = room
                    self._configured[room] = configured
        for configured, room in self._room_id.items():
            await self._join(room, configured)
            await self._check_encryption(room, configured)
        self._prepared = True

    async def _join(self, room: str, configured: str) -> None:
        assert self.client is not None
        answer = await self.client.join(room)
        if isinstance(answer, nio.JoinResponse):
            return
        error = MatrixError.of(answer, f"joining {configured}")
        if error.transient:
            raise error
        log.error(
            "matrix: cannot join room %s of circle %s (%s); invite %s to it",
            configured,
            self.circles[configured],
            error,
            self.user_id,
        )

    async def _check_encryption(self, room: str, configured: str) -> None:
        try:
            await self._api(
                "GET", f"/_matrix/client/v3/rooms/{quote(room, safe='')}/state/m.room.encryption"
            )
        except MatrixError as exc:
            if exc.transient:
                raise
            return  # 404: not encrypted (or not joined: said when joining)
        self.encrypted_rooms.add(room)
        circle = self.circles[configured]
        if not E2E_AVAILABLE:
            log.error(
                "matrix: room %s (circle %s) is end-to-end encrypted, but encryption "
                "support is not installed, so the bot can neither read nor post there: %s",
                configured,
                circle,
                E2E_EXTRA_HINT,
            )
        elif not self.config.store_path:
            log.error(
                "matrix: room %s (circle %s) is end-to-end encrypted; set matrix.store_path "
                "to a directory for the bot's encryption keys",
                configured,
                circle,
            )

    async def _e2e_housekeeping(self) -> None:
        client = self.client
        assert client is not None
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    def _filter(self, limit: int) -> dict[str, Any]:
        return {
            "presence": {"types": []},
            "account_data": {"types": []},
            "room": {
                "timeline": {"limit": limit},
                "ephemeral": {"types": []},
                "account_data": {"types": []},
            },
        }

    async def _sync(self, timeout_ms: int) -> None:
        client = self.client
        assert client is not None and self.cursors is not None
        first = self._since is None
        answer = await client.sync(
            timeout=timeout_ms if not first else 0,
            since=self._since,
            # The very first sync only learns where "now" is: a short timeline.
            sync_filter=self._filter(1 if first else TIMELINE_LIMIT),
            full_state=self._full_state or None,
        )
        if not isinstance(answer, nio.SyncResponse):
            raise MatrixError.of(answer, "syncing")
        self._full_state = False
        await self._invites(answer)
        if not first:
            assert self._since is not None
            await self._deliver_batch(answer, self._since)
        # Only now, with every event of the batch applied by the core: replays after a
        # crash before this line are harmless, a crash after it loses nothing.
        await self.cursors.set(self.cursor_name, answer.next_batch)
        self._since = answer.next_batch

    async def _invites(self, answer: nio.SyncResponse) -> None:
        assert self.client is not None
        for room in answer.rooms.invite:
            if room in self._configured:
                log.info("matrix: accepting the invitation to %s", room)
                await self._join(room, self._configured[room])
            else:
                log.info("matrix: declining an invitation to %s (not a configured room)", room)
                await self.client.room_leave(room)

    async def _deliver_batch(self, answer: nio.SyncResponse, since: str) -> None:
        for room, info in answer.rooms.join.items():
            configured = self._configured.get(room)
            if configured is None:
                continue  # not one of the circles' rooms
            events = [self._source(event) for event in info.timeline.events]
            if info.timeline.limited and info.timeline.prev_batch:
                events = await self._fill_gap(room, info.timeline.prev_batch, since) + events
            for event in inbound.since_join(events, self.user_id):
                if self._unreadable(event):
                    for pushed in self.sealed.add(room, configured, event, time.monotonic()):
                        await self._never_read(pushed)
                    continue
                await self._translate_and_deliver(event, configured)
        await self._open_sealed()
        for room in answer.rooms.leave:
            if room in self._configured:
                log.error(
                    "matrix: the bot left or was removed from room %s (circle %s)",
                    self._configured[room],
                    self.circles[self._configured[room]],
                )

    async def _translate_and_deliver(self, event: dict[str, Any], configured: str) -> None:
        found = inbound.translate(event, configured, self.prefix, self.user_id)
        if found is not None:
            self.stats["events"] += 1
            await self._deliver(*found)

    def _unreadable(self, event: dict[str, Any]) -> bool:
        """Still encrypted after nio tried its keys (our own events need no reading)."""
        return (
            event.get("type") == "m.room.encrypted"
            and event.get("sender") != self.user_id
            and self.client is not None
            and self.client.olm is not None
        )

    async def _open_sealed(self) -> None:
        """Try the waiting encrypted events again: this sync may have brought their keys."""
        for sealed in self.sealed:
            clear = self._decrypted(sealed.event, sealed.room)
            if clear is not None:
                self.sealed.opened(sealed)
                self.stats["decrypted_late"] += 1
                await self._translate_and_deliver(clear, sealed.channel)
        for sealed in self.sealed.expired(time.monotonic()):
            await self._never_read(sealed)

    async def _never_read(self, sealed: Sealed) -> None:
        """Its key never came: say so to the operator, and to the sender once per session
        (they see their own message fine and would wait for an answer forever)."""
        log.warning(
            "matrix: cannot decrypt %s from %s in %s: its room key never reached this "
            "device (%s); the sender's client must share keys with it",
            sealed.event_id,
            sealed.sender,
            sealed.channel,
            self.client.device_id if self.client is not None else "?",
        )
        if self.sealed.first_to_tell(sealed):
            reply = Reply(UNREADABLE_TEXT, ok=False)
            content = render.reply_content(
                sealed.sender, reply, sealed.event_id, sealed.thread_root
            )
            try:
                key = f"unread:{sealed.event_id}"
                await self._send(sealed.channel, "m.room.message", content, key)
                self.stats["unreadable_answered"] += 1
            except (MatrixError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("matrix: could not tell %s: %s", sealed.sender, exc)
        self.stats["undecryptable"] += 1  # last: once counted, it was dealt with

    @staticmethod
    def _source(event: Any) -> dict[str, Any]:
        source = getattr(event, "source", None)
        return source if isinstance(source, dict) else {}

    async def _fill_gap(self, room: str, start: str, since: str) -> list[dict[str, Any]]:
        """The events a `limited` timeline left out, between `since` and its start."""
        found: list[dict[str, Any]] = []
        token: str | None = start
        for _ in range(GAP_PAGES):
            query = urlencode({"dir": "b", "from": token, "to": since, "limit": TIMELINE_LIMIT})
            page = await self._api(
                "GET", f"/_matrix/client/v3/rooms/{quote(room, safe='')}/messages?{query}"
            )
            chunk = [e for e in page.get("chunk", []) if isinstance(e, dict)]
            found.extend(chunk)
            token = page.get("end")
            if not chunk or not isinstance(token, str):
                break
        else:
            log.warning("matrix: a long gap in %s was filled only partly", room)
        found.reverse()
        if self.client is not None and self.client.olm is not None:
            found = [self._decrypted(event, room) or event for event in found]
        self.stats["gap_events"] += len(found)
        return found

    def _decrypted(self, event: dict[str, Any], room: str) -> dict[str, Any] | None:
        client = self.client
        if event.get("type") != "m.room.encrypted" or client is None or client.olm is None:
            return None
        parsed = nio.Event.parse_event(event)
        if not isinstance(parsed, nio.MegolmEvent):
            return None
        parsed.room_id = room
        try:
            clear = client.decrypt_event(parsed)
        except Exception:
            return None
        source = getattr(clear, "source", None)
        return source if isinstance(source, dict) else None

    async def _deliver(self, event: InboundEvent, thread_root: str | None) -> None:
        assert self._sink is not None
        if isinstance(event, CommandEvent):
            self.answering.heard(event, thread_root)
        await self._sink(event)

    # -- raw requests ----------------------------------------------------------------

    async def _api(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """A client-server API call nio has no helper for; honours M_LIMIT_EXCEEDED."""
        client = self.client
        assert client is not None
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
            if 200 <= response.status < 300:
                return data if data is not None else {}
            data = data if isinstance(data, dict) else {}
            error = MatrixError(
                f"{method} {path.split('?', 1)[0]}",
                response.status,
                data.get("errcode"),
                str(data.get("error", "")),
                data.get("retry_after_ms"),
            )
            if error.rate_limited and attempt + 1 < SEND_ATTEMPTS:
                await self._rate_limited(error)
                continue
            raise error
        raise AssertionError("unreachable")

    async def _rate_limited(self, error: MatrixError) -> None:
        self.stats["rate_limited"] += 1
        delay = min(max((error.retry_after_ms or 1000) / 1000, 0.05), LONGEST_WAIT)
        log.warning("matrix: rate limited (%s); waiting %.2f s as asked", error, delay)
        await self._sleep(delay)

    async def _send(self, channel: str, kind: str, content: dict[str, Any], key: str) -> str:
        """Send one event with a transaction id derived from `key`; returns its id.
        Raises on failure: the dispatcher keeps the message and tries again later."""
        client = self.client
        assert client is not None, "start() first"
        room = self._room_id.get(channel, channel)
        txn = render.txn_id(key)
        for attempt in range(SEND_ATTEMPTS):
            answer = await client.room_send(
                room, kind, content, tx_id=txn, ignore_unverified_devices=True
            )
            if isinstance(answer, nio.RoomSendResponse):
                self.stats["sent"] += 1
                return str(answer.event_id)
            error = MatrixError.of(answer, f"sending to {channel}")
            if error.rate_limited and attempt + 1 < SEND_ATTEMPTS:
                await self._rate_limited(error)
                continue
            raise error
        raise AssertionError("unreachable")

    # -- the Adapter protocol: output --------------------------------------------------

    async def post_card(self, channel: str, card: ProposalCard, key: str) -> str:
        return await self._send(channel, "m.room.message", render.card_content(card), key)

    async def update_card(
        self, channel: str, message_ref: str, card: ProposalCard, key: str
    ) -> None:
        content = render.edit_content(message_ref, render.card_content(card))
        await self._send(channel, "m.room.message", content, key)

    async def post(
        self, channel: str, message: Message, thread_ref: str | None, key: str
    ) -> str | None:
        """In the card's thread when `thread_ref` is given. A Reminder mentions exactly the
        waiting people in the thread (Matrix has no DMs we would want to open here)."""
        content = render.message_content(message)
        if thread_ref is not None:
            content = render.in_thread(content, thread_ref)
        return await self._send(channel, "m.room.message", content, key)

    async def reply_private(self, channel: str, user: str, reply: Reply) -> None:
        # Matrix has no ephemeral (only-you-can-see) messages: see render.reply_content.
        command, root, key = self.answering.reply_to(channel, user)
        content = render.reply_content(user, reply, command, root)
        try:
            await self._send(channel, "m.room.message", content, key)
        except (MatrixError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            # A lost answer is not worth blocking the sync loop for; the command took
            # effect (or not) either way and `status` shows it.
            log.warning("matrix: could not answer %s in %s: %s", user, channel, exc)

    # -- reading reactions back ---------------------------------------------------------

    async def read_reactions(
        self, channel: str, message_ref: str
    ) -> list[tuple[str, str, datetime | None]] | None:
        """Every reaction now on the card, from the relations API (redacted ones are gone
        from it), as (sender, key, when). None when they cannot all be read."""
        room = self._room_id.get(channel, channel)
        present: list[tuple[str, str, datetime | None]] = []
        token: str | None = None
        base = (
            f"/_matrix/client/v1/rooms/{quote(room, safe='')}/relations/"
            f"{quote(message_ref, safe='')}/m.annotation"
        )
        for _ in range(RELATION_PAGES):
            query: dict[str, str | int] = {"limit": 100}
            if token:
                query["from"] = token
            try:
                page = await self._api("GET", f"{base}?{urlencode(query)}")
            except MatrixError as exc:
                if exc.status == 404:
                    log.warning("matrix: card %s not found in %s", message_ref, channel)
                    return None
                raise
            for event in page.get("chunk", []):
                if not isinstance(event, dict):
                    continue
                if event.get("type") == "m.room.encrypted":
                    clear = self._decrypted(event, room)
                    if clear is None:
                        return None  # cannot tell what it says: better not to guess
                    event = clear
                found = inbound.reaction(event, channel, self.user_id)
                if found is not None and found.added and found.message_ref == message_ref:
                    present.append((found.user, found.emoji, found.at))
            token = page.get("next_batch")
            if not isinstance(token, str) or not token:
                return present
        log.warning("matrix: card %s has too many reactions to read back", message_ref)
        return None
