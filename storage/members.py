"""Circles and their members, as the store keeps them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from bot.domain.durations import utc
from bot.domain.model import Member
from storage.models import CircleRow, MemberRow
from storage.tx_base import TxBase

CIRCLES_LOCK = 0x63666731  # "cfg1": applying the config's circles and members


class MembersTx(TxBase):
    """Circles and members."""

    def lock_circles(self) -> None:
        """Hold the circles' configuration until this transaction ends, so replicas that
        start together apply the config one after the other (SQLite: its write lock
        already does)."""
        if self.c.dialect.name == "postgresql":
            self.c.exec_driver_sql(f"SELECT pg_advisory_xact_lock({CIRCLES_LOCK})")

    def circle_id(self, name: str) -> int | None:
        return self.c.scalar(select(CircleRow.id).where(CircleRow.name == name))

    def circle_names(self) -> dict[int, str]:
        return {row.id: row.name for row in self.c.execute(select(CircleRow.id, CircleRow.name))}

    def create_circle(self, name: str) -> int:
        result = self.c.execute(insert(CircleRow).values(name=name, config_members=[]))
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def config_members(self, circle_id: int) -> list[dict[str, Any]]:
        value = self.c.scalar(select(CircleRow.config_members).where(CircleRow.id == circle_id))
        return list(value or [])

    def set_config_members(self, circle_id: int, members: list[dict[str, Any]]) -> None:
        self.c.execute(
            update(CircleRow).where(CircleRow.id == circle_id).values(config_members=members)
        )

    def members(self, circle_id: int, former: bool = False) -> list[Member]:
        """Active members; with `former`, those removed instead."""
        rows = self.c.execute(
            select(MemberRow)
            .where(MemberRow.circle_id == circle_id, MemberRow.active.is_(not former))
            .order_by(MemberRow.id)
        )
        return [
            Member(
                name=row.name,
                side=row.side,
                role=row.role,
                handles=dict(row.handles or {}),
                away_until=utc(row.away_until) if row.away_until else None,
                proxy=row.proxy,
            )
            for row in rows
        ]

    def upsert_member(self, circle_id: int, member: Member) -> None:
        values = {
            "side": member.side,
            "role": member.role,
            "handles": dict(sorted(member.handles.items())),
            "active": True,
        }
        updated = self.c.execute(
            update(MemberRow)
            .where(MemberRow.circle_id == circle_id, MemberRow.name == member.name)
            .values(**values)
        )
        if updated.rowcount == 0:
            self.c.execute(
                insert(MemberRow).values(circle_id=circle_id, name=member.name, **values)
            )

    def deactivate_member(self, circle_id: int, name: str) -> None:
        self.c.execute(
            update(MemberRow)
            .where(MemberRow.circle_id == circle_id, MemberRow.name == name)
            .values(active=False)
        )

    def set_away(
        self, circle_id: int, name: str, until: datetime | None, proxy: str | None = None
    ) -> None:
        self.c.execute(
            update(MemberRow)
            .where(MemberRow.circle_id == circle_id, MemberRow.name == name)
            .values(away_until=until, proxy=proxy)
        )
