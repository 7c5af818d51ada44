"""Reading WHENs: the bot's own grammar (bot.domain.durations with
bot.domain.written_when) against dateparser, in the same run: import time, parse cost,
and how many of SPEC's forms ("How people write") each reads right.

    python bench/when_parsers.py [OLD_DURATIONS_PY]
    # dateparser is optional (pip install dateparser); OLD_DURATIONS_PY, an older
    # bot/domain/durations.py (git show REV:bot/domain/durations.py > old.py), is measured
    # on the forms it reads, in the same run.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=ZONE)  # a Wednesday
# SPEC's table, each form with the local wall time it names from NOW (day_ends 17:00).
FORMS = {
    "en": {
        "3 days": datetime(2026, 3, 7, 10, 0),
        "2 weeks": datetime(2026, 3, 18, 11, 0),  # an exact span: clocks went forward
        "in 3 days": datetime(2026, 3, 7, 10, 0),
        "6 months": datetime(2026, 9, 4, 11, 0),  # an exact span: clocks went forward
        "today": datetime(2026, 3, 4, 17, 0),
        "tomorrow": datetime(2026, 3, 5, 17, 0),
        "Friday": datetime(2026, 3, 6, 17, 0),
        "next Friday": datetime(2026, 3, 6, 17, 0),
        "friday 5pm": datetime(2026, 3, 6, 17, 0),
        "Dec 15": datetime(2026, 12, 15, 17, 0),
        "15 December": datetime(2026, 12, 15, 17, 0),
        "December 15 2026": datetime(2026, 12, 15, 17, 0),
        "12/15": datetime(2026, 12, 15, 17, 0),
        "5pm": datetime(2026, 3, 4, 17, 0),
        "5:30 pm": datetime(2026, 3, 4, 17, 30),
        "17:00": datetime(2026, 3, 4, 17, 0),
        "noon": datetime(2026, 3, 4, 12, 0),
    },
    "es": {
        "3 días": datetime(2026, 3, 7, 10, 0),
        "2 semanas": datetime(2026, 3, 18, 11, 0),  # an exact span: clocks went forward
        "en 3 días": datetime(2026, 3, 7, 10, 0),
        "6 meses": datetime(2026, 9, 4, 11, 0),  # an exact span: clocks went forward
        "hoy": datetime(2026, 3, 4, 17, 0),
        "mañana": datetime(2026, 3, 5, 17, 0),
        "el viernes": datetime(2026, 3, 6, 17, 0),
        "el próximo viernes": datetime(2026, 3, 6, 17, 0),
        "viernes 17:00": datetime(2026, 3, 6, 17, 0),
        "15 dic": datetime(2026, 12, 15, 17, 0),
        "15 de diciembre": datetime(2026, 12, 15, 17, 0),
        "el 15 de diciembre de 2026": datetime(2026, 12, 15, 17, 0),
        "15/12": datetime(2026, 12, 15, 17, 0),
        "5 p. m.": datetime(2026, 3, 4, 17, 0),
        "5:30 pm": datetime(2026, 3, 4, 17, 30),
        "17:00": datetime(2026, 3, 4, 17, 0),
        "mediodía": datetime(2026, 3, 4, 12, 0),
    },
}
ROUNDS = 200
# The forms the parser read before this grammar (durations and ISO dates): its own cost.
BOT_FORMS = {"en": {"3d": None, "72h": None, "2026-12-11 17:00": None, "2026-12-11": None}}


def import_seconds(module: str, first: str = "") -> float:
    """A fresh interpreter's time to import `module` and run `first` (best of three)."""
    code = (
        f"import time; t = time.perf_counter(); import {module}; {first or 'pass'}; "
        "print(time.perf_counter() - t)"
    )
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(3)
    ]
    return min(runs)


def ours(text: str, language: str) -> datetime | None:
    from bot.domain.durations import DurationError, read_when
    from bot.domain.i18n import lang

    try:
        return read_when(text, NOW.astimezone(UTC), ZONE, lang(language)).moment
    except DurationError:
        return None


def theirs(text: str, language: str) -> datetime | None:
    import dateparser

    settings = {
        "RELATIVE_BASE": NOW.replace(tzinfo=None),
        "TIMEZONE": ZONE.key,
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "future",
        "DATE_ORDER": "MDY" if language == "en" else "DMY",
    }
    return dateparser.parse(text, languages=[language], settings=settings)  # type: ignore[arg-type]


def cost(read: object, forms: dict[str, dict[str, datetime | None]]) -> float:
    """Microseconds a parse, over `forms`."""
    assert callable(read)
    total = sum(len(f) for f in forms.values())
    start = time.perf_counter()
    for _ in range(ROUNDS):
        for language, texts in forms.items():
            for text in texts:
                read(text, language)
    return (time.perf_counter() - start) / (ROUNDS * total) * 1e6


def measure(name: str, read: object) -> None:
    assert callable(read)
    right, wrong = 0, []
    for language, forms in FORMS.items():
        for text, wall in forms.items():
            got = read(text, language)
            if got is not None and got == wall.replace(tzinfo=ZONE):
                right += 1
            else:
                shown = f"{got.astimezone(ZONE):%Y-%m-%d %H:%M}" if got else "none"
                wrong.append(f"{text!r}->{shown}")
    total = sum(len(f) for f in FORMS.values())
    per = cost(read, FORMS)  # type: ignore[arg-type]
    print(f"{name}: {right}/{total} of SPEC's forms right; {per:.1f} µs a parse")
    if wrong:
        print("  wrong:", ", ".join(wrong))


def old_parser(path: str) -> object:
    spec = importlib.util.spec_from_file_location("old_durations", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_durations"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)

    def read(text: str, language: str) -> datetime | None:
        from bot.domain.i18n import lang

        try:
            moment: datetime = module.read_when(
                text, NOW.astimezone(UTC), ZONE, lang(language)
            ).moment
        except module.DurationError:
            return None
        return moment

    return read


def main() -> None:
    if len(sys.argv) > 1:
        old = cost(old_parser(sys.argv[1]), BOT_FORMS)  # type: ignore[arg-type]
        print(f"the old durations.py on its forms: {old:.1f} µs a parse")
        measure("the old durations.py", old_parser(sys.argv[1]))
    print(f"import: bot.domain.durations {import_seconds('bot.domain.durations') * 1000:.0f} ms")
    first = (
        "from bot.domain.i18n import lang; from datetime import datetime, UTC; "
        "from zoneinfo import ZoneInfo; bot.domain.durations.read_when('15 de diciembre', "
        "datetime.now(UTC), ZoneInfo('UTC'), lang('es'))"
    )
    seconds = import_seconds("bot.domain.durations", first)
    print(f"import and first parse: bot.domain.durations {seconds * 1000:.0f} ms")
    measure("bot.domain.durations", ours)
    bot_forms = cost(ours, BOT_FORMS)  # type: ignore[arg-type]
    print(
        f"bot.domain.durations on its old forms (3d, 2026-12-11 17:00): {bot_forms:.1f} µs a parse"
    )
    try:
        print(f"import: dateparser {import_seconds('dateparser') * 1000:.0f} ms")
    except subprocess.CalledProcessError:
        print("dateparser is not installed: pip install dateparser")
        return
    first = "dateparser.parse('15 de diciembre', languages=['es'])"
    print(f"import and first parse: dateparser {import_seconds('dateparser', first) * 1000:.0f} ms")
    measure("dateparser", theirs)


if __name__ == "__main__":
    main()
