"""A circle's schedules, its check-ins and its report, as cron schedules in the circle's
time zone by the one rule for clock changes (bot.domain.cron). Pure: the handlers act
on them, the views show the next check-in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.circle import CircleSpec
from bot.domain.cron import CronSchedule, cron_schedule


def checkins_schedule(spec: CircleSpec) -> CronSchedule | None:
    """When the circle's check-ins are (None: it has none)."""
    if spec.checkins is None:
        return None
    return cron_schedule(spec.checkins.schedule, ZoneInfo(spec.timezone))


def report_schedule(spec: CircleSpec) -> CronSchedule | None:
    """When the circle's own report is posted (None: it is not)."""
    if spec.report is None:
        return None
    return cron_schedule(spec.report.schedule, ZoneInfo(spec.timezone))


def next_fire(schedule: CronSchedule | None, after: datetime) -> datetime | None:
    """The first fire strictly after `after` (aware), in UTC; None without a schedule or
    when it never fires again."""
    return schedule.next_fire(after) if schedule is not None else None


def fire_times(
    schedule: CronSchedule | None, after: datetime, until: datetime
) -> Iterator[datetime]:
    """The fires in (after, until]."""
    return schedule.fires_between(after, until) if schedule is not None else iter(())
