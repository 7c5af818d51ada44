"""Durations (`90s`, `2m`, `72h`, `3d`, `1w`, `6mo`; in Spanish also `1sem` for weeks and
`6me` for months) and WHENs (a duration from now, or a local date and time in the time
zone of whoever typed it). Errors are written in the language given (English unless told)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.cron import WallKind, wall_moment
from bot.domain.i18n import DEFAULT_LANGUAGE, Lang, lang
from bot.domain.written_when import (
    CalendarDay,
    DayAndTime,
    RelativeDay,
    Span,
    Unreadable,
    Weekday,
    read_written,
)

# The shape of a duration, signs and any number of digits included, so that `-1d` and
# `99999999d` are read as the durations they were meant to be and refused for their
# value, instead of passing for ordinary words.
DURATION_SHAPE = re.compile(r"^\s*([+-]?)(\d+)\s*(sem|mo|me|s|m|h|d|w)\s*$", re.IGNORECASE)
_DATE_SHAPE = re.compile(r"^\d{4,}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2})?)?$")
DAY_ENDS = time(17, 0)  # a day named without a time means this time of it (`day_ends`)
MAX_YEARS = 10  # a deadline, review or absence further away than this is surely a typo
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# The Spanish units, as the units they stand for: `sem` (semanas) and `me` (meses).
_UNIT_ALIASES = {"sem": "w", "me": "mo"}
_DATE_FORMATS = (
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
)


class DurationError(ValueError):
    """Raised for a duration or WHEN a person typed wrongly; the text says what is expected."""


class UnreadableWhen(DurationError):
    """Words that look like a date or time but cannot be read as one; `words` are those
    that could not be read."""

    def __init__(self, message: str, words: str) -> None:
        super().__init__(message)
        self.words = words


class OutOfRange(DurationError):
    """A well-formed duration or WHEN whose value cannot be right: zero, negative, or more
    than MAX_YEARS away (or beyond what a datetime can hold)."""


@dataclass(frozen=True)
class Duration:
    """A span of time. Months are kept apart from seconds because a month has no fixed
    length: `6mo` from 31 August is the last day of February."""

    seconds: int = 0
    months: int = 0

    def after(self, start: datetime) -> datetime:
        return add_months(start, self.months) + timedelta(seconds=self.seconds)

    def before(self, end: datetime) -> datetime:
        return add_months(end, -self.months) - timedelta(seconds=self.seconds)

    def __str__(self) -> str:
        if self.months:
            return f"{self.months}mo"
        for unit in ("w", "d", "h", "m"):
            size = _UNIT_SECONDS[unit]
            if self.seconds and self.seconds % size == 0:
                return f"{self.seconds // size}{unit}"
        return f"{self.seconds}s"


def parse_duration(text: str, speech: Lang | None = None) -> Duration:
    """Parse `90s`, `2m`, `72h`, `3d`, `1w` (`1sem`), `6mo` (`6me`). Zero, negative and
    spans longer than MAX_YEARS raise OutOfRange; the error is written in `speech`."""
    say = speech or lang(DEFAULT_LANGUAGE)
    match = DURATION_SHAPE.match(text)
    shown = repr(text.strip())
    if not match:
        raise DurationError(
            say._(
                "{text} is not a duration; use a number and a unit: "
                "s, m (minutes), h, d, w or mo (months), e.g. 90s, 72h, 3d, 6mo",
                text=shown,
            )
        )
    sign, digits, unit = match.group(1), match.group(2), match.group(3).lower()
    unit = _UNIT_ALIASES.get(unit, unit)
    if sign == "-":
        raise OutOfRange(
            say._("{text} is not a duration: a span must be longer than zero", text=shown)
        )
    if sign == "+":
        raise DurationError(
            say._("{text} is not a duration; write it without the sign", text=shown)
        )
    # Checked on the digits first: int() refuses numbers of more than 4300 digits.
    significant = digits.lstrip("0") or "0"
    amount = int(significant) if len(significant) <= 9 else 10**9
    if amount == 0:
        raise OutOfRange(say._("{text} must be longer than zero", text=shown))
    # 365-day years: a span of MAX_YEARS never reaches past MAX_YEARS calendar years.
    if unit == "mo":
        too_far = amount > MAX_YEARS * 12
    else:
        too_far = amount * _UNIT_SECONDS[unit] > MAX_YEARS * 365 * 86400
    if too_far:
        raise OutOfRange(_too_far(say, shown))
    if unit == "mo":
        return Duration(months=amount)
    return Duration(seconds=amount * _UNIT_SECONDS[unit])


def _too_far(say: Lang, shown: str) -> str:
    return say._("{text} is too far away (at most {years} years)", text=shown, years=MAX_YEARS)


def add_months(moment: datetime, months: int) -> datetime:
    """`months` calendar months later (or earlier); raises OverflowError past year 9999."""
    if months == 0:
        return moment
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise OverflowError(f"year {year} is out of range")
    # Clamp to the last day of the target month (31 Aug + 6mo -> 28/29 Feb).
    last_day = calendar.monthrange(year, month)[1]
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


class SkippedTime(DurationError):
    """A wall time the zone skips (the hour lost when clocks go forward): no moment has
    it, so none can be meant."""


@dataclass(frozen=True)
class WhenRead:
    """The moment a WHEN names, and whether its wall time happens twice in the zone (the
    hour repeated when clocks go back); `moment` is then the first of the two."""

    moment: datetime  # aware, UTC
    repeated: bool = False


def parse_when(
    text: str,
    now: datetime,
    tz: ZoneInfo,
    speech: Lang | None = None,
    day_ends: time = DAY_ENDS,
) -> datetime:
    """The moment of a WHEN (see read_when)."""
    return read_when(text, now, tz, speech, day_ends).moment


def read_when(
    text: str,
    now: datetime,
    tz: ZoneInfo,
    speech: Lang | None = None,
    day_ends: time = DAY_ENDS,
) -> WhenRead:
    """A WHEN: a duration from `now`, a local date/time in `tz` in the bot's forms, or
    as people write it (bot.domain.written_when, numeric dates in `speech`'s order), as
    an aware UTC datetime. A day without a time is at `day_ends`; a time without a day is
    its next occurrence. A local time the zone skips raises SkippedTime; one it repeats
    is the first of the two (and said so). It does not check that the moment is in the
    future (callers decide), but refuses, with OutOfRange, one more than MAX_YEARS after
    `now`. Errors are written in `speech` (English unless given)."""
    say = speech or lang(DEFAULT_LANGUAGE)
    text = " ".join(text.split())
    try:
        if DURATION_SHAPE.match(text):
            return WhenRead(parse_duration(text, say).after(now))
        read = _parse_local(text, now, tz, say, day_ends)
    except OverflowError as exc:
        raise OutOfRange(_too_far(say, repr(text))) from exc
    try:
        horizon = add_months(now, MAX_YEARS * 12)
    except OverflowError:
        return read  # `now` is within MAX_YEARS of the end of the calendar
    if read.moment > horizon:
        raise OutOfRange(
            say._("{text} is more than {years} years away", text=repr(text), years=MAX_YEARS)
        )
    return read


def _parse_local(text: str, now: datetime, tz: ZoneInfo, say: Lang, day_ends: time) -> WhenRead:
    for fmt in _DATE_FORMATS:
        try:
            local = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return _in_zone(local, tz, text, say)
    try:
        written = read_written(text, say.code)
    except Unreadable as exc:
        raise UnreadableWhen(unreadable_message(say, exc.words), exc.words) from exc
    if isinstance(written, Span):
        if written.unit == "mo":
            return WhenRead(Duration(months=written.amount).after(now))
        if written.amount * _UNIT_SECONDS[written.unit] > MAX_YEARS * 365 * 86400:
            raise OutOfRange(_too_far(say, repr(text)))
        return WhenRead(now + timedelta(seconds=written.amount * _UNIT_SECONDS[written.unit]))
    return _in_zone(_wall_time(written, now.astimezone(tz), day_ends, tz), tz, text, say)


def unreadable_message(say: Lang, words: str) -> str:
    """Which words could not be read as a date or time, with two examples of what can."""
    return say._(
        'I could not read "{words}" as a date or time; write it like "Friday 5pm" or '
        '"Dec 15 17:00", or a span such as 3d or 2 weeks',
        words=words,
    )


def _wall_time(written: DayAndTime, local_now: datetime, day_ends: time, tz: ZoneInfo) -> datetime:
    """The naive local wall time that `written` names, seen from `local_now`."""
    today = local_now.date()
    if written.day is None:
        assert written.time is not None
        wall = datetime.combine(today, written.time)
        if wall_moment(wall, tz).moment <= local_now:
            wall = datetime.combine(today + timedelta(days=1), written.time)
        return wall
    return datetime.combine(_day(written.day, today), written.time or day_ends)


def _day(day: RelativeDay | Weekday | CalendarDay, today: date) -> date:
    if isinstance(day, RelativeDay):
        return today + timedelta(days=day.days)
    if isinstance(day, Weekday):
        # The next one after today: `Friday` on a Friday is a week ahead.
        return today + timedelta(days=(day.weekday - today.weekday() - 1) % 7 + 1)
    if day.year is not None:
        return date(day.year, day.month, day.day)  # a real day: the reader checked it
    # Without a year: its next occurrence from today on (29 February: the next leap year).
    for year in range(today.year, today.year + 9):
        try:
            found = date(year, day.month, day.day)
        except ValueError:
            continue
        if found >= today:
            return found
    raise OverflowError("no such day ahead")


def _in_zone(local: datetime, tz: ZoneInfo, text: str, say: Lang) -> WhenRead:
    """The moment a naive wall time names in `tz`, by the one rule for daylight saving
    (bot.domain.cron.wall_moment): a repeated wall time is its first occurrence; a
    skipped one is refused here, since nobody can have meant it."""
    found = wall_moment(local, tz)
    if found.kind is WallKind.ONCE:
        return WhenRead(found.moment)
    if found.kind is WallKind.REPEATED:
        return WhenRead(found.moment, repeated=True)
    change = found.moment  # the first moment after the gap
    before = local.replace(tzinfo=tz, fold=0).utcoffset() or timedelta(0)
    start = (change + before).replace(tzinfo=None)
    end = change.astimezone(tz).replace(tzinfo=None)
    shape = "%H:%M" if start.date() == end.date() else "%Y-%m-%d %H:%M"  # a day skipped
    raise SkippedTime(
        say._(
            "{text} does not exist in {zone}: that day the clocks go forward from {start} "
            "to {end}. Choose a time before or after the change.",
            text=repr(text),
            zone=tz.key,
            start=start.strftime(shape),
            end=end.strftime(shape),
        )
    )


def looks_like_when(text: str) -> bool:
    """True when `text` has the shape of a WHEN in the bot's own forms (`3d`,
    `2026-12-01 17:00`), even if its values are out of range."""
    text = text.strip()
    return bool(DURATION_SHAPE.match(text) or _DATE_SHAPE.match(text))


def reads_as_when(text: str, language: str) -> bool:
    """True when `text` is a WHEN as people write it (`Friday 5pm`, `15 de diciembre`);
    whether its moment is ahead is for the clock to tell."""
    try:
        read_written(text, language)
    except Unreadable:
        return False
    return True


def utc(moment: datetime) -> datetime:
    """Aware UTC datetime; naive values are taken as UTC (as SQLite returns them)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso(moment: datetime | None) -> str | None:
    """`2026-01-05T14:00:00Z`, the form used in JSON output and exports."""
    if moment is None:
        return None
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")
