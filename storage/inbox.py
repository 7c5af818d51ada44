"""The inbox: inbound events stored before the platform is told they arrived.

Slack never resends a command, button press or form it got an answer for, so an adapter
stores what it receives here first and answers only once it is durable. The runtime
applies the event afterwards and removes it; whatever is still here on the next start
(the process died in between) is applied then, in arrival order. The core applies each
(platform, event_id) at most once, so an event applied just before a crash, whose row was
not removed yet, is not applied twice.

Writes come from many requests at once and must not queue behind the core's work:
InboxWriter stores them on a thread and connection of its own, all those waiting in one
transaction (group commit).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any, cast, get_type_hints

from sqlalchemy import Connection, Engine, Table, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from bot.domain import intents
from bot.domain.errors import StorageUnavailable
from bot.domain.events import CommandEvent, InboundEvent, ReactionEvent, ThreadReplyEvent
from bot.ports.store import Replay
from storage.db import unavailable_reason
from storage.models import InboxRow, InboxTakenRow

log = logging.getLogger(__name__)

INBOX = cast(Table, InboxRow.__table__)
TAKEN = cast(Table, InboxTakenRow.__table__)
# How long an event's id is remembered after it was taken: a repeat within it is known.
REMEMBER_TAKEN = timedelta(days=1)
# How often the ids older than that are forgotten (with the write that comes then).
FORGET_EVERY = 60.0
MAX_BATCH = 500  # events per transaction
_KINDS: dict[str, type[CommandEvent] | type[ReactionEvent] | type[ThreadReplyEvent]] = {
    "command": CommandEvent,
    "reaction": ReactionEvent,
    "thread_reply": ThreadReplyEvent,
}


def _members(hint: Any) -> tuple[Any, ...]:
    return getattr(hint, "__args__", None) or (hint,)


_KIND_OF = {cls: kind for kind, cls in _KINDS.items()}
# The fields that hold a datetime, per kind: JSON has no time type.
_TIMES = {
    kind: {name for name, hint in get_type_hints(cls).items() if datetime in _members(hint)}
    for kind, cls in _KINDS.items()
}
_LIMITS = {"platform": 20, "event_id": 255}  # the columns' lengths

# Insert unless this (platform, event_id) is waiting already (a platform's retry).
# Indexed by "is PostgreSQL".
_INSERT_IGNORING = (
    sqlite.insert(INBOX).on_conflict_do_nothing(),
    postgresql.insert(INBOX).on_conflict_do_nothing(),
)
# Record an id as taken unless it was taken before; says which ones are new.
_TAKE = tuple(
    dialect.insert(TAKEN).on_conflict_do_nothing().returning(TAKEN.c.platform, TAKEN.c.event_id)
    for dialect in (sqlite, postgresql)
)
_DELETE = delete(INBOX).where(
    INBOX.c.platform == bindparam("key_platform"), INBOX.c.event_id == bindparam("key_event_id")
)


class UnknownKind(ValueError):
    """A stored row this version cannot read back."""


def encode(event: InboundEvent) -> tuple[str, dict[str, Any]]:
    """An event as (kind, JSON payload). Raises ValueError for one the table cannot hold,
    so that one event never fails the transaction of the others."""
    kind = _KIND_OF[type(event)]
    for name, limit in _LIMITS.items():
        value = getattr(event, name)
        if not value or len(value) > limit:
            raise ValueError(f"{name} must have 1 to {limit} characters")
    payload: dict[str, Any] = {}
    for field in fields(event):
        value = getattr(event, field.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif field.name == "intent" and value is not None:
            value = intents.to_record(value)
        payload[field.name] = value
    return kind, payload


def decode(kind: str, payload: dict[str, Any]) -> InboundEvent:
    cls = _KINDS.get(kind)
    if cls is None:
        raise UnknownKind(kind)
    known = {field.name for field in fields(cls)}
    values = {name: value for name, value in payload.items() if name in known}
    for name in _TIMES[kind]:
        if isinstance(values.get(name), str):
            values[name] = datetime.fromisoformat(values[name])
    if isinstance(values.get("intent"), dict):
        values["intent"] = intents.from_record(values["intent"])
    return cls(**values)


class Inbox:
    """The table's operations, each in a transaction of its own."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def write(
        self,
        events: Sequence[InboundEvent],
        done: Sequence[tuple[str, str]] = (),
        forget: bool = False,
    ) -> set[tuple[str, str]]:
        """Store `events` and remove the applied `done` (platform, event_id) pairs, in one
        transaction. Returns the (platform, event_id) of the events taken now: one taken
        before (waiting, or applied within REMEMBER_TAKEN, here or on another replica) is
        a repeat, stored again nowhere. `forget`: also forget ids older than that."""
        now = datetime.now(UTC)
        rows = []
        for event in events:
            kind, payload = encode(event)
            rows.append(
                {
                    "platform": event.platform,
                    "event_id": event.event_id,
                    "kind": kind,
                    "payload": payload,
                    "received_at": now,
                    "attempts": 0,
                }
            )
        try:
            with self.engine.begin() as connection:
                postgres = connection.dialect.name == "postgresql"
                new: set[tuple[str, str]] = set()
                if rows:
                    taken = [
                        {"platform": r["platform"], "event_id": r["event_id"], "taken_at": now}
                        for r in rows
                    ]
                    new = {(p, e) for p, e in connection.execute(_TAKE[postgres], taken)}
                    fresh = [r for r in rows if (r["platform"], r["event_id"]) in new]
                    if fresh:
                        connection.execute(_INSERT_IGNORING[postgres], fresh)
                if forget:
                    connection.execute(delete(TAKEN).where(TAKEN.c.taken_at < now - REMEMBER_TAKEN))
                if done:
                    connection.execute(
                        _DELETE, [{"key_platform": p, "key_event_id": e} for p, e in done]
                    )
        except OperationalError as exc:  # as Repository.transaction says it
            raise StorageUnavailable(unavailable_reason(exc)) from exc
        return new

    def pending(self) -> list[InboundEvent]:
        """What waits, in arrival order."""
        with self.engine.begin() as connection:
            rows = connection.execute(select(INBOX).order_by(INBOX.c.id)).all()
        return [decode(row.kind, row.payload) for row in rows]

    def orphans(self, older_than: float, max_attempts: int) -> Replay:
        """What has waited more than `older_than` seconds, in arrival order: the replica
        that stored it died (or is stuck) before applying it. Each adoption counts as an
        attempt, as a start's replay does: one that keeps failing is given up on.
        StorageUnavailable when the database does not answer."""
        since = datetime.now(UTC) - timedelta(seconds=older_than)
        stale = INBOX.c.received_at < since
        try:
            with self.engine.begin() as connection:
                connection.execute(update(INBOX).where(stale).values(attempts=INBOX.c.attempts + 1))
                rows = connection.execute(select(INBOX).where(stale).order_by(INBOX.c.id)).all()
                return self._sorted(connection, rows, max_attempts)
        except OperationalError as exc:  # looked at again at the next check
            raise StorageUnavailable(unavailable_reason(exc)) from exc

    def count(self) -> int:
        with self.engine.begin() as connection:
            return int(connection.scalar(select(func.count()).select_from(INBOX)) or 0)

    def replay(self, max_attempts: int) -> Replay:
        """On start: what waits, each counted as one more attempt. An event that starts
        already tried `max_attempts` times (it keeps failing, or kills the process) is
        removed and reported instead, as is one this version cannot read.
        StorageUnavailable when the database does not answer (start-up waits for it)."""
        try:
            with self.engine.begin() as connection:
                connection.execute(update(INBOX).values(attempts=INBOX.c.attempts + 1))
                rows = connection.execute(select(INBOX).order_by(INBOX.c.id)).all()
                return self._sorted(connection, rows, max_attempts)
        except OperationalError as exc:
            raise StorageUnavailable(unavailable_reason(exc)) from exc

    @staticmethod
    def _sorted(connection: Connection, rows: Sequence[Any], max_attempts: int) -> Replay:
        """The events of `rows` to apply, and those given up on (removed)."""
        events: list[InboundEvent] = []
        dropped: list[tuple[str, str, str]] = []
        gone: list[int] = []
        for row in rows:
            if row.attempts > max_attempts:
                why = f"not applied in {max_attempts} attempts"
            else:
                try:
                    events.append(decode(row.kind, row.payload))
                    continue
                except (ValueError, TypeError) as exc:
                    why = f"unreadable ({type(exc).__name__}: {exc})"
            dropped.append((row.platform, row.event_id, why))
            gone.append(row.id)
        if gone:
            connection.execute(delete(INBOX).where(INBOX.c.id.in_(gone)))
        return Replay(events, dropped)


class InboxWriter:
    """Stores events for the event loop's callers on a thread of its own: the events that
    arrive while a transaction runs go together in the next one."""

    def __init__(self, inbox: Inbox, max_batch: int = MAX_BATCH) -> None:
        self.inbox = inbox
        self.max_batch = max_batch
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbox")
        self._waiting: list[tuple[InboundEvent, asyncio.Future[bool]]] = []
        self._forgot = 0.0  # monotonic time ids older than a day were last forgotten
        self._done: list[tuple[str, str]] = []
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.transactions = 0  # for tests and benchmarks
        self.stored = 0

    async def store(self, event: InboundEvent) -> bool:
        """Returns once `event` is committed: True when it was taken now, False for a
        repeat of one taken before; raises what the write raised."""
        if self._closed:
            raise RuntimeError("the inbox is closed")
        encode(event)  # refuse a malformed event alone, before it joins a batch
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((event, future))
        self._wake()
        return await future

    def replay(self, max_attempts: int) -> Replay:
        return self.inbox.replay(max_attempts)

    def orphans(self, older_than: float, max_attempts: int) -> Replay:
        return self.inbox.orphans(older_than, max_attempts)

    def done(self, platform: str, event_id: str) -> None:
        """The event was applied: remove it with the next transaction. (If the process
        dies first, the next start applies it again, and the core ignores it.)"""
        if self._closed:
            return
        self._done.append((platform, event_id))
        self._wake()

    def _wake(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting or self._done:
            batch = self._waiting[: self.max_batch]
            del self._waiting[: self.max_batch]
            done, self._done = self._done, []
            events = [event for event, _ in batch]
            forget = bool(events) and time.monotonic() - self._forgot > FORGET_EVERY
            try:
                new = await loop.run_in_executor(
                    self._executor, self.inbox.write, events, done, forget
                )
            except Exception as exc:  # the database: every waiting caller hears of it
                if done:
                    log.warning(
                        "inbox: could not remove %d applied event(s); the next start "
                        "offers them again and the core ignores them: %s",
                        len(done),
                        type(exc).__name__,
                    )
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.transactions += 1
            self.stored += len(new)
            if forget:
                self._forgot = time.monotonic()
            for event, future in batch:
                key = (event.platform, event.event_id)
                if not future.done():
                    future.set_result(key in new)  # a second copy in one batch: a repeat
                new.discard(key)

    async def close(self) -> None:
        """Write what is queued, then stop the thread."""
        self._closed = True
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        self._executor.shutdown(wait=True)
