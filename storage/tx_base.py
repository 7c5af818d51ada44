"""What every group of a transaction's operations shares: the connection."""

from __future__ import annotations

from sqlalchemy import Connection


class TxBase:
    def __init__(self, connection: Connection) -> None:
        self.c = connection
