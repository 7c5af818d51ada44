"""schedule notifications: on PostgreSQL, a change to what the schedule depends on (a
proposal's status, deadline, round or review; a check-in's nudge and close) is
announced on the `circlebot_schedule` channel when its transaction commits, so the
leader plans it whichever replica wrote it (storage.schedule_watch). SQLite: nothing.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 05:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION circlebot_schedule_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('circlebot_schedule', TG_ARGV[0] || NEW.id::text);
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
PROPOSALS = """
CREATE TRIGGER proposals_schedule_changed
AFTER INSERT OR UPDATE OF status, deadline, round, created_at, review_at, reviewed
ON proposals FOR EACH ROW EXECUTE FUNCTION circlebot_schedule_changed('proposal:')
"""
CHECKINS = """
CREATE TRIGGER checkins_schedule_changed
AFTER INSERT OR UPDATE OF nudge_at, closes_at, closed_at
ON checkins FOR EACH ROW EXECUTE FUNCTION circlebot_schedule_changed('checkin:')
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    op.execute(PROPOSALS)
    op.execute(CHECKINS)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS checkins_schedule_changed ON checkins")
    op.execute("DROP TRIGGER IF EXISTS proposals_schedule_changed ON proposals")
    op.execute("DROP FUNCTION IF EXISTS circlebot_schedule_changed()")
