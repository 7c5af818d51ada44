"""When a circle's check-ins are: its cron schedule in its own time zone, by the one
rule for clock changes (bot.domain.cron). Pure: the handlers start them, the views show the
next one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.circle import CircleSpec
from bot.domain.cron import CronSchedule, cron_schedule


def schedule(spec: CircleSpec) -> CronSchedule:
    """The circle's check-in schedule, in its own time zone (daylight saving by the rule
    of bot.domain.cron)."""
    assert spec.checkins is not None
    return cron_schedule(spec.checkins.schedule, ZoneInfo(spec.timezone))


def next_fire(spec: CircleSpec, after: datetime) -> datetime | None:
    """The circle's first scheduled check-in strictly after `after` (aware), in UTC; None
    when the circle has no check-ins or its schedule never fires again."""
    if spec.checkins is None:
        return None
    return schedule(spec).next_fire(after)


def fire_times(spec: CircleSpec, after: datetime, until: datetime) -> Iterator[datetime]:
    """Scheduled times in (after, until]."""
    return schedule(spec).fires_between(after, until)
