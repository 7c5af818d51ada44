"""The TOML configuration: loading, validation messages, warnings and the summary."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from adapters.matrix.config import MATRIX_KEYS, MatrixConfig, MatrixPlatformConfig
from adapters.slack.config import SLACK_KEYS, SlackConfig, SlackPlatformConfig
from bot.config import (
    Config,
    ConfigError,
    StorageConfig,
    load_config,
    parse_circle,
    summary,
)
from bot.domain.circle import Rules
from bot.domain.durations import Duration
from bot.domain.model import Role, Stance
from bot.domain.stances import build_emoji_map, normalize_emoji

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"

HEAD = """\
[[circles]]
name = "council"
sides = ["milpa", "vera"]
"""

MEMBERS = """\
[[circles.members]]
name = "ana"
side = "milpa"
role = "leader"
[[circles.members]]
name = "ben"
side = "milpa"
role = "leader"
[[circles.members]]
name = "cy"
side = "vera"
role = "leader"
[[circles.members]]
name = "dee"
side = "vera"
role = "leader"
"""


def circle(keys: str = "", tables: str = "", members: str = MEMBERS) -> str:
    """One [[circles]] entry: plain keys after `sides`, then sub-tables, then members."""
    return HEAD + keys + "\n" + tables + "\n" + members


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str) -> Config:
    return load_config(write(tmp_path, text))


def error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    return message


# --------------------------------------------------------------------------- example


def test_example_config_loads_cleanly() -> None:
    config = load_config(EXAMPLE)
    assert config.warnings == ()
    assert config.path == str(EXAMPLE)
    assert config.storage == StorageConfig(url="sqlite:///circlebot.db")
    assert config.platforms.get("slack") is None
    assert (
        config.platforms.get("matrix") is None
    )  # commented out: the example runs on the console adapter
    (council,) = config.circles
    assert council.name == "council"
    assert council.sides == ("milpa", "vera")
    assert council.timezone == "America/Los_Angeles"
    assert council.admins == ("ana", "cy")
    leaders = {m.name: m.side for m in council.members if m.is_leader}
    assert leaders == {"ana": "milpa", "ben": "milpa", "cy": "vera", "dee": "vera"}
    (eve,) = [m for m in council.members if not m.is_leader]
    assert (eve.name, eve.side, eve.role) == ("eve", "vera", Role.MEMBER)
    assert council.rules == Rules()  # the example spells out the defaults
    assert council.checkins is not None
    assert council.checkins.schedule == "0 17 * * MON"
    assert council.checkins.open_for == Duration(seconds=24 * 3600)
    assert council.checkins.remind_after == Duration(seconds=20 * 3600)
    assert len(council.checkins.questions) == 2


def uncomment_block(text: str, header: str) -> str:
    """Uncomment the `# [header]` block of the example (up to the next blank line)."""
    lines = text.splitlines()
    start = lines.index(f"# [{header}]")
    end = start
    while end < len(lines) and lines[end].startswith("#"):
        lines[end] = lines[end][2:]
        end += 1
    return "\n".join(lines) + "\n"


def test_example_platform_blocks_load_when_uncommented(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = uncomment_block(uncomment_block(text, "slack"), "matrix")
    config = load(tmp_path, text)
    assert config.platforms.get("slack") == SlackConfig()
    assert config.platforms.get("matrix") == MatrixConfig(
        homeserver="https://matrix.example.org",
        user_id="@circlebot:example.org",
        store_path="matrix-store",
    )
    # The example circle has no channel or room: with platforms on, that is worth a warning.
    assert any("nobody can reach it" in w for w in config.warnings)


def test_example_documents_every_key() -> None:
    from bot import config as module

    text = EXAMPLE.read_text(encoding="utf-8")
    keys = (
        module.TOP_KEYS
        + module.STORAGE_KEYS
        + SLACK_KEYS
        + MATRIX_KEYS
        + module.SERVER_KEYS
        + module.LOGGING_KEYS
        + module.CIRCLE_KEYS
        + SlackPlatformConfig.circle_keys
        + MatrixPlatformConfig.circle_keys
        + module.RULE_KEYS
        + module.MEMBER_KEYS
        + SlackPlatformConfig.member_keys
        + MatrixPlatformConfig.member_keys
        + module.CHECKIN_KEYS
        + module.STANCE_KEYS
    )
    for key in keys:
        assert f"{key} = " in text or f"[{key}]" in text or f".{key}]" in text, key


def test_minimal_config_takes_defaults(tmp_path: Path) -> None:
    config = load(tmp_path, circle())
    assert config.storage == StorageConfig()
    assert config.platforms.get("slack") is None and config.platforms.get("matrix") is None
    (council,) = config.circles
    assert council.timezone == "UTC"
    assert council.rules == Rules()
    assert council.admins == ()
    assert council.checkins is None
    assert "slack" not in council.channels and "matrix" not in council.channels
    assert config.warnings == ()


def test_role_defaults_to_leader(tmp_path: Path) -> None:
    members = MEMBERS.replace('role = "leader"\n', "")
    (council,) = load(tmp_path, circle(members=members)).circles
    assert all(m.role is Role.LEADER for m in council.members)


def test_relative_sqlite_path_is_left_as_is(tmp_path: Path) -> None:
    config = load(tmp_path, '[storage]\nurl = "sqlite:///data/bot.db"\n' + circle())
    assert config.storage.url == "sqlite:///data/bot.db"


def test_full_config(tmp_path: Path) -> None:
    text = """
[storage]
url = "postgresql+psycopg://circlebot@db.example.org:5432/circlebot"

[slack]
mode = "http"
host = "0.0.0.0"
port = 8080
api_url = "http://127.0.0.1:9999/api"

[matrix]
homeserver = "https://matrix.example.org"
user_id = "@circlebot:example.org"
command_prefix = "?"
device_name = "bot-1"
store_path = "/var/lib/circlebot/nio"
""" + circle(
        keys='slack_channel = "C1"\nmatrix_room = "!abc:example.org"\nadmins = ["ana"]\n',
        members=MEMBERS.replace(
            'name = "ana"\n', 'name = "ana"\nslack = "UANA"\nmatrix = "@ana:example.org"\n'
        )
        .replace('name = "ben"\n', 'name = "ben"\nslack = "UBEN"\nmatrix = "@ben:example.org"\n')
        .replace('name = "cy"\n', 'name = "cy"\nslack = "UCY"\nmatrix = "@cy:example.org"\n')
        .replace('name = "dee"\n', 'name = "dee"\nslack = "UDEE"\nmatrix = "@dee:example.org"\n'),
    )
    config = load(tmp_path, text)
    assert config.warnings == ()
    assert config.platforms.get("slack") == SlackConfig(
        mode="http", host="0.0.0.0", port=8080, api_url="http://127.0.0.1:9999/api/"
    )
    assert config.platforms.get("matrix") == MatrixConfig(
        homeserver="https://matrix.example.org",
        user_id="@circlebot:example.org",
        command_prefix="?",
        device_name="bot-1",
        store_path="/var/lib/circlebot/nio",
    )
    (council,) = config.circles
    assert council.channels["slack"].id == "C1"
    assert council.channels["matrix"].id == "!abc:example.org"
    ana = council.members[0]
    assert (ana.handles.get("slack"), ana.handles.get("matrix")) == ("UANA", "@ana:example.org")


def test_parse_circle_is_standalone() -> None:
    data: dict[str, Any] = {
        "name": "council",
        "sides": ["milpa", "vera"],
        "rules": {"quorum": 0.5},
        "members": [
            {"name": "ana", "side": "milpa"},
            {"name": "cy", "side": "vera"},
        ],
    }
    spec, warnings = parse_circle(data, "circle")
    assert spec.name == "council"
    assert spec.rules.quorum == Fraction(1, 2)
    assert warnings == []

    data["members"][1]["side"] = "vra"
    with pytest.raises(ConfigError) as info:
        parse_circle(data, "circle")
    assert str(info.value) == 'circle.members[1].side: "vra" is not one of milpa, vera'
    assert info.value.key == "circle.members[1].side"
    assert info.value.file is None


# --------------------------------------------------------------------------- errors


def test_member_on_unknown_side_exact_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    members = MEMBERS.replace('name = "cy"\nside = "vera"', 'name = "cy"\nside = "vra"')
    write(tmp_path, circle(members=members))
    with pytest.raises(ConfigError) as info:
        load_config("config.toml")
    assert (
        str(info.value)
        == 'config.toml: circles[0].members[2].side: "vra" is not one of milpa, vera'
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Unknown keys, anywhere.
        ("stroage = 1\n" + circle(), "stroage: unknown key; did you mean 'storage'?"),
        (
            circle(tables="[circles.rules]\nquorm = 0.5\n"),
            "circles[0].rules.quorm: unknown key; did you mean 'quorum'? known keys: quorum, ",
        ),
        (circle(keys='time_zone = "UTC"\n'), "circles[0].time_zone: unknown key"),
        (
            circle(members=MEMBERS.replace('role = "leader"', 'rol = "leader"', 1)),
            "circles[0].members[0].rol: unknown key",
        ),
        ('[storage]\nuri = "sqlite://"\n' + circle(), "storage.uri: unknown key"),
        ('[slack]\nmodes = "http"\n' + circle(), "slack.modes: unknown key"),
        (
            circle(
                tables='[circles.checkins]\nschedule = "0 9 * * MON"\nquestions = ["hi"]\n'
                'open = "1h"\n'
            ),
            "circles[0].checkins.open: unknown key",
        ),
        (
            circle(tables='[circles.rules.emoji]\nagree = ["+1"]\n'),
            "circles[0].rules.emoji.agree: unknown key; known keys: consent, concern, "
            "stand_aside, object",
        ),
        # Circles.
        ('[storage]\nurl = "sqlite://"\n', "circles: at least one circle is required"),
        ("circles = []\n", "circles: at least one circle is required"),
        ('[circles]\nname = "council"\n', "circles: expected an array of tables ([[circles]])"),
        (circle().replace('name = "council"\n', ""), "circles[0].name: missing"),
        (circle().replace('name = "council"', 'name = "  "'), "circles[0].name: must not be empty"),
        (
            circle().replace('name = "council"', "name = 3"),
            "circles[0].name: expected a string, got an integer (3)",
        ),
        (
            circle() + circle().replace('"council"', '"Council"'),
            'circles[1].name: "Council" is already the name of circles[0]',
        ),
        (
            circle(keys='slack_channel = "C1"\n')
            + circle(keys='slack_channel = "C1"\n').replace('"council"', '"second"'),
            'circles[1].slack_channel: "C1" is already the channel of circle "council"',
        ),
        (
            circle(keys='matrix_room = "!r:example.org"\n')
            + circle(keys='matrix_room = "!r:example.org"\n').replace('"council"', '"second"'),
            'circles[1].matrix_room: "!r:example.org" is already the room of circle "council"',
        ),
        (
            circle(keys='matrix_room = "council"\n'),
            'circles[0].matrix_room: "council" is not a Matrix room id or alias',
        ),
        # Sides.
        (
            circle().replace('sides = ["milpa", "vera"]', 'sides = ["milpa"]'),
            "circles[0].sides: a circle needs at least two sides",
        ),
        (circle().replace('sides = ["milpa", "vera"]\n', ""), "circles[0].sides: missing"),
        (
            circle().replace('sides = ["milpa", "vera"]', 'sides = ["milpa", "vera", "Milpa"]'),
            'circles[0].sides[2]: side "Milpa" is listed twice',
        ),
        (
            circle().replace('sides = ["milpa", "vera"]', 'sides = "milpa, vera"'),
            'circles[0].sides: expected an array of strings, got a string ("milpa, vera")',
        ),
        (
            circle().replace('sides = ["milpa", "vera"]', 'sides = ["milpa", 2]'),
            "circles[0].sides[1]: expected a string, got an integer (2)",
        ),
        (
            circle().replace('sides = ["milpa", "vera"]', 'sides = ["milpa", "la vera"]'),
            'circles[0].sides[1]: "la vera" contains a space',
        ),
        # Members.
        (
            circle(
                members=MEMBERS.replace(
                    'name = "cy"\nside = "vera"\nrole = "leader"',
                    'name = "cy"\nside = "vera"\nrole = "member"',
                ).replace(
                    'name = "dee"\nside = "vera"\nrole = "leader"',
                    'name = "dee"\nside = "vera"\nrole = "member"',
                )
            ),
            'circles[0].members: side "vera" has no leader; every side needs at least one leader',
        ),
        (
            circle(members=MEMBERS.replace('side = "vera"', 'side = "milpa"')),
            'circles[0].members: side "vera" has no leader',
        ),
        (circle(members=""), "circles[0].members: missing"),
        (
            circle(keys='members = "ana"\n', members=""),
            "circles[0].members: expected an array of tables ([[circles.members]])",
        ),
        (
            circle(members=MEMBERS.replace('name = "ben"', 'name = "Ana"')),
            'circles[0].members[1].name: "Ana" is already a member of this circle',
        ),
        (
            circle(members=MEMBERS.replace('name = "ben"\n', "")),
            "circles[0].members[1].name: missing",
        ),
        (
            circle(members=MEMBERS.replace('name = "ben"', 'name = "ben jones"')),
            'circles[0].members[1].name: "ben jones" contains a space',
        ),
        (
            circle(members=MEMBERS.replace('side = "milpa"\n', "", 1)),
            "circles[0].members[0].side: missing; use one of milpa, vera",
        ),
        (
            circle(members=MEMBERS.replace('role = "leader"', 'role = "chair"', 1)),
            'circles[0].members[0].role: "chair" is not a role; use "leader" (votes) or "member"',
        ),
        (
            circle(
                members=MEMBERS.replace('name = "ana"\n', 'name = "ana"\nslack = "U1"\n').replace(
                    'name = "dee"\n', 'name = "dee"\nslack = "U1"\n'
                )
            ),
            'circles[0].members[3].slack: "U1" is already the Slack id of ana',
        ),
        (
            circle(
                members=MEMBERS.replace(
                    'name = "ana"\n', 'name = "ana"\nmatrix = "@a:x.org"\n'
                ).replace('name = "cy"\n', 'name = "cy"\nmatrix = "@a:x.org"\n')
            ),
            'circles[0].members[2].matrix: "@a:x.org" is already the Matrix id of ana',
        ),
        (
            circle(members=MEMBERS.replace('name = "ana"\n', 'name = "ana"\nmatrix = "ana"\n')),
            'circles[0].members[0].matrix: "ana" is not a Matrix user id',
        ),
        # Admins.
        (
            circle(keys='admins = ["ana", "zed"]\n'),
            'circles[0].admins[1]: "zed" is not a member of this circle; admins are member '
            "names (ana, ben, cy, dee)",
        ),
        (circle(keys='admins = ["ana", "ana"]\n'), 'circles[0].admins[1]: "ana" is listed twice'),
        (circle(keys='admins = "ana"\n'), "circles[0].admins: expected an array of strings"),
        # Time zone.
        (
            circle(keys='timezone = "Mars/Olympus_Mons"\n'),
            'circles[0].timezone: "Mars/Olympus_Mons" is not a known time zone',
        ),
        (circle(keys='timezone = "../etc/passwd"\n'), "circles[0].timezone: "),
        (circle(keys="timezone = 3\n"), "circles[0].timezone: expected a string"),
        # Rules: wrong table type.
        (circle(keys="rules = 3\n"), "circles[0].rules: expected a table ([circles.rules])"),
    ],
)
def test_validation_errors_name_the_key(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in error(tmp_path, text)


def rules(body: str) -> str:
    return circle(tables="[circles.rules]\n" + body + "\n")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("quorum = 0", "circles[0].rules.quorum: 0 is outside (0, 1]"),
        ("quorum = 0.0", "circles[0].rules.quorum: 0.0 is outside (0, 1]"),
        ("quorum = 1.5", "circles[0].rules.quorum: 1.5 is outside (0, 1]"),
        ("quorum = -0.5", "circles[0].rules.quorum: -0.5 is outside (0, 1]"),
        ('quorum = "3/2"', 'circles[0].rules.quorum: "3/2" is outside (0, 1]'),
        ('quorum = "0"', 'circles[0].rules.quorum: "0" is outside (0, 1]'),
        ('quorum = "most"', 'circles[0].rules.quorum: "most" is not a fraction'),
        ('quorum = "1/0"', 'circles[0].rules.quorum: "1/0" is not a fraction'),
        ("quorum = nan", "circles[0].rules.quorum: nan is not a fraction"),
        ("quorum = inf", "circles[0].rules.quorum: inf is not a fraction"),
        ("quorum = true", "circles[0].rules.quorum: expected a fraction"),
        ("quorum = [1]", "circles[0].rules.quorum: expected a fraction"),
        ("min_consent_per_side = 0", "circles[0].rules.min_consent_per_side: 0 is out of range"),
        ("min_consent_per_side = -1", "circles[0].rules.min_consent_per_side: -1 is out of range"),
        (
            "min_consent_per_side = 1.5",
            "circles[0].rules.min_consent_per_side: expected an integer",
        ),
        (
            'min_consent_per_side = "1"',
            "circles[0].rules.min_consent_per_side: expected an integer",
        ),
        (
            "min_consent_per_side = true",
            "circles[0].rules.min_consent_per_side: expected an integer",
        ),
        (
            "min_consent_per_side = 3",
            "circles[0].rules.min_consent_per_side: 3 is more than the 2 leader(s) of side "
            '"milpa"; that side could never consent',
        ),
        (
            'early_close = "yes"',
            'circles[0].rules.early_close: expected true or false, got a string ("yes")',
        ),
        ("require_cosponsor = 1", "circles[0].rules.require_cosponsor: expected true or false"),
        (
            'default_deadline = "0h"',
            "circles[0].rules.default_deadline: '0h' must be longer than zero",
        ),
        ('default_deadline = "-1h"', "circles[0].rules.default_deadline: '-1h' is not a duration"),
        ('default_deadline = "72"', "circles[0].rules.default_deadline: '72' is not a duration"),
        (
            "default_deadline = 72",
            'circles[0].rules.default_deadline: expected a duration string such as "72h"',
        ),
        ('reminders = "24h"', "circles[0].rules.reminders: expected an array of durations"),
        (
            'reminders = ["24h", "0m"]',
            "circles[0].rules.reminders[1]: '0m' must be longer than zero",
        ),
        ('reminders = ["24h", "1d"]', 'circles[0].rules.reminders[1]: "1d" is listed twice'),
        ("reminders = [24]", "circles[0].rules.reminders[0]: expected a duration string"),
    ],
)
def test_rule_errors(tmp_path: Path, body: str, expected: str) -> None:
    assert expected in error(tmp_path, rules(body))


def test_rules_parse(tmp_path: Path) -> None:
    (council,) = load(
        tmp_path,
        rules(
            'quorum = "2/3"\nmin_consent_per_side = 2\nearly_close = false\n'
            'require_cosponsor = true\ndefault_deadline = "5d"\nreminders = ["2d", "90m"]\n'
        ),
    ).circles
    assert council.rules.quorum == Fraction(2, 3)
    assert council.rules.min_consent_per_side == 2
    assert council.rules.early_close is False
    assert council.rules.require_cosponsor is True
    assert council.rules.default_deadline == Duration(seconds=5 * 86400)
    assert council.rules.reminders == (Duration(seconds=2 * 86400), Duration(seconds=90 * 60))


def test_empty_reminders_mean_none(tmp_path: Path) -> None:
    (council,) = load(tmp_path, rules("reminders = []")).circles
    assert council.rules.reminders == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.7", Fraction(7, 10)),
        ("1", Fraction(1)),
        ("1.0", Fraction(1)),
        ('"2/3"', Fraction(2, 3)),
        ('"0.75"', Fraction(3, 4)),
        ("0.1", Fraction(1, 10)),
    ],
)
def test_quorum_is_an_exact_fraction(tmp_path: Path, value: str, expected: Fraction) -> None:
    (council,) = load(tmp_path, rules(f"quorum = {value}")).circles
    assert council.rules.quorum == expected
    assert isinstance(council.rules.quorum, Fraction)


def test_quorum_seven_tenths_of_ten_needs_seven(tmp_path: Path) -> None:
    (council,) = load(tmp_path, rules("quorum = 0.7")).circles
    # Through a float this would be 0.6999999999999999555… or ceil(7.000000000000001) = 8.
    assert council.rules.quorum * 10 == 7
    assert council.rules.quorum != Fraction(0.7)


# --------------------------------------------------------------------------- emoji


def emoji(body: str) -> str:
    return circle(tables="[circles.rules.emoji]\n" + body + "\n")


def test_emoji_override_replaces_only_that_stance(tmp_path: Path) -> None:
    (council,) = load(tmp_path, emoji('consent = ["heart", "🙏"]')).circles
    mapping = council.rules.emoji
    assert mapping["heart"] is Stance.CONSENT
    assert mapping[normalize_emoji("🙏")] is Stance.CONSENT
    assert "+1" not in mapping  # replaced, not added to
    assert "white_check_mark" not in mapping
    assert mapping["thinking_face"] is Stance.CONCERN  # other stances keep their defaults
    assert mapping["raised_hand"] is Stance.OBJECT
    assert mapping == build_emoji_map({Stance.CONSENT: ["heart", "🙏"]})


def test_emoji_override_skin_tones_and_unicode(tmp_path: Path) -> None:
    (council,) = load(
        tmp_path, emoji('consent = ["👍🏽"]\nobject = [":octagonal_sign:", "-1::skin-tone-2"]')
    ).circles
    mapping = council.rules.emoji
    for variant in ("+1", "+1::skin-tone-3", "👍", "👍🏿", ":+1:", "thumbsup"):
        assert mapping[normalize_emoji(variant)] is Stance.CONSENT, variant
    for variant in ("-1", "👎🏻", "octagonal_sign", "🛑"):
        assert mapping[normalize_emoji(variant)] is Stance.OBJECT, variant
    assert "raised_hand" not in mapping


def test_emoji_defaults_when_no_table(tmp_path: Path) -> None:
    (council,) = load(tmp_path, circle()).circles
    assert council.rules.emoji == build_emoji_map()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            'consent = ["+1", "raised_hand"]',
            'circles[0].rules.emoji.consent: "raised_hand" is one of object\'s default emoji',
        ),
        (
            'object = ["🛑", "👍🏽"]',
            'circles[0].rules.emoji.object: "+1" is one of consent\'s default emoji',
        ),
        (
            'consent = ["heart"]\nconcern = ["❤️"]',
            'circles[0].rules.emoji.concern: "❤️" is also listed for consent; '
            "an emoji can mean only one stance",
        ),
        (
            'stand_aside = ["+1::skin-tone-2"]\nconsent = ["👍"]',
            'circles[0].rules.emoji.stand_aside: "+1::skin-tone-2" is also listed for consent',
        ),
        (
            'consent = ["handshake"]',
            'circles[0].rules.emoji.consent[0]: "handshake" is reserved for co-sponsoring',
        ),
        ('consent = ["🤝"]', 'circles[0].rules.emoji.consent[0]: "🤝" is reserved'),
        ("consent = []", "circles[0].rules.emoji.consent: give at least one emoji"),
        ('consent = "+1"', "circles[0].rules.emoji.consent: expected an array of emoji"),
        ("consent = [1]", "circles[0].rules.emoji.consent[0]: expected a string"),
        ('consent = ["  "]', "circles[0].rules.emoji.consent[0]: must not be empty"),
    ],
)
def test_emoji_errors(tmp_path: Path, body: str, expected: str) -> None:
    assert expected in error(tmp_path, emoji(body))


def test_emoji_not_a_table(tmp_path: Path) -> None:
    message = error(tmp_path, rules('emoji = ["+1"]'))
    assert "circles[0].rules.emoji: expected a table" in message


def test_same_emoji_twice_for_one_stance_is_fine(tmp_path: Path) -> None:
    (council,) = load(tmp_path, emoji('consent = ["+1", "👍", "+1::skin-tone-5"]')).circles
    assert council.rules.emoji["+1"] is Stance.CONSENT


# --------------------------------------------------------------------------- check-ins


def checkins(body: str, keys: str = 'timezone = "America/Los_Angeles"\n') -> str:
    return circle(keys=keys, tables="[circles.checkins]\n" + body + "\n")


GOOD_CHECKIN = 'schedule = "0 17 * * MON"\nquestions = ["How are you?"]\n'


def test_checkins_parse(tmp_path: Path) -> None:
    (council,) = load(
        tmp_path,
        checkins(
            'schedule = "30 9 * * MON-FRI"\nquestions = ["One?", "Two?"]\n'
            'open_for = "8h"\nremind_after = "6h"\n'
        ),
    ).circles
    assert council.checkins is not None
    assert council.checkins.schedule == "30 9 * * MON-FRI"
    assert council.checkins.questions == ("One?", "Two?")
    assert council.checkins.open_for == Duration(seconds=8 * 3600)
    assert council.checkins.remind_after == Duration(seconds=6 * 3600)


def test_checkins_open_for_defaults_to_a_day(tmp_path: Path) -> None:
    (council,) = load(tmp_path, checkins(GOOD_CHECKIN)).circles
    assert council.checkins is not None
    assert council.checkins.open_for == Duration(seconds=86400)
    assert council.checkins.remind_after is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            'schedule = "0 17 * * MOON"\nquestions = ["q"]',
            'circles[0].checkins.schedule: "0 17 * * MOON" is not a valid cron expression',
        ),
        (
            'schedule = "0 17 * *"\nquestions = ["q"]',
            'circles[0].checkins.schedule: "0 17 * *" is not a valid cron expression '
            "(Wrong number of fields; got 4, expected 5)",
        ),
        (
            'schedule = "61 17 * * MON"\nquestions = ["q"]',
            'circles[0].checkins.schedule: "61 17 * * MON" is not a valid cron expression',
        ),
        (
            'schedule = "0 17 * * 1"\nquestions = ["q"]',
            'circles[0].checkins.schedule: "0 17 * * 1": write the day of the week as a name',
        ),
        (
            'schedule = "0 17 * * 1-5"\nquestions = ["q"]',
            'circles[0].checkins.schedule: "0 17 * * 1-5": write the day of the week as a name',
        ),
        (
            'schedule = "0 17 31 2 *"\nquestions = ["q"]',
            'circles[0].checkins.schedule: "0 17 31 2 *" never fires',
        ),
        ('questions = ["q"]', "circles[0].checkins.schedule: missing"),
        ('schedule = 17\nquestions = ["q"]', "circles[0].checkins.schedule: expected a string"),
        ('schedule = "0 17 * * MON"', "circles[0].checkins.questions: missing"),
        (
            'schedule = "0 17 * * MON"\nquestions = []',
            "circles[0].checkins.questions: give at least one question",
        ),
        (
            'schedule = "0 17 * * MON"\nquestions = "q"',
            "circles[0].checkins.questions: expected an array of strings",
        ),
        (
            'schedule = "0 17 * * MON"\nquestions = ["q", ""]',
            "circles[0].checkins.questions[1]: must not be empty",
        ),
        (
            GOOD_CHECKIN + 'open_for = "soon"',
            "circles[0].checkins.open_for: 'soon' is not a duration",
        ),
        (
            GOOD_CHECKIN + 'open_for = "0d"',
            "circles[0].checkins.open_for: '0d' must be longer than zero",
        ),
        (
            GOOD_CHECKIN + 'open_for = "24h"\nremind_after = "24h"',
            "circles[0].checkins.remind_after: 1d must be shorter than open_for (1d)",
        ),
        (
            GOOD_CHECKIN + 'open_for = "2h"\nremind_after = "3h"',
            "circles[0].checkins.remind_after: 3h must be shorter than open_for (2h)",
        ),
        (
            GOOD_CHECKIN + 'remind_after = "2d"',
            "circles[0].checkins.remind_after: 2d must be shorter than open_for (1d)",
        ),
    ],
)
def test_checkin_errors(tmp_path: Path, body: str, expected: str) -> None:
    assert expected in error(tmp_path, checkins(body))


def test_checkins_not_a_table(tmp_path: Path) -> None:
    message = error(tmp_path, circle(keys='checkins = "weekly"\n'))
    assert "circles[0].checkins: expected a table" in message


def test_checkin_longer_than_its_interval_warns(tmp_path: Path) -> None:
    config = load(tmp_path, checkins(GOOD_CHECKIN + 'open_for = "8d"'))
    assert config.warnings == (
        "circles[0].checkins.open_for: 8d is longer than the time between two check-ins "
        "(0 17 * * MON); a check-in would still be open when the next one starts",
    )


def test_checkin_schedule_uses_the_circle_timezone(tmp_path: Path) -> None:
    config = load(tmp_path, checkins(GOOD_CHECKIN))
    text = summary(config, now=datetime(2026, 7, 1, tzinfo=UTC))
    # Monday 6 July 2026, 17:00 in Los Angeles (daylight time).
    assert "next: Mon 2026-07-06 17:00 PDT" in text


# --------------------------------------------------------------------------- platforms


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ('[slack]\nmode = "websocket"', 'slack.mode: "websocket" is not a mode; use "socket"'),
        ("[slack]\nport = 0", "slack.port: 0 is out of range; use a whole number from 1 to 65535"),
        ("[slack]\nport = 70000", "slack.port: 70000 is out of range"),
        ('[slack]\nport = "3000"', 'slack.port: expected an integer, got a string ("3000")'),
        (
            '[slack]\napi_url = "slack.com/api"',
            'slack.api_url: "slack.com/api" must start with http',
        ),
        ('[slack]\nhost = ""', "slack.host: must not be empty"),
        ('slack = "yes"', "slack: expected a table ([slack])"),
        (
            '[matrix]\nhomeserver = "matrix.example.org"\nuser_id = "@bot:example.org"',
            'matrix.homeserver: "matrix.example.org" must start with http:// or https://',
        ),
        ('[matrix]\nuser_id = "@bot:example.org"', "matrix.homeserver: missing"),
        ('[matrix]\nhomeserver = "https://m.org"', "matrix.user_id: missing"),
        (
            '[matrix]\nhomeserver = "https://m.org"\nuser_id = "circlebot"',
            'matrix.user_id: "circlebot" is not a Matrix user id',
        ),
        (
            '[matrix]\nhomeserver = "https://m.org"\nuser_id = "@bot"',
            'matrix.user_id: "@bot" is not a Matrix user id',
        ),
        (
            '[matrix]\nhomeserver = "https://m.org"\nuser_id = "@bot:m.org"\ncommand_prefix = ""',
            "matrix.command_prefix: must not be empty",
        ),
        (
            '[matrix]\nhomeserver = "https://m.org"\nuser_id = "@bot:m.org"\ndevice = "x"',
            "matrix.device: unknown key; did you mean 'device_name'?",
        ),
        ('[storage]\nurl = "not a url"', 'storage.url: "not a url" is not a database URL'),
        ("[storage]\nurl = 5", "storage.url: expected a string, got an integer (5)"),
    ],
)
def test_platform_errors(tmp_path: Path, section: str, expected: str) -> None:
    assert expected in error(tmp_path, section + "\n" + circle())


def test_slack_defaults(tmp_path: Path) -> None:
    config = load(tmp_path, "[slack]\n" + circle(keys='slack_channel = "C1"\n'))
    assert config.platforms.get("slack") == SlackConfig()
    assert config.platforms.get("slack").api_url == "https://slack.com/api/"


def test_platform_warnings(tmp_path: Path) -> None:
    text = "[slack]\n" + circle(
        members=MEMBERS.replace('name = "ana"\n', 'name = "ana"\nslack = "UANA"\n')
    )
    config = load(tmp_path, text)
    assert config.warnings == (
        'circles[0]: circle "council" has no slack_channel, so nobody can reach it',
    )
    config = load(tmp_path, "[slack]\n" + circle(keys='slack_channel = "C1"\n'))
    assert config.warnings == (
        "circles[0].members: leader(s) ana, ben, cy, dee have no slack id; "
        "their reactions on Slack cannot be counted",
    )


def test_a_member_given_by_email_has_a_slack_id_for_the_warnings(tmp_path: Path) -> None:
    """`slack = "ana@example.org"` is looked up once at start: not a missing id."""
    by_email = MEMBERS
    for name in ("ana", "ben", "cy"):
        by_email = by_email.replace(
            f'name = "{name}"\n', f'name = "{name}"\nslack = "{name}@example.org"\n'
        )
    config = load(tmp_path, "[slack]\n" + circle(keys='slack_channel = "C1"\n', members=by_email))
    assert config.warnings == (
        "circles[0].members: leader(s) dee have no slack id; "
        "their reactions on Slack cannot be counted",
    )
    everyone = by_email.replace('name = "dee"\n', 'name = "dee"\nslack = "UDEE"\n')
    config = load(tmp_path, "[slack]\n" + circle(keys='slack_channel = "C1"\n', members=everyone))
    assert config.warnings == ()


# --------------------------------------------------------------------------- warnings


def test_unequal_leaders_warn(tmp_path: Path) -> None:
    members = MEMBERS.replace(
        'name = "dee"\nside = "vera"\nrole = "leader"',
        'name = "dee"\nside = "vera"\nrole = "member"',
    )
    config = load(tmp_path, circle(members=members))
    assert config.warnings == (
        "circles[0]: sides have unequal numbers of leaders (milpa 2, vera 1); "
        "each side still weighs the same",
    )
    assert "each side still weighs the same" in summary(config)


def test_unequal_leaders_warn_from_parse_circle() -> None:
    data = {
        "name": "trio",
        "sides": ["a", "b", "c"],
        "members": [
            {"name": "x", "side": "a"},
            {"name": "y", "side": "b"},
            {"name": "y2", "side": "b"},
            {"name": "z", "side": "c"},
        ],
    }
    _, warnings = parse_circle(data, "circle")
    assert warnings == [
        "circle: sides have unequal numbers of leaders (a 1, b 2, c 1); "
        "each side still weighs the same"
    ]


# --------------------------------------------------------------------------- secrets


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[slack]\nbot_token = "xoxb-1"\n',
            "slack.bot_token: secrets do not belong in the config file; "
            "set the SLACK_BOT_TOKEN environment variable instead",
        ),
        (
            '[slack]\napp_token = "xapp-1"\n',
            "slack.app_token: secrets do not belong in the config file; set the SLACK_APP_TOKEN",
        ),
        (
            '[slack]\nsigning_secret = "s"\n',
            "slack.signing_secret: secrets do not belong in the config file; "
            "set the SLACK_SIGNING_SECRET",
        ),
        (
            '[slack]\ntoken = "xoxb-1"\n',
            "slack.token: secrets do not belong in the config file; set the SLACK_BOT_TOKEN",
        ),
        (
            '[matrix]\nhomeserver = "https://m.org"\nuser_id = "@b:m.org"\naccess_token = "syt"\n',
            "matrix.access_token: secrets do not belong in the config file; "
            "set the MATRIX_ACCESS_TOKEN",
        ),
        (
            '[matrix]\npassword = "hunter2"\n',
            "matrix.password: secrets do not belong in the config file; set the MATRIX_PASSWORD",
        ),
        (
            '[storage]\npassword = "pw"\n',
            "storage.password: secrets do not belong in the config file; set the PGPASSWORD",
        ),
        (
            'secret = "x"\n',
            "secret: secrets do not belong in the config file; "
            "set it through an environment variable",
        ),
        (
            '[extra]\nSigning-Secret = "x"\n',
            "extra.Signing-Secret: secrets do not belong in the config file",
        ),
    ],
)
def test_secrets_are_refused(tmp_path: Path, text: str, expected: str) -> None:
    message = error(tmp_path, text + circle())
    assert expected in message
    for secret in ("xoxb-1", "xapp-1", "hunter2", "syt"):
        assert secret not in message  # never echo a secret


def test_secrets_refused_deep_inside_circles(tmp_path: Path) -> None:
    members = MEMBERS.replace('name = "ben"\n', 'name = "ben"\nslack_token = "xoxp-9"\n')
    message = error(tmp_path, circle(members=members))
    assert "circles[0].members[1].slack_token: secrets do not belong in the config file" in message
    assert "xoxp-9" not in message


def test_secrets_refused_by_parse_circle() -> None:
    with pytest.raises(ConfigError, match=r"^circle\.rules\.api_key: secrets do not belong"):
        parse_circle({"name": "c", "rules": {"api_key": "k"}}, "circle")


def test_password_in_storage_url_is_refused_and_hidden(tmp_path: Path) -> None:
    message = error(
        tmp_path,
        '[storage]\nurl = "postgresql+psycopg://bot:s3cret@db/circlebot"\n' + circle(),
    )
    assert "s3cret" not in message
    assert (
        'storage.url: "postgresql+psycopg://bot:***@db/circlebot" contains a password; '
        "secrets do not belong in the config file: leave it out of the URL and use the "
        "PGPASSWORD environment variable (or ~/.pgpass)"
    ) in message


# --------------------------------------------------------------------------- files


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: no such file")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


def test_bad_toml_syntax_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, circle() + "\n[storage\nurl = 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    line = (circle() + "\n").count("\n") + 1
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}, line {line}: invalid TOML: ")


def test_duplicate_toml_key_is_a_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, '[storage]\nurl = "a"\nurl = "b"\n')
    with pytest.raises(ConfigError, match=r", line 3: invalid TOML"):
        load_config(path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[storage]\nurl = "\xff"\n')
    with pytest.raises(ConfigError, match=r"config\.toml, line 2: not valid UTF-8"):
        load_config(path)


def test_load_accepts_str_paths(tmp_path: Path) -> None:
    path = write(tmp_path, circle())
    assert load_config(str(path)).path == str(path)


def test_config_error_formatting() -> None:
    assert str(ConfigError("bad", key="a.b", file="c.toml")) == "c.toml: a.b: bad"
    assert str(ConfigError("bad", file="c.toml", line=3)) == "c.toml, line 3: bad"
    assert str(ConfigError("bad")) == "bad"
    assert str(ConfigError("bad", key="k").in_file("f.toml")) == "f.toml: k: bad"


# --------------------------------------------------------------------------- summary


def test_summary_of_the_example() -> None:
    text = summary(load_config(EXAMPLE), now=datetime(2026, 1, 1, tzinfo=UTC))
    for expected in (
        f"Configuration: {EXAMPLE}",
        "Storage: sqlite:///circlebot.db",
        "console adapter",
        'Circle "council" (time zone America/Los_Angeles, language en)',
        "milpa  leaders: ana, ben",
        "vera   leaders: cy, dee; members (voice, no vote): eve",
        "Admins: ana, cy",
        "quorum: 1 (every leader of each side must answer: milpa 2 of 2, vera 2 of 2)",
        "min consent per side: 1",
        "early close: yes",
        "co-sponsor required: no",
        "default deadline: 3d",
        "reminders: 1d, 1h before the deadline",
        "consent 👍 :+1: ✅ :white_check_mark:",
        'Check-ins: "0 17 * * MON" (America/Los_Angeles), open for 1d, reminder after 20h',
        "next: Mon 2026-01-05 17:00 PST",
    ):
        assert expected in text, expected
    assert "Warnings" not in text


def test_summary_with_platforms_and_fraction_quorum(tmp_path: Path) -> None:
    text = summary(
        load(
            tmp_path,
            '[slack]\nmode = "http"\nport = 4000\n'
            '[matrix]\nhomeserver = "https://m.org"\nuser_id = "@bot:m.org"\n'
            + circle(
                keys='slack_channel = "C1"\nmatrix_room = "#council:m.org"\n',
                tables='[circles.rules]\nquorum = "2/3"\nreminders = []\n'
                '[circles.rules.emoji]\nconsent = ["🙏"]\n',
            ),
        )
    )
    assert "Slack (HTTP on 127.0.0.1:4000, POST /slack/events" in text
    assert 'Matrix (@bot:m.org on https://m.org, command prefix "!")' in text
    assert "Slack channel C1, Matrix room #council:m.org" in text
    assert "quorum: 2/3 (2/3 of the leaders of each side must answer: milpa 2 of 2" in text
    assert "reminders: none" in text
    assert "consent 🙏;" in text
    assert "Check-ins: none scheduled" in text
    assert "Warnings (2):" in text  # leaders without slack or matrix ids
