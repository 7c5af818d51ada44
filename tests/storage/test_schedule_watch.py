"""The schedule watch on PostgreSQL: a change to what the schedule depends on, written by
any connection, is heard by the listening one when its transaction commits; a stance is
not such a change; a lost listening connection is opened again and says `everything`."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.domain.circle import CheckinSpec
from bot.domain.clock import ManualClock
from bot.domain.durations import parse_duration
from bot.domain.events import CommandEvent, ReactionEvent
from bot.handlers.core import Core
from bot.ports.schedule_watch import NOTHING, ScheduleChanges
from storage import open_repository
from storage.repository import Repository
from storage.schedule_watch import PostgresScheduleWatch
from tests.pgserver import PostgresServer
from tests.runtime.test_runtime import CIRCLE, T0

pytestmark = pytest.mark.postgres
HOUR = parse_duration("1h")


@pytest.fixture
def repo(postgres_server: PostgresServer) -> Iterator[Repository]:
    name = f"circlebot_w_{uuid.uuid4().hex[:12]}"
    repository = open_repository(postgres_server.create_database(name))
    yield repository
    repository.engine.dispose()
    postgres_server.drop_database(name)


def heard(watch: PostgresScheduleWatch) -> ScheduleChanges:
    """What the watch hears within a moment (a notification crosses a socket)."""
    for _ in range(200):
        changes = watch.changes()
        if changes:
            return changes
        time.sleep(0.01)
    return NOTHING


def test_a_proposal_opened_closed_or_amended_anywhere_is_heard(repo: Repository) -> None:
    watch = repo.schedule_watch()
    assert isinstance(watch, PostgresScheduleWatch)
    try:
        assert watch.changes() == ScheduleChanges(everything=True)  # listening from now
        circle = replace(CIRCLE, checkins=CheckinSpec("0 17 * * MON", ("How are you?",), HOUR))
        writer = Core(repo, [circle], ManualClock(T0), ["fake"])
        writer.start()
        writer.handle(CommandEvent("fake", "e1", "council", "ana", "propose A by 1h"))
        assert heard(watch) == ScheduleChanges(proposals=frozenset({1}))
        # A stance changes no time the schedule depends on: nothing to plan.
        writer.handle(ReactionEvent("fake", "r1", "council", "ben", "+1", True, proposal_id=1))
        assert heard(watch) == NOTHING
        writer.handle(CommandEvent("fake", "e2", "council", "ana", "amend 1 A, revised by 2h"))
        assert heard(watch) == ScheduleChanges(proposals=frozenset({1}))
        writer.clock.advance(timedelta(hours=3))  # type: ignore[attr-defined]
        writer.advance()  # closed at its deadline
        assert heard(watch) == ScheduleChanges(proposals=frozenset({1}))
        writer.handle(CommandEvent("fake", "e3", "council", "ana", "checkin"))
        assert heard(watch).checkins
    finally:
        watch.close()


def test_a_lost_listening_connection_is_opened_again_and_says_everything(
    repo: Repository,
) -> None:
    watch = repo.schedule_watch()
    try:
        assert watch.changes().everything
        with repo.engine.begin() as connection:
            ended = connection.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN%'"
                )
            )
        assert ended == 1
        assert heard(watch) == ScheduleChanges(everything=True)  # dropped, then listening
    finally:
        watch.close()
