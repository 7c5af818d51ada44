"""Check-ins and the replies in their threads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from bot.domain.model import Checkin
from storage.models import CheckinReplyRow, CheckinRow
from storage.tx_base import TxBase


def checkin_from_row(row: Any) -> Checkin:
    return Checkin(
        id=row.id,
        circle_id=row.circle_id,
        scheduled_for=row.scheduled_for,
        started_at=row.started_at,
        question=row.question,
        facilitator=row.facilitator,
        facilitator_side=row.facilitator_side,
        nudge_at=row.nudge_at,
        closes_at=row.closes_at,
        closed_at=row.closed_at,
        late=row.late,
    )


class CheckinsTx(TxBase):
    """Check-ins and their replies."""

    def create_checkin(self, **values: Any) -> Checkin:
        result = self.c.execute(insert(CheckinRow).values(**values))
        key = result.inserted_primary_key
        assert key is not None
        row = self.c.execute(select(CheckinRow).where(CheckinRow.id == key[0])).first()
        return checkin_from_row(row)

    def checkin(self, checkin_id: int) -> Checkin | None:
        row = self.c.execute(select(CheckinRow).where(CheckinRow.id == checkin_id)).first()
        return checkin_from_row(row) if row else None

    def latest_checkin(self, circle_id: int) -> Checkin | None:
        row = self.c.execute(
            select(CheckinRow)
            .where(CheckinRow.circle_id == circle_id)
            .order_by(CheckinRow.scheduled_for.desc(), CheckinRow.id.desc())
            .limit(1)
        ).first()
        return checkin_from_row(row) if row else None

    def count_checkins(self, circle_id: int) -> int:
        return int(
            self.c.scalar(select(func.count()).where(CheckinRow.circle_id == circle_id)) or 0
        )

    def past_facilitators(self, circle_id: int) -> list[tuple[str, str]]:
        rows = self.c.execute(
            select(CheckinRow.facilitator, CheckinRow.facilitator_side)
            .where(CheckinRow.circle_id == circle_id, CheckinRow.facilitator.is_not(None))
            .order_by(CheckinRow.id)
        )
        return [(row.facilitator, row.facilitator_side) for row in rows]

    def open_checkins(self, circle_id: int | None = None) -> list[Checkin]:
        query = select(CheckinRow).where(CheckinRow.closed_at.is_(None))
        if circle_id is not None:
            query = query.where(CheckinRow.circle_id == circle_id)
        return [checkin_from_row(row) for row in self.c.execute(query.order_by(CheckinRow.id))]

    def checkins_to_nudge(self, circle_id: int, now: datetime) -> list[Checkin]:
        return [
            c for c in self.open_checkins(circle_id) if c.nudge_at is not None and c.nudge_at <= now
        ]

    def checkins_to_close(self, circle_id: int, now: datetime) -> list[Checkin]:
        return [c for c in self.open_checkins(circle_id) if c.closes_at <= now]

    def checkin_nudged(self, checkin_id: int) -> None:
        self.c.execute(update(CheckinRow).where(CheckinRow.id == checkin_id).values(nudge_at=None))

    def close_checkin(self, checkin_id: int, at: datetime) -> None:
        self.c.execute(
            update(CheckinRow)
            .where(CheckinRow.id == checkin_id)
            .values(closed_at=at, nudge_at=None)
        )

    def add_checkin_reply(self, checkin_id: int, member: str, at: datetime) -> bool:
        """False when this member had replied already."""
        exists = self.c.scalar(
            select(func.count()).where(
                CheckinReplyRow.checkin_id == checkin_id, CheckinReplyRow.member == member
            )
        )
        if exists:
            return False
        self.c.execute(insert(CheckinReplyRow).values(checkin_id=checkin_id, member=member, at=at))
        return True

    def checkin_replies(self, checkin_id: int) -> set[str]:
        rows = self.c.execute(
            select(CheckinReplyRow.member).where(CheckinReplyRow.checkin_id == checkin_id)
        )
        return {row.member for row in rows}
