"""Cron schedules across daylight-saving changes (SPEC, Check-ins, "Daylight saving"): a
repeated wall time fires once, at its first occurrence; a skipped one fires once, at the
first moment after the gap; every fire is strictly after the one before."""

from __future__ import annotations

import itertools
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.cron import CronSchedule, WallKind, cron_schedule, wall_moment

LA = ZoneInfo("America/Los_Angeles")
YEAR = 2027
# Names in the zone database that are not places: the system's own zone, the zone
# POSIX TZ strings borrow their rules from, and the placeholder for "no zone yet".
NOT_PLACES = {"localtime", "posixrules", "Factory"}


def walk(schedule: CronSchedule, start: datetime, until: datetime, bound: int) -> list[datetime]:
    """The fires in [start, until), by calling next_fire on the last one, at most `bound`
    times: a schedule that stands still fails the test instead of hanging it."""
    fires: list[datetime] = []
    fire = schedule.next_fire(start - timedelta(microseconds=1))
    while fire is not None and fire < until:
        assert len(fires) < bound, f"{schedule.line} in {schedule.zone.key}: more than {bound}"
        fires.append(fire)
        fire = schedule.next_fire(fire)
    return fires


def test_the_repeated_hour_fires_once_at_its_first_occurrence() -> None:
    schedule = cron_schedule("30 1 * * *", LA)
    nov_6 = datetime(2027, 11, 6, tzinfo=LA)
    fires = walk(schedule, nov_6, nov_6 + timedelta(days=3), bound=4)
    assert [f.astimezone(LA).strftime("%m-%d %H:%M %Z") for f in fires] == [
        "11-06 01:30 PDT",
        "11-07 01:30 PDT",
        "11-08 01:30 PST",
    ]
    # From inside the repeated hour, past its first 01:30: the next is the next day's.
    second_pass = datetime(2027, 11, 7, 9, 15, tzinfo=UTC)  # 01:15 PST
    assert schedule.next_fire(second_pass) == datetime(2027, 11, 8, 9, 30, tzinfo=UTC)
    assert schedule.next_fire(fires[1]) == fires[2]


def test_the_skipped_hour_fires_once_at_the_end_of_the_gap() -> None:
    daily = cron_schedule("30 2 * * *", LA)
    mar_13 = datetime(2027, 3, 13, tzinfo=LA)
    fires = walk(daily, mar_13, mar_13 + timedelta(days=3), bound=4)
    assert [f.astimezone(LA).strftime("%m-%d %H:%M %Z") for f in fires] == [
        "03-13 02:30 PST",
        "03-14 03:00 PDT",
        "03-15 02:30 PDT",
    ]
    # Four wall times in the gap: one fire for them all.
    quarters = cron_schedule("*/15 2 * * *", LA)
    mar_14 = datetime(2027, 3, 14, tzinfo=LA)
    assert walk(quarters, mar_14, mar_14 + timedelta(days=1), bound=2) == [
        datetime(2027, 3, 14, 10, 0, tzinfo=UTC)
    ]


def test_the_rule_for_one_wall_time() -> None:
    repeated = wall_moment(datetime(2027, 11, 7, 1, 30), LA)
    assert repeated.kind is WallKind.REPEATED
    assert repeated.moment == datetime(2027, 11, 7, 8, 30, tzinfo=UTC)
    skipped = wall_moment(datetime(2027, 3, 14, 2, 30), LA)
    assert skipped.kind is WallKind.SKIPPED
    assert skipped.moment == datetime(2027, 3, 14, 10, 0, tzinfo=UTC)
    # Lord Howe Island moves its clocks by half an hour.
    howe = wall_moment(datetime(2027, 10, 3, 2, 10), ZoneInfo("Australia/Lord_Howe"))
    assert howe.kind is WallKind.SKIPPED
    assert howe.moment.astimezone(ZoneInfo("Australia/Lord_Howe")).strftime("%H:%M") == "02:30"
    once = wall_moment(datetime(2027, 7, 1, 12, 0), LA)
    assert once == wall_moment(datetime(2027, 7, 1, 12, 0), LA)
    assert once.kind is WallKind.ONCE
    assert once.moment == datetime(2027, 7, 1, 19, 0, tzinfo=UTC)


# ------------------------------------------------------------ every zone with daylight saving


@dataclass(frozen=True)
class Change:
    at: datetime  # UTC, the first moment on the new offset
    before: timedelta
    after: timedelta


@dataclass(frozen=True)
class ZoneYear:
    """A zone's offsets over the test's year, found by looking at its offset each day and
    narrowing each change down to the second (independently of bot.domain.cron)."""

    zone: ZoneInfo
    first: timedelta
    changes: tuple[Change, ...]

    @property
    def fingerprint(self) -> tuple[object, ...]:
        return (self.first, tuple((c.at, c.before, c.after) for c in self.changes))

    def expected(self, day: date, at: time) -> datetime:
        """When a schedule at wall time `at` should fire on `day`: the first moment the
        clocks show it, or, when they never do, the end of the gap that skipped it."""
        wall = datetime.combine(day, at)
        offsets = {self.first} | {c.after for c in self.changes}
        shown = [
            moment
            for moment in ((wall - offset).replace(tzinfo=UTC) for offset in offsets)
            if moment.astimezone(self.zone).replace(tzinfo=None) == wall
        ]
        if shown:
            return min(shown)
        (gap,) = [
            c for c in self.changes if c.at + c.before <= wall.replace(tzinfo=UTC) < c.at + c.after
        ]
        return gap.at


def zone_year(zone: ZoneInfo) -> ZoneYear:
    start = datetime(YEAR - 1, 12, 30, tzinfo=UTC)
    days = [start + timedelta(days=n) for n in range(370)]
    offsets = [d.astimezone(zone).utcoffset() for d in days]
    changes = []
    for low, high, before, after in zip(days, days[1:], offsets, offsets[1:], strict=False):
        if before == after:
            continue
        assert before is not None and after is not None
        while high - low > timedelta(seconds=1):
            middle = low + (high - low) / 2
            if middle.astimezone(zone).utcoffset() == before:
                low = middle
            else:
                high = middle
        changes.append(Change(high.replace(microsecond=0), before, after))
    first = offsets[0]
    assert first is not None
    return ZoneYear(zone, first, tuple(changes))


def zones_with_daylight_saving() -> Iterator[tuple[list[str], ZoneYear]]:
    """Every zone whose offset changes over the year, grouped by the changes: zones with
    the same offsets at every moment of the year (a zone and its aliases, neighbours on
    the same rules) fire at the same moments, so each group is run once, named by all."""
    groups: dict[tuple[object, ...], tuple[list[str], ZoneYear]] = {}
    for name in sorted(zoneinfo.available_timezones() - NOT_PLACES):
        year = zone_year(ZoneInfo(name))
        if year.changes:
            groups.setdefault(year.fingerprint, ([], year))[0].append(name)
    return iter(groups.values())


ZONE_GROUPS = list(zones_with_daylight_saving())
HALF_HOURS = [time(hour, minute) for hour in range(24) for minute in (0, 30)]
WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def test_the_zones_with_daylight_saving_are_found() -> None:
    names = {name for names, _ in ZONE_GROUPS for name in names}
    assert {"America/Los_Angeles", "Europe/Berlin", "Australia/Lord_Howe"} <= names
    assert {"Africa/Casablanca", "America/Santiago", "Pacific/Auckland"} <= names
    assert not names & {"UTC", "Asia/Tokyo", "America/Phoenix"}
    assert len(names) > 100


@pytest.mark.parametrize(
    ("names", "year"),
    ZONE_GROUPS,
    ids=[f"{names[0]}+{len(names) - 1}" for names, _ in ZONE_GROUPS],
)
def test_a_year_of_daily_and_weekly_schedules(names: list[str], year: ZoneYear) -> None:
    """Every half hour of the day, daily and weekly, through the year: the walk ends
    (bounded), fires only go forward, and they are exactly one per day (per week) at the
    schedule's wall time, or at the end of the gap on a day the clocks skip it."""
    zone = year.zone
    start = datetime(YEAR, 1, 1, tzinfo=zone)
    until = datetime(YEAR + 1, 1, 1, tzinfo=zone)
    days = [date(YEAR, 1, 1) + timedelta(days=n) for n in range((until - start).days)]
    # Weekly schedules on the weekdays the clocks change on (in local time).
    change_days = sorted({c.at.astimezone(zone).weekday() for c in year.changes})
    for at in HALF_HOURS:
        daily = cron_schedule(f"{at.minute} {at.hour} * * *", zone)
        fires = walk(daily, start, until, bound=len(days) + 1)
        assert all(a < b for a, b in itertools.pairwise(fires))
        assert fires == [year.expected(day, at) for day in days], (names, daily.line)
        for weekday in change_days:
            weekly = cron_schedule(f"{at.minute} {at.hour} * * {WEEKDAYS[weekday]}", zone)
            fires = walk(weekly, start, until, bound=54)
            assert all(a < b for a, b in itertools.pairwise(fires))
            expected = [year.expected(day, at) for day in days if day.weekday() == weekday]
            assert fires == expected, (names, weekly.line)
