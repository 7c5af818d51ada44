"""Migrations carry existing rows forward: a check-in prompt queued before outbox rows
named their check-in gets its check-in id from the key it was queued under."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import text

from storage.db import make_engine
from storage.migrate import alembic_config, upgrade
from storage.repository import Repository


def test_0003_names_the_checkin_of_prompts_queued_before(db_url: str) -> None:
    engine = make_engine(db_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    now = datetime(2026, 1, 5, tzinfo=UTC)
    with engine.begin() as connection:
        for key, ref in (("checkin:7:console", "p7"), ("outcome:3:console", "o3")):
            connection.execute(
                text(
                    "insert into outbox (key, platform, channel, kind, payload, created_at, "
                    "message_ref) values (:key, 'console', 'council', 'channel', '{}', :at, :ref)"
                ),
                {"key": key, "at": now, "ref": ref},
            )
    upgrade(engine)
    with Repository(engine).transaction() as tx:
        assert tx.checkin_posted_as("console", "p7") == 7
        assert tx.checkin_posted_as("console", "o3") is None
        assert tx.checkin_posted_as("slack", "p7") is None
    engine.dispose()
