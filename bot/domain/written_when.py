"""Reading a WHEN as people write it, in English or Spanish: spans in words (`3 days`,
`en 2 semanas`), days (`today`, `mañana`, `Friday`, `el próximo viernes`), dates with
month names or digits (`Dec 15`, `15 de diciembre de 2026`, `12/15`, `15/12`) and times
(`5pm`, `5:30 p. m.`, `17:00`, `noon`, `mediodía`), alone or together.

Pure and clock-free: the words are read into a typed `Written` value, which
bot.domain.durations resolves against a clock, a zone and the circle's `day_ends`. The
month and weekday names come from CLDR (Babel), in both languages, whatever the reader's
language; only the order of a numeric date (`12/15` or `15/12`) is the reader's."""

from __future__ import annotations

import difflib
import enum
import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, time

from babel.dates import get_day_names, get_month_names

# Spellings CLDR does not list but people write.
_MORE_WEEKDAYS = {"tues": 1, "thur": 3, "thurs": 3, "weds": 2, "mier": 2, "sab": 5}
_MORE_MONTHS = {"sept": 9, "setiembre": 9, "set": 9}
# Spanish `mar` is both `martes` and `marzo`: it is read as the month.
_NOT_WEEKDAYS = {"mar"}

_SPAN_UNITS = {
    **dict.fromkeys(("minute", "minutes", "min", "mins", "minuto", "minutos"), "m"),
    **dict.fromkeys(("hour", "hours", "hr", "hrs", "hora", "horas"), "h"),
    **dict.fromkeys(("day", "days", "dia", "dias"), "d"),
    **dict.fromkeys(("week", "weeks", "semana", "semanas"), "w"),
    **dict.fromkeys(("month", "months", "mes", "meses"), "mo"),
    **dict.fromkeys(("year", "years", "ano", "anos"), "y"),
}
_ONE = {"a", "an", "one", "un", "una", "uno"}
_IN = {"in", "en", "within", "dentro"}
# Words that stand around a day or a time and say nothing more: `on the 15th`, `at 5pm`,
# `el 15 de diciembre a las 5`, `this Friday`, `el viernes que viene`.
_FILLER = {
    *("the", "on", "at", "of", "this", "next", "coming", "by", "end"),
    *("el", "la", "las", "los", "de", "del", "a", "al", "este", "esta", "proximo"),
    *("proxima", "que", "viene", "entrante", "para"),
}
_TODAY = {"today", "hoy", "tonight"}
_TOMORROW = {"tomorrow", "manana", "tmrw", "tmr"}
_NOON = {"noon", "midday", "mediodia"}
_MIDNIGHT = {"midnight", "medianoche"}
# `5 de la tarde`: the part of the day after a time, in Spanish.
_AFTERNOON = {"tarde", "noche"}

_ORDINAL = re.compile(r"(\d{1,2})(st|nd|rd|th|o|a|º|ª)?")
# `17:00`, `5`, `17h`, `17h30` (a meridiem is a token of its own by then).
_CLOCK = re.compile(r"(\d{1,2})(?:([:h])(\d{2})|(h))?")
_NUMERIC = re.compile(r"(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2}|\d{4}))?")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
# `p. m.`, `p.m.`, `P.M.` -> `pm`; then `5pm` -> `5 pm`.
_MERIDIEM_DOTS = re.compile(r"(?<![a-z])([ap])\s*\.\s*m\s*\.?(?![a-z])")
_MERIDIEM_GLUED = re.compile(r"(\d)(am|pm)(?![a-z])")
_PUNCTUATION = re.compile(r"[,;!?¿¡()]")


class Unreadable(ValueError):
    """The words cannot be read as a WHEN; `words` are the ones that could not be read
    (all of them when the trouble is how they go together)."""

    def __init__(self, words: str) -> None:
        super().__init__(words)
        self.words = words


class Order(enum.Enum):
    """Which number comes first in a numeric date: `12/15` (en) or `15/12` (es)."""

    MONTH_FIRST = "month_first"
    DAY_FIRST = "day_first"


def order_of(language: str) -> Order:
    return Order.MONTH_FIRST if language == "en" else Order.DAY_FIRST


@dataclass(frozen=True)
class Span:
    """A span from now: `3 days`, `en 2 semanas` (unit as in durations: m, h, d, w, mo)."""

    amount: int
    unit: str


@dataclass(frozen=True)
class RelativeDay:
    """`today` (0), `tomorrow` (1), `pasado mañana` (2)."""

    days: int


@dataclass(frozen=True)
class Weekday:
    """The next such weekday after today (0 is Monday)."""

    weekday: int


@dataclass(frozen=True)
class CalendarDay:
    """A day of a month; without a year, its next occurrence from today on."""

    month: int
    day: int
    year: int | None = None


Day = RelativeDay | Weekday | CalendarDay


@dataclass(frozen=True)
class DayAndTime:
    """A day, a time of day, or both (never neither)."""

    day: Day | None
    time: time | None


Written = Span | DayAndTime


def key(word: str) -> str:
    """A word as looked up: lower case, without accents or a final dot."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).rstrip(".")


@functools.cache
def _names() -> tuple[dict[str, int], dict[str, int]]:
    """Weekday and month names, wide and abbreviated, English and Spanish (CLDR)."""
    weekdays: dict[str, int] = dict(_MORE_WEEKDAYS)
    months: dict[str, int] = dict(_MORE_MONTHS)
    for locale in ("en", "es"):
        for width in ("wide", "abbreviated"):
            for number, name in get_day_names(width, locale=locale).items():
                if key(name) not in _NOT_WEEKDAYS:
                    weekdays[key(name)] = number
            for number, name in get_month_names(width, locale=locale).items():
                months[key(name)] = number
    return weekdays, months


def near_date_word(word: str) -> bool:
    """A word that is, or is a slip away from, a weekday's or month's name, `today`,
    `tomorrow` (`fridya`, `viernez`, `tomorow`): it looks like a date."""
    known = [*_names()[0], *_names()[1], *_TODAY, *_TOMORROW, *_NOON]
    folded = key(word)
    if len(folded) < 4:
        return folded in known
    return bool(difflib.get_close_matches(folded, known, n=1, cutoff=0.8))


def _tokens(text: str) -> list[str]:
    decomposed = unicodedata.normalize("NFD", " ".join(text.lower().split()))
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    folded = _MERIDIEM_GLUED.sub(r"\1 \2", _MERIDIEM_DOTS.sub(r"\1m", folded))
    return [t.rstrip(".") for t in _PUNCTUATION.sub(" ", folded).split() if t.rstrip(".")]


def read_written(text: str, language: str) -> Written:
    """What `text` says, read with `language`'s order for numeric dates. Raises
    Unreadable naming the words it could not read."""
    tokens = _tokens(text)
    if not tokens:
        raise Unreadable(text.strip())
    span = _span(tokens)
    if span is not None:
        return span
    return _Reader(tokens, text, order_of(language)).read()


def _span(tokens: list[str]) -> Span | None:
    words = tokens[1:] if tokens[0] in _IN else tokens
    if len(words) != 2 or words[1] not in _SPAN_UNITS:
        return None
    amount_word, unit = words[0], _SPAN_UNITS[words[1]]
    if amount_word in _ONE:
        amount = 1
    elif amount_word.isdigit() and len(amount_word) <= 6:
        amount = int(amount_word)
    else:
        return None
    if unit == "y":
        return Span(amount * 12, "mo")
    return Span(amount, unit)


class _Reader:
    """Reads a day and a time from the tokens, each at most once, in any order."""

    def __init__(self, tokens: list[str], text: str, order: Order) -> None:
        self.tokens = tokens
        self.text = text
        self.order = order
        self.day: Day | None = None
        self.time: time | None = None
        self.unread: list[str] = []
        self.twice = False

    def read(self) -> DayAndTime:
        weekdays, months = _names()
        i, tokens = 0, self.tokens
        while i < len(tokens):
            token = tokens[i]
            following = tokens[i + 1] if i + 1 < len(tokens) else None
            if token == "pasado" and following == "manana":
                self.set_day(RelativeDay(2))
                i += 2
            elif token in ("manana", "morning") and i > 0 and tokens[i - 1] in ("la", "por", "the"):
                self.set_meridiem(afternoon=False, at=token)
                i += 1
            elif token in _AFTERNOON and i > 0 and tokens[i - 1] in ("la", "por"):
                self.set_meridiem(afternoon=True, at=token)
                i += 1
            elif token in _TODAY:
                self.set_day(RelativeDay(0))
                i += 1
            elif token in _TOMORROW:
                self.set_day(RelativeDay(1))
                i += 1
            elif token in _NOON:
                self.set_time(time(12, 0))
                i += 1
            elif token in _MIDNIGHT:
                self.set_time(time(23, 59))  # the end of the day named, not its start
                i += 1
            elif token in weekdays:
                self.set_day(Weekday(weekdays[token]))
                i += 1
            elif token in months:
                i = self.month_first(months[token], i)
            elif _ISO_DATE.fullmatch(token):
                self.iso_date(token)
                i += 1
            elif _NUMERIC.fullmatch(token):
                self.numeric_date(token)
                i += 1
            elif _ORDINAL.fullmatch(token) and self.month_follows(i, months):
                i = self.day_first(i, months)
            elif _CLOCK.fullmatch(token):
                i = self.clock(i)
            elif token in _FILLER:
                i += 1
            else:
                self.unread.append(token)
                i += 1
        if self.unread:
            raise Unreadable(" ".join(self.unread))
        if self.twice or (self.day is None and self.time is None):
            raise Unreadable(" ".join(self.text.split()))
        return DayAndTime(self.day, self.time)

    def set_day(self, day: Day) -> None:
        self.twice = self.twice or self.day is not None
        self.day = day

    def set_time(self, at: time) -> None:
        self.twice = self.twice or self.time is not None
        self.time = at

    def set_meridiem(self, afternoon: bool, at: str) -> None:
        """`5 de la tarde`, `9 de la mañana`: the hour before said which half."""
        if self.time is None or self.time.hour > 12 or self.time.hour == 0:
            self.unread.append(at)
            return
        hour = self.time.hour % 12 + (12 if afternoon else 0)
        self.time = self.time.replace(hour=hour)

    def month_follows(self, i: int, months: dict[str, int]) -> bool:
        """`15 December`, `the 15th of December`, `15 de diciembre`: a day number before a
        month's name."""
        rest = self.tokens[i + 1 : i + 3]
        if rest[:1] in (["de"], ["of"]):
            rest = rest[1:]
        return bool(rest) and rest[0] in months

    def day_first(self, i: int, months: dict[str, int]) -> int:
        match = _ORDINAL.fullmatch(self.tokens[i])
        assert match is not None
        day = int(match.group(1))
        i += 1
        if self.tokens[i] in ("de", "of"):
            i += 1
        month = months[self.tokens[i]]
        year, i = self.year_after(i + 1)
        self.calendar(month, day, year)
        return i

    def month_first(self, month: int, i: int) -> int:
        """`Dec 15`, `December 15 2026`, `December 15th, 2026`."""
        i += 1
        match = _ORDINAL.fullmatch(self.tokens[i]) if i < len(self.tokens) else None
        if match is None or self.meridiem_at(i + 1):
            self.unread.append(self.tokens[i - 1])
            return i
        year, after = self.year_after(i + 1)
        self.calendar(month, int(match.group(1)), year)
        return after

    def year_after(self, i: int) -> tuple[int | None, int]:
        """A four-digit year at `i` (after an optional `de`), if there is one."""
        j = i + 1 if i < len(self.tokens) and self.tokens[i] == "de" else i
        if j < len(self.tokens) and re.fullmatch(r"\d{4}", self.tokens[j]):
            return int(self.tokens[j]), j + 1
        return None, i

    def meridiem_at(self, i: int) -> bool:
        return i < len(self.tokens) and self.tokens[i] in ("am", "pm")

    def calendar(self, month: int, day: int, year: int | None) -> None:
        try:
            date(year or 2000, month, day)  # 2000: a leap year, so 29 February is a day
        except ValueError:
            self.unread.append(" ".join(self.text.split()))
            return
        self.set_day(CalendarDay(month, day, year))

    def iso_date(self, token: str) -> None:
        match = _ISO_DATE.fullmatch(token)
        assert match is not None
        year, month, day = (int(g) for g in match.groups())
        if year < 1:
            self.unread.append(token)
            return
        self.calendar(month, day, year)

    def numeric_date(self, token: str) -> None:
        match = _NUMERIC.fullmatch(token)
        assert match is not None
        first, second = int(match.group(1)), int(match.group(2))
        month, day = (first, second) if self.order is Order.MONTH_FIRST else (second, first)
        year_text = match.group(3)
        if year_text is None and "." in token:
            # `5.30` is a time to some and a date to others: read as neither.
            self.unread.append(token)
            return
        year = None
        if year_text is not None:
            year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        self.calendar(month, day, year)

    def clock(self, i: int) -> int:
        """`17:00`, `5 pm`, `5:30 pm`, `17h`, `5 de la tarde` (the part of the day is read
        after). A bare number is no time: `at 5` could be either half of the day."""
        token = self.tokens[i]
        match = _CLOCK.fullmatch(token)
        assert match is not None
        hour = int(match.group(1))
        minute = int(match.group(3)) if match.group(3) is not None else 0
        on_clock = match.group(2) is not None or match.group(4) is not None  # 17:00, 17h
        i += 1
        meridiem = None
        if self.meridiem_at(i):
            meridiem = self.tokens[i]
            i += 1
        half_follows = self.tokens[i : i + 2] in (["de", "la"], ["por", "la"]) and (
            i + 2 < len(self.tokens) and self.tokens[i + 2] in (_AFTERNOON | {"manana"})
        )
        if meridiem is None and not on_clock and not half_follows:
            self.unread.append(token)
            return i
        if meridiem is not None:
            if not 1 <= hour <= 12 or match.group(2) == "h":
                self.unread.append(f"{token} {meridiem}")
                return i
            hour = hour % 12 + (12 if meridiem == "pm" else 0)
        if hour > 23 or minute > 59:
            self.unread.append(token)
            return i
        self.set_time(time(hour, minute))
        return i
