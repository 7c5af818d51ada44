"""Durations and WHENs (bot/domain/durations.py); stances and their emoji
(bot/domain/stances.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.durations import (
    MAX_YEARS,
    Duration,
    DurationError,
    OutOfRange,
    SkippedTime,
    WhenRead,
    add_months,
    iso,
    looks_like_when,
    parse_duration,
    parse_when,
    read_when,
    utc,
)
from bot.domain.i18n import lang
from bot.domain.stances import (
    DEFAULT_EMOJI,
    HANDSHAKE,
    UNICODE_BY_NAME,
    Stance,
    build_emoji_map,
    display_emoji,
    normalize_emoji,
)

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
LA = ZoneInfo("America/Los_Angeles")
LONDON = ZoneInfo("Europe/London")
TOKYO = ZoneInfo("Asia/Tokyo")

# --- parse_duration -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds", "months"),
    [
        ("90s", 90, 0),
        ("2m", 120, 0),
        ("72h", 72 * 3600, 0),
        ("3d", 3 * 86400, 0),
        ("1w", 604800, 0),
        ("2w", 2 * 604800, 0),
        ("6mo", 0, 6),
        ("1mo", 0, 1),
        ("6MO", 0, 6),
        ("3D", 3 * 86400, 0),
        ("  3d  ", 3 * 86400, 0),
        ("3 d", 3 * 86400, 0),
        ("999999s", 999999, 0),
        ("007h", 7 * 3600, 0),
        ("1234567s", 1234567, 0),  # the limit is the span, not the digits
        ("0" * 5000 + "1d", 86400, 0),  # more digits than int() reads, still one day
        ("3650d", 3650 * 86400, 0),
        ("521w", 521 * 604800, 0),
        ("120mo", 0, 120),
    ],
)
def test_parse_duration(text: str, seconds: int, months: int) -> None:
    assert parse_duration(text) == Duration(seconds=seconds, months=months)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "0s",
        "0mo",
        "00h",
        "-1d",
        "+1d",
        "3",
        "d",
        "mo",
        "3x",
        "1.5h",
        "3 days",
        "3days",
        "1y",
        "1h30m",
        "-1d",
        "--1d",
        "99999999d",  # far too far
        "9" * 5000 + "d",  # more digits than int() reads
        "3651d",  # over ten years
        "522w",
        "121mo",
        "3d\n4h",
        "tomorrow",
    ],
)
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(DurationError) as info:
        parse_duration(text)
    assert repr(text.strip()) in str(info.value)


def test_parse_duration_zero_message_says_longer_than_zero() -> None:
    with pytest.raises(DurationError, match="longer than zero"):
        parse_duration("0d")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-1d", "'-1d' is not a duration: a span must be longer than zero"),
        ("0h", "'0h' must be longer than zero"),
        ("99999999d", "'99999999d' is too far away (at most 10 years)"),
        ("121mo", "'121mo' is too far away (at most 10 years)"),
    ],
)
def test_a_duration_out_of_range_is_a_range_error(text: str, expected: str) -> None:
    with pytest.raises(OutOfRange) as info:
        parse_duration(text)
    assert str(info.value) == expected


@pytest.mark.parametrize("text", ["+1d", "1y", "3x", "1.5h"])
def test_a_malformed_duration_is_not_a_range_error(text: str) -> None:
    with pytest.raises(DurationError) as info:
        parse_duration(text)
    assert not isinstance(info.value, OutOfRange)


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (Duration(seconds=90), "90s"),
        (Duration(seconds=120), "2m"),
        (Duration(seconds=3600), "1h"),
        (Duration(seconds=72 * 3600), "3d"),
        (Duration(seconds=86400 * 14), "2w"),
        (Duration(months=6), "6mo"),
    ],
)
def test_duration_str_round_trips(duration: Duration, text: str) -> None:
    assert str(duration) == text
    assert parse_duration(str(duration)) == duration


@settings(max_examples=200)
@given(st.integers(min_value=1, max_value=120), st.sampled_from(["s", "m", "h", "d", "w", "mo"]))
def test_duration_str_parses_back_to_the_same_span(amount: int, unit: str) -> None:
    duration = parse_duration(f"{amount}{unit}")
    assert parse_duration(str(duration)) == duration


# --- add_months -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2026, 8, 31, 17, 30), 6, datetime(2027, 2, 28, 17, 30)),
        (datetime(2027, 8, 31, 17, 30), 6, datetime(2028, 2, 29, 17, 30)),  # leap year
        (datetime(2026, 1, 31), 1, datetime(2026, 2, 28)),
        (datetime(2026, 1, 31), 2, datetime(2026, 3, 31)),
        (datetime(2026, 3, 31), 1, datetime(2026, 4, 30)),
        (datetime(2026, 3, 31), -1, datetime(2026, 2, 28)),
        (datetime(2026, 1, 15), -1, datetime(2025, 12, 15)),
        (datetime(2026, 1, 15), -13, datetime(2024, 12, 15)),
        (datetime(2026, 12, 15), 1, datetime(2027, 1, 15)),
        (datetime(2026, 11, 30), 1, datetime(2026, 12, 30)),
        (datetime(2026, 5, 5), 12, datetime(2027, 5, 5)),
        (datetime(2026, 5, 5), 120, datetime(2036, 5, 5)),
        (datetime(2026, 5, 5), 0, datetime(2026, 5, 5)),
        (datetime(2024, 2, 29), 12, datetime(2025, 2, 28)),
        (datetime(2024, 2, 29), 48, datetime(2028, 2, 29)),
    ],
)
def test_add_months_clamps_to_the_end_of_the_month(
    start: datetime, months: int, expected: datetime
) -> None:
    assert add_months(start, months) == expected
    aware = add_months(start.replace(tzinfo=UTC), months)
    assert aware == expected.replace(tzinfo=UTC)
    assert aware.tzinfo is UTC


def test_add_months_into_the_last_representable_month() -> None:
    assert add_months(datetime(9999, 11, 30), 1) == datetime(9999, 12, 30)


@settings(max_examples=300)
@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    st.integers(min_value=-600, max_value=600),
)
def test_add_months_properties(start: datetime, months: int) -> None:
    result = add_months(start, months)
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == months
    assert result.day == min(start.day, result.day)
    assert result.day <= start.day
    assert result.time() == start.time()
    if result.day < start.day:  # clamped: it is the last day of its month
        assert (result + timedelta(days=1)).day == 1


def test_duration_after_and_before() -> None:
    start = datetime(2026, 8, 31, 12, tzinfo=UTC)
    assert Duration(months=6).after(start) == datetime(2027, 2, 28, 12, tzinfo=UTC)
    assert Duration(months=6).before(start) == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert Duration(seconds=3600).before(start) == datetime(2026, 8, 31, 11, tzinfo=UTC)
    assert Duration(seconds=90).after(start) == datetime(2026, 8, 31, 12, 1, 30, tzinfo=UTC)


# --- parse_when -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", NOW + timedelta(seconds=90)),
        ("2m", NOW + timedelta(minutes=2)),
        ("72h", NOW + timedelta(hours=72)),
        ("3d", NOW + timedelta(days=3)),
        ("1w", NOW + timedelta(weeks=1)),
        ("6mo", datetime(2026, 7, 5, 10, tzinfo=UTC)),
        (" 3d ", NOW + timedelta(days=3)),
    ],
)
def test_parse_when_durations_are_from_now(text: str, expected: datetime) -> None:
    assert parse_when(text, NOW, LA) == expected


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        # Winter: Los Angeles is UTC-8.
        ("2026-12-01 17:00", LA, datetime(2026, 12, 2, 1, 0, tzinfo=UTC)),
        ("2026-12-01T17:00", LA, datetime(2026, 12, 2, 1, 0, tzinfo=UTC)),
        ("2026-12-01 17:00:30", LA, datetime(2026, 12, 2, 1, 0, 30, tzinfo=UTC)),
        ("2026-12-01T17:00:30", LA, datetime(2026, 12, 2, 1, 0, 30, tzinfo=UTC)),
        # Summer: UTC-7.
        ("2026-07-01 17:00", LA, datetime(2026, 7, 2, 0, 0, tzinfo=UTC)),
        # A date alone is the circle's day_ends on that day (17:00 unless set), local time.
        ("2026-12-01", LA, datetime(2026, 12, 2, 1, 0, tzinfo=UTC)),
        ("2026-07-01 09:00", LONDON, datetime(2026, 7, 1, 8, 0, tzinfo=UTC)),
        ("2026-01-01 09:00", LONDON, datetime(2026, 1, 1, 9, 0, tzinfo=UTC)),
        ("2026-01-01 09:00", TOKYO, datetime(2026, 1, 1, 0, 0, tzinfo=UTC)),
        ("2026-01-01 09:00", ZoneInfo("UTC"), datetime(2026, 1, 1, 9, 0, tzinfo=UTC)),
    ],
)
def test_parse_when_local_dates_in_the_circles_zone(
    text: str, zone: ZoneInfo, expected: datetime
) -> None:
    got = parse_when(text, NOW, zone)
    assert got == expected
    assert got.utcoffset() == timedelta(0)


def test_parse_when_around_the_spring_forward_gap() -> None:
    # 2026-03-08: clocks jump from 02:00 PST to 03:00 PDT in Los Angeles.
    before = parse_when("2026-03-08 01:59", NOW, LA)
    after = parse_when("2026-03-08 03:00", NOW, LA)
    assert before == datetime(2026, 3, 8, 9, 59, tzinfo=UTC)
    assert after == datetime(2026, 3, 8, 10, 0, tzinfo=UTC)
    # 02:00-02:59 do not exist there: refused with the reason, never moved to 03:xx.
    for text in ("2026-03-08 02:00", "2026-03-08 02:30", "2026-03-08 02:59"):
        with pytest.raises(SkippedTime) as info:
            parse_when(text, NOW, LA)
        assert str(info.value) == (
            f"{text!r} does not exist in America/Los_Angeles: that day the clocks go forward "
            "from 02:00 to 03:00. Choose a time before or after the change."
        )


@pytest.mark.parametrize(
    ("zone", "text", "start", "end"),
    [
        ("Australia/Lord_Howe", "2026-10-04 02:15", "02:00", "02:30"),  # half an hour
        ("Pacific/Apia", "2011-12-30 12:00", "2011-12-30 00:00", "2011-12-31 00:00"),  # a day
        ("Europe/Madrid", "2026-03-29 02:30", "02:00", "03:00"),
    ],
)
def test_every_kind_of_gap_is_refused_naming_it(zone: str, text: str, start: str, end: str) -> None:
    now = datetime(int(text[:4]), 1, 1, tzinfo=UTC)
    with pytest.raises(SkippedTime, match=f"from {start} to {end}"):
        read_when(text, now, ZoneInfo(zone))


def test_parse_when_in_the_fall_back_overlap_takes_the_first_occurrence() -> None:
    # 2026-11-01: 01:00-02:00 happens twice in Los Angeles (PDT, then PST).
    moment = parse_when("2026-11-01 01:30", NOW, LA)
    assert moment == datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
    assert parse_when("2026-11-01 02:00", NOW, LA) == datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    assert read_when("2026-11-01 01:30", NOW, LA) == WhenRead(moment, repeated=True)
    assert read_when("2026-11-01 00:59", NOW, LA).repeated is False
    assert read_when("2026-11-01 02:00", NOW, LA).repeated is False
    assert read_when("3d", NOW, LA).repeated is False


def test_parse_when_across_a_dst_change_keeps_the_local_wall_time() -> None:
    # The same local time a week apart, across spring forward: 7 days minus one hour.
    a = parse_when("2026-03-05 17:00", NOW, LA)
    b = parse_when("2026-03-12 17:00", NOW, LA)
    assert b - a == timedelta(days=7) - timedelta(hours=1)
    # London changes on 2026-03-29.
    c = parse_when("2026-03-28 12:00", NOW, LONDON)
    d = parse_when("2026-03-29 12:00", NOW, LONDON)
    assert d - c == timedelta(hours=23)


def test_parse_when_durations_are_exact_spans_even_across_dst() -> None:
    just_before_spring = datetime(2026, 3, 7, 20, 0, tzinfo=UTC)
    assert parse_when("1d", just_before_spring, LA) - just_before_spring == timedelta(days=1)


def test_parse_when_does_not_check_the_future() -> None:
    assert parse_when("2020-01-01 00:00", NOW, ZoneInfo("UTC")) == datetime(2020, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "tomorow",
        "next week",
        "viernez",
        "13/13",
        "at 5",
        "2026-02-30",
        "2026-02-30 10:00",
        "2026-13-01",
        "2026-12-01 25:00",
        "2026-12-01 17:60",
        "12/41/2026",
        "2026-12-01  17:00 extra",
        "0s",
        "3x",
        "",
    ],
)
def test_parse_when_refuses(text: str) -> None:
    with pytest.raises(DurationError):
        parse_when(text, NOW, LA)


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("999999w", LA),
        ("9999-12-31 23:59", LA),  # past year 9999 once in UTC
        ("9999-12-31", LA),
        ("0001-01-01 00:00", TOKYO),  # before year 1 once in UTC
    ],
)
def test_parse_when_refuses_moments_too_far_away(text: str, zone: ZoneInfo) -> None:
    with pytest.raises(DurationError, match=r"too far away|more than"):
        parse_when(text, NOW, zone)


@pytest.mark.parametrize(
    "text", ["2036-01-06 10:01", "2040-01-01", "3651d", "121mo", "99999999d", "-1d"]
)
def test_parse_when_refuses_more_than_ten_years_away_or_before_now(text: str) -> None:
    with pytest.raises(OutOfRange):
        parse_when(text, NOW, ZoneInfo("UTC"))


def test_parse_when_accepts_up_to_ten_years() -> None:
    assert MAX_YEARS == 10
    assert parse_when("2036-01-05 10:00", NOW, ZoneInfo("UTC")) == datetime(
        2036, 1, 5, 10, tzinfo=UTC
    )
    assert parse_when("120mo", NOW, LA) == datetime(2036, 1, 5, 10, tzinfo=UTC)
    assert parse_when("3650d", NOW, LA) == NOW + timedelta(days=3650)


@settings(max_examples=300)
@given(
    st.datetimes(
        min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
    ),
    st.from_regex(r"[+-]?[0-9]{1,15} ?(s|m|h|d|w|mo)", fullmatch=True)
    | st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2})?", fullmatch=True),
)
def test_parse_when_never_raises_anything_but_a_duration_error(now: datetime, text: str) -> None:
    try:
        moment = parse_when(text, now, TOKYO)
    except DurationError:
        return
    assert moment.tzinfo is not None

    with pytest.raises(DurationError, match=r"too far away|more than"):
        parse_when("999999mo", NOW, LA)
    with pytest.raises(DurationError):
        parse_when("999999mo", datetime(2026, 1, 5, tzinfo=UTC), TOKYO)


@settings(max_examples=200)
@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 12, 31)),
    st.sampled_from(["America/Los_Angeles", "Europe/London", "Asia/Tokyo", "Asia/Kolkata"]),
)
def test_parse_when_local_round_trip(local: datetime, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    local = local.replace(second=0, microsecond=0)
    text = local.strftime("%Y-%m-%d %H:%M")
    got = parse_when(text, NOW, zone)
    assert got.tzinfo is not None
    assert got.utcoffset() == timedelta(0)
    back = got.astimezone(zone).replace(tzinfo=None)
    # Back to the same wall time, except inside a spring-forward gap (pushed forward).
    if back != local:
        assert back - local == timedelta(hours=1)


@pytest.mark.parametrize(
    ("text", "shaped"),
    [
        ("3d", True),
        ("6mo", True),
        ("2026-12-01", True),
        ("2026-12-01 17:00", True),
        ("2026-12-01T17:00:00", True),
        ("2026-13-45 99:99", True),  # the shape, not the validity
        ("-1d", True),
        ("+3d", True),
        ("99999999d", True),
        ("10000-01-01", True),
        ("100y", False),
        ("1.5d", False),
        ("tomorrow", False),
        ("3 days", False),
        ("12/01/2026", False),
        ("", False),
    ],
)
def test_looks_like_when(text: str, shaped: bool) -> None:
    assert looks_like_when(text) is shaped


def test_utc_and_iso() -> None:
    naive = datetime(2026, 1, 5, 14, 0)
    assert utc(naive) == datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
    plus_two = datetime(2026, 1, 5, 16, 0, tzinfo=timezone(timedelta(hours=2)))
    assert utc(plus_two) == datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
    assert utc(plus_two).tzinfo is UTC
    assert iso(plus_two) == "2026-01-05T14:00:00Z"
    assert iso(naive) == "2026-01-05T14:00:00Z"
    assert iso(None) is None


# --- Spanish units and messages -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1sem", Duration(seconds=604800)),
        ("2 SEM", Duration(seconds=2 * 604800)),
        ("6me", Duration(months=6)),
        ("1Me", Duration(months=1)),
        ("120me", Duration(months=120)),
        ("521sem", Duration(seconds=521 * 604800)),
    ],
)
def test_spanish_units_weeks_and_months(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected
    assert looks_like_when(text)


@pytest.mark.parametrize("text", ["121me", "522sem", "0me", "-1sem"])
def test_spanish_units_have_the_same_limits(text: str) -> None:
    with pytest.raises(OutOfRange):
        parse_duration(text)


def test_parse_when_with_spanish_units() -> None:
    assert parse_when("6me", NOW, LA) == datetime(2026, 7, 5, 10, tzinfo=UTC)
    assert parse_when("2sem", NOW, LA) == NOW + timedelta(weeks=2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-1d", "'-1d' no es una duración: un lapso debe ser mayor que cero"),
        ("0h", "'0h' debe ser mayor que cero"),
        ("+1d", "'+1d' no es una duración; escríbela sin el signo"),
        ("121me", "'121me' está demasiado lejos (como máximo 10 años)"),
        ("3x", "'3x' no es una duración; usa un número y una unidad: s, m (minutos), h, d, "
         "sem (semanas) o me (meses), por ejemplo 90s, 72h, 3d, 6me"),
    ],
)  # fmt: skip
def test_duration_errors_in_spanish(text: str, expected: str) -> None:
    with pytest.raises(DurationError) as info:
        parse_duration(text, lang("es"))
    assert str(info.value) == expected


def test_when_errors_in_spanish() -> None:
    es = lang("es")
    with pytest.raises(OutOfRange, match="'2040-01-01' está a más de 10 años"):
        parse_when("2040-01-01", NOW, LA, es)
    with pytest.raises(DurationError, match="No pude leer «viernez» como fecha u hora"):
        parse_when("viernez", NOW, LA, es)
    with pytest.raises(DurationError, match='could not read "tomorow" as a date or time'):
        parse_when("tomorow", NOW, LA)  # English unless told


# --- stances ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("+1", "+1"),
        (":+1:", "+1"),
        ("+1::skin-tone-2", "+1"),
        ("+1::skin-tone-3", "+1"),
        ("+1::skin-tone-6", "+1"),
        (":+1::skin-tone-3:", "+1"),
        ("thumbsup", "+1"),
        (":thumbsup:", "+1"),
        ("thumbsup::skin-tone-4", "+1"),
        ("👍", "+1"),
        ("👍🏻", "+1"),
        ("👍🏼", "+1"),
        ("👍🏽", "+1"),
        ("👍🏾", "+1"),
        ("👍🏿", "+1"),
        ("👍\ufe0f", "+1"),
        (" 👍 ", "+1"),
        ("white_check_mark", "white_check_mark"),
        ("✅", "white_check_mark"),
        ("thinking_face", "thinking_face"),
        ("🤔", "thinking_face"),
        ("neutral_face", "neutral_face"),
        ("😐", "neutral_face"),
        ("raised_hand", "raised_hand"),
        ("hand", "raised_hand"),
        ("raised_hand::skin-tone-5", "raised_hand"),
        ("✋", "raised_hand"),
        ("✋🏿", "raised_hand"),
        ("✋\ufe0f", "raised_hand"),
        ("octagonal_sign", "octagonal_sign"),
        ("🛑", "octagonal_sign"),
        ("handshake", HANDSHAKE),
        ("🤝", HANDSHAKE),
        ("🤝🏽", HANDSHAKE),
        ("❤️", "heart"),
        ("❤", "heart"),
        ("heart", "heart"),
        ("👎🏽", "-1"),
        ("wave::skin-tone-2", "wave"),
        ("wave", "wave"),
        ("🦄", "🦄"),
        ("🧑🏽", "🧑"),
        ("stance:consent", "stance:consent"),
    ],
)
def test_normalize_emoji(raw: str, key: str) -> None:
    assert normalize_emoji(raw) == key


@settings(max_examples=200)
@given(
    st.sampled_from(sorted(UNICODE_BY_NAME)),
    st.integers(min_value=0x1F3FB, max_value=0x1F3FF),
    st.integers(min_value=2, max_value=6),
)
def test_every_skin_tone_maps_like_its_base(name: str, tone: int, slack_tone: int) -> None:
    base = normalize_emoji(name)
    char = UNICODE_BY_NAME[name]
    assert normalize_emoji(char) == base
    assert normalize_emoji(char + chr(tone)) == base
    assert normalize_emoji(char.rstrip("\ufe0f") + chr(tone)) == base
    assert normalize_emoji(f"{name}::skin-tone-{slack_tone}") == base
    assert normalize_emoji(f":{name}::skin-tone-{slack_tone}:") == base
    assert normalize_emoji(f":{name}:") == base


@settings(max_examples=300)
@given(st.text(max_size=12))
def test_normalize_emoji_is_idempotent_and_total(text: str) -> None:
    once = normalize_emoji(text)
    assert isinstance(once, str)
    assert normalize_emoji(once) == once


def test_default_emoji_map() -> None:
    assert build_emoji_map() == {
        "+1": Stance.CONSENT,
        "white_check_mark": Stance.CONSENT,
        "thinking_face": Stance.CONCERN,
        "neutral_face": Stance.STAND_ASIDE,
        "raised_hand": Stance.OBJECT,
        "octagonal_sign": Stance.OBJECT,
    }
    mapping = build_emoji_map()
    for raw, stance in [
        ("👍🏽", Stance.CONSENT),
        ("+1::skin-tone-3", Stance.CONSENT),
        ("✅", Stance.CONSENT),
        ("🤔", Stance.CONCERN),
        ("😐", Stance.STAND_ASIDE),
        ("✋🏾", Stance.OBJECT),
        ("🛑", Stance.OBJECT),
    ]:
        assert mapping[normalize_emoji(raw)] is stance
    for other in ("🤝", "🎉", "heart", "eyes", "-1"):
        assert normalize_emoji(other) not in mapping


def test_build_emoji_map_overrides_replace_only_the_stances_they_name() -> None:
    mapping = build_emoji_map({Stance.CONSENT: ["heart", "👌🏽"]})
    assert mapping["heart"] is Stance.CONSENT
    assert mapping["👌"] is Stance.CONSENT
    assert "+1" not in mapping
    assert "white_check_mark" not in mapping
    assert mapping["thinking_face"] is Stance.CONCERN
    assert mapping["neutral_face"] is Stance.STAND_ASIDE
    assert mapping["raised_hand"] is Stance.OBJECT


def test_build_emoji_map_overrides_are_normalised() -> None:
    mapping = build_emoji_map(
        {Stance.OBJECT: ["👎🏿", ":no_entry:"], Stance.STAND_ASIDE: ["shrug::skin-tone-2"]}
    )
    assert mapping["-1"] is Stance.OBJECT
    assert mapping["no_entry"] is Stance.OBJECT
    assert mapping["shrug"] is Stance.STAND_ASIDE
    assert "raised_hand" not in mapping
    assert "neutral_face" not in mapping
    assert mapping["+1"] is Stance.CONSENT


def test_build_emoji_map_empty_override_removes_a_stance() -> None:
    mapping = build_emoji_map({Stance.CONCERN: []})
    assert Stance.CONCERN not in mapping.values()
    assert mapping["+1"] is Stance.CONSENT


def test_stance_properties() -> None:
    assert [s for s in Stance if s.counts_as_consent] == [Stance.CONSENT, Stance.CONCERN]
    assert Stance.CONCERN.label == "Concern"
    assert Stance.STAND_ASIDE.value == "stand_aside"
    assert set(DEFAULT_EMOJI) == set(Stance)


def test_display_emoji() -> None:
    assert display_emoji("+1") == "👍"
    assert display_emoji("raised_hand") == "✋"
    assert display_emoji("handshake") == "🤝"
    assert display_emoji("party_parrot") == ":party_parrot:"
