"""Check-ins driven through the clock: schedule in the circle's time zone (across
daylight-saving changes), rotating facilitator, replies, nudge, summary, downtime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.domain.circle import CheckinSpec, CircleSpec, MemberSpec
from bot.domain.clock import ManualClock
from bot.domain.durations import parse_duration
from bot.domain.events import CommandEvent, ThreadReplyEvent
from bot.domain.model import Role
from bot.handlers.core import Core
from storage import open_repository
from storage.models import OutboxRow
from tests.time_limit import time_limit

MEMBERS = (
    MemberSpec("ana", "milpa", Role.LEADER),
    MemberSpec("ben", "milpa", Role.LEADER),
    MemberSpec("cy", "vera", Role.LEADER),
    MemberSpec("dee", "vera", Role.MEMBER),
)


def circle(timezone: str = "America/Los_Angeles", schedule: str = "0 17 * * MON") -> CircleSpec:
    return CircleSpec(
        name="council",
        sides=("milpa", "vera"),
        members=MEMBERS,
        timezone=timezone,
        admins=("ana",),
        checkins=CheckinSpec(
            schedule=schedule,
            questions=("How are you arriving today?", "What do you need this week?"),
            open_for=parse_duration("24h"),
            remind_after=parse_duration("20h"),
        ),
    )


class Rig:
    def __init__(self, path: Any, spec: CircleSpec, start: datetime) -> None:
        self.url = f"sqlite:///{path}/checkins.db"
        self.spec = spec
        self.clock = ManualClock(start)
        self.core = self._core()
        self.replies = 0

    def _core(self) -> Core:
        core = Core(open_repository(self.url), [self.spec], self.clock, ["console"])
        core.start()
        core.advance()  # the first start fixes when the schedule begins
        return core

    def restart(self) -> None:
        self.core.repo.engine.dispose()
        self.core = self._core()

    def at(self, moment: datetime) -> None:
        self.clock.set(moment)
        self.core.advance()

    def checkins(self) -> list[Any]:
        with self.core.repo.transaction() as tx:
            return [tx.checkin(i) for i in range(1, tx.count_checkins(1) + 1)]

    def posts(self, kind: str) -> list[str]:
        """Check-in messages queued so far (sent or not), of one kind."""
        with self.core.repo.engine.connect() as connection:
            rows = connection.execute(
                select(OutboxRow.key, OutboxRow.payload).order_by(OutboxRow.id)
            )
            found = [(key, payload) for key, payload in rows if _kind(key) == kind]
        return [
            "".join(p if isinstance(p, str) else f"@{p['member']}" for p in payload["notice"])
            for _, payload in found
        ]

    def reply(self, user: str, checkin_id: int) -> None:
        self.replies += 1
        # As if the prompt had been posted under this reference; replies name it.
        with self.core.repo.transaction() as tx:
            for m in tx.pending_messages("console"):
                if m.key == f"checkin:{checkin_id}:console":
                    tx.message_sent(m.id, self.clock.now(), f"ref-{checkin_id}")
        self.core.handle(
            ThreadReplyEvent("console", f"r{self.replies}", "council", user, f"ref-{checkin_id}")
        )


def _kind(key: str) -> str:
    return {"checkin": "prompt", "checkin-nudge": "nudge", "checkin-close": "close"}.get(
        key.split(":")[0], "other"
    )


def local(moment: datetime, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%a %Y-%m-%d %H:%M")


# Monday 2026-01-05 17:00 in Los Angeles is 2026-01-06 01:00 UTC.
LA_MONDAY_5PM = datetime(2026, 1, 6, 1, 0, tzinfo=UTC)


def test_a_checkin_posts_names_the_facilitator_collects_replies_nudges_and_sums_up(
    tmp_path: Any,
) -> None:
    rig = Rig(tmp_path, circle(), LA_MONDAY_5PM - timedelta(hours=1))
    rig.at(LA_MONDAY_5PM - timedelta(seconds=1))
    assert rig.checkins() == []
    rig.at(LA_MONDAY_5PM)
    (checkin,) = rig.checkins()
    assert (checkin.facilitator, checkin.question) == ("ana", "How are you arriving today?")
    (prompt,) = rig.posts("prompt")
    assert prompt.startswith("☀️ Check-in: How are you arriving today?\nFacilitator: @ana.")
    rig.reply("ana", 1)
    rig.reply("ana", 1)  # twice: counted once
    rig.reply("cy", 1)
    rig.reply("zed", 1)  # not a member
    rig.at(LA_MONDAY_5PM + timedelta(hours=20))
    (nudge,) = rig.posts("nudge")
    assert "Still to hear from @ben, @dee." in nudge
    rig.at(LA_MONDAY_5PM + timedelta(hours=24))
    (summary,) = rig.posts("close")
    assert summary == "Check-in closed: milpa 1/2 · vera 1/2 checked in."
    rig.reply("ben", 1)  # after the close: changes nothing
    with rig.core.repo.transaction() as tx:
        assert tx.checkin_replies(1) == {"ana", "cy"}


def test_facilitators_alternate_sides_and_questions_take_turns(tmp_path: Any) -> None:
    rig = Rig(tmp_path, circle(), LA_MONDAY_5PM - timedelta(hours=1))
    for week in range(4):
        rig.at(LA_MONDAY_5PM + timedelta(weeks=week, minutes=1))
    assert [(c.facilitator, c.facilitator_side) for c in rig.checkins()] == [
        ("ana", "milpa"),
        ("cy", "vera"),
        ("ben", "milpa"),
        ("dee", "vera"),
    ]
    assert [c.question[:4] for c in rig.checkins()] == ["How ", "What", "How ", "What"]


def test_people_away_are_skipped_for_facilitation(tmp_path: Any) -> None:
    rig = Rig(tmp_path, circle(), LA_MONDAY_5PM - timedelta(hours=1))
    replies = rig.core.handle(CommandEvent("console", "a1", "council", "ana", "away 3d"))
    assert replies[0].ok
    rig.at(LA_MONDAY_5PM)
    assert rig.checkins()[0].facilitator == "ben"


@pytest.mark.parametrize(
    ("timezone", "first_monday", "weeks"),
    [
        # Spring forward (8 March) and fall back (1 November) in Los Angeles.
        ("America/Los_Angeles", datetime(2026, 2, 23, tzinfo=UTC), 4),
        ("America/Los_Angeles", datetime(2026, 10, 19, tzinfo=UTC), 4),
        # Europe/Berlin changes on 29 March and 25 October.
        ("Europe/Berlin", datetime(2026, 3, 16, tzinfo=UTC), 4),
        ("Europe/Berlin", datetime(2026, 10, 12, tzinfo=UTC), 4),
    ],
)
def test_weekly_checkins_fire_once_per_local_time_across_daylight_saving(
    tmp_path: Any, timezone: str, first_monday: datetime, weeks: int
) -> None:
    rig = Rig(tmp_path, circle(timezone), first_monday)
    moment = first_monday
    while moment < first_monday + timedelta(weeks=weeks):
        moment += timedelta(minutes=30)
        rig.at(moment)
    started = [local(c.scheduled_for, timezone) for c in rig.checkins()]
    assert len(started) == weeks
    assert all(text.startswith("Mon ") and text.endswith(" 17:00") for text in started), started
    assert len(set(started)) == weeks
    # A restart on the same database repeats nothing.
    rig.restart()
    rig.at(moment)
    assert len(rig.checkins()) == weeks


def test_a_checkin_missed_while_down_is_posted_late_only_within_its_window(
    tmp_path: Any,
) -> None:
    rig = Rig(tmp_path, circle(), LA_MONDAY_5PM - timedelta(hours=1))
    rig.at(LA_MONDAY_5PM + timedelta(hours=3))  # down at 17:00, back at 20:00
    (checkin,) = rig.checkins()
    assert checkin.late and checkin.scheduled_for == LA_MONDAY_5PM
    assert "(Late: the bot was offline when it was due.)" in rig.posts("prompt")[0]
    # Down for the whole of the next one's window: it is skipped, not posted late.
    rig.at(LA_MONDAY_5PM + timedelta(weeks=1, hours=25))
    assert len(rig.checkins()) == 1


def test_the_checkin_command(tmp_path: Any) -> None:
    rig = Rig(tmp_path, circle(), LA_MONDAY_5PM - timedelta(days=2))

    def say(user: str, text: str) -> Any:
        (reply,) = rig.core.handle(CommandEvent("console", f"{user}{text}", "council", user, text))
        return reply

    rig.core.checkins_changed()  # what the start-up's first advance did
    refused = say("cy", "checkin")
    assert not refused.ok and "next facilitator (ana)" in refused.text
    assert not rig.core.checkins_changed()  # refused: no wake-up to plan
    assert say("ana", "checkin").ok  # the next facilitator (and an admin)
    assert rig.core.checkins_changed()  # its nudge and close are wake-ups to plan
    assert not rig.core.checkins_changed()
    assert "already open" in say("ana", "checkin").text
    assert "facilitated by cy" in say("dee", "circle").text


# Clocks go back in Los Angeles on 2027-11-07 (01:00-02:00 happens twice) and forward on
# 2027-03-14 (02:00-03:00 does not happen).
FALL_BACK_EVE = datetime(2027, 11, 6, 19, 0, tzinfo=UTC)  # 12:00 PDT on the 6th
SPRING_EVE = datetime(2027, 3, 13, 20, 0, tzinfo=UTC)  # 12:00 PST on the 13th


def walk_clock(rig: Rig, start: datetime, hours: int) -> None:
    """Advance the core every quarter of an hour; a schedule that made it loop fails the
    test instead of hanging it."""
    with time_limit(60):
        for quarter in range(1, hours * 4 + 1):
            rig.at(start + timedelta(minutes=15 * quarter))


def test_a_daily_checkin_in_the_repeated_hour_fires_once_at_its_first_occurrence(
    tmp_path: Any,
) -> None:
    rig = Rig(tmp_path, circle(schedule="30 1 * * *"), FALL_BACK_EVE)
    walk_clock(rig, FALL_BACK_EVE, hours=48)
    started = [local(c.scheduled_for, "America/Los_Angeles") for c in rig.checkins()]
    assert started == ["Sun 2027-11-07 01:30", "Mon 2027-11-08 01:30"]
    assert rig.checkins()[0].scheduled_for == datetime(2027, 11, 7, 8, 30, tzinfo=UTC)  # PDT
    assert len(rig.posts("prompt")) == 2


def test_a_daily_checkin_in_the_skipped_hour_fires_once_at_the_end_of_the_gap(
    tmp_path: Any,
) -> None:
    rig = Rig(tmp_path, circle(schedule="30 2 * * *"), SPRING_EVE)
    walk_clock(rig, SPRING_EVE, hours=48)
    started = [c.scheduled_for for c in rig.checkins()]
    assert started == [
        datetime(2027, 3, 14, 10, 0, tzinfo=UTC),  # 03:00 PDT, the first moment after the gap
        datetime(2027, 3, 15, 9, 30, tzinfo=UTC),  # 02:30 PDT
    ]
    assert len(rig.posts("prompt")) == 2


def test_the_fall_back_night_posts_one_prompt_and_still_closes_a_deadline(
    tmp_path: Any,
) -> None:
    rig = Rig(tmp_path, circle(schedule="30 1 * * *"), FALL_BACK_EVE)
    # A deadline in the second pass of the repeated hour: 01:45 PST, 09:45 UTC.
    deadline = datetime(2027, 11, 7, 9, 45, tzinfo=UTC)
    (reply,) = rig.core.handle(
        CommandEvent(
            "console",
            "p1",
            "council",
            "ana",
            f"propose Paint the wall by {int((deadline - FALL_BACK_EVE).total_seconds() // 60)}m",
        )
    )
    assert reply.ok, reply.text
    walk_clock(rig, FALL_BACK_EVE, hours=16)  # until 03:00 PST on the 7th
    assert len(rig.posts("prompt")) == 1
    with rig.core.repo.transaction() as tx:
        proposal = tx.proposal(1)
    assert proposal is not None
    assert proposal.deadline == deadline
    assert proposal.status.is_closed and proposal.decided_at == deadline
