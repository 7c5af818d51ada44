"""`locale` per circle and member (dates and times as that locale writes them, CLDR
through Babel) and the `day_ends` rule: read from the config, checked at start naming
the key, and used where times are shown."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.domain.i18n import Reader, of

MOMENT = datetime(2026, 12, 12, 1, 0, tzinfo=UTC)  # Friday 11 December, 17:00 in LA

CONFIG = """\
[[circles]]
name = "council"
sides = ["milpa", "vera"]
language = "{language}"
{circle_keys}
{rules}
[[circles.members]]
name = "ana"
side = "milpa"
{member_keys}
[[circles.members]]
name = "cy"
side = "vera"
"""


def load(
    tmp_path: Path,
    language: str = "es",
    circle_keys: str = "",
    member_keys: str = "",
    rules: str = "",
) -> object:
    path = tmp_path / "config.toml"
    text = CONFIG.format(
        language=language, circle_keys=circle_keys, member_keys=member_keys, rules=rules
    )
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_defaults_write_the_us_clock_of_each_language() -> None:
    zone = "America/Los_Angeles"
    assert of(Reader("en", zone)).when(MOMENT, zone) == "Fri, Dec 11, 2026, 5:00\u202fPM PST"
    assert of(Reader("es", zone)).when(MOMENT, zone) == (
        "vie, 11 de dic de 2026, 5:00\u202fp.m. PST"
    )


def test_a_locale_writes_its_own_way() -> None:
    zone = "Europe/Madrid"
    assert of(Reader("en", zone, "en_GB")).when(MOMENT, zone) == "Saturday, 12 Dec 2026, 02:00 CET"
    assert of(Reader("es", zone, "es_ES")).when(MOMENT, zone) == "sáb, 12 dic 2026, 2:00 CET"


def test_the_circle_and_member_locales_reach_their_readers(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        language="es",
        circle_keys='locale = "es_ES"',
        member_keys='language = "en"\nlocale = "en_GB"',
    )
    (spec,) = config.circles  # type: ignore[attr-defined]
    assert spec.reader.locale == "es_ES"
    assert spec.reader_of("ana") == Reader("en", "UTC", "en_GB")
    assert spec.reader_of("cy").locale == "es_ES"  # the circle's, in the circle's language


def test_a_member_in_another_language_gets_that_languages_default(tmp_path: Path) -> None:
    config = load(
        tmp_path, language="es", circle_keys='locale = "es_MX"', member_keys='language = "en"'
    )
    (spec,) = config.circles  # type: ignore[attr-defined]
    assert spec.reader_of("ana").locale is None  # en_US, not the circle's es_MX


@pytest.mark.parametrize(
    ("circle_keys", "member_keys", "expected"),
    [
        ('locale = "xx_YY"', "", 'circles[0].locale: "xx_YY" is not a locale of the language "es"'),
        ('locale = "en_GB"', "", 'circles[0].locale: "en_GB" is not a locale of the language "es"'),
        ("", 'locale = "fr_FR"', 'circles[0].members[0].locale: "fr_FR" is not a locale'),
    ],
)
def test_a_wrong_locale_is_refused_at_start_naming_the_key(
    tmp_path: Path, circle_keys: str, member_keys: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, circle_keys=circle_keys, member_keys=member_keys)
    assert expected in str(info.value)


def test_day_ends_is_read_and_checked(tmp_path: Path) -> None:
    config = load(tmp_path, rules='[circles.rules]\nday_ends = "18:30"')
    (spec,) = config.circles  # type: ignore[attr-defined]
    assert spec.rules.day_ends == time(18, 30)
    with pytest.raises(ConfigError) as info:
        load(tmp_path, rules='[circles.rules]\nday_ends = "6pm"')
    assert 'circles[0].rules.day_ends: "6pm" is not a time of day' in str(info.value)
