"""Languages: every text the bot writes goes through a message catalogue (gettext, with
Babel), and every date and time is written in the reader's language and time zone.

The catalogues live in bot/locale/LANG/LC_MESSAGES/circlebot.po, in the repository; they
are compiled to .mo when the package is built or installed (setup.py). Texts are marked
in the code as `lang._("…")` and `lang.n_("…", "…", n)`, with `{name}` placeholders
filled from keyword arguments, so a translation may put them in any order; `make
catalogues` extracts them (pybabel) and tests/unit/test_catalogues.py fails on any text
missing from a catalogue, fuzzy, or with placeholders that differ from the source."""

from __future__ import annotations

import functools
import gettext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_skeleton, format_time, get_timezone_name
from babel.lists import format_list

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "circlebot"
DEFAULT_LANGUAGE = "en"
LANGUAGES = ("en", "es")  # a third: see README, "Adding a language"
# How each language writes dates and times unless a circle or member sets `locale`:
# the 12-hour clock of the United States (`5:00 PM`, `5:00 p. m.`).
DEFAULT_LOCALES = {"en": "en_US", "es": "es_US"}


class CatalogueMissing(RuntimeError):
    """A language's compiled catalogue is not there: the package was not built."""


@dataclass(frozen=True)
class Reader:
    """Who reads a text: in which language, and in which time zone its times are shown."""

    language: str = DEFAULT_LANGUAGE
    timezone: str = "UTC"
    # The CLDR locale its dates and times are written in (`es_MX`, `en_GB`); None: the
    # language's default (DEFAULT_LOCALES).
    locale: str | None = None


class Lang:
    """One language's texts, and the formats of one of its locales (`display`)."""

    def __init__(self, code: str, display: str | None = None) -> None:
        self.code = code
        self.locale = Locale.parse(code)  # numbers, lists and zone names
        # Dates and times: the locale set for the reader, else the language's default.
        self.display = Locale.parse(display or DEFAULT_LOCALES.get(code, code))
        if code == DEFAULT_LANGUAGE:
            # The source texts are English: a missing .mo still reads right.
            self._t: gettext.NullTranslations = gettext.translation(
                DOMAIN, LOCALE_DIR, [code], fallback=True
            )
        else:
            try:
                self._t = gettext.translation(DOMAIN, LOCALE_DIR, [code])
            except OSError as exc:
                raise CatalogueMissing(
                    f"the {code!r} message catalogue is not compiled ({LOCALE_DIR}); "
                    "install the package (pip install .) or run `make`"
                ) from exc

    def _(self, message: str, /, **params: object) -> str:
        """`message` in this language, its `{placeholders}` filled from `params`."""
        text = self._t.gettext(message)
        return text.format(**params) if params else text

    def n_(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        """The form for `n` (the catalogue's plural rules); `{n}` is filled too."""
        return self._t.ngettext(singular, plural, n).format(n=n, **params)

    def when(self, moment: datetime, timezone: str) -> str:
        """A date and time as this locale writes it (CLDR), in `timezone`, with the
        zone's abbreviation (`Fri, Dec 11, 2026, 5:00 PM PST` for en_US, `vie, 11 de
        dic de 2026, 5:00 p.m. PST` for es_US, `Friday, 11 Dec 2026, 17:00 GMT` for
        en_GB)."""
        zone = ZoneInfo(timezone)
        local = moment.astimezone(zone)
        day = format_skeleton("EEEdMMMy", local, tzinfo=zone, locale=self.display)
        clock = format_time(local, "short", tzinfo=zone, locale=self.display)
        return f"{day}, {clock} {local.tzname() or timezone}"

    def zone_name(self, timezone: str) -> str:
        """A time zone's name for people (`Central European Time`, `hora de Europa
        central`); `UTC` for UTC, which Babel has no name for."""
        if timezone in ("UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal"):
            return "UTC"
        return get_timezone_name(ZoneInfo(timezone), locale=self.locale)

    def join(self, items: list[str]) -> str:
        """`a, b, and c` / `a, b y c`."""
        return format_list(items, locale=self.locale) if items else ""


@functools.cache
def lang(code: str, display: str | None = None) -> Lang:
    return Lang(code, display)


def of(reader: Reader) -> Lang:
    return lang(reader.language, reader.locale)
