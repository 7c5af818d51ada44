"""A circle's `[circles.checkins]`: a cron schedule in the circle's time zone, the
questions asked in turn, and how long each check-in stays open."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.config.errors import fail
from bot.config.values import (
    check_keys,
    duration,
    join_key,
    required_string,
    show,
    string_list,
    table,
)
from bot.domain.circle import CheckinSpec
from bot.domain.cron import cron_schedule
from bot.domain.durations import Duration, parse_duration

CHECKIN_KEYS = ("schedule", "questions", "open_for", "remind_after")
DEFAULT_CHECKIN_OPEN_FOR = "24h"

# A fixed moment for comparing durations that may contain months, and for looking at a
# cron schedule's rhythm without depending on today's date.
_REFERENCE = datetime(2026, 1, 5, 12, 0)


def parse_checkins(
    data: Mapping[str, Any], where: str, zone: ZoneInfo
) -> tuple[CheckinSpec | None, list[str]]:
    """The circle's `checkins` table (None when absent) and its warnings."""
    checkins = table(data, where, "checkins")
    if checkins is None:
        return None, []
    at = join_key(where, "checkins")
    check_keys(checkins, at, CHECKIN_KEYS)
    warnings: list[str] = []
    schedule = required_string(
        checkins,
        at,
        "schedule",
        'a cron expression in the circle\'s time zone, e.g. "0 17 * * MON"',
    )
    fires = _schedule_fires(join_key(at, "schedule"), schedule, zone)
    questions = string_list(
        checkins,
        at,
        "questions",
        required=True,
        what='give at least one question, e.g. questions = ["How are you arriving today?"]',
    )
    assert questions is not None
    if not questions:
        fail(join_key(at, "questions"), "give at least one question")
    open_for = duration(checkins, at, "open_for") or parse_duration(DEFAULT_CHECKIN_OPEN_FOR)
    remind_after = duration(checkins, at, "remind_after")
    if remind_after is not None and _at_least_as_long(remind_after, open_for):
        fail(
            join_key(at, "remind_after"),
            f"{remind_after} must be shorter than open_for ({open_for}); "
            "the reminder is sent while the check-in is still open",
        )
    for start, following in itertools.pairwise(fires):
        if open_for.after(start) > following:
            warnings.append(
                f"{at}.open_for: {open_for} is longer than the time between two check-ins "
                f"({schedule}); a check-in would still be open when the next one starts"
            )
            break
    return CheckinSpec(
        schedule=schedule,
        questions=tuple(questions),
        open_for=open_for,
        remind_after=remind_after,
    ), warnings


def _at_least_as_long(a: Duration, b: Duration) -> bool:
    """True when `a` is at least as long as `b` (months measured from a fixed date)."""
    return a.after(_REFERENCE) >= b.after(_REFERENCE)


def _schedule_fires(key: str, expr: str, zone: ZoneInfo) -> list[datetime]:
    """The schedule's first few fire times after a fixed date; refused when it is not a
    cron line or never fires."""
    fields = expr.split()
    if len(fields) == 5 and any(ch.isdigit() for ch in fields[4]):
        # APScheduler 3.x counts weekdays from 0 = Monday, cron from 0 = Sunday: refuse
        # numbers rather than fire on the wrong day.
        fail(
            key,
            f"{show(expr)}: write the day of the week as a name "
            "(MON, TUE, WED, THU, FRI, SAT, SUN; ranges like MON-FRI), not a number",
        )
    try:
        schedule = cron_schedule(expr, zone)
    except (ValueError, TypeError, KeyError) as exc:
        fail(
            key,
            f"{show(expr)} is not a valid cron expression ({exc}); "
            'use minute hour day month weekday, e.g. "0 17 * * MON"',
        )
    fires = schedule.next_fires(_REFERENCE.replace(tzinfo=zone), 8)
    if not fires:
        fail(key, f"{show(expr)} never fires (no such date)")
    return fires
