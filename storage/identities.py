"""Members given by e-mail address: the platform id each was found to be."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update

from storage.models import IdentityRow
from storage.tx_base import TxBase


class IdentitiesTx(TxBase):
    """Resolved e-mail identities. Addresses are compared case-folded."""

    def resolved_identity(self, platform: str, address: str) -> str | None:
        return self.c.scalar(
            select(IdentityRow.user_id).where(
                IdentityRow.platform == platform, IdentityRow.address == address.casefold()
            )
        )

    def set_resolved_identity(
        self, platform: str, address: str, user_id: str, at: datetime
    ) -> None:
        key = (IdentityRow.platform == platform, IdentityRow.address == address.casefold())
        updated = self.c.execute(
            update(IdentityRow).where(*key).values(user_id=user_id, resolved_at=at)
        )
        if updated.rowcount == 0:
            self.c.execute(
                insert(IdentityRow).values(
                    platform=platform, address=address.casefold(), user_id=user_id, resolved_at=at
                )
            )
