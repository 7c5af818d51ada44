"""Two runtimes on one PostgreSQL database: only the leader does the scheduled work; when
its connection is cut it steps down at once and the other takes over; a leader that was
paused past its lead (it still believes it leads) writes nothing and steps down."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.domain.clock import ManualClock
from bot.domain.events import CommandEvent
from bot.domain.model import Status
from bot.handlers.core import Core
from bot.runtime.runner import MAX_REPLAYS, Runtime
from storage import open_repository
from storage.leadership import PostgresLeadership
from tests.adapters.slack.fakeslack import eventually
from tests.pgserver import PostgresServer
from tests.runtime.test_runtime import CIRCLE, T0, RecordingAdapter

pytestmark = pytest.mark.postgres


class Replica:
    def __init__(self, url: str, name: str, clock: ManualClock) -> None:
        repo = open_repository(url)
        self.core = Core(repo, [CIRCLE], clock, ["fake"])
        self.adapter = RecordingAdapter()
        self.runtime = Runtime(
            self.core, [self.adapter], leadership=PostgresLeadership(repo.engine, name)
        )

    @property
    def leads(self) -> bool:
        return self.runtime.facts.leader()

    def status(self, proposal_id: int) -> Status:
        return Status(self.core.state(proposal_id).proposal.status)


@pytest.fixture
async def replicas(postgres_server: PostgresServer) -> AsyncIterator[tuple[Replica, Replica]]:
    name = f"circlebot_r_{uuid.uuid4().hex[:12]}"
    url = postgres_server.create_database(name)
    clock = ManualClock(T0)
    first, second = Replica(url, "first", clock), Replica(url, "second", clock)
    await first.runtime.start()
    await second.runtime.start()
    yield first, second
    for replica in (first, second):
        await replica.runtime.stop()
        replica.core.repo.engine.dispose()
    postgres_server.drop_database(name)


def cut_the_leaders_connection(replica: Replica) -> None:
    with replica.core.repo.engine.begin() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks "
                "WHERE locktype = 'advisory' AND granted"
            )
        )


async def test_only_the_leader_does_what_falls_due_and_the_other_takes_over(
    replicas: tuple[Replica, Replica],
) -> None:
    first, second = replicas
    assert (first.leads, second.leads) == (True, False)
    # Adapters hear it too (the Matrix sync runs on the leader alone).
    assert (first.adapter.leading, second.adapter.leading) == (True, False)
    # An event may reach any replica; a proposal made through the follower.
    await second.runtime.on_event(CommandEvent("fake", "e1", "council", "ana", "propose A by 1h"))
    first.core.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    await second.runtime.tick()
    assert second.status(1) is Status.OPEN  # the follower decides nothing
    await first.runtime.tick()
    assert first.status(1) is Status.NO_QUORUM

    await second.runtime.on_event(CommandEvent("fake", "e2", "council", "ana", "propose B by 1h"))
    cut_the_leaders_connection(first)
    await first.runtime._watch_the_lead()  # its next check: step down at once
    assert not first.leads and first.adapter.leading is False
    await second.runtime._watch_the_lead()  # the follower's next try: it leads now
    assert second.leads and second.adapter.leading is True
    first.core.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    await first.runtime.tick()
    assert first.status(2) is Status.OPEN
    await second.runtime.tick()
    assert second.status(2) is Status.NO_QUORUM


async def test_a_leader_steps_down_as_soon_as_its_lock_connection_is_ended(
    replicas: tuple[Replica, Replica],
) -> None:
    first, second = replicas
    assert first.leads
    first.runtime.scheduler.remove_job("leadership")  # no periodic check: only the watch
    cut_the_leaders_connection(first)
    await eventually(lambda: not first.leads, what="the leader stepping down")
    assert first.adapter.leading is False  # the Matrix sync stops with it
    await second.runtime._watch_the_lead()
    assert second.leads


async def test_a_paused_leader_that_wakes_up_writes_nothing_and_steps_down(
    replicas: tuple[Replica, Replica],
) -> None:
    first, second = replicas
    await first.runtime.on_event(CommandEvent("fake", "e1", "council", "ana", "propose A by 1h"))
    stale = first.runtime._lead
    for job in ("leadership", "lost-lock"):  # it "sleeps": none of its checks run
        first.runtime.scheduler.remove_job(job)
    cut_the_leaders_connection(first)  # while it "sleeps", it loses the lock…
    await second.runtime._watch_the_lead()  # …and the other takes over
    assert second.leads
    first.core.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    assert first.runtime._lead is stale  # it has not noticed yet
    await first.runtime.tick()  # wakes up and does what fell due: refused
    assert not first.leads
    assert first.status(1) is Status.OPEN  # nothing was written
    await second.runtime.tick()
    assert second.status(1) is Status.NO_QUORUM


async def test_an_event_a_dead_replica_acknowledged_is_applied_by_another(
    replicas: tuple[Replica, Replica], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = replicas

    def count(table: str) -> int:
        with second.core.repo.engine.connect() as connection:
            return int(connection.scalar(text(f"SELECT count(*) FROM {table}")) or 0)

    command = CommandEvent("fake", "e1", "council", "ana", "propose Left behind by 1h")
    await first.runtime.accept(command)  # stored and acknowledged; then the replica died
    assert (count("inbox"), count("proposals")) == (1, 0)
    await second.runtime._adopt_orphans()  # too soon: first may still be applying it
    assert (count("inbox"), count("proposals")) == (1, 0)
    monkeypatch.setattr("bot.runtime.runner.ORPHAN_SECONDS", 0.0)
    await second.runtime._adopt_orphans()
    assert second.status(1) is Status.OPEN
    await second.runtime.inbox.close()  # writes what is done: the row is gone
    assert (count("inbox"), count("proposals")) == (0, 1)


async def test_a_command_a_dead_replica_applied_but_did_not_answer_is_answered(
    replicas: tuple[Replica, Replica], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = replicas
    command = CommandEvent("fake", "e1", "council", "ana", "propose Half done by 1h")
    await first.runtime.accept(command)
    # Applied, then the replica died before its answer went out (and its inbox row went).
    await first.runtime.call(first.core.handle, command)
    assert first.adapter.private == []
    monkeypatch.setattr("bot.runtime.runner.ORPHAN_SECONDS", 0.0)
    await second.runtime._adopt_orphans()
    [(_, reply)] = second.adapter.private
    assert reply.text == 'Done before: "propose Half done by 1h". Nothing more changed.'
    assert second.status(1) is Status.OPEN  # applied once
    # A platform sending a command twice, though, is answered once: the repeat is silent.
    again = CommandEvent("fake", "e2", "council", "ana", "propose Twice by 1h")
    await second.runtime.on_event(again)
    await second.runtime.on_event(again)
    assert len(second.adapter.private) == 2


async def test_a_replica_does_not_adopt_what_it_still_has_in_hand(
    replicas: tuple[Replica, Replica], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = replicas
    command = CommandEvent("fake", "e1", "council", "ana", "propose Slow to answer by 1h")
    await first.runtime.accept(command)  # in hand: stored, about to be applied
    monkeypatch.setattr("bot.runtime.runner.ORPHAN_SECONDS", 0.0)
    await first.runtime._adopt_orphans()
    assert first.adapter.private == []  # not applied (nor answered) a second time
    await first.runtime.sink(command)
    [(_, reply)] = first.adapter.private
    assert reply.text.startswith("Proposal #1 is open")


async def test_an_orphan_that_keeps_failing_is_given_up_on(
    replicas: tuple[Replica, Replica], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = replicas
    await first.runtime.accept(CommandEvent("fake", "e9", "council", "ana", "propose X"))
    monkeypatch.setattr("bot.runtime.runner.ORPHAN_SECONDS", 0.0)

    tried: list[object] = []

    def failing(event: object) -> None:
        tried.append(event)
        raise RuntimeError("this event breaks the core")

    monkeypatch.setattr(second.core, "handle", failing)
    for _ in range(MAX_REPLAYS):
        await second.runtime._adopt_orphans()  # tried, failed, said in the log
    assert len(tried) == MAX_REPLAYS
    await second.runtime._adopt_orphans()  # one try too many: dropped, said in the log
    found = await second.runtime.call(second.core.repo.inbound_log().orphans, 0.0, 99)
    assert found.events == []


async def test_the_leader_keeps_what_a_proposal_made_on_a_follower_schedules(
    replicas: tuple[Replica, Replica],
) -> None:
    first, second = replicas
    assert first.leads
    await second.runtime.on_event(CommandEvent("fake", "e1", "council", "ana", "propose R by 1h"))
    # The leader's process changed nothing, yet it plans the deadline within moments.
    job = await eventually(
        lambda: first.runtime.scheduler.get_job("proposal:1"),
        timeout=2.0,
        what="the leader planning the follower's proposal",
    )
    wait = (job.next_run_time - datetime.now(UTC)).total_seconds()
    assert 0 < wait <= 3601  # its deadline, an hour from now
    assert second.runtime.scheduler.get_job("proposal:1") is None  # a follower plans nothing
    # Its deadline passes; the leader's next sweep reads the schedule and closes it.
    first.core.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    await first.runtime._sweep()
    await eventually(
        lambda: first.status(1) is Status.NO_QUORUM, what="the leader closing it at its deadline"
    )


async def test_a_new_leader_plans_what_was_scheduled_before_it_led(
    replicas: tuple[Replica, Replica],
) -> None:
    first, second = replicas
    await first.runtime.on_event(CommandEvent("fake", "e1", "council", "ana", "propose R by 1h"))
    cut_the_leaders_connection(first)
    await first.runtime._watch_the_lead()
    await second.runtime._watch_the_lead()
    assert second.leads
    assert second.runtime.scheduler.get_job("proposal:1") is not None
    await second.runtime.on_event(CommandEvent("fake", "e2", "council", "ana", "propose S by 1h"))
    assert second.runtime.scheduler.get_job("proposal:2") is not None
    # The old leader, a follower now, hears nothing and plans nothing.
    await first.runtime._hear_schedule_changes()
    assert first.runtime.scheduler.get_job("proposal:2") is None


async def test_looking_for_orphans_while_the_database_is_down_is_no_traceback(
    replicas: tuple[Replica, Replica],
    postgres_server: PostgresServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, _ = replicas
    postgres_server.halt()
    try:
        await first.runtime._adopt_orphans()  # the lead's check runs it every 3 s
    finally:
        postgres_server.resume()
    assert not [r for r in caplog.records if r.exc_info], "no traceback"
