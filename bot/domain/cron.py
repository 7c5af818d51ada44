"""Cron schedules in a circle's time zone: the one place their fire times are computed,
and the one rule for wall times that daylight saving repeats or skips.

The rule (SPEC, Check-ins, "Daylight saving"): a wall time that happens twice on a day
fires once, at its first occurrence; a wall time that does not exist on a day fires
once, at the first moment after the gap. Every fire is strictly after the one before,
so nothing that walks a schedule can stand still on one moment.

APScheduler 3.x reads the crontab line (its fields, names and ranges); the fire times
are computed here, over local dates, never by its CronTrigger, which in a repeated hour
returns the same moment again and again.
"""

from __future__ import annotations

import bisect
import enum
import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

_TICK = timedelta(microseconds=1)
# How far ahead a schedule is searched for its next fire: far enough for the rarest
# line the config accepts (`0 0 29 2 MON`, a Monday 29 February, comes every 28 years
# or so, up to 40 across a century that skips a leap year).
_SEARCH_DAYS = 366 * 41
_DAY_CACHE = 4096  # dates remembered per schedule, whether they match


class WallKind(enum.Enum):
    """How a local wall time exists on its day."""

    ONCE = "once"
    REPEATED = "repeated"  # the hour clocks go back over: it happens twice
    SKIPPED = "skipped"  # the hour clocks go forward over: it does not happen


@dataclass(frozen=True)
class WallMoment:
    """The moment a wall time stands for, by the rule: for a repeated wall time its
    first occurrence, for a skipped one the first moment after the gap."""

    moment: datetime  # aware, in UTC
    kind: WallKind


def wall_moment(wall: datetime, zone: ZoneInfo) -> WallMoment:
    """The moment of the naive local `wall` in `zone`, by the rule."""
    if wall.tzinfo is not None:
        raise ValueError("a wall time is naive: its zone is given apart")
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    before, after = first.utcoffset(), second.utcoffset()
    assert before is not None and after is not None
    if before == after:
        return WallMoment(first.astimezone(UTC), WallKind.ONCE)
    if before > after:  # clocks went back: fold=0 is the earlier of the two
        return WallMoment(first.astimezone(UTC), WallKind.REPEATED)
    return WallMoment(_gap_end(wall, zone, before, after), WallKind.SKIPPED)


def _gap_end(wall: datetime, zone: ZoneInfo, before: timedelta, after: timedelta) -> datetime:
    """The moment clocks went forward over `wall`: the first moment after the gap.

    Read with the offset after the change, `wall` is a moment before it; read with the
    offset before, one after it. The change lies between; zones change on whole seconds."""
    low = (wall - after).replace(tzinfo=UTC)  # still on the offset `before`
    high = (wall - before).replace(tzinfo=UTC)  # already on the offset `after`
    while high - low > timedelta(seconds=1):
        middle = low + timedelta(seconds=(high - low) // timedelta(seconds=2))
        if middle.astimezone(zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return high


@dataclass(frozen=True, eq=False)
class CronSchedule:
    """A crontab line (minute hour day-of-month month day-of-week) in a time zone."""

    line: str
    zone: ZoneInfo
    times: tuple[time, ...]  # the wall times of a day it fires at, in order
    _day_fields: tuple[Any, ...]  # APScheduler's fields that pick the days
    _days: dict[date, bool] = field(default_factory=dict, repr=False)

    def fires_on(self, day: date) -> bool:
        """True when `day` is one of the schedule's days (month, day, weekday)."""
        known = self._days.get(day)
        if known is None:
            if len(self._days) >= _DAY_CACHE:
                self._days.clear()
            moment = datetime.combine(day, time())
            known = all(f.get_next_value(moment) == f.get_value(moment) for f in self._day_fields)
            self._days[day] = known
        return known

    def next_fire(self, after: datetime) -> datetime | None:
        """The first fire strictly after `after` (aware), in UTC; None if it never fires."""
        if after.tzinfo is None:
            raise ValueError("`after` must be an aware datetime")
        after = after.astimezone(UTC)
        wall = after.astimezone(self.zone).replace(tzinfo=None)
        # A wall time before `after`'s own is never later than it (its first occurrence
        # came before, or it was skipped in a gap `after` is past), and the moments of
        # later wall times never go back: the first one past `after` is the next fire.
        day, first = wall.date(), bisect.bisect_left(self.times, wall.time())
        for _ in range(_SEARCH_DAYS):
            if self.fires_on(day):
                for at in self.times[first:]:
                    moment = wall_moment(datetime.combine(day, at), self.zone).moment
                    if moment > after:
                        return moment
            day, first = day + timedelta(days=1), 0
        return None

    def fires_from(self, start: datetime) -> Iterator[datetime]:
        """The fires from `start` on (`start` itself included), each after the last."""
        fire = self.next_fire(start - _TICK)
        while fire is not None:
            yield fire
            fire = self.next_fire(fire)

    def next_fires(self, start: datetime, count: int) -> list[datetime]:
        """Up to `count` fires, from `start` on."""
        fires: list[datetime] = []
        for fire in self.fires_from(start):
            if len(fires) == count:
                break
            fires.append(fire)
        return fires

    def fires_between(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """The fires in (after, until]."""
        for fire in self.fires_from(after + _TICK):
            if fire > until:
                return
            yield fire


def cron_schedule(line: str, zone: ZoneInfo) -> CronSchedule:
    """The schedule of a crontab line in `zone`. Raises ValueError (or TypeError,
    KeyError, as APScheduler does) when the line is not one."""
    return _parsed(line, zone)


@lru_cache(maxsize=256)
def _parsed(line: str, zone: ZoneInfo) -> CronSchedule:
    module = importlib.import_module("apscheduler.triggers.cron")
    fields = {f.name: f for f in module.CronTrigger.from_crontab(line, timezone=zone).fields}
    hours = _values(fields["hour"], range(24), lambda v: datetime(2000, 1, 1, v))
    minutes = _values(fields["minute"], range(60), lambda v: datetime(2000, 1, 1, 0, v))
    day_fields = tuple(
        fields[name]
        for name in ("year", "month", "day", "week", "day_of_week")
        if str(fields[name]) != "*"
    )
    times = tuple(time(h, m) for h in hours for m in minutes)
    return CronSchedule(line=line, zone=zone, times=times, _day_fields=day_fields)


def _values(cron_field: Any, candidates: range, moment: Any) -> list[int]:
    """The values of an hour or minute field that match (they do not depend on the day)."""
    return [v for v in candidates if cron_field.get_next_value(moment(v)) == v]
