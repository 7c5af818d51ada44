"""Leading on PostgreSQL: one replica at a time holds the advisory lock; each new leader
takes a higher fencing number; a leader whose connection is cut knows at once; scheduled
work of a leader that lost its lead writes nothing."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from bot.domain.errors import NotLeader
from bot.ports.leadership import SingleProcess, fenced
from storage import open_repository
from storage.leadership import PostgresLeadership
from storage.repository import Repository
from tests.pgserver import PostgresServer

pytestmark = pytest.mark.postgres


@pytest.fixture
def repo(postgres_server: PostgresServer) -> Iterator[Repository]:
    name = f"circlebot_l_{uuid.uuid4().hex[:12]}"
    repository = open_repository(postgres_server.create_database(name))
    yield repository
    repository.engine.dispose()
    postgres_server.drop_database(name)


def circles(repo: Repository) -> dict[int, str]:
    with repo.transaction() as tx:
        return tx.circle_names()


def test_one_leader_at_a_time_and_each_new_one_a_higher_fence(repo: Repository) -> None:
    first, second = PostgresLeadership(repo.engine, "a"), PostgresLeadership(repo.engine, "b")
    try:
        lead = first.acquire()
        assert lead is not None and lead.fence == 1
        assert second.acquire() is None  # the lock is taken
        assert first.still_held()
        first.release()
        taken = second.acquire()
        assert taken is not None and taken.fence == 2
    finally:
        first.release()
        second.release()


def test_a_cut_connection_is_noticed_and_another_takes_over(repo: Repository) -> None:
    first, second = PostgresLeadership(repo.engine, "a"), PostgresLeadership(repo.engine, "b")
    try:
        assert first.acquire() is not None
        with repo.engine.begin() as connection:  # as an operator or a failover would
            cut = connection.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND granted"
                )
            )
        assert cut == 1
        assert not first.still_held()  # step down at once
        taken = second.acquire()
        assert taken is not None and taken.fence == 2
    finally:
        first.release()
        second.release()


def test_an_ended_lock_connection_signals_without_a_round_trip(repo: Repository) -> None:
    leader = PostgresLeadership(repo.engine, "a")
    try:
        assert not leader.signalled()  # nobody leads yet: nothing to look at
        assert leader.acquire() is not None
        assert leader.still_held()
        assert not leader.signalled()  # idle and healthy: nothing to read
        with repo.engine.begin() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND granted"
                )
            )
        for _ in range(100):  # the server's last word arrives a moment later
            if leader.signalled():
                break
            time.sleep(0.05)
        assert leader.signalled()
        assert not leader.still_held()
        assert not leader.signalled()  # stepped down: no connection left to watch
    finally:
        leader.release()


def test_scheduled_work_of_a_leader_that_lost_its_lead_writes_nothing(repo: Repository) -> None:
    first, second = PostgresLeadership(repo.engine, "a"), PostgresLeadership(repo.engine, "b")
    try:
        old = first.acquire()
        assert old is not None
        with fenced(old.fence), repo.transaction() as tx:
            tx.create_circle("written while leading")
        first.release()  # say it was paused: meanwhile another replica took over
        assert second.acquire() is not None
        with pytest.raises(NotLeader), fenced(old.fence), repo.transaction() as tx:
            tx.create_circle("written by the stale leader")
        assert sorted(circles(repo).values()) == ["written while leading"]
        with repo.transaction() as tx:  # work that is not scheduled is not fenced
            tx.create_circle("an inbound event")
        assert len(circles(repo)) == 2
    finally:
        first.release()
        second.release()


def test_one_process_on_sqlite_always_leads() -> None:
    leadership = SingleProcess()
    lead = leadership.acquire()
    assert lead is not None and lead.fence is None and leadership.still_held()


def test_a_leader_paused_past_its_lease_is_replaced(repo: Repository) -> None:
    first = PostgresLeadership(repo.engine, "paused", lease_seconds=0.5)
    second = PostgresLeadership(repo.engine, "b", lease_seconds=0.5)
    try:
        assert first.acquire() is not None
        assert second.acquire() is None  # the lease is fresh
        assert first.still_held()  # renewing it
        time.sleep(0.8)  # first is paused: its connection holds the lock, nothing renews
        taken = second.acquire()  # ends the stale leader's connection, takes the lock
        assert taken is not None and taken.fence == 2
        assert not first.still_held()  # it wakes up: no longer the leader
        assert second.still_held()
    finally:
        first.release()
        second.release()
