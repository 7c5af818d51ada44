"""Hostile or careless config input: secrets inside URLs, numbers that would hang or
overflow the arithmetic, nesting too deep for the parser, and names that look alike but
are spelled differently in Unicode."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest

from bot.config import ConfigError, StorageConfig, load_config, parse_circle, summary
from bot.domain.i18n import Reader
from bot.domain.redact import redact_text, redact_url, url_secrets

HEAD = """\
[[circles]]
name = "council"
sides = ["milpa", "vera"]
"""


def member(name: str, side: str, extra: str = "") -> str:
    return f'[[circles.members]]\nname = "{name}"\nside = "{side}"\n{extra}'


MEMBERS = "".join(
    member(name, side)
    for name, side in (("ana", "milpa"), ("ben", "milpa"), ("cy", "vera"), ("dee", "vera"))
)


def config(before: str = "", keys: str = "", tables: str = "", members: str = MEMBERS) -> str:
    return before + HEAD + keys + "\n" + tables + "\n" + members


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    return message


# --------------------------------------------------------------------------- secrets in URLs

SECRET = "s3cr3t-Value"


@pytest.mark.parametrize(
    ("before", "key", "where"),
    [
        (
            f'[storage]\nurl = "postgresql+psycopg://bot:{SECRET}@db/circlebot"\n',
            "storage.url",
            "PGPASSWORD",
        ),
        (
            f'[storage]\nurl = "postgresql+psycopg://bot@db/circlebot?password={SECRET}"\n',
            "storage.url",
            "PGPASSWORD",
        ),
        (
            f'[storage]\nurl = "postgresql://bot@db/c?sslmode=require&SSLPassword={SECRET}"\n',
            "storage.url",
            "~/.pgpass",
        ),
        (
            f'[storage]\nurl = "postgresql+psycopg://bot@db/c?PWD={SECRET}"\n',
            "storage.url",
            "PGPASSWORD",
        ),
        (
            f'[slack]\napi_url = "https://user:xoxb-{SECRET}@slack.example/api/"\n',
            "slack.api_url",
            "SLACK_BOT_TOKEN",
        ),
        (
            f'[slack]\napi_url = "https://xoxb-{SECRET}@slack.example/api/"\n',
            "slack.api_url",
            "SLACK_BOT_TOKEN",
        ),
        (
            f'[slack]\napi_url = "https://slack.example/api/?token=xoxb-{SECRET}"\n',
            "slack.api_url",
            "SLACK_BOT_TOKEN",
        ),
        (
            f'[matrix]\nhomeserver = "https://m.org/?access_token={SECRET}"\n'
            'user_id = "@bot:m.org"\n',
            "matrix.homeserver",
            "MATRIX_ACCESS_TOKEN",
        ),
        (
            f'[matrix]\nhomeserver = "https://bot:{SECRET}@m.org"\nuser_id = "@bot:m.org"\n',
            "matrix.homeserver",
            "MATRIX_PASSWORD",
        ),
    ],
)
def test_credentials_in_a_url_are_refused_and_never_echoed(
    tmp_path: Path, before: str, key: str, where: str
) -> None:
    message = error(tmp_path, config(before=before))
    assert f": {key}: " in message
    assert where in message
    assert SECRET not in message
    assert "***" in message  # the URL is shown, with the secret masked


def test_credentials_in_any_url_valued_key_are_refused(tmp_path: Path) -> None:
    # Not a key the bot knows, but refused for the secret before it is refused as unknown.
    message = error(tmp_path, config(keys=f'website = "https://x.org/?secret={SECRET}"\n'))
    assert "circles[0].website: " in message and SECRET not in message
    assert 'contains the "secret" parameter; secrets do not belong' in message
    with pytest.raises(ConfigError, match=r"^circle\.hook: .* contains a password") as info:
        parse_circle({"name": "c", "hook": f"https://u:{SECRET}@h.org/"}, "circle")
    assert SECRET not in str(info.value)


def test_a_user_name_alone_is_fine_in_a_database_url(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        config(before='[storage]\nurl = "postgresql+psycopg://bot@db/circlebot?sslmode=require"\n'),
    )
    cfg = load_config(path)
    assert cfg.storage.url == "postgresql+psycopg://bot@db/circlebot?sslmode=require"
    assert cfg.warnings == ()


def test_a_malformed_database_url_is_not_echoed_with_its_password(tmp_path: Path) -> None:
    message = error(
        tmp_path, config(before=f'[storage]\nurl = "postgresql://bot:{SECRET}@db:port/c"\n')
    )
    assert "storage.url" in message and SECRET not in message


def test_redact_url() -> None:
    assert (
        redact_url("postgresql+psycopg://bot:pw@db:5432/c")
        == "postgresql+psycopg://bot:***@db:5432/c"
    )
    assert (
        redact_url("postgresql://bot@db/c?sslmode=require&password=pw&Token=t#x")
        == "postgresql://bot@db/c?sslmode=require&password=***&Token=***#x"
    )
    assert redact_url("https://xoxb-1@slack.com/api/") == "https://***@slack.com/api/"
    assert redact_url("sqlite:///circlebot.db") == "sqlite:///circlebot.db"
    assert redact_url("postgresql://a:b@c@d/e") == "postgresql://a:***@d/e"  # unescaped @
    assert redact_url("not a url") == "not a url"


def test_url_secrets_names_what_it_found() -> None:
    assert url_secrets("postgresql://bot:pw@db/c?password=x&sslmode=y") == [
        "a password",
        'the "password" parameter',
    ]
    assert url_secrets("postgresql://bot@db/c") == []
    assert url_secrets("https://slack.com/api/") == []


def test_redact_text_masks_every_url_in_a_message() -> None:
    text = "cannot open postgresql://bot:pw@db/c (and https://h.org/?token=abc): refused"
    assert redact_text(text) == (
        "cannot open postgresql://bot:***@db/c (and https://h.org/?token=***): refused"
    )


def test_every_log_line_masks_slack_tokens_whatever_logger_wrote_it() -> None:
    import logging

    from bot.runtime.logs import TEXT_FORMAT, JsonLineFormatter, RedactingFormatter

    # A record of a logger that carries no filter of its own, with no URL around the token.
    record = logging.LogRecord(
        "slack_sdk.web.some.child",
        logging.DEBUG,
        __file__,
        1,
        "answer: %s",
        ({"access_token": "xoxb-1234-5678-abcdEFGH", "refresh": "xoxe-1-abc"},),
        None,
    )
    for formatter in (RedactingFormatter(TEXT_FORMAT), JsonLineFormatter()):
        line = formatter.format(record)
        assert "xoxb-1234" not in line and "xoxe-1-abc" not in line
        assert line.count("xox…(redacted)") == 2


def test_summary_masks_secrets_it_could_still_be_given(tmp_path: Path) -> None:
    # Refused when loaded; a Config built by hand still never shows it.
    cfg = replace(
        load_config(write(tmp_path, config())), storage=StorageConfig("postgresql://a:pw@h/d")
    )
    assert "pw" not in summary(cfg).split("Storage: ")[1].splitlines()[0]


# --------------------------------------------------------------------------- numbers


def rules(body: str) -> str:
    return config(tables="[circles.rules]\n" + body + "\n")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # Exponents that would hang the arithmetic are tested in a subprocess with a
        # timeout: tests/cli/test_cli_inputs.py.
        ('quorum = "1e-99999"', 'circles[0].rules.quorum: "1e-99999" is too small'),
        ('quorum = "9/99999999999999999999999"', "circles[0].rules.quorum: "),
        ("quorum = " + '"0.' + "5" * 5000 + '"', "circles[0].rules.quorum: "),
        ('quorum = "NaN"', 'circles[0].rules.quorum: "NaN" is not a fraction'),
        ('quorum = "Infinity"', 'circles[0].rules.quorum: "Infinity" is not a fraction'),
        ('quorum = "-inf"', "circles[0].rules.quorum: "),
        ('quorum = "1_0"', "circles[0].rules.quorum: "),
        ('quorum = "٠.٥"', "circles[0].rules.quorum: "),  # Arabic-Indic digits
        ("quorum = 1e-300", "circles[0].rules.quorum: "),
        ("quorum = 0.6666666666666666", 'use a fraction such as "2/3"'),
        ("quorum = 2", "circles[0].rules.quorum: 2 is outside (0, 1]"),
        ("quorum = " + "9" * 4000, "circles[0].rules.quorum: "),
        ("quorum = 1e99999", "circles[0].rules.quorum: "),  # TOML reads it as inf
        ("min_consent_per_side = " + "9" * 4000, "circles[0].rules.min_consent_per_side: "),
    ],
)
def test_numbers_are_bounded_before_any_arithmetic(
    tmp_path: Path, body: str, expected: str
) -> None:
    message = error(tmp_path, rules(body))
    assert expected in message
    assert len(message) < 400, message  # a huge value is not echoed in full


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"0.5"', Fraction(1, 2)),
        ('" 2 / 3 "', Fraction(2, 3)),
        ('"1"', Fraction(1)),
        ('".75"', Fraction(3, 4)),
        ("7.5e-1", Fraction(3, 4)),
        ('"75e-2"', Fraction(3, 4)),
        ("1", Fraction(1)),
        ("0.000001", Fraction(1, 1_000_000)),
    ],
)
def test_reasonable_quorums_still_parse(tmp_path: Path, value: str, expected: Fraction) -> None:
    (council,) = load_config(write(tmp_path, rules(f"quorum = {value}"))).circles
    assert council.rules.quorum == expected


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("[slack]\nport = 0\n", "slack.port: 0 is out of range"),
        ("[slack]\nport = 65536\n", "slack.port: 65536 is out of range"),
        ("[slack]\nport = " + "9" * 4000 + "\n", "slack.port: "),
        ('[slack]\nport = "3000"\n', "slack.port: expected an integer"),
        ("[slack]\nport = 3000.0\n", "slack.port: expected an integer"),
    ],
)
def test_ports_are_bounded(tmp_path: Path, section: str, expected: str) -> None:
    message = error(tmp_path, config(before=section))
    assert expected in message and len(message) < 400, message


@pytest.mark.parametrize(
    "key",
    ["default_deadline", "reminders", "open_for"],
)
def test_absurdly_long_durations_are_not_echoed(tmp_path: Path, key: str) -> None:
    long = "9" * 100_000 + "d"
    value = f'["{long}"]' if key == "reminders" else f'"{long}"'
    if key == "open_for":
        text = config(
            tables=f'[circles.checkins]\nschedule = "0 17 * * MON"\nquestions = ["Hi?"]\n'
            f"open_for = {value}\n"
        )
    else:
        text = rules(f"{key} = {value}")
    message = error(tmp_path, text)
    assert key in message and len(message) < 400, message


def test_a_huge_integer_literal_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, config() + "x = " + "9" * 5000 + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    line = config().count("\n") + 1
    assert str(info.value) == f"{path}, line {line}: invalid TOML: a number is too long"


# --------------------------------------------------------------------------- nesting, files


def test_deep_nesting_is_a_message_naming_the_file(tmp_path: Path) -> None:
    message = error(tmp_path, "x = " + "[" * 2000 + "]" * 2000 + "\n" + config())
    assert "nested too deeply" in message


def test_moderate_nesting_is_refused_with_the_key(tmp_path: Path) -> None:
    # Deep enough to be nonsense, shallow enough for the TOML parser to read.
    message = error(tmp_path, config(keys="deep = " + "[" * 100 + "]" * 100 + "\n"))
    assert ": circles[0].deep: nested too deeply" in message


def test_a_file_too_large_to_be_a_config(tmp_path: Path) -> None:
    message = error(tmp_path, config() + "# " + "x" * 2_000_000 + "\n")
    assert "too large" in message


# --------------------------------------------------------------------------- names

NFC = unicodedata.normalize("NFC", "josé")
NFD = unicodedata.normalize("NFD", "josé")


def test_names_equal_after_normalisation_are_duplicates(tmp_path: Path) -> None:
    assert NFC != NFD
    members = MEMBERS + member(NFC, "vera") + member(NFD, "vera")
    message = error(tmp_path, config(members=members))
    assert "circles[0].members[5].name: " in message and "already a member" in message


def test_names_differing_only_in_case_are_duplicates(tmp_path: Path) -> None:
    members = MEMBERS + member("Eve", "vera") + member("eve", "vera")
    assert "circles[0].members[5].name: " in error(tmp_path, config(members=members))


def test_names_are_stored_nfc(tmp_path: Path) -> None:
    text = config(keys=f'admins = ["{NFC}"]\n', members=MEMBERS + member(NFD, "vera"))
    (council,) = load_config(write(tmp_path, text)).circles
    assert council.members[-1].name == NFC
    assert council.admins == (NFC,)


def test_sides_and_circle_names_compare_normalised(tmp_path: Path) -> None:
    text = config(members=MEMBERS).replace('"vera"]', f'"{NFC}", "{NFD}"]')
    assert "circles[0].sides[2]: " in error(tmp_path, text)
    two = config() + config().replace('name = "council"', 'name = "Council"')
    assert "circles[1].name: " in error(tmp_path, two)


@pytest.mark.parametrize(
    "char",
    ["\u202e", "\u202a", "\u2066", "\u2069", "\u200b", "\u200d", "\u200f", "\u2060", "\ufeff"],
)
def test_invisible_characters_in_names_are_refused(tmp_path: Path, char: str) -> None:
    escaped = f"\\u{ord(char):04x}"
    members = MEMBERS + member(f"ev{escaped}e", "vera")
    message = error(tmp_path, config(members=members))
    assert "circles[0].members[4].name: " in message
    assert f"U+{ord(char):04X}" in message
    assert char not in message  # the message itself stays readable


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (config(members=MEMBERS + member("ev\\u0007e", "vera")), "circles[0].members[4].name"),
        (config().replace('"milpa",', '"mil\\u202epa",'), "circles[0].sides[0]"),
        (config().replace('name = "council"', 'name = "coun\\u200bcil"'), "circles[0].name"),
        (config(keys='admins = ["an\\u2066a"]\n'), "circles[0].admins[0]"),
    ],
)
def test_control_characters_are_refused_naming_the_key(tmp_path: Path, text: str, key: str) -> None:
    assert f": {key}: " in error(tmp_path, text)


def test_names_have_a_length_limit(tmp_path: Path) -> None:
    long = "a" * 10_000
    message = error(tmp_path, config(members=MEMBERS + member(long, "vera")))
    assert "circles[0].members[4].name: " in message and "at most 64 characters" in message
    assert len(message) < 400
    message = error(tmp_path, config().replace('"vera"]', f'"{long}"]'))
    assert "circles[0].sides[1]: " in message and len(message) < 400


def test_a_slack_member_may_be_given_by_e_mail_address(tmp_path: Path) -> None:
    members = (
        member("ana", "milpa", 'slack = "Ana@Example.org"\n')
        + member("ben", "milpa", 'slack = "UBEN"\n')
        + member("cy", "vera")
        + member("dee", "vera")
    )
    cfg = load_config(write(tmp_path, config(members=members)))
    ana, ben = cfg.circles[0].members[:2]
    assert (ana.handles.get("slack"), ana.to_resolve.get("slack")) == (None, "Ana@Example.org")
    assert (ben.handles.get("slack"), ben.to_resolve.get("slack")) == ("UBEN", None)


@pytest.mark.parametrize("address", ["ana@", "@example.org", "ana@example", "a@b@example.org"])
def test_a_malformed_address_is_named_with_its_key(tmp_path: Path, address: str) -> None:
    members = MEMBERS.replace('side = "milpa"\n', f'side = "milpa"\nslack = "{address}"\n', 1)
    message = error(tmp_path, config(members=members))
    assert "circles[0].members[0].slack" in message
    assert "is not an e-mail address" in message


def test_one_address_for_two_members_is_refused_whatever_its_case(tmp_path: Path) -> None:
    members = (
        member("ana", "milpa", 'slack = "ana@example.org"\n')
        + member("ben", "milpa", 'slack = "ANA@example.org"\n')
        + member("cy", "vera")
        + member("dee", "vera")
    )
    message = error(tmp_path, config(members=members))
    assert "circles[0].members[1].slack" in message
    assert "already the Slack id of ana" in message


def test_a_language_for_the_circle_and_a_language_and_zone_for_a_member(tmp_path: Path) -> None:
    members = MEMBERS.replace(
        'side = "milpa"\n', 'side = "milpa"\nlanguage = "es"\ntimezone = "Europe/Madrid"\n', 1
    )
    cfg = load_config(write(tmp_path, config(keys='language = "es"', members=members)))
    circle = cfg.circles[0]
    assert circle.language == "es"
    assert (circle.members[0].language, circle.members[0].timezone) == ("es", "Europe/Madrid")
    assert circle.reader_of("ana") == Reader("es", "Europe/Madrid")
    assert circle.reader_of("ben") == Reader("es", "UTC")  # the circle's
    assert "ana (es, Europe/Madrid)" in summary(cfg)


@pytest.mark.parametrize(
    ("keys", "members", "key", "said"),
    [
        ('language = "fr"', MEMBERS, "circles[0].language", "is not a language circlebot speaks"),
        ("", MEMBERS.replace('side = "vera"\n', 'side = "vera"\nlanguage = "de"\n', 1),
         "circles[0].members[2].language", "use one of 'en', 'es'"),
        ("", MEMBERS.replace('side = "vera"\n', 'side = "vera"\ntimezone = "Mars/Base"\n', 1),
         "circles[0].members[2].timezone", "is not a known time zone"),
    ],
)  # fmt: skip
def test_an_unknown_language_or_zone_is_named_with_its_key(
    tmp_path: Path, keys: str, members: str, key: str, said: str
) -> None:
    message = error(tmp_path, config(keys=keys, members=members))
    assert f"{key}: " in message and said in message, message


# Names a zoneinfo file answers to that are no place's time zone: the host's own zone
# (`localtime`), the template for POSIX-style TZ strings, tzdata's placeholder zone, the
# duplicate trees with and without leap seconds, a path.
NOT_IANA_ZONES = (
    "localtime",
    "posixrules",
    "Factory",
    "posix/Europe/Madrid",
    "right/Europe/Madrid",
    "/usr/share/zoneinfo/Europe/Madrid",
    "Europe/../Europe/Madrid",
    "america/los_angeles",
)


@pytest.mark.parametrize("zone", NOT_IANA_ZONES)
def test_only_iana_zone_names_are_time_zones(tmp_path: Path, zone: str) -> None:
    circle_zone = error(tmp_path, config(keys=f'timezone = "{zone}"'))
    assert circle_zone == (
        f'{tmp_path / "config.toml"}: circles[0].timezone: "{zone}" is not a known time '
        'zone; use an IANA name such as "America/Los_Angeles", "Europe/Paris" or "UTC"'
    )
    members = MEMBERS.replace('side = "vera"\n', f'side = "vera"\ntimezone = "{zone}"\n', 1)
    member_zone = error(tmp_path, config(members=members))
    assert "circles[0].members[2].timezone: " in member_zone
    assert "is not a known time zone" in member_zone


@pytest.mark.parametrize("zone", ["UTC", "Etc/GMT+5", "America/Argentina/Buenos_Aires"])
def test_iana_zone_names_are_accepted(tmp_path: Path, zone: str) -> None:
    (circle,) = load_config(write(tmp_path, config(keys=f'timezone = "{zone}"'))).circles
    assert circle.timezone == zone
