"""`circlebot export --format ics`: the calendar feed, read back with `icalendar`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from bot.domain.clock import ManualClock
from bot.handlers.core import Core
from bot.queries.export import export_decisions
from storage import open_repository
from tests.cli.export_scenario import T0, Log, build, spec

LA = ZoneInfo("America/Los_Angeles")


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Log]:
    made = build(tmp_path / "log.db")
    yield made
    made.repo.engine.dispose()


def feed(log: Log, now: datetime | None = None, **kwargs: Any) -> str:
    return export_decisions(log.repo, log.specs, "ics", now=now or log.clock.now(), **kwargs)


def events(text: str) -> dict[str, Any]:
    calendar = Calendar.from_ical(text)
    found = {str(event["uid"]): event for event in calendar.walk("VEVENT")}
    assert len(found) == len(calendar.walk("VEVENT")), "a UID appears twice"
    return found


def by_kind(found: dict[str, Any], prefix: str) -> list[Any]:
    return [event for uid, event in found.items() if uid.startswith(prefix)]


def test_the_feed_has_open_deadlines_reviews_and_the_next_check_ins(log: Log) -> None:
    text = feed(log)
    calendar = Calendar.from_ical(text)
    assert str(calendar["prodid"]) == "-//circlebot//decision calendar//EN"
    assert str(calendar["version"]) == "2.0"
    found = events(text)
    [deadline] = by_kind(found, "proposal-6-deadline.")
    assert str(deadline["summary"]) == "Proposal #6 deadline: Open a second office in the valley"
    with log.repo.transaction() as tx:
        six = tx.proposal(6)
        one = tx.proposal(1)
    assert six is not None and one is not None
    assert deadline.decoded("dtstart") == six.deadline.replace(microsecond=0)
    description = str(deadline["description"])
    assert "Circle: council" in description
    assert "Tally so far (round 1): milpa 0/2 … · vera 1/2 …" in description
    assert int(deadline["sequence"]) == 0
    assert deadline.decoded("dtstamp").tzinfo is not None
    # Closed proposals have no deadline event; a passed one with a review has its review.
    assert not by_kind(found, "proposal-1-deadline") and not by_kind(found, "proposal-5-")
    [review] = by_kind(found, "proposal-1-review.")
    assert review.decoded("dtstart") == one.review_at
    assert str(review["summary"]).startswith("Review of decision #1: Adopt the shared visiting")
    assert "Outcome statement: Visits start on 2 February; ana and cy" in str(review["description"])
    # The next four check-ins: Mondays 18:00 in the circle's time zone, open for a day.
    checkins = sorted(by_kind(found, "checkin-"), key=lambda e: e.decoded("dtstart"))
    assert len(checkins) == 4
    starts = [event.decoded("dtstart").astimezone(LA) for event in checkins]
    assert [(s.strftime("%a %H:%M"), s.day) for s in starts] == [
        ("Mon 18:00", 12),
        ("Mon 18:00", 19),
        ("Mon 18:00", 26),
        ("Mon 18:00", 2),
    ]
    assert all(e.decoded("dtend") - e.decoded("dtstart") == timedelta(days=1) for e in checkins)
    assert str(checkins[0]["summary"]) == "Check-in of circle council"
    assert "How is the partnership going?" in str(checkins[0]["description"])
    assert "What do you need from the other side?" in str(checkins[1]["description"])
    assert "DTSTART:20260113T020000Z" in text  # times are written in UTC


def test_exporting_twice_gives_the_same_events(log: Log) -> None:
    first = feed(log)
    assert feed(log) == first  # byte for byte
    later = events(feed(log, now=log.clock.now() + timedelta(hours=5)))
    again = events(first)
    assert later.keys() == again.keys()
    for uid, event in again.items():
        assert later[uid].decoded("dtstart") == event.decoded("dtstart")
        assert str(later[uid]["summary"]) == str(event["summary"])


def test_an_amended_deadline_updates_the_same_event(log: Log) -> None:
    before = events(feed(log))
    [old] = by_kind(before, "proposal-6-deadline.")
    log.at(hours=1)
    log.ok("cy", "amend 6 Open a second office in the valley, shared by both sides by 20d")
    after = events(feed(log))
    [new] = by_kind(after, "proposal-6-deadline.")
    assert str(new["uid"]) == str(old["uid"])
    assert int(new["sequence"]) == int(old["sequence"]) + 1
    assert new.decoded("dtstart") == (log.clock.now() + timedelta(days=20)).replace(microsecond=0)
    assert new.decoded("dtstart") != old.decoded("dtstart")
    assert new.decoded("last-modified") > old.decoded("last-modified")
    assert "shared by both sides" in str(new["summary"])
    assert len(after) == len(before)


def test_two_deployments_never_share_a_uid(tmp_path: Path, log: Log) -> None:
    """The same circle name and proposal numbers on another database started at another
    moment: the UIDs differ, so one calendar can subscribe to both."""
    other = build(tmp_path / "other.db", start=T0 + timedelta(seconds=1))
    try:
        mine = events(feed(log, now=T0 + timedelta(days=4)))
        theirs = events(feed(other, now=T0 + timedelta(days=4)))
    finally:
        other.repo.engine.dispose()
    assert {uid.split(".")[0] for uid in mine} == {uid.split(".")[0] for uid in theirs}
    assert not mine.keys() & theirs.keys()
    assert all(uid.endswith("@circlebot") for uid in mine)


def test_texts_cannot_break_out_of_their_property(log: Log) -> None:
    log.ok("ana", "propose Lunch\nEND:VEVENT\nBEGIN:VEVENT\nUID:evil@x\nSUMMARY:forged; by 2d")
    found = events(feed(log))
    assert "evil@x" not in found
    [deadline] = by_kind(found, "proposal-7-deadline.")
    assert str(deadline["summary"]) == (
        "Proposal #7 deadline: Lunch END:VEVENT BEGIN:VEVENT UID:evil@x SUMMARY:forged;"
    )
    assert "END:VEVENT\nBEGIN:VEVENT\nUID:evil@x" in str(deadline["description"])


def test_one_circle_and_another_language(log: Log) -> None:
    text = feed(log, circle="council", language="es")
    assert "X-WR-CALNAME:" in text
    assert len(events(text)) == 6  # one deadline, one review, four check-ins
    with pytest.raises(Exception, match="no circle 'nowhere'"):
        feed(log, circle="nowhere")


def test_a_circle_without_check_ins_or_proposals(tmp_path: Path) -> None:
    repo = open_repository(f"sqlite:///{tmp_path}/empty.db")
    try:
        text = export_decisions(repo, [], "ics", now=datetime(2026, 1, 1, tzinfo=UTC))
    finally:
        repo.engine.dispose()
    assert events(text) == {}
    assert text.startswith("BEGIN:VCALENDAR")


def test_the_fall_back_day_lists_each_check_in_once(tmp_path: Path) -> None:
    daily = spec()
    assert daily.checkins is not None
    daily = replace(daily, checkins=replace(daily.checkins, schedule="30 1 * * *"))
    eve = datetime(2027, 11, 6, 12, 0, tzinfo=LA)  # clocks go back at 02:00 on the 7th
    repo = open_repository(f"sqlite:///{tmp_path}/fall.db")
    try:
        Core(repo, [daily], ManualClock(eve)).start()
        found = events(export_decisions(repo, [daily], "ics", now=eve))
    finally:
        repo.engine.dispose()
    checkins = sorted(by_kind(found, "checkin-"), key=lambda e: e.decoded("dtstart"))
    starts = [event.decoded("dtstart").astimezone(LA) for event in checkins]
    assert [s.strftime("%m-%d %H:%M %Z") for s in starts] == [
        "11-07 01:30 PDT",  # the first 01:30 of the 7th, and only that one
        "11-08 01:30 PST",
        "11-09 01:30 PST",
        "11-10 01:30 PST",
    ]
