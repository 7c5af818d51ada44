"""proposals: closed_by (who closed it early) and statement (the outcome statement);
members: proxy (who answers for an away leader; each round keeps it as a mark)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("proposals") as batch:
        batch.add_column(sa.Column("closed_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("statement", sa.Text(), nullable=True))
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("proxy", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_column("proxy")
    with op.batch_alter_table("proposals") as batch:
        batch.drop_column("statement")
        batch.drop_column("closed_by")
