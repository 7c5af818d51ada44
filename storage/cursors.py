"""Adapters' resume positions (a Matrix sync token), kept with the effects they led to."""

from __future__ import annotations

from sqlalchemy import insert, select, update

from storage.models import CursorRow
from storage.tx_base import TxBase


class CursorsTx(TxBase):
    """Resume positions."""

    def cursor(self, name: str) -> str | None:
        return self.c.scalar(select(CursorRow.value).where(CursorRow.name == name))

    def set_cursor(self, name: str, value: str) -> None:
        updated = self.c.execute(
            update(CursorRow).where(CursorRow.name == name).values(value=value)
        )
        if updated.rowcount == 0:
            self.c.execute(insert(CursorRow).values(name=name, value=value))
