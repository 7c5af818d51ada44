"""Reminders before deadlines: at each offset, to the leaders without an answer, never
twice, never after the close — driven through the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.durations import Duration
from bot.domain.model import Status
from bot.queries import posts

Harness = Any  # tests/core/conftest.py: Harness (fixtures h, make_harness)
HarnessFactory = Any
T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # the harness clock's start

DEADLINE = T0 + timedelta(days=3)


def reminders(h: Harness, pid: int) -> list[str]:
    return [
        m.payload["reminder"]
        for m in h.pending()
        if m.proposal_id == pid and "reminder" in m.payload
    ]


def waiting(h: Harness, pid: int) -> list[str]:
    reminder = posts.reminder(h.core.ctx, pid)
    return [] if reminder is None else [m.member for m in reminder.waiting]


def test_reminders_fall_due_at_each_offset_and_only_once(h: Harness) -> None:
    pid = h.propose()  # default deadline 72h, reminders 24h and 1h
    h.react("ana", "+1", pid, at=T0 + timedelta(minutes=1))
    h.advance_to(DEADLINE - timedelta(hours=24, seconds=1))
    assert reminders(h, pid) == []
    h.advance_to(DEADLINE - timedelta(hours=24))
    assert reminders(h, pid) == ["1d"]
    h.core.advance()
    h.advance_to(DEADLINE - timedelta(hours=2))
    assert reminders(h, pid) == ["1d"]  # never twice for one offset
    h.advance_to(DEADLINE - timedelta(minutes=30))
    assert reminders(h, pid) == ["1d", "1h"]
    assert waiting(h, pid) == ["ben", "cy", "dee"]  # never those who answered
    reminder = posts.reminder(h.core.ctx, pid)
    assert (
        reminder is not None and reminder.incomplete() == "Waiting on milpa (1 of 2), vera (2 of 2)"
    )


def test_a_restart_never_sends_a_reminder_twice(h: Harness) -> None:
    pid = h.propose()
    h.advance_to(DEADLINE - timedelta(hours=23))
    h.restart()
    h.core.advance()
    h.restart()
    h.core.advance()
    assert reminders(h, pid) == ["1d"]


def test_downtime_sends_a_missed_reminder_once_saying_it_is_late(h: Harness) -> None:
    h.propose()
    h.clock.set(DEADLINE - timedelta(hours=3))  # the bot was down at the 24h mark
    h.restart()
    h.core.advance()
    (late,) = [m for m in h.pending() if "reminder" in m.payload]
    assert late.payload == {"reminder": "1d", "late": True}
    h.advance_to(DEADLINE - timedelta(hours=1))
    on_time = [m for m in h.pending() if m.payload.get("reminder") == "1h"]
    assert on_time[0].payload["late"] is False


def test_an_offset_before_the_proposal_opened_is_skipped(h: Harness) -> None:
    h.ok("ana", "propose Quick one by 2h")
    h.advance_to(T0 + timedelta(hours=1, minutes=30))
    assert reminders(h, 1) == ["1h"]


def test_no_reminder_after_the_close_or_when_everyone_answered(h: Harness) -> None:
    pid = h.propose()
    for i, name in enumerate(("ana", "ben", "cy", "dee")):
        h.react(name, "+1", pid, at=T0 + timedelta(minutes=i + 1))
    assert h.proposal(pid).status == Status.PASSED
    assert h.core.jobs([pid]) == {pid: None}  # early close: no deadline, no reminders
    h.advance_to(DEADLINE)
    assert reminders(h, pid) == []
    assert posts.reminder(h.core.ctx, pid) is None


def test_people_away_are_not_reminded(h: Harness) -> None:
    pid = h.propose()
    h.ok("cy", "away 5d")
    assert waiting(h, pid) == ["ana", "ben", "dee"]
    h.ok("cy", "back")
    assert waiting(h, pid) == ["ana", "ben", "cy", "dee"]


def test_reminder_offsets_are_frozen_with_the_round(make_harness: HarnessFactory) -> None:
    h = make_harness(reminders=(Duration(seconds=7200),))
    pid = h.propose()
    job = h.core.jobs([pid])[pid]
    assert job is not None and job.run_at == DEADLINE - timedelta(hours=2)
    h.advance_to(DEADLINE - timedelta(hours=2))
    assert reminders(h, pid) == ["2h"]


def test_an_amended_deadline_gets_its_own_reminders(h: Harness) -> None:
    pid = h.propose()
    h.advance_to(DEADLINE - timedelta(hours=1))
    assert reminders(h, pid) == ["1d", "1h"]
    h.ok("ana", f"amend {pid} Adopt it, revised by 2d")
    h.advance_to(h.proposal(pid).deadline - timedelta(hours=1))
    assert reminders(h, pid) == ["1d", "1h", "1d", "1h"]
