"""Dates and times as people write them (SPEC, "How people write"), read against a fixed
clock in three zones, each phrasing with the instant it must name. The clock is Wednesday
4 March 2026, 10:00 on the reader's wall: Los Angeles and Madrid change to summer time
on 8 and 29 March 2026, Mexico City no longer changes, so the table crosses both."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.durations import DurationError, SkippedTime, read_when
from bot.domain.i18n import lang

ZONES = ("America/Los_Angeles", "America/Mexico_City", "Europe/Madrid")
NOW_WALL = datetime(2026, 3, 4, 10, 0)  # a Wednesday


def _wall(day: date, at: time) -> datetime:
    return datetime.combine(day, at)


D = date
FIVE_PM, NOON = time(17, 0), time(12, 0)
THU, FRI, MON, WED = D(2026, 3, 5), D(2026, 3, 6), D(2026, 3, 9), D(2026, 3, 11)
NEXT_WEEK_FRI = D(2026, 3, 13)
DEC15 = D(2026, 12, 15)

# (text, expected naive local wall time, or a span from now as a timedelta/months).
ENGLISH: list[tuple[str, datetime | timedelta]] = [
    ("3d", timedelta(days=3)),
    ("2w", timedelta(weeks=2)),
    ("72h", timedelta(hours=72)),
    ("3 days", timedelta(days=3)),
    ("2 weeks", timedelta(weeks=2)),
    ("in 3 days", timedelta(days=3)),
    ("in 2 weeks", timedelta(weeks=2)),
    ("a week", timedelta(weeks=1)),
    ("in a week", timedelta(weeks=1)),
    ("1 day", timedelta(days=1)),
    ("10 days", timedelta(days=10)),
    ("5 hours", timedelta(hours=5)),
    ("in 5 hours", timedelta(hours=5)),
    ("90 minutes", timedelta(minutes=90)),
    ("36 hours", timedelta(hours=36)),
    ("today", _wall(D(2026, 3, 4), FIVE_PM)),
    ("Today", _wall(D(2026, 3, 4), FIVE_PM)),
    ("tomorrow", _wall(THU, FIVE_PM)),
    ("Tomorrow", _wall(THU, FIVE_PM)),
    ("tomorrow at noon", _wall(THU, NOON)),
    ("tomorrow noon", _wall(THU, NOON)),
    ("tomorrow 9am", _wall(THU, time(9))),
    ("tomorrow at 9:30 am", _wall(THU, time(9, 30))),
    ("tomorrow 18:00", _wall(THU, time(18))),
    ("today 5pm", _wall(D(2026, 3, 4), FIVE_PM)),
    ("today at 3 pm", _wall(D(2026, 3, 4), time(15))),
    ("today at noon", _wall(D(2026, 3, 4), NOON)),
    ("Friday", _wall(FRI, FIVE_PM)),
    ("friday", _wall(FRI, FIVE_PM)),
    ("Fri", _wall(FRI, FIVE_PM)),
    ("fri.", _wall(FRI, FIVE_PM)),
    ("on Friday", _wall(FRI, FIVE_PM)),
    ("this Friday", _wall(FRI, FIVE_PM)),
    ("next Friday", _wall(FRI, FIVE_PM)),
    ("Friday 5pm", _wall(FRI, FIVE_PM)),
    ("friday 5pm", _wall(FRI, FIVE_PM)),
    ("Friday at 5pm", _wall(FRI, FIVE_PM)),
    ("Friday 5 pm", _wall(FRI, FIVE_PM)),
    ("Friday 5 PM", _wall(FRI, FIVE_PM)),
    ("Friday 5 p.m.", _wall(FRI, FIVE_PM)),
    ("Friday 9am", _wall(FRI, time(9))),
    ("Friday 12pm", _wall(FRI, NOON)),
    ("Friday at noon", _wall(FRI, NOON)),
    ("Friday 17:00", _wall(FRI, FIVE_PM)),
    ("friday 17:30", _wall(FRI, time(17, 30))),
    ("5pm Friday", _wall(FRI, FIVE_PM)),
    ("noon on Friday", _wall(FRI, NOON)),
    ("Monday", _wall(MON, FIVE_PM)),
    ("monday 9am", _wall(MON, time(9))),
    ("Mon", _wall(MON, FIVE_PM)),
    ("next Monday", _wall(MON, FIVE_PM)),
    ("Tuesday", _wall(D(2026, 3, 10), FIVE_PM)),
    ("tues", _wall(D(2026, 3, 10), FIVE_PM)),
    ("Wednesday", _wall(WED, FIVE_PM)),  # today is a Wednesday: a week ahead
    ("wed", _wall(WED, FIVE_PM)),
    ("Thursday", _wall(THU, FIVE_PM)),
    ("thurs", _wall(THU, FIVE_PM)),
    ("Thursday 8:15am", _wall(THU, time(8, 15))),
    ("Saturday", _wall(D(2026, 3, 7), FIVE_PM)),
    ("Sunday", _wall(D(2026, 3, 8), FIVE_PM)),
    ("sunday noon", _wall(D(2026, 3, 8), NOON)),
    ("Dec 15", _wall(DEC15, FIVE_PM)),
    ("dec 15", _wall(DEC15, FIVE_PM)),
    ("Dec. 15", _wall(DEC15, FIVE_PM)),
    ("December 15", _wall(DEC15, FIVE_PM)),
    ("December 15th", _wall(DEC15, FIVE_PM)),
    ("15 December", _wall(DEC15, FIVE_PM)),
    ("15 Dec", _wall(DEC15, FIVE_PM)),
    ("the 15th of December", _wall(DEC15, FIVE_PM)),
    ("December 15 2026", _wall(DEC15, FIVE_PM)),
    ("December 15, 2026", _wall(DEC15, FIVE_PM)),
    ("15 December 2026", _wall(DEC15, FIVE_PM)),
    ("Dec 15 5pm", _wall(DEC15, FIVE_PM)),
    ("Dec 15 at 9:30am", _wall(DEC15, time(9, 30))),
    ("December 15 2026 17:00", _wall(DEC15, FIVE_PM)),
    ("Dec 15 noon", _wall(DEC15, NOON)),
    ("Jan 10", _wall(D(2027, 1, 10), FIVE_PM)),  # gone this year: next year's
    ("January 10", _wall(D(2027, 1, 10), FIVE_PM)),
    ("March 4", _wall(D(2026, 3, 4), FIVE_PM)),  # today, later on
    ("March 3", _wall(D(2027, 3, 3), FIVE_PM)),
    ("Mar 31", _wall(D(2026, 3, 31), FIVE_PM)),
    ("April 1", _wall(D(2026, 4, 1), FIVE_PM)),
    ("Sept 30", _wall(D(2026, 9, 30), FIVE_PM)),
    ("Sep 30", _wall(D(2026, 9, 30), FIVE_PM)),
    ("July 4th", _wall(D(2026, 7, 4), FIVE_PM)),
    ("May 1", _wall(D(2026, 5, 1), FIVE_PM)),
    ("Feb 29", _wall(D(2028, 2, 29), FIVE_PM)),  # the next leap year
    ("12/15", _wall(DEC15, FIVE_PM)),
    ("12/15/2026", _wall(DEC15, FIVE_PM)),
    ("12/15/26", _wall(DEC15, FIVE_PM)),
    ("3/4", _wall(D(2026, 3, 4), FIVE_PM)),  # month first: 4 March
    ("4/3", _wall(D(2026, 4, 3), FIVE_PM)),  # month first: 3 April
    ("12/15 5pm", _wall(DEC15, FIVE_PM)),
    ("12/15 at 9am", _wall(DEC15, time(9))),
    ("5/1", _wall(D(2026, 5, 1), FIVE_PM)),
    ("1/2/2027", _wall(D(2027, 1, 2), FIVE_PM)),
    ("2026-12-15", _wall(DEC15, FIVE_PM)),
    ("2026-12-15 17:00", _wall(DEC15, FIVE_PM)),
    ("2026-12-15T17:00", _wall(DEC15, FIVE_PM)),
    ("2026-12-15 5pm", _wall(DEC15, FIVE_PM)),
    ("2026-12-15 9:45 am", _wall(DEC15, time(9, 45))),
    ("5pm", _wall(D(2026, 3, 4), FIVE_PM)),
    ("5 pm", _wall(D(2026, 3, 4), FIVE_PM)),
    ("5PM", _wall(D(2026, 3, 4), FIVE_PM)),
    ("5 p.m.", _wall(D(2026, 3, 4), FIVE_PM)),
    ("5:30 pm", _wall(D(2026, 3, 4), time(17, 30))),
    ("5:30pm", _wall(D(2026, 3, 4), time(17, 30))),
    ("at 5:30 pm", _wall(D(2026, 3, 4), time(17, 30))),
    ("17:00", _wall(D(2026, 3, 4), FIVE_PM)),
    ("at 17:00", _wall(D(2026, 3, 4), FIVE_PM)),
    ("23:30", _wall(D(2026, 3, 4), time(23, 30))),
    ("noon", _wall(D(2026, 3, 4), NOON)),
    ("at noon", _wall(D(2026, 3, 4), NOON)),
    ("midday", _wall(D(2026, 3, 4), NOON)),
    ("midnight", _wall(D(2026, 3, 4), time(23, 59))),
    ("9am", _wall(THU, time(9))),  # past today: tomorrow's
    ("9:00 am", _wall(THU, time(9))),
    ("8 am", _wall(THU, time(8))),
    ("10am", _wall(THU, time(10))),  # now exactly: the next one
    ("10:01 am", _wall(D(2026, 3, 4), time(10, 1))),
    ("12am", _wall(THU, time(0))),
    ("12pm", _wall(D(2026, 3, 4), NOON)),
    ("11:59 pm", _wall(D(2026, 3, 4), time(23, 59))),
    ("6:45pm", _wall(D(2026, 3, 4), time(18, 45))),
    ("1 pm", _wall(D(2026, 3, 4), time(13))),
    ("07:30", _wall(THU, time(7, 30))),
    ("7:30", _wall(THU, time(7, 30))),
    ("Friday, 5pm", _wall(FRI, FIVE_PM)),
    ("Friday, Dec 11", None),  # two days: refused
    ("Apr 30 2027", _wall(D(2027, 4, 30), FIVE_PM)),
    ("April 30th, 2027 at 8pm", _wall(D(2027, 4, 30), time(20))),
    ("Nov 3", _wall(D(2026, 11, 3), FIVE_PM)),
    ("Nov 1 2026 1:30am", _wall(D(2026, 11, 1), time(1, 30))),  # repeated in LA
    ("Mar 8 2:30am", _wall(D(2026, 3, 8), time(2, 30))),  # skipped in LA
    ("Mar 29 2:30am", _wall(D(2026, 3, 29), time(2, 30))),  # skipped in Madrid
    ("Oct 25 2:30am", _wall(D(2026, 10, 25), time(2, 30))),  # repeated in Madrid
    ("Mar 8", _wall(D(2026, 3, 8), FIVE_PM)),  # the day clocks change: 17:00 is there
    ("Mar 29", _wall(D(2026, 3, 29), FIVE_PM)),
    ("next Sunday 3pm", _wall(D(2026, 3, 8), time(15))),
    ("Sunday at 9:30", _wall(D(2026, 3, 8), time(9, 30))),
    ("in 10 days", timedelta(days=10)),
    ("in 4 weeks", timedelta(weeks=4)),
    ("in 48 hours", timedelta(hours=48)),
    ("in 30 minutes", timedelta(minutes=30)),
    ("Dec 31", _wall(D(2026, 12, 31), FIVE_PM)),
    ("12/31", _wall(D(2026, 12, 31), FIVE_PM)),
    ("Jun 1st", _wall(D(2026, 6, 1), FIVE_PM)),
    ("August 2nd", _wall(D(2026, 8, 2), FIVE_PM)),
    ("Oct 3rd 4:15 pm", _wall(D(2026, 10, 3), time(16, 15))),
    ("Thu", _wall(THU, FIVE_PM)),
    ("Sat 10am", _wall(D(2026, 3, 7), time(10))),
    ("Dec 1", _wall(D(2026, 12, 1), FIVE_PM)),
    ("next Tuesday at 4pm", _wall(D(2026, 3, 10), time(16))),
]

SPANISH: list[tuple[str, datetime | timedelta | None]] = [
    ("3d", timedelta(days=3)),
    ("2sem", timedelta(weeks=2)),
    ("72h", timedelta(hours=72)),
    ("3 días", timedelta(days=3)),
    ("3 dias", timedelta(days=3)),
    ("2 semanas", timedelta(weeks=2)),
    ("en 3 días", timedelta(days=3)),
    ("en 2 semanas", timedelta(weeks=2)),
    ("una semana", timedelta(weeks=1)),
    ("en una semana", timedelta(weeks=1)),
    ("un día", timedelta(days=1)),
    ("10 días", timedelta(days=10)),
    ("5 horas", timedelta(hours=5)),
    ("en 5 horas", timedelta(hours=5)),
    ("90 minutos", timedelta(minutes=90)),
    ("dentro de 3 días", None),  # `dentro de`: not one of the forms
    ("hoy", _wall(D(2026, 3, 4), FIVE_PM)),
    ("Hoy", _wall(D(2026, 3, 4), FIVE_PM)),
    ("mañana", _wall(THU, FIVE_PM)),
    ("manana", _wall(THU, FIVE_PM)),
    ("Mañana", _wall(THU, FIVE_PM)),
    ("pasado mañana", _wall(FRI, FIVE_PM)),
    ("mañana al mediodía", _wall(THU, NOON)),
    ("mañana a mediodía", _wall(THU, NOON)),
    ("mañana a las 9:00", _wall(THU, time(9))),
    ("mañana a las 9 de la mañana", _wall(THU, time(9))),
    ("mañana a las 5 de la tarde", _wall(THU, FIVE_PM)),
    ("mañana 18:00", _wall(THU, time(18))),
    ("mañana a las 8 de la noche", _wall(THU, time(20))),
    ("hoy a las 17:00", _wall(D(2026, 3, 4), FIVE_PM)),
    ("hoy 5 p. m.", _wall(D(2026, 3, 4), FIVE_PM)),
    ("hoy al mediodía", _wall(D(2026, 3, 4), NOON)),
    ("el viernes", _wall(FRI, FIVE_PM)),
    ("viernes", _wall(FRI, FIVE_PM)),
    ("Viernes", _wall(FRI, FIVE_PM)),
    ("vie", _wall(FRI, FIVE_PM)),
    ("este viernes", _wall(FRI, FIVE_PM)),
    ("el próximo viernes", _wall(FRI, FIVE_PM)),
    ("el proximo viernes", _wall(FRI, FIVE_PM)),
    ("el viernes que viene", _wall(FRI, FIVE_PM)),
    ("viernes 17:00", _wall(FRI, FIVE_PM)),
    ("el viernes a las 17:00", _wall(FRI, FIVE_PM)),
    ("el viernes a las 5 p. m.", _wall(FRI, FIVE_PM)),
    ("el viernes a las 5 p.m.", _wall(FRI, FIVE_PM)),
    ("el viernes a las 5 pm", _wall(FRI, FIVE_PM)),
    ("el viernes 5pm", _wall(FRI, FIVE_PM)),
    ("viernes 9:30", _wall(FRI, time(9, 30))),
    ("el viernes a las 9 de la mañana", _wall(FRI, time(9))),
    ("el viernes al mediodía", _wall(FRI, NOON)),
    ("el viernes a las 17h", _wall(FRI, FIVE_PM)),
    ("el lunes", _wall(MON, FIVE_PM)),
    ("lunes", _wall(MON, FIVE_PM)),
    ("lun", _wall(MON, FIVE_PM)),
    ("el lunes a las 9:00", _wall(MON, time(9))),
    ("el martes", _wall(D(2026, 3, 10), FIVE_PM)),
    ("el miércoles", _wall(WED, FIVE_PM)),  # hoy es miércoles: la semana que viene
    ("el miercoles", _wall(WED, FIVE_PM)),
    ("mié", _wall(WED, FIVE_PM)),
    ("el jueves", _wall(THU, FIVE_PM)),
    ("jue", _wall(THU, FIVE_PM)),
    ("el sábado", _wall(D(2026, 3, 7), FIVE_PM)),
    ("el sabado", _wall(D(2026, 3, 7), FIVE_PM)),
    ("sáb", _wall(D(2026, 3, 7), FIVE_PM)),
    ("el domingo", _wall(D(2026, 3, 8), FIVE_PM)),
    ("el domingo a las 12:00", _wall(D(2026, 3, 8), NOON)),
    ("15 dic", _wall(DEC15, FIVE_PM)),
    ("15 dic.", _wall(DEC15, FIVE_PM)),
    ("15 de dic", _wall(DEC15, FIVE_PM)),
    ("15 de diciembre", _wall(DEC15, FIVE_PM)),
    ("el 15 de diciembre", _wall(DEC15, FIVE_PM)),
    ("15 diciembre", _wall(DEC15, FIVE_PM)),
    ("el 15 de diciembre de 2026", _wall(DEC15, FIVE_PM)),
    ("15 de diciembre de 2026", _wall(DEC15, FIVE_PM)),
    ("15 de diciembre 2026", _wall(DEC15, FIVE_PM)),
    ("el 15 de diciembre a las 17:00", _wall(DEC15, FIVE_PM)),
    ("el 15 de diciembre a las 5 p. m.", _wall(DEC15, FIVE_PM)),
    ("15 dic 17:00", _wall(DEC15, FIVE_PM)),
    ("15 dic a mediodía", _wall(DEC15, NOON)),
    ("el 15 de diciembre de 2026 a las 9:30", _wall(DEC15, time(9, 30))),
    ("10 de enero", _wall(D(2027, 1, 10), FIVE_PM)),  # ya pasó este año
    ("10 ene", _wall(D(2027, 1, 10), FIVE_PM)),
    ("4 de marzo", _wall(D(2026, 3, 4), FIVE_PM)),
    ("3 de marzo", _wall(D(2027, 3, 3), FIVE_PM)),
    ("31 mar", _wall(D(2026, 3, 31), FIVE_PM)),
    ("1 de abril", _wall(D(2026, 4, 1), FIVE_PM)),
    ("1 abr", _wall(D(2026, 4, 1), FIVE_PM)),
    ("30 de septiembre", _wall(D(2026, 9, 30), FIVE_PM)),
    ("30 de setiembre", _wall(D(2026, 9, 30), FIVE_PM)),
    ("30 sept", _wall(D(2026, 9, 30), FIVE_PM)),
    ("4 de julio", _wall(D(2026, 7, 4), FIVE_PM)),
    ("1 de mayo", _wall(D(2026, 5, 1), FIVE_PM)),
    ("1o de mayo", _wall(D(2026, 5, 1), FIVE_PM)),
    ("29 de febrero", _wall(D(2028, 2, 29), FIVE_PM)),
    ("2 de agosto", _wall(D(2026, 8, 2), FIVE_PM)),
    ("3 de octubre a las 4:15 pm", _wall(D(2026, 10, 3), time(16, 15))),
    ("3 nov", _wall(D(2026, 11, 3), FIVE_PM)),
    ("1 jun", _wall(D(2026, 6, 1), FIVE_PM)),
    ("15/12", _wall(DEC15, FIVE_PM)),
    ("15/12/2026", _wall(DEC15, FIVE_PM)),
    ("15/12/26", _wall(DEC15, FIVE_PM)),
    ("15.12.2026", _wall(DEC15, FIVE_PM)),
    ("el 15/12", _wall(DEC15, FIVE_PM)),
    ("3/4", _wall(D(2026, 4, 3), FIVE_PM)),  # día primero: 3 de abril
    ("4/3", _wall(D(2026, 3, 4), FIVE_PM)),  # día primero: 4 de marzo
    ("15/12 17:00", _wall(DEC15, FIVE_PM)),
    ("15/12 a las 9:00", _wall(DEC15, time(9))),
    ("1/5", _wall(D(2026, 5, 1), FIVE_PM)),
    ("2/1/2027", _wall(D(2027, 1, 2), FIVE_PM)),
    ("31/12", _wall(D(2026, 12, 31), FIVE_PM)),
    ("12/15", None),  # día primero: no hay mes 15
    ("2026-12-15", _wall(DEC15, FIVE_PM)),
    ("2026-12-15 17:00", _wall(DEC15, FIVE_PM)),
    ("2026-12-15 5pm", _wall(DEC15, FIVE_PM)),
    ("2026-12-15 5 p. m.", _wall(DEC15, FIVE_PM)),
    ("5 p. m.", _wall(D(2026, 3, 4), FIVE_PM)),
    ("5 p.m.", _wall(D(2026, 3, 4), FIVE_PM)),
    ("5 P. M.", _wall(D(2026, 3, 4), FIVE_PM)),
    ("5pm", _wall(D(2026, 3, 4), FIVE_PM)),
    ("5:30 pm", _wall(D(2026, 3, 4), time(17, 30))),
    ("5:30 p. m.", _wall(D(2026, 3, 4), time(17, 30))),
    ("a las 5:30 p. m.", _wall(D(2026, 3, 4), time(17, 30))),
    ("17:00", _wall(D(2026, 3, 4), FIVE_PM)),
    ("a las 17:00", _wall(D(2026, 3, 4), FIVE_PM)),
    ("17h", timedelta(hours=17)),  # the bot's own form: 17 hours
    ("el jueves a las 8:15", _wall(THU, time(8, 15))),
    ("el próximo lunes a las 9 de la mañana", _wall(MON, time(9))),
    ("el 31 de marzo a las 23:59", _wall(D(2026, 3, 31), time(23, 59))),
    ("el domingo al mediodía", _wall(D(2026, 3, 8), NOON)),
    ("2 de enero de 2027", _wall(D(2027, 1, 2), FIVE_PM)),
    ("17h30", _wall(D(2026, 3, 4), time(17, 30))),
    ("las 5 de la tarde", _wall(D(2026, 3, 4), FIVE_PM)),
    ("a las 8 de la noche", _wall(D(2026, 3, 4), time(20))),
    ("mediodía", _wall(D(2026, 3, 4), NOON)),
    ("mediodia", _wall(D(2026, 3, 4), NOON)),
    ("al mediodía", _wall(D(2026, 3, 4), NOON)),
    ("medianoche", _wall(D(2026, 3, 4), time(23, 59))),
    ("9 a. m.", _wall(THU, time(9))),  # ya pasó hoy: la de mañana
    ("9:00 a. m.", _wall(THU, time(9))),
    ("a las 9 de la mañana", _wall(THU, time(9))),
    ("10 a. m.", _wall(THU, time(10))),
    ("12 p. m.", _wall(D(2026, 3, 4), NOON)),
    ("12 a. m.", _wall(THU, time(0))),
    ("23:30", _wall(D(2026, 3, 4), time(23, 30))),
    ("07:30", _wall(THU, time(7, 30))),
    ("6:45 p. m.", _wall(D(2026, 3, 4), time(18, 45))),
    ("1 de noviembre de 2026 a la 1:30", _wall(D(2026, 11, 1), time(1, 30))),
    ("8 de marzo a las 2:30", _wall(D(2026, 3, 8), time(2, 30))),  # no existe en LA
    ("29 de marzo a las 2:30", _wall(D(2026, 3, 29), time(2, 30))),  # no existe en Madrid
    ("25 de octubre a las 2:30", _wall(D(2026, 10, 25), time(2, 30))),  # dos veces en Madrid
    ("8 de marzo", _wall(D(2026, 3, 8), FIVE_PM)),
    ("29 de marzo", _wall(D(2026, 3, 29), FIVE_PM)),
    ("en 10 días", timedelta(days=10)),
    ("en 4 semanas", timedelta(weeks=4)),
    ("en 48 horas", timedelta(hours=48)),
    ("en 30 minutos", timedelta(minutes=30)),
    ("el viernez", None),
    ("el 32 de diciembre", None),
    ("a las 5", None),  # una hora sin mitad del día: cualquiera de las dos
    ("mañana mañana", None),
]

ENGLISH_REFUSED = [
    "Friday, Dec 11",
    "fridya",
    "tomorow",
    "next week",
    "at 5",
    "13/13",
    "5.30",
    "Dec 32",
    "Feb 30",
    "the 15th",
    "25:00",
    "13 pm",
    "end of may",
    "friday friday",
    "Jan 10 2026 tomorrow",
]


def _cases(
    table: list[tuple[str, datetime | timedelta | None]], language: str
) -> list[tuple[str, str, str, datetime | timedelta | None]]:
    return [(language, zone, text, expected) for text, expected in table for zone in ZONES]


READ = [c for c in _cases(ENGLISH, "en") + _cases(SPANISH, "es") if c[3] is not None]
REFUSED = [c for c in _cases(SPANISH, "es") if c[3] is None]
REFUSED += [("en", zone, text, None) for text in ENGLISH_REFUSED for zone in ZONES]


def test_the_table_has_150_phrasings_per_language() -> None:
    assert len({t for t, e in ENGLISH if e is not None}) >= 150
    assert len({t for t, e in SPANISH if e is not None}) >= 150


# The wall times daylight saving skips in a zone (nobody can have meant them).
SKIPPED = {
    ("America/Los_Angeles", datetime(2026, 3, 8, 2, 30)),
    ("Europe/Madrid", datetime(2026, 3, 29, 2, 30)),
}
REPEATED = {
    ("America/Los_Angeles", datetime(2026, 11, 1, 1, 30)),
    ("Europe/Madrid", datetime(2026, 10, 25, 2, 30)),
}


@pytest.mark.parametrize(("language", "zone", "text", "expected"), READ)
def test_each_phrasing_names_its_instant(
    language: str, zone: str, text: str, expected: datetime | timedelta
) -> None:
    tz = ZoneInfo(zone)
    now = NOW_WALL.replace(tzinfo=tz).astimezone(UTC)
    if isinstance(expected, datetime) and (zone, expected) in SKIPPED:
        with pytest.raises(SkippedTime, match=r"does not exist|no existe"):
            read_when(text, now, tz, lang(language))
        return
    read = read_when(text, now, tz, lang(language))
    if isinstance(expected, timedelta):
        assert read.moment == now + expected
        assert not read.repeated
        return
    # The instant, worked out apart from the code under test: the wall time in the zone,
    # its first occurrence when it happens twice.
    instant = expected.replace(tzinfo=tz, fold=0).astimezone(UTC)
    assert read.moment == instant, (read.moment.astimezone(tz), expected)
    assert read.repeated is ((zone, expected) in REPEATED)


@pytest.mark.parametrize(("language", "zone", "text", "expected"), REFUSED)
def test_what_cannot_be_read_is_refused(
    language: str, zone: str, text: str, expected: None
) -> None:
    tz = ZoneInfo(zone)
    now = NOW_WALL.replace(tzinfo=tz).astimezone(UTC)
    with pytest.raises(DurationError):
        read_when(text, now, tz, lang(language))


def test_a_day_without_a_time_is_the_circles_day_ends() -> None:
    tz = ZoneInfo("Europe/Madrid")
    now = NOW_WALL.replace(tzinfo=tz).astimezone(UTC)
    read = read_when("el viernes", now, tz, lang("es"), time(18, 30))
    assert read.moment == datetime(2026, 3, 6, 18, 30, tzinfo=tz).astimezone(UTC)
