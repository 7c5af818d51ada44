"""The sync loop: long-polls the homeserver and hands each event of the circles' rooms to
the core, exactly once and crash-safe.

- The core applies each inbound event at most once (its (platform, event_id) is unique),
  so replaying a sync batch is harmless.
- The sync position (`next_batch`) is stored in the bot's database only after every
  event of the batch was handed to the core and applied. nio's own token store would
  save it before our handlers ran, so it is not used (`store_sync_tokens=False`).
- M_LIMIT_EXCEEDED waits for `retry_after_ms`; 5xx and connection loss back off
  exponentially (bounded, with jitter, never spinning); the loop keeps trying until the
  homeserver is back and then catches up from the stored position, filling gaps in
  `limited` timelines from /messages."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlencode

import nio

from adapters.matrix import inbound
from adapters.matrix.cursors import CursorStore
from adapters.matrix.e2e import Encryption
from adapters.matrix.errors import CONNECTION_ERRORS, MatrixError
from adapters.matrix.http import LONGEST_WAIT, Transport
from adapters.matrix.rooms import Rooms
from adapters.matrix.session import Session
from bot.domain.errors import StorageUnavailable
from bot.domain.events import InboundEvent
from bot.ports.platform import NotAccepted

log = logging.getLogger("adapters.matrix")

GAP_PAGES = 20  # /messages pages fetched to fill one gap in a limited timeline
TIMELINE_LIMIT = 100

# Hands one event to the core, with the thread to answer a command in; returns once the
# core applied it.
Deliver = Callable[[InboundEvent, str | None], Awaitable[None]]


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


class Sync:
    def __init__(
        self,
        session: Session,
        rooms: Rooms,
        encryption: Encryption,
        transport: Transport,
        deliver: Deliver,
        *,
        prefix: str,
        timeout_ms: int,
        backoff: Backoff,
        stats: Counter[str],
        stopping: asyncio.Event,
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.session = session
        self.rooms = rooms
        self.encryption = encryption
        self.transport = transport
        self.deliver = deliver
        self.prefix = prefix
        self.user_id = session.user_id
        self.timeout_ms = timeout_ms
        self.backoff = backoff
        self.stats = stats
        self.stopping = stopping  # set by stop(): the loop ends, waits end at once
        self.sleep = sleep
        self.connected = asyncio.Event()  # the last request to the homeserver worked
        self.cursors: CursorStore | None = None  # set on start
        self.since: str | None = None
        self.synced_at: float | None = None  # monotonic time of the last sync that worked
        self._full_state = True  # nio learns the rooms' state on the first sync
        self._task: asyncio.Task[None] | None = None
        self._reload = False  # read the stored position before the next sync
        # Set while this replica leads (always, for one process): only then it syncs.
        self.leading = asyncio.Event()
        self.leading.set()

    @property
    def cursor_name(self) -> str:
        """The sync position, under this name in the cursor store."""
        return f"matrix:{self.user_id}:next_batch"

    async def set_leading(self, leading: bool) -> None:
        """Sync only while this replica leads: one syncer at a time. A new leader goes on
        from the position the last one stored, so nothing is missed across a takeover."""
        if leading and not self.leading.is_set():
            # Read by the next step, where a database that does not answer is waited out
            # like a homeserver that does not.
            self._reload = True
            self.leading.set()
        elif not leading and self.leading.is_set():
            self.leading.clear()
            self.cancel()  # a long poll in flight ends now

    async def begin(self, cursors: CursorStore) -> None:
        """Log in, join, check the rooms, and catch up with what happened while the bot
        was away (before the runtime reads the cards back). A homeserver that is down
        or busy is tried again by run(). A replica that does not lead logs in and finds its
        rooms (it sends cards and messages), but does not sync."""
        self.cursors = cursors
        self.since = await cursors.get(self.cursor_name)
        self.session.open()
        try:
            if self.leading.is_set():
                await self.step(timeout_ms=0)
            else:  # the leader syncs; this replica only sends (cards, messages)
                await self.session.login()
                await self.rooms.prepare()
        except MatrixError as exc:
            if not exc.transient:
                raise
            log.warning("matrix: %s; will keep trying", exc)
        except CONNECTION_ERRORS as exc:
            log.warning(
                "matrix: homeserver %s unreachable (%s); will keep trying",
                self.session.config.homeserver,
                exc.__class__.__name__,
            )

    async def run(self) -> None:
        """Sync until stopped: long-polls, hands events to the core, stores the position."""
        while not self.stopping.is_set():
            if not self.leading.is_set():
                await self._until_leading()
                continue
            self._task = asyncio.ensure_future(self.step(self.timeout_ms))
            try:
                await self._task
            except asyncio.CancelledError:
                if self.stopping.is_set():
                    break
                if not self.leading.is_set():
                    continue  # stepped down mid-poll: wait to lead again
                raise
            except MatrixError as exc:
                if exc.unauthorized:
                    await self.session.ended(exc)
                elif not exc.transient:
                    log.error("matrix: %s", exc)
                await self._wait_after(exc)
            except (NotAccepted, StorageUnavailable) as exc:
                # The database refused an event of the batch (or its position): the
                # position stays where it was, so the batch comes again; what was
                # applied of it counts once.
                self.stats["storage_errors"] += 1
                delay = self.backoff.next()
                log.warning(
                    "matrix: the database did not take %s; syncing again from the stored "
                    "position in %.1f s",
                    exc,
                    delay,
                )
                await self.sleep(delay)
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
                await self.sleep(delay)
            finally:
                self._task = None

    async def _until_leading(self) -> None:
        waits = [asyncio.ensure_future(self.leading.wait())]
        waits.append(asyncio.ensure_future(self.stopping.wait()))
        _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending:
            waiter.cancel()

    def cancel(self) -> None:
        """Cut a long poll short (on stop, or on stepping down)."""
        if self._task is not None:
            self._task.cancel()

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
        await self.sleep(delay)

    # -- one step of the loop --------------------------------------------------------

    async def step(self, timeout_ms: int) -> None:
        if not self.session.logged_in:
            await self.session.login()
        if not self.rooms.prepared:
            await self.rooms.prepare()
        if self._reload:  # a new leader goes on from where the last one got to
            assert self.cursors is not None
            self.since = await self.cursors.get(self.cursor_name)
            self._reload = False
        due = self.encryption.sealed.next_due(time.monotonic())
        if due is not None:  # come back in time to give up on a missing room key
            timeout_ms = min(timeout_ms, int(due * 1000) + 1)
        await self._sync(timeout_ms)
        self.connected.set()
        self.backoff.reset()
        await self.encryption.housekeeping()

    @staticmethod
    def _filter(limit: int) -> dict[str, Any]:
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
        client = self.session.client
        assert client is not None and self.cursors is not None
        first = self.since is None
        answer = await client.sync(
            timeout=timeout_ms if not first else 0,
            since=self.since,
            # The very first sync only learns where "now" is: a short timeline.
            sync_filter=self._filter(1 if first else TIMELINE_LIMIT),
            full_state=self._full_state or None,
        )
        if not isinstance(answer, nio.SyncResponse):
            raise MatrixError.of(answer, "syncing")
        self._full_state = False
        await self.rooms.invites(answer)
        if not first:
            assert self.since is not None
            await self._deliver_batch(answer, self.since)
        # Only now, with every event of the batch applied by the core: replays after a
        # crash before this line are harmless, a crash after it loses nothing.
        await self.cursors.set(self.cursor_name, answer.next_batch)
        self.since = answer.next_batch
        self.synced_at = time.monotonic()

    async def _deliver_batch(self, answer: nio.SyncResponse, since: str) -> None:
        for room, info in answer.rooms.join.items():
            configured = self.rooms.configured.get(room)
            if configured is None:
                continue  # not one of the circles' rooms
            events = [self._source(event) for event in info.timeline.events]
            if info.timeline.limited and info.timeline.prev_batch:
                events = await self._fill_gap(room, info.timeline.prev_batch, since) + events
            for event in inbound.since_join(events, self.user_id):
                if self.encryption.unreadable(event):
                    await self.encryption.hold(room, configured, event)
                    continue
                await self._translate_and_deliver(event, configured)
        await self.encryption.open_sealed(self._translate_and_deliver)
        self.rooms.left(answer)

    async def _translate_and_deliver(self, event: dict[str, Any], configured: str) -> None:
        found = inbound.translate(event, configured, self.prefix, self.user_id)
        if found is not None:
            self.stats["events"] += 1
            await self.deliver(*found)

    @staticmethod
    def _source(event: nio.Event) -> dict[str, Any]:
        """The event as the homeserver sent it (JSON)."""
        source = getattr(event, "source", None)
        return source if isinstance(source, dict) else {}

    async def _fill_gap(self, room: str, start: str, since: str) -> list[dict[str, Any]]:
        """The events a `limited` timeline left out, between `since` and its start."""
        found: list[dict[str, Any]] = []
        token: str | None = start
        for _ in range(GAP_PAGES):
            query = urlencode({"dir": "b", "from": token, "to": since, "limit": TIMELINE_LIMIT})
            page = await self.transport.api(
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
        if self.encryption.active:
            found = [self.encryption.decrypted(event, room) or event for event in found]
        self.stats["gap_events"] += len(found)
        return found
