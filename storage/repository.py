"""The repository: every read and write the core makes, inside one transaction each.
A transaction's operations are grouped by the tables they touch, one module each."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from bot.domain.errors import StorageUnavailable
from bot.ports.leadership import current_fence
from bot.ports.schedule_watch import OwnChangesOnly, ScheduleWatch
from storage.checkins import CheckinsTx
from storage.cursors import CursorsTx
from storage.db import unavailable_reason
from storage.delivery import DeliveryTx
from storage.history import HistoryTx
from storage.identities import IdentitiesTx
from storage.inbox import Inbox, InboxWriter
from storage.installations import InstallationsTx
from storage.leadership import check_fence
from storage.members import MembersTx
from storage.proposals import ProposalsTx
from storage.report_reads import ReportTx
from storage.schedule_watch import PostgresScheduleWatch


class Repository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def shared(self) -> bool:
        return self.engine.dialect.name == "postgresql"  # SQLite: one process (its lock)

    def inbound_log(self) -> InboxWriter:
        return InboxWriter(Inbox(self.engine))

    def schedule_watch(self) -> ScheduleWatch:
        if self.shared:
            return PostgresScheduleWatch(self.engine)
        return OwnChangesOnly()  # SQLite: this process is the only writer

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One transaction. A write the database cannot take raises StorageUnavailable
        with a short reason; nothing of the transaction is kept."""
        try:
            with self.engine.begin() as connection:
                fence = current_fence()
                if fence is not None:  # scheduled work: only the newest leader writes
                    check_fence(connection, fence)
                yield Tx(connection)
        except OperationalError as exc:
            raise StorageUnavailable(unavailable_reason(exc)) from exc


class Tx(
    MembersTx,
    HistoryTx,
    ProposalsTx,
    CheckinsTx,
    DeliveryTx,
    CursorsTx,
    IdentitiesTx,
    InstallationsTx,
    ReportTx,
):
    """Operations inside one transaction."""
