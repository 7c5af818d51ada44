"""A circle's `[circles.report]`: when the circle's own report is posted (a cron
schedule in the circle's time zone) and the period it covers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from bot.config.checkins import _schedule_fires
from bot.config.values import check_keys, duration, join_key, required_string, table
from bot.domain.circle import ReportSpec
from bot.domain.report import DEFAULT_PERIOD

REPORT_KEYS = ("schedule", "period")


def parse_report(data: Mapping[str, Any], where: str, zone: ZoneInfo) -> ReportSpec | None:
    """The circle's `report` table (None when absent)."""
    report = table(data, where, "report")
    if report is None:
        return None
    at = join_key(where, "report")
    check_keys(report, at, REPORT_KEYS)
    schedule = required_string(
        report,
        at,
        "schedule",
        'a cron expression in the circle\'s time zone, e.g. "0 9 1 * *" (9:00 on the 1st)',
    )
    _schedule_fires(join_key(at, "schedule"), schedule, zone)  # refused unless it fires
    return ReportSpec(schedule=schedule, period=duration(report, at, "period") or DEFAULT_PERIOD)
