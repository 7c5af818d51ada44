"""Cron schedules in a circle's time zone: the one place their fire times are computed.
APScheduler 3.x's CronTrigger does the calendar, daylight saving included."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

_TICK = timedelta(microseconds=1)  # a fire time matches itself: step just past it


def cron_trigger(schedule: str, zone: ZoneInfo) -> Any:
    """APScheduler's trigger for a crontab line. APScheduler 3.x ships no type
    information; it is loaded dynamically so that mypy sees `Any`."""
    module = importlib.import_module("apscheduler.triggers.cron")
    return module.CronTrigger.from_crontab(schedule, timezone=zone)


def fires_from(trigger: Any, start: datetime) -> Iterator[datetime]:
    """The moments the trigger fires at, from `start` on (`start` itself included)."""
    previous: datetime | None = None
    moment = start
    while True:
        fire = trigger.get_next_fire_time(previous, moment)
        if not isinstance(fire, datetime):
            return
        yield fire
        previous, moment = fire, fire + _TICK


def next_fires(trigger: Any, start: datetime, count: int) -> list[datetime]:
    """Up to `count` moments the trigger fires at, from `start` on."""
    fires: list[datetime] = []
    for fire in fires_from(trigger, start):
        if len(fires) == count:
            break
        fires.append(fire)
    return fires


def fires_between(trigger: Any, after: datetime, until: datetime) -> Iterator[datetime]:
    """The moments in (after, until]."""
    for fire in fires_from(trigger, after + _TICK):
        if fire > until:
            return
        yield fire
