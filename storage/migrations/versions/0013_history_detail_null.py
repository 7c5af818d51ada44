"""history.detail: an answer without a detail is SQL NULL (it was JSON null), and the
rows with one are indexed by proposal and round, so drawing a card reads a round's
stance commands, not its every reaction.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

WITH_DETAIL = "detail IS NOT NULL"


def upgrade() -> None:
    # PostgreSQL's json has no equality: its text is compared.
    stored = "detail::text" if op.get_bind().dialect.name == "postgresql" else "detail"
    op.execute(f"UPDATE history SET detail = NULL WHERE {stored} = 'null'")
    op.create_index(
        "ix_history_detail",
        "history",
        ["proposal_id", "round"],
        sqlite_where=sa.text(WITH_DETAIL),
        postgresql_where=sa.text(WITH_DETAIL),
    )


def downgrade() -> None:
    op.drop_index("ix_history_detail", table_name="history")
