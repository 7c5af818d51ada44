"""The app's installations in many workspaces, and the states of installs under way
(bot.ports.installations.InstallationRecords). Only sealed tokens reach this module."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from bot.ports.installations import Installation, SealedInstallation
from storage.models import OAuthStateRow, SlackInstallationRow
from storage.tx_base import TxBase


def _key(team_id: str | None, enterprise_id: str | None) -> tuple[Any, ...]:
    return (
        SlackInstallationRow.enterprise_id == (enterprise_id or ""),
        SlackInstallationRow.team_id == (team_id or ""),
    )


def _sealed(row: Any) -> SealedInstallation:
    facts = Installation(
        team_id=row.team_id or None,
        enterprise_id=row.enterprise_id or None,
        team_name=row.team_name,
        app_id=row.app_id,
        bot_id=row.bot_id,
        bot_user_id=row.bot_user_id,
        bot_scopes=tuple(s for s in row.bot_scopes.split(",") if s),
        user_id=row.user_id,
        user_scopes=tuple(s for s in row.user_scopes.split(",") if s),
        bot_token_expires_at=row.bot_token_expires_at,
        user_token_expires_at=row.user_token_expires_at,
        is_enterprise_install=row.is_enterprise_install,
        installed_at=row.installed_at,
    )
    return SealedInstallation(facts, row.sealed)


class InstallationsTx(TxBase):
    """Installations and OAuth states."""

    def save_installation(self, installation: SealedInstallation) -> None:
        facts = installation.facts
        values = {
            "team_name": facts.team_name,
            "app_id": facts.app_id,
            "bot_id": facts.bot_id,
            "bot_user_id": facts.bot_user_id,
            "bot_scopes": ",".join(facts.bot_scopes),
            "user_id": facts.user_id,
            "user_scopes": ",".join(facts.user_scopes),
            "bot_token_expires_at": facts.bot_token_expires_at,
            "user_token_expires_at": facts.user_token_expires_at,
            "is_enterprise_install": facts.is_enterprise_install,
            "installed_at": facts.installed_at,
            "sealed": installation.sealed,
        }
        key = _key(facts.team_id, facts.enterprise_id)
        updated = self.c.execute(update(SlackInstallationRow).where(*key).values(**values))
        if updated.rowcount == 0:
            self.c.execute(
                insert(SlackInstallationRow).values(
                    enterprise_id=facts.enterprise_id or "", team_id=facts.team_id or "", **values
                )
            )

    def installation(
        self, team_id: str | None, enterprise_id: str | None
    ) -> SealedInstallation | None:
        query = select(SlackInstallationRow)
        if enterprise_id is None and team_id:
            # A workspace is found by its team id alone: on Enterprise Grid its row also
            # names the organisation, which the bot, finding a circle's workspace, does
            # not know.
            query = query.where(SlackInstallationRow.team_id == team_id).order_by(
                SlackInstallationRow.installed_at.desc()
            )
        else:
            query = query.where(*_key(team_id, enterprise_id))
        row = self.c.execute(query).first()
        return _sealed(row) if row is not None else None

    def installations(self) -> list[SealedInstallation]:
        rows = self.c.execute(
            select(SlackInstallationRow).order_by(
                SlackInstallationRow.installed_at, SlackInstallationRow.team_id
            )
        )
        return [_sealed(row) for row in rows]

    def delete_installation(self, team_id: str | None, enterprise_id: str | None) -> None:
        self.c.execute(delete(SlackInstallationRow).where(*_key(team_id, enterprise_id)))

    def add_oauth_state(self, digest: str, expires_at: datetime) -> None:
        self.c.execute(insert(OAuthStateRow).values(digest=digest, expires_at=expires_at))

    def consume_oauth_state(self, digest: str, now: datetime) -> bool:
        # One DELETE: of two replicas handed the same state, only one removes it.
        fresh = self.c.execute(
            delete(OAuthStateRow).where(
                OAuthStateRow.digest == digest, OAuthStateRow.expires_at > now
            )
        )
        if fresh.rowcount:
            return True
        self.c.execute(delete(OAuthStateRow).where(OAuthStateRow.digest == digest))  # expired
        return False

    def forget_oauth_states(self, now: datetime) -> int:
        gone = self.c.execute(delete(OAuthStateRow).where(OAuthStateRow.expires_at <= now))
        return int(gone.rowcount or 0)
