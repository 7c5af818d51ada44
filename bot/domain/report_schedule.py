"""When a circle's own report is posted: its cron schedule in the circle's time zone, by
the one rule for clock changes (bot.domain.cron). Pure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.circle import CircleSpec
from bot.domain.cron import cron_schedule


def next_fire(spec: CircleSpec, after: datetime) -> datetime | None:
    """The circle's first scheduled report strictly after `after`; None when it has no
    schedule or it never fires again."""
    if spec.report is None:
        return None
    return cron_schedule(spec.report.schedule, ZoneInfo(spec.timezone)).next_fire(after)


def fire_times(spec: CircleSpec, after: datetime, until: datetime) -> Iterator[datetime]:
    """Scheduled times in (after, until]."""
    if spec.report is None:
        return iter(())
    return cron_schedule(spec.report.schedule, ZoneInfo(spec.timezone)).fires_between(after, until)
