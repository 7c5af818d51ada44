"""The circle report's reads: one query for the history of the proposals opened in a
period, one for its check-ins and one for their replies."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import String, case, null, select, type_coerce

from bot.domain.model import Checkin
from bot.ports.report_store import REPORT_KINDS, HistoryEntry
from storage.checkins import _checkin
from storage.history import HISTORY
from storage.models import CheckinReplyRow, CheckinRow, HistoryRow
from storage.tx_base import TxBase


class ReportTx(TxBase):
    """Reads for bot.queries.report."""

    def report_entries(
        self, circle_id: int, since: datetime, until: datetime
    ) -> list[HistoryEntry]:
        opened = select(HistoryRow.proposal_id).where(
            HistoryRow.circle_id == circle_id,
            HistoryRow.kind == "propose",
            HistoryRow.at >= since,
            HistoryRow.at < until,
        )
        h = HISTORY.c
        # A reaction's detail is never read: not decoding it is most of the time saved.
        detail = case((h.kind == "reaction", null()), else_=h.detail).label("detail")
        sqlite = self.c.dialect.name == "sqlite"
        # SQLite keeps times as text: read by fromisoformat, many times faster than the
        # general conversion (PostgreSQL's driver gives aware datetimes already).
        at = type_coerce(h.at, String()).label("at") if sqlite else h.at
        query = (
            select(
                h.proposal_id,
                h.round,
                h.kind,
                h.actor,
                h.member,
                h.mark,
                h.emoji,
                h.added,
                detail,
                at,
            )
            .where(
                h.circle_id == circle_id,
                h.proposal_id.in_(opened.scalar_subquery()),
                h.kind.in_(REPORT_KINDS),
                h.counted.is_(True),
            )
            .order_by(h.id)
        )
        rows = self.c.execute(query)
        if not sqlite:
            return [HistoryEntry._make(row) for row in rows]
        read = datetime.fromisoformat
        return [
            HistoryEntry(
                pid,
                rnd,
                kind,
                actor,
                member,
                mark,
                emoji,
                added,
                info,
                read(when).replace(tzinfo=UTC),
            )
            for pid, rnd, kind, actor, member, mark, emoji, added, info, when in rows
        ]

    def checkins_posted(self, circle_id: int, since: datetime, until: datetime) -> list[Checkin]:
        rows = self.c.execute(
            select(CheckinRow)
            .where(
                CheckinRow.circle_id == circle_id,
                CheckinRow.started_at >= since,
                CheckinRow.started_at < until,
            )
            .order_by(CheckinRow.id)
        )
        return [_checkin(row) for row in rows]

    def replies_of(self, checkin_ids: list[int]) -> dict[int, set[str]]:
        found: dict[int, set[str]] = {checkin_id: set() for checkin_id in checkin_ids}
        if not checkin_ids:
            return found
        rows = self.c.execute(
            select(CheckinReplyRow.checkin_id, CheckinReplyRow.member).where(
                CheckinReplyRow.checkin_id.in_(checkin_ids)
            )
        )
        for checkin_id, member in rows:
            found[checkin_id].add(member)
        return found
