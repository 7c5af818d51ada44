"""outbox.checkin_id: which check-in a posted prompt belongs to, kept as a column rather
than read back out of the post's key; cards.attempted_at and outbox.attempted_at: when
a post was first tried, so that after a crash the next try looks before posting again

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("checkin_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("cards") as batch:
        batch.add_column(sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True))
    # Prompts queued before this column existed: their key was "checkin:ID:PLATFORM".
    outbox = sa.table(
        "outbox", sa.column("id", sa.Integer), sa.column("key"), sa.column("checkin_id")
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(outbox.c.id, outbox.c.key).where(outbox.c.key.like("checkin:%"))
    ).all()
    for row_id, key in rows:
        parts = key.split(":")
        if len(parts) == 3 and parts[1].isdigit():
            connection.execute(
                outbox.update().where(outbox.c.id == row_id).values(checkin_id=int(parts[1]))
            )


def downgrade() -> None:
    with op.batch_alter_table("cards") as batch:
        batch.drop_column("attempted_at")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("attempted_at")
        batch.drop_column("checkin_id")
