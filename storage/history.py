"""The history: every stance change, amendment, membership change and outcome, with
its source (platform + event id), each kept once."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import ReturningInsert

from bot.domain.durations import utc
from bot.domain.errors import Duplicate
from bot.domain.model import Mark, MarkKind, MarkSource, RecordedReaction, Sign
from storage.models import HistoryRow
from storage.tx_base import TxBase

HISTORY = cast(Table, HistoryRow.__table__)

# Insert a history row unless its (platform, event_id) is there already; RETURNING
# tells whether it went in (rowcount is unreliable for ON CONFLICT DO NOTHING).
# Indexed by "is PostgreSQL".
_INSERT_IGNORING = (
    sqlite.insert(HISTORY).on_conflict_do_nothing().returning(HISTORY.c.id),
    postgresql.insert(HISTORY).on_conflict_do_nothing().returning(HISTORY.c.id),
)


class HistoryTx(TxBase):
    """The history table."""

    def record(
        self,
        *,
        circle_id: int,
        kind: str,
        actor: str,
        at: datetime,
        platform: str,
        event_id: str,
        proposal_id: int | None = None,
        round: int | None = None,
        member: str | None = None,
        sign: Sign | None = None,
        added: bool | None = None,
        counted: bool = True,
        note: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append to the history. Raises Duplicate, writing nothing, if this source
        (platform, event_id) was applied before."""
        inserted = self.c.execute(
            self._insert_ignoring_duplicates(),
            {
                "circle_id": circle_id,
                "proposal_id": proposal_id,
                "round": round,
                "kind": kind,
                "actor": actor,
                "member": member,
                "mark": sign.kind.value if sign else None,
                "emoji": sign.value if sign else None,
                "added": added,
                "counted": counted,
                "note": note,
                "detail": detail,
                "at": at,
                "platform": platform,
                "event_id": event_id,
            },
        )
        if inserted.first() is None:
            raise Duplicate(f"{platform}:{event_id}")

    def _insert_ignoring_duplicates(self) -> ReturningInsert[Any]:
        return _INSERT_IGNORING[self.c.dialect.name == "postgresql"]

    def seen(self, platform: str, event_id: str) -> bool:
        found = self.c.scalar(
            select(HistoryRow.id).where(
                HistoryRow.platform == platform, HistoryRow.event_id == event_id
            )
        )
        return found is not None

    def reaction(self, platform: str, event_id: str) -> RecordedReaction | None:
        row = self.c.execute(
            select(HistoryRow).where(
                HistoryRow.platform == platform,
                HistoryRow.event_id == event_id,
                HistoryRow.kind == "reaction",
            )
        ).first()
        if row is None or row.proposal_id is None or row.emoji is None or row.mark is None:
            return None
        return RecordedReaction(
            row.proposal_id,
            row.round or 0,
            row.member,
            Sign(MarkKind(row.mark), row.emoji),
            bool(row.added),
        )

    def counted_reactions(self, proposal_id: int, round: int) -> list[Mark]:
        """The reaction history of a round that counts (proxies named included: they
        are marks too), in recorded order."""
        rows = self.c.execute(
            select(HistoryRow)
            .where(
                HistoryRow.proposal_id == proposal_id,
                HistoryRow.round == round,
                HistoryRow.kind.in_(("reaction", "proxy")),
                HistoryRow.counted.is_(True),
            )
            .order_by(HistoryRow.id)
        )
        return [
            Mark(
                member=row.member,
                sign=Sign(MarkKind(row.mark), row.emoji),
                added=bool(row.added),
                at=utc(row.at),
                source=MarkSource(row.platform, row.event_id),
            )
            for row in rows
        ]

    def stance_commands(
        self, proposal_id: int, round: int
    ) -> list[tuple[str | None, str | None, str | None]]:
        rows = self.c.execute(
            select(HistoryRow.member, HistoryRow.detail)
            .where(
                HistoryRow.proposal_id == proposal_id,
                HistoryRow.round == round,
                HistoryRow.kind == "reaction",
                HistoryRow.counted.is_(True),
                HistoryRow.detail.is_not(None),
            )
            .order_by(HistoryRow.id)
        )
        return [
            (member, detail.get("stance"), detail.get("reason"))
            for member, detail in rows
            if detail and "stance" in detail
        ]

    def round_record(self, proposal_id: int, round: int) -> dict[str, Any] | None:
        """What a round froze when it opened, as the history recorded it."""
        detail = self.c.scalar(
            select(HistoryRow.detail).where(
                HistoryRow.proposal_id == proposal_id,
                HistoryRow.round == round,
                HistoryRow.kind == "round",
            )
        )
        return dict(detail) if detail else None

    def actor_of(self, proposal_id: int, kind: str) -> str | None:
        return self.c.scalar(
            select(HistoryRow.actor)
            .where(HistoryRow.proposal_id == proposal_id, HistoryRow.kind == kind)
            .order_by(HistoryRow.id.desc())
            .limit(1)
        )

    def history(self, circle_id: int | None = None) -> list[dict[str, Any]]:
        query = select(HistoryRow).order_by(HistoryRow.id)
        if circle_id is not None:
            query = query.where(HistoryRow.circle_id == circle_id)
        return [
            {
                "id": row.id,
                "proposal_id": row.proposal_id,
                "round": row.round,
                "kind": row.kind,
                "actor": row.actor,
                "member": row.member,
                "mark": row.mark,
                "emoji": row.emoji,
                "added": row.added,
                "counted": row.counted,
                "note": row.note,
                "detail": row.detail,
                "at": utc(row.at),
                "platform": row.platform,
                "event_id": row.event_id,
            }
            for row in self.c.execute(query)
        ]
