"""Leading on PostgreSQL (bot.leadership): a session-level advisory lock held on a
connection of its own, and the fencing number in the `leadership` table.

- acquire: pg_try_advisory_lock on the lock's connection; on success, in one
  transaction, the fencing number goes up by one and is ours.
- still_held: the lock's connection answers a trivial query within a few seconds. If it
  does not (the server restarted, the connection was cut, the network is gone), the
  lock is gone with it: the replica steps down at once, and another takes over.
- check_fence (every scheduled transaction, storage.repository): the newest number,
  read with FOR SHARE, must be ours, so a new leader's increment waits for the
  transactions of the old one that already checked, and the old one's later ones fail."""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, create_engine, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from bot.errors import NotLeader
from bot.leadership import Lead
from storage.models import LeadershipRow

log = logging.getLogger(__name__)

LOCK_KEY = 0x63697263  # "circ": the advisory lock every replica of a database contends for
CHECK_TIMEOUT_MS = 3000  # how long the lock's connection may take to answer


class PostgresLeadership:
    def __init__(self, engine: Engine, holder: str) -> None:
        # Its own engine without a pool: the lock lives and dies with this connection.
        self._engine = create_engine(engine.url, poolclass=NullPool)
        self.holder = holder
        self._lock: Connection | None = None

    def acquire(self) -> Lead | None:
        try:
            connection = self._lock or self._engine.connect()
            connection.exec_driver_sql(f"SET statement_timeout = {CHECK_TIMEOUT_MS}")
            connection.commit()
            got = connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY})
            connection.commit()
            if not got:
                if self._lock is None:
                    connection.close()
                return None
            self._lock = connection
            with connection.begin():
                fence = connection.scalar(
                    update(LeadershipRow)
                    .where(LeadershipRow.id == 1)
                    .values(fence=LeadershipRow.fence + 1, holder=self.holder)
                    .returning(LeadershipRow.fence)
                )
            assert fence is not None
            return Lead(fence=int(fence))
        except SQLAlchemyError as exc:
            log.warning("leadership: cannot try to lead: %s", type(exc).__name__)
            self._drop()
            return None

    def still_held(self) -> bool:
        if self._lock is None:
            return False
        try:
            self._lock.scalar(text("SELECT 1"))
            self._lock.commit()
            return True
        except SQLAlchemyError:
            self._drop()
            return False

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
