"""Leading on PostgreSQL (bot.ports.leadership): a session-level advisory lock held on a
connection of its own, a lease renewed on it, and the fencing number, all in the
`leadership` table.

- acquire: pg_try_advisory_lock on the lock's connection; on success, in one
  transaction, the fencing number goes up by one and is ours, with our backend's pid and
  the lease's start. When the lock is taken but its lease has run out (the leader is
  paused or stuck: its connection still holds the lock), the stale leader's backend is
  ended, which frees the lock, and this replica takes it.
- still_held: renews the lease on the lock's connection. It fails when the connection is
  gone (the server restarted, the connection was cut) or another replica holds the lead:
  the replica steps down at once.
- check_fence (every scheduled transaction, storage.repository): the newest number,
  read with FOR SHARE, must be ours, so a new leader's increment waits for the
  transactions of the old one that already checked, and the old one's later ones fail."""

from __future__ import annotations

import logging
import select as io_select
import time

from sqlalchemy import Connection, Engine, create_engine, func, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from bot.domain.errors import NotLeader
from bot.ports.leadership import Lead
from storage.models import LeadershipRow

log = logging.getLogger(__name__)

LOCK_KEY = 0x63697263  # "circ": the advisory lock every replica of a database contends for
CHECK_TIMEOUT_MS = 3000  # how long the lock's connection may take to answer
LEASE_SECONDS = 10  # a leader that has not renewed its lead for this long is replaced
_FREED_TRIES = 20  # after ending a stale leader's backend: tries, 50 ms apart


class PostgresLeadership:
    def __init__(self, engine: Engine, holder: str, lease_seconds: float = LEASE_SECONDS) -> None:
        # Its own engine without a pool: the lock lives and dies with this connection.
        self._engine = create_engine(engine.url, poolclass=NullPool)
        self.holder = holder
        self.lease_seconds = lease_seconds
        self._lock: Connection | None = None

    def acquire(self) -> Lead | None:
        try:
            connection = self._lock or self._engine.connect()
            self._lock = connection
            connection.exec_driver_sql(f"SET statement_timeout = {CHECK_TIMEOUT_MS}")
            connection.commit()
            if not self._try_lock(connection) and not self._replace_a_stale_leader(connection):
                self._drop()
                return None
            with connection.begin():
                fence = connection.scalar(
                    update(LeadershipRow)
                    .where(LeadershipRow.id == 1)
                    .values(
                        fence=LeadershipRow.fence + 1,
                        holder=self.holder,
                        holder_pid=func.pg_backend_pid(),
                        renewed_at=func.now(),
                    )
                    .returning(LeadershipRow.fence)
                )
            assert fence is not None
            return Lead(fence=int(fence))
        except SQLAlchemyError as exc:
            log.warning("leadership: cannot try to lead: %s", type(exc).__name__)
            self._drop()
            return None

    def _try_lock(self, connection: Connection) -> bool:
        got = connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY})
        connection.commit()
        return bool(got)

    def _replace_a_stale_leader(self, connection: Connection) -> bool:
        """The lock is taken: if its holder let its lease run out, end its backend (its
        lock goes with it) and take the lock. True when this replica now holds it."""
        stale = connection.execute(
            select(LeadershipRow.holder, LeadershipRow.holder_pid).where(
                LeadershipRow.id == 1,
                LeadershipRow.renewed_at
                < func.now() - text(f"interval '{float(self.lease_seconds)} seconds'"),
            )
        ).first()
        connection.commit()
        if stale is None or stale.holder_pid is None:
            return False
        log.warning(
            "leadership: %s has not renewed its lead for %.0f s: ending its connection",
            stale.holder,
            self.lease_seconds,
        )
        connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": stale.holder_pid})
        connection.commit()
        for _ in range(_FREED_TRIES):  # the backend exits a moment later
            if self._try_lock(connection):
                return True
            time.sleep(0.05)
        return False

    def still_held(self) -> bool:
        """Renew the lease; False when the lock's connection is gone or another replica
        leads now."""
        if self._lock is None:
            return False
        try:
            renewed = self._lock.execute(
                update(LeadershipRow)
                .where(LeadershipRow.id == 1, LeadershipRow.holder_pid == func.pg_backend_pid())
                .values(renewed_at=func.now())
            ).rowcount
            self._lock.commit()
        except SQLAlchemyError:
            self._drop()
            return False
        if renewed != 1:
            self._drop()
            return False
        return True

    def signalled(self) -> bool:
        """A local look at the lock's socket, no round trip: an idle connection has
        nothing to read unless the server is ending it (pg_terminate_backend, a restart
        or shutdown sends a last message before closing)."""
        if self._lock is None:
            return False
        try:
            socket = self._lock.connection.dbapi_connection.fileno()  # type: ignore[union-attr]
            readable, _, _ = io_select.select([socket], [], [], 0)
        except (OSError, ValueError, SQLAlchemyError):
            return True  # no socket left to look at: it is gone
        return bool(readable)

    def release(self) -> None:
        if self._lock is not None:
            try:
                self._lock.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                self._lock.commit()
            except SQLAlchemyError:
                pass  # closing the connection releases it anyway
        self._drop()
        self._engine.dispose()

    def _drop(self) -> None:
        if self._lock is not None:
            try:
                self._lock.invalidate()
                self._lock.close()
            except SQLAlchemyError:
                pass
            self._lock = None


def check_fence(connection: Connection, fence: int) -> None:
    """Raise NotLeader unless `fence` is the newest fencing number; the row stays
    shared-locked until the transaction ends."""
    query = select(LeadershipRow.fence).where(LeadershipRow.id == 1)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    newest = connection.scalar(query)
    if newest != fence:
        raise NotLeader(fence, None if newest is None else int(newest))
