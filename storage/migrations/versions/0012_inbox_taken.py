"""inbox_taken: the inbound events the inbox took, kept a day, so that a repeat (a
platform's resend, the same request on another replica or after a restart) is taken
once. The events waiting in the inbox now are taken already.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 07:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_taken",
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "event_id"),
    )
    op.create_index("ix_inbox_taken_at", "inbox_taken", ["taken_at"])
    op.execute(
        "INSERT INTO inbox_taken (platform, event_id, taken_at) "
        "SELECT platform, event_id, received_at FROM inbox"
    )


def downgrade() -> None:
    op.drop_index("ix_inbox_taken_at", table_name="inbox_taken")
    op.drop_table("inbox_taken")
