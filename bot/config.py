"""The TOML configuration file: loading, validation and a human summary.

Everything that could break parity (a circle with one side, a side with no leader, a
member on an unknown side, a quorum outside (0, 1]) is refused here, at start-up, with a
message that names the file and the key. Secrets never live in the file: they come from
environment variables.
"""

from __future__ import annotations

import difflib
import importlib
import itertools
import json
import math
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any, NoReturn, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.circle import CheckinSpec, CircleSpec, MemberSpec, Role, Rules
from bot.durations import Duration, DurationError, parse_duration
from bot.redact import is_secret_name, is_url, redact_url, url_secrets
from bot.stances import (
    DEFAULT_EMOJI,
    HANDSHAKE,
    UNICODE_BY_NAME,
    Stance,
    build_emoji_map,
    normalize_emoji,
)

DEFAULT_STORAGE_URL = "sqlite:///circlebot.db"
DEFAULT_CHECKIN_OPEN_FOR = "24h"


class ConfigError(Exception):
    """A configuration problem. `str()` gives `FILE: KEY: PROBLEM` (file and key when known)."""

    def __init__(
        self,
        problem: str,
        *,
        key: str | None = None,
        file: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(problem)
        self.problem = problem
        self.key = key or None
        self.file = file
        self.line = line

    def in_file(self, file: str) -> Self:
        """The same problem, attributed to `file` (used when a parser ran on loaded data)."""
        return type(self)(self.problem, key=self.key, file=file, line=self.line)

    def __str__(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(self.file if self.line is None else f"{self.file}, line {self.line}")
        if self.key:
            parts.append(self.key)
        parts.append(self.problem)
        return ": ".join(parts)


@dataclass(frozen=True)
class StorageConfig:
    url: str = DEFAULT_STORAGE_URL


@dataclass(frozen=True)
class SlackConfig:
    mode: str = "socket"  # "socket" (SLACK_APP_TOKEN) or "http" (SLACK_SIGNING_SECRET)
    host: str = "127.0.0.1"  # http mode
    port: int = 3000  # http mode
    api_url: str = "https://slack.com/api/"


@dataclass(frozen=True)
class MatrixConfig:
    homeserver: str
    user_id: str
    command_prefix: str = "!"
    device_name: str = "circlebot"
    store_path: str | None = None


@dataclass(frozen=True)
class Config:
    storage: StorageConfig
    slack: SlackConfig | None
    matrix: MatrixConfig | None
    circles: tuple[CircleSpec, ...]
    warnings: tuple[str, ...]
    path: str


# --------------------------------------------------------------------------- key sets

TOP_KEYS = ("storage", "slack", "matrix", "circles")
STORAGE_KEYS = ("url",)
SLACK_KEYS = ("mode", "host", "port", "api_url")
MATRIX_KEYS = ("homeserver", "user_id", "command_prefix", "device_name", "store_path")
CIRCLE_KEYS = (
    "name",
    "slack_channel",
    "matrix_room",
    "timezone",
    "sides",
    "admins",
    "rules",
    "members",
    "checkins",
)
RULE_KEYS = (
    "quorum",
    "min_consent_per_side",
    "early_close",
    "require_cosponsor",
    "default_deadline",
    "reminders",
    "emoji",
)
MEMBER_KEYS = ("name", "side", "role", "slack", "matrix")
CHECKIN_KEYS = ("schedule", "questions", "open_for", "remind_after")
STANCE_KEYS = tuple(stance.value for stance in Stance)

# Environment variables that carry the secrets the adapters need.
SECRET_ENV = {
    "slack.token": "SLACK_BOT_TOKEN",
    "slack.bot_token": "SLACK_BOT_TOKEN",
    "slack.app_token": "SLACK_APP_TOKEN",
    "slack.signing_secret": "SLACK_SIGNING_SECRET",
    "slack.secret": "SLACK_SIGNING_SECRET",
    "matrix.token": "MATRIX_ACCESS_TOKEN",
    "matrix.access_token": "MATRIX_ACCESS_TOKEN",
    "matrix.password": "MATRIX_PASSWORD",
    "storage.password": "PGPASSWORD",
}
# Where a secret found inside a URL belongs instead, by the URL's section.
URL_SECRET_HOME = {
    "storage": "the PGPASSWORD environment variable (or ~/.pgpass) for PostgreSQL",
    "slack": "the SLACK_BOT_TOKEN, SLACK_APP_TOKEN and SLACK_SIGNING_SECRET environment variables",
    "matrix": "the MATRIX_ACCESS_TOKEN or MATRIX_PASSWORD environment variable",
}

_MATRIX_USER = re.compile(r"^@[^\s:]+:[^\s:]+(:\d+)?$")
# Room ids of room version 12 have no server part ("!abc…"); aliases always do.
_MATRIX_ROOM = re.compile(r"^(![^\s:]+(:[^\s:]+(:\d+)?)?|#[^\s:]+:[^\s:]+(:\d+)?)$")
# A fixed moment for comparing durations that may contain months, and for looking at a
# cron schedule's rhythm without depending on today's date.
_REFERENCE = datetime(2026, 1, 5, 12, 0)
_ONE_MINUTE = timedelta(minutes=1)

# Bounds that keep hostile or mistaken input from hanging or crashing the parser.
MAX_FILE_BYTES = 1_000_000  # a config or scenario is a few kilobytes
MAX_DEPTH = 20  # the deepest real key, circles[0].rules.emoji.consent[0], is 5 levels down
_SHOWN_MAX = 60  # characters of a value echoed in a message
_NAME_MAX = 64  # characters of a circle, side or member name, typed in commands
_DURATION_TEXT_MAX = 32
_QUORUM_TEXT_MAX = 32
_QUORUM_DECIMALS = 6  # 0.333333 at most; "1/3" says a third exactly
_RATIO = re.compile(r"([0-9]{1,9})\s*/\s*([0-9]{1,9})")
_DECIMAL = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")
# Characters that hide or reorder text (bidi overrides and isolates, zero-width ones):
# two names that look the same on screen must not be two people.
_INVISIBLE = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + [chr(c) for c in range(0x200B, 0x2010)]
    + ["\u2060", "\ufeff"]
)


# --------------------------------------------------------------------------- helpers


def _header(key: str) -> str:
    """The TOML spelling of a table's header: `circles[0].rules` -> `circles.rules`."""
    return re.sub(r"\[\d+\]", "", key)


def _fail(key: str, problem: str) -> NoReturn:
    raise ConfigError(problem, key=key)


def _join(where: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{where}[{name}]"
    return f"{where}.{name}" if where else name


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, datetime):
        return "a date-time"
    return f"a {type(value).__name__}"


def _is_hidden(ch: str) -> bool:
    """A control, format (bidi, zero-width) or line-separator character."""
    return ch in _INVISIBLE or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")


def _visible(text: str) -> str:
    return "".join(f"\\u{ord(ch):04x}" if _is_hidden(ch) else ch for ch in text)


def _show(value: object) -> str:
    """A value as it would be written in TOML, for messages: shortened when long, with
    hidden characters spelled out."""
    if isinstance(value, str):
        short = value if len(value) <= _SHOWN_MAX else value[: _SHOWN_MAX - 1] + "…"
        return _visible(json.dumps(short, ensure_ascii=False))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        shown = ", ".join(_show(v) for v in value[:5])
        return "[" + shown + (", …]" if len(value) > 5 else "]")
    if isinstance(value, int) and value.bit_length() > 200:
        # str() of a huge int is slow, or refused past 4300 digits.
        digits = int(value.bit_length() * math.log10(2))
        return f"{'minus ' if value < 0 else ''}a number of about {digits} digits"
    return str(value)


def _wrong_type(key: str, expected: str, value: object) -> NoReturn:
    got = _type_name(value)
    if isinstance(value, str | int | float):
        got += f" ({_show(value)})"
    _fail(key, f"expected {expected}, got {got}")


def _check_keys(data: Mapping[str, Any], where: str, known: Sequence[str]) -> None:
    for key in data:
        if key not in known:
            hint = difflib.get_close_matches(key, known, n=1)
            did_you_mean = f"did you mean {hint[0]!r}? " if hint else ""
            _fail(
                _join(where, key),
                f"unknown key; {did_you_mean}known keys: {', '.join(known)}",
            )


def _refuse_url_secrets(key: str, url: str) -> None:
    """Refuse a URL that carries a password, a login or a token; show it masked."""
    found = url_secrets(url)
    if not found:
        return
    section = key.split(".", 1)[0].split("[", 1)[0]
    home = URL_SECRET_HOME.get(section, "an environment variable")
    _fail(
        key,
        f"{_show(redact_url(url.strip()))} contains {' and '.join(found)}; secrets do not "
        f"belong in the config file: leave it out of the URL and use {home}",
    )


def _refuse_secrets(data: object, where: str) -> None:
    """Refuse any key, at any depth, that looks like it holds a secret, and any URL
    (whatever its key) with credentials in it."""
    if isinstance(data, str) and is_url(data):
        _refuse_url_secrets(where, data)
    if isinstance(data, Mapping):
        for key, value in data.items():
            path = _join(where, key)
            if is_secret_name(str(key)):
                env = SECRET_ENV.get(path.lower())
                how = (
                    f"set the {env} environment variable instead"
                    if env
                    else "set it through an environment variable instead"
                )
                _fail(path, f"secrets do not belong in the config file; {how}")
            _refuse_secrets(value, path)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            _refuse_secrets(item, _join(where, index))


def _table(data: Mapping[str, Any], where: str, name: str) -> Mapping[str, Any] | None:
    if name not in data:
        return None
    value = data[name]
    if not isinstance(value, Mapping):
        _wrong_type(_join(where, name), f"a table ([{_header(_join(where, name))}])", value)
    return value


def _string(
    data: Mapping[str, Any],
    where: str,
    name: str,
    *,
    default: str | None = None,
    required: bool = False,
    what: str = "",
) -> str | None:
    key = _join(where, name)
    if name not in data:
        if required:
            _fail(key, f"missing; {what or 'a value is required'}")
        return default
    value = data[name]
    if not isinstance(value, str):
        _wrong_type(key, "a string", value)
    value = value.strip()
    if not value:
        _fail(key, "must not be empty")
    return value


def _required_string(data: Mapping[str, Any], where: str, name: str, what: str = "") -> str:
    value = _string(data, where, name, required=True, what=what)
    assert value is not None
    return value


def _no_hidden(key: str, value: str, what: str) -> str:
    hidden = next((ch for ch in value if _is_hidden(ch)), None)
    if hidden is not None:
        _fail(
            key,
            f"{_show(value)} contains an invisible or control character "
            f"(U+{ord(hidden):04X}); write {what} without it",
        )
    return value


def _word(key: str, value: str, what: str) -> str:
    _no_hidden(key, value, what)
    if any(ch.isspace() for ch in value):
        _fail(key, f"{_show(value)} contains a space; {what} must be a single word")
    return value


def _name(key: str, value: str, what: str, *, one_word: bool = True) -> str:
    """A name people type (circle, side, member): stored in NFC so that the same letters
    typed on different keyboards are the same name, and free of hidden characters."""
    value = unicodedata.normalize("NFC", value)
    if len(value) > _NAME_MAX:
        _fail(key, f"{_show(value)} is too long for {what}; use at most {_NAME_MAX} characters")
    return _word(key, value, what) if one_word else _no_hidden(key, value, what)


def _name_key(name: str) -> str:
    """What two names are compared by: NFC, then case-folded (`José` = `josé`)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def _bool(data: Mapping[str, Any], where: str, name: str, default: bool) -> bool:
    if name not in data:
        return default
    value = data[name]
    if not isinstance(value, bool):
        _wrong_type(_join(where, name), "true or false", value)
    return value


def _int(
    data: Mapping[str, Any], where: str, name: str, default: int, low: int, high: int | None
) -> int:
    key = _join(where, name)
    if name not in data:
        return default
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int):
        _wrong_type(key, "an integer", value)
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"{low} or more"
        _fail(key, f"{_show(value)} is out of range; use a whole number {bounds}")
    return value


def _string_list(
    data: Mapping[str, Any], where: str, name: str, *, required: bool, what: str
) -> list[str] | None:
    key = _join(where, name)
    if name not in data:
        if required:
            _fail(key, f"missing; {what}")
        return None
    value = data[name]
    if not isinstance(value, list):
        _wrong_type(key, "an array of strings", value)
    result: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            _wrong_type(_join(key, index), "a string", item)
        if not item.strip():
            _fail(_join(key, index), "must not be empty")
        result.append(item.strip())
    return result


def _table_list(data: Mapping[str, Any], where: str, name: str) -> list[Mapping[str, Any]]:
    key = _join(where, name)
    value = data.get(name, [])
    if not isinstance(value, list):
        _wrong_type(key, f"an array of tables ([[{_header(key)}]])", value)
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            _wrong_type(_join(key, index), f"a table ([[{_header(key)}]])", item)
    return value


def _duration(data: Mapping[str, Any], where: str, name: str) -> Duration | None:
    if name not in data:
        return None
    return _duration_value(_join(where, name), data[name])


def _duration_value(key: str, value: object) -> Duration:
    if not isinstance(value, str):
        _wrong_type(key, 'a duration string such as "72h", "3d" or "6mo"', value)
    if len(value.strip()) > _DURATION_TEXT_MAX:
        _fail(key, f'{_show(value)} is not a duration; use e.g. "90s", "72h", "3d" or "6mo"')
    try:
        return parse_duration(value)
    except DurationError as exc:
        _fail(key, str(exc))


def _longer(a: Duration, b: Duration) -> bool:
    """True when `a` is at least as long as `b` (months measured from a fixed date)."""
    return a.after(_REFERENCE) >= b.after(_REFERENCE)


def _casefold_duplicate(seen: dict[str, str], value: str) -> str | None:
    """Record `value`; return the earlier spelling if it was already seen (any case, any
    Unicode normal form)."""
    folded = _name_key(value)
    if folded in seen:
        return seen[folded]
    seen[folded] = value
    return None


def _load_cron_trigger() -> Any:
    # APScheduler 3.x ships no type information; load it dynamically so mypy sees `Any`.
    module = importlib.import_module("apscheduler.triggers.cron")
    return module.CronTrigger


# --------------------------------------------------------------------------- circles


def parse_circle(data: Mapping[str, Any], where: str) -> tuple[CircleSpec, list[str]]:
    """Parse and validate one circle table (one `[[circles]]` entry, or a scenario's
    `[circle]`). `where` prefixes keys in messages (`circles[0]`, `circle`). Returns the
    spec and warnings; raises ConfigError (without a file name) on the first problem."""
    if not isinstance(data, Mapping):
        _wrong_type(where, "a table", data)
    _refuse_secrets(data, where)
    _check_keys(data, where, CIRCLE_KEYS)
    warnings: list[str] = []

    name = _name(
        _join(where, "name"),
        _required_string(data, where, "name", "every circle needs a name"),
        "the circle's name",
        one_word=False,
    )
    slack_channel = _string(data, where, "slack_channel")
    if slack_channel is not None:
        _word(_join(where, "slack_channel"), slack_channel, "a Slack channel id")
    matrix_room = _string(data, where, "matrix_room")
    if matrix_room is not None:
        _no_hidden(_join(where, "matrix_room"), matrix_room, "a Matrix room id")
    if matrix_room is not None and not _MATRIX_ROOM.match(matrix_room):
        _fail(
            _join(where, "matrix_room"),
            f"{_show(matrix_room)} is not a Matrix room id or alias "
            '(like "!roomid:example.org" or "#council:example.org")',
        )

    timezone = _string(data, where, "timezone", default="UTC")
    assert timezone is not None
    zone = _zone(_join(where, "timezone"), timezone)

    sides = _sides(data, where)
    members = _members(data, where, sides)
    leaders = {side: [m.name for m in members if m.side == side and m.is_leader] for side in sides}
    for side, names in leaders.items():
        if not names:
            _fail(
                _join(where, "members"),
                f"side {_show(side)} has no leader; every side needs at least one leader "
                'with role = "leader"',
            )
    counts = {side: len(names) for side, names in leaders.items()}
    if len(set(counts.values())) > 1:
        listed = ", ".join(f"{side} {count}" for side, count in counts.items())
        warnings.append(
            f"{where}: sides have unequal numbers of leaders ({listed}); "
            "each side still weighs the same"
        )

    admins = _admins(data, where, members)
    rules = _rules(data, where, counts)
    checkins, checkin_warnings = _checkins(data, where, zone)
    warnings.extend(checkin_warnings)

    spec = CircleSpec(
        name=name,
        sides=tuple(sides),
        members=tuple(members),
        timezone=timezone,
        admins=tuple(admins),
        rules=rules,
        slack_channel=slack_channel,
        matrix_room=matrix_room,
        checkins=checkins,
    )
    return spec, warnings


def _zone(key: str, name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        _fail(
            key,
            f"{_show(name)} is not a known time zone; use an IANA name such as "
            '"America/Los_Angeles", "Europe/Paris" or "UTC"',
        )


def _sides(data: Mapping[str, Any], where: str) -> list[str]:
    key = _join(where, "sides")
    sides = _string_list(
        data,
        where,
        "sides",
        required=True,
        what='list the partner organisations, e.g. sides = ["milpa", "vera"]',
    )
    assert sides is not None
    sides = [_name(_join(key, index), side, "a side name") for index, side in enumerate(sides)]
    seen: dict[str, str] = {}
    for index, side in enumerate(sides):
        earlier = _casefold_duplicate(seen, side)
        if earlier is not None:
            _fail(_join(key, index), f"side {_show(side)} is listed twice")
    if len(sides) < 2:
        _fail(
            key,
            f"a circle needs at least two sides (partner organisations), got {len(sides)}; "
            "parity means no side decides alone",
        )
    return sides


def _members(data: Mapping[str, Any], where: str, sides: list[str]) -> list[MemberSpec]:
    tables = _table_list(data, where, "members")
    if not tables:
        _fail(
            _join(where, "members"),
            "missing; add a [[circles.members]] table for each person, "
            "with at least one leader per side",
        )
    members: list[MemberSpec] = []
    names: dict[str, str] = {}
    slack_ids: dict[str, str] = {}
    matrix_ids: dict[str, str] = {}
    for index, table in enumerate(tables):
        at = _join(_join(where, "members"), index)
        _check_keys(table, at, MEMBER_KEYS)
        name = _name(
            _join(at, "name"),
            _required_string(table, at, "name", "every member needs a name"),
            "a member name",
        )
        earlier = _casefold_duplicate(names, name)
        if earlier is not None:
            same = "" if earlier == name else f" (as {_show(earlier)})"
            _fail(_join(at, "name"), f"{_show(name)} is already a member of this circle{same}")
        side_text = _required_string(table, at, "side", f"use one of {', '.join(sides)}")
        # The side as the circle spells it: "Milpa" and an NFD "josé" name a listed side.
        side = next((s for s in sides if _name_key(s) == _name_key(side_text)), None)
        if side is None:
            _fail(_join(at, "side"), f"{_show(side_text)} is not one of {', '.join(sides)}")
        role_text = _string(table, at, "role", default=Role.LEADER.value)
        assert role_text is not None
        if role_text not in (Role.LEADER.value, Role.MEMBER.value):
            _fail(
                _join(at, "role"),
                f'{_show(role_text)} is not a role; use "leader" (votes) or "member" '
                "(a voice, no vote)",
            )
        slack = _string(table, at, "slack")
        if slack is not None:
            _word(_join(at, "slack"), slack, "a Slack user id")
            if slack in slack_ids:
                _fail(
                    _join(at, "slack"),
                    f"{_show(slack)} is already the Slack id of {slack_ids[slack]}",
                )
            slack_ids[slack] = name
        matrix = _string(table, at, "matrix")
        if matrix is not None:
            _no_hidden(_join(at, "matrix"), matrix, "a Matrix user id")
            if not _MATRIX_USER.match(matrix):
                _fail(
                    _join(at, "matrix"),
                    f'{_show(matrix)} is not a Matrix user id (like "@ana:example.org")',
                )
            if matrix in matrix_ids:
                _fail(
                    _join(at, "matrix"),
                    f"{_show(matrix)} is already the Matrix id of {matrix_ids[matrix]}",
                )
            matrix_ids[matrix] = name
        members.append(
            MemberSpec(name=name, side=side, role=Role(role_text), slack=slack, matrix=matrix)
        )
    return members


def _admins(data: Mapping[str, Any], where: str, members: list[MemberSpec]) -> list[str]:
    key = _join(where, "admins")
    given = _string_list(data, where, "admins", required=False, what="") or []
    known = {_name_key(m.name): m.name for m in members}
    admins: list[str] = []
    for index, text in enumerate(given):
        admin = _no_hidden(_join(key, index), text, "a member name")
        if _name_key(admin) not in known:
            _fail(
                _join(key, index),
                f"{_show(admin)} is not a member of this circle; admins are member names "
                f"({', '.join(known.values())})",
            )
        # Stored as the member's own spelling, so that later comparisons are exact.
        if known[_name_key(admin)] in admins:
            _fail(_join(key, index), f"{_show(admin)} is listed twice")
        admins.append(known[_name_key(admin)])
    return admins


def _quorum(key: str, value: object) -> Fraction:
    """A share in (0, 1]. Bounded before any arithmetic: Fraction("1e-999999999") would
    build a number with a billion digits."""
    example = 'use e.g. 1.0, 0.75 or "2/3"'
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        _wrong_type(key, 'a fraction such as 1.0, 0.75 or "2/3"', value)
    outside = (
        f"{_show(value)} is outside (0, 1]; quorum is the share of each side's leaders "
        "who must answer (1.0 = all of them)"
    )
    if isinstance(value, int):
        if value != 1:
            _fail(key, outside)
        return Fraction(1)
    if isinstance(value, float) and not math.isfinite(value):
        _fail(key, f"{value} is not a fraction between 0 and 1; {example}")
    # A float through repr() so that 0.7 is exactly 7/10, not 0.6999999999999999555….
    text = repr(value) if isinstance(value, float) else value.strip()
    if len(text) > _QUORUM_TEXT_MAX:
        _fail(key, f"{_show(value)} is too long for a fraction; {example}")
    ratio = _RATIO.fullmatch(text)
    decimal = _DECIMAL.fullmatch(text)
    if ratio is not None:
        numerator, denominator = int(ratio.group(1)), int(ratio.group(2))
        if denominator == 0:
            _fail(key, f"{_show(value)} is not a fraction; {example}")
        quorum = Fraction(numerator, denominator)
    elif decimal is not None and (decimal.group(2) or decimal.group(3)):
        sign, whole, decimals, exponent_text = decimal.groups()
        digits = int(whole + (decimals or ""))  # at most 32 characters: cheap
        exponent = int(exponent_text or 0)
        scale = len(decimals or "") - exponent
        if digits == 0:
            quorum = Fraction(0)
        elif sign == "-" or scale < 0:
            _fail(key, outside)  # negative, or 10 and more
        elif len(str(digits)) - scale <= -_QUORUM_DECIMALS:  # below one in a million
            _fail(
                key,
                f"{_show(value)} is too small to be a share of the leaders; quorum is in "
                f"(0, 1], {example}",
            )
        elif scale > _QUORUM_DECIMALS:
            _fail(
                key,
                f"{_show(value)} has more than {_QUORUM_DECIMALS} decimals; for a share such "
                'as two thirds use a fraction such as "2/3"',
            )
        else:
            quorum = Fraction(digits, 10**scale)
    else:
        _fail(key, f"{_show(value)} is not a fraction; {example}")
    if not 0 < quorum <= 1:
        _fail(key, outside)
    return quorum


def _rules(data: Mapping[str, Any], where: str, leader_counts: Mapping[str, int]) -> Rules:
    defaults = Rules()
    table = _table(data, where, "rules")
    if table is None:
        return defaults
    at = _join(where, "rules")
    _check_keys(table, at, RULE_KEYS)
    quorum = defaults.quorum
    if "quorum" in table:
        quorum = _quorum(_join(at, "quorum"), table["quorum"])
    min_consent = _int(table, at, "min_consent_per_side", defaults.min_consent_per_side, 1, None)
    for side, count in leader_counts.items():
        if min_consent > count:
            _fail(
                _join(at, "min_consent_per_side"),
                f"{_show(min_consent)} is more than the {count} leader(s) of side "
                f"{_show(side)}; "
                "that side could never consent",
            )
    default_deadline = _duration(table, at, "default_deadline") or defaults.default_deadline
    reminders = defaults.reminders
    if "reminders" in table:
        key = _join(at, "reminders")
        raw = table["reminders"]
        if not isinstance(raw, list):
            _wrong_type(key, 'an array of durations, e.g. ["24h", "1h"]', raw)
        parsed: list[Duration] = []
        for index, item in enumerate(raw):
            offset = _duration_value(_join(key, index), item)
            if offset in parsed:
                _fail(_join(key, index), f"{_show(item)} is listed twice")
            parsed.append(offset)
        reminders = tuple(parsed)
    emoji = defaults.emoji
    if "emoji" in table:
        emoji = _emoji(table["emoji"], _join(at, "emoji"))
    return Rules(
        quorum=quorum,
        min_consent_per_side=min_consent,
        early_close=_bool(table, at, "early_close", defaults.early_close),
        require_cosponsor=_bool(table, at, "require_cosponsor", defaults.require_cosponsor),
        default_deadline=default_deadline,
        reminders=reminders,
        emoji=emoji,
    )


def _emoji(value: object, at: str) -> dict[str, Stance]:
    if not isinstance(value, Mapping):
        _wrong_type(at, f"a table ([{_header(at)}]) mapping stances to lists of emoji", value)
    _check_keys(value, at, STANCE_KEYS)
    overrides: dict[Stance, list[str]] = {}
    for stance_name, emojis in value.items():
        key = _join(at, stance_name)
        if not isinstance(emojis, list):
            _wrong_type(key, 'an array of emoji, e.g. ["+1", "👍"]', emojis)
        if not emojis:
            _fail(key, 'give at least one emoji (a Slack name such as "+1" or a unicode emoji)')
        for index, emoji in enumerate(emojis):
            if not isinstance(emoji, str):
                _wrong_type(_join(key, index), "a string", emoji)
            if not normalize_emoji(emoji):
                _fail(_join(key, index), "must not be empty")
            if normalize_emoji(emoji) == HANDSHAKE:
                _fail(
                    _join(key, index),
                    f"{_show(emoji)} is reserved for co-sponsoring a proposal",
                )
        overrides[Stance(stance_name)] = list(emojis)
    # The same emoji may not mean two stances, whether listed here or kept by default.
    owner: dict[str, tuple[Stance, bool]] = {}
    for stance in Stance:
        given = stance in overrides
        for emoji in overrides.get(stance, DEFAULT_EMOJI[stance]):
            emoji_key = normalize_emoji(emoji)
            previous = owner.setdefault(emoji_key, (stance, given))
            other, other_given = previous
            if other is stance:
                continue
            if given and other_given:
                _fail(
                    _join(at, stance.value),
                    f"{_show(emoji)} is also listed for {other.value}; "
                    "an emoji can mean only one stance",
                )
            listed, default = (stance, other) if given else (other, stance)
            _fail(
                _join(at, listed.value),
                f"{_show(emoji_key)} is one of {default.value}'s default emoji and an emoji "
                f"can mean only one stance; also give {default.value} its own list without it",
            )
    return build_emoji_map(overrides)


def _checkins(
    data: Mapping[str, Any], where: str, zone: ZoneInfo
) -> tuple[CheckinSpec | None, list[str]]:
    table = _table(data, where, "checkins")
    if table is None:
        return None, []
    at = _join(where, "checkins")
    _check_keys(table, at, CHECKIN_KEYS)
    warnings: list[str] = []
    schedule = _required_string(
        table, at, "schedule", 'a cron expression in the circle\'s time zone, e.g. "0 17 * * MON"'
    )
    fires = _cron_fires(_join(at, "schedule"), schedule, zone)
    questions = _string_list(
        table,
        at,
        "questions",
        required=True,
        what='give at least one question, e.g. questions = ["How are you arriving today?"]',
    )
    assert questions is not None
    if not questions:
        _fail(_join(at, "questions"), "give at least one question")
    open_for = _duration(table, at, "open_for") or parse_duration(DEFAULT_CHECKIN_OPEN_FOR)
    remind_after = _duration(table, at, "remind_after")
    if remind_after is not None and _longer(remind_after, open_for):
        _fail(
            _join(at, "remind_after"),
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


def _cron_fires(key: str, expr: str, zone: ZoneInfo) -> list[datetime]:
    fields = expr.split()
    if len(fields) == 5 and any(ch.isdigit() for ch in fields[4]):
        # APScheduler 3.x counts weekdays from 0 = Monday, cron from 0 = Sunday: refuse
        # numbers rather than fire on the wrong day.
        _fail(
            key,
            f"{_show(expr)}: write the day of the week as a name "
            "(MON, TUE, WED, THU, FRI, SAT, SUN; ranges like MON-FRI), not a number",
        )
    cron_trigger = _load_cron_trigger()
    try:
        trigger = cron_trigger.from_crontab(expr, timezone=zone)
    except (ValueError, TypeError, KeyError) as exc:
        _fail(
            key,
            f"{_show(expr)} is not a valid cron expression ({exc}); "
            'use minute hour day month weekday, e.g. "0 17 * * MON"',
        )
    fires: list[datetime] = []
    previous: datetime | None = None
    now = _REFERENCE.replace(tzinfo=zone)
    for _ in range(8):
        fire = trigger.get_next_fire_time(previous, now)
        if not isinstance(fire, datetime):
            break
        fires.append(fire)
        # APScheduler returns `now` itself when it matches; step past it.
        previous, now = fire, fire + _ONE_MINUTE
    if not fires:
        _fail(key, f"{_show(expr)} never fires (no such date)")
    return fires


# --------------------------------------------------------------------------- top level


def _storage(data: Mapping[str, Any]) -> StorageConfig:
    table = _table(data, "", "storage")
    if table is None:
        return StorageConfig()
    _check_keys(table, "storage", STORAGE_KEYS)
    url = _string(table, "storage", "url", default=DEFAULT_STORAGE_URL)
    assert url is not None
    _refuse_url_secrets("storage.url", url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        _fail(
            "storage.url",
            f'{_show(redact_url(url))} is not a database URL; use e.g. "sqlite:///circlebot.db" '
            'or "postgresql+psycopg://circlebot@localhost/circlebot"',
        )
    if parsed.password:  # how the driver reads it, in case it differs from ours
        _fail(
            "storage.url",
            "contains a password; secrets do not belong in the config file: leave it out of "
            f"the URL and use {URL_SECRET_HOME['storage']}",
        )
    return StorageConfig(url=url)


def _slack(data: Mapping[str, Any]) -> SlackConfig | None:
    table = _table(data, "", "slack")
    if table is None:
        return None
    _check_keys(table, "slack", SLACK_KEYS)
    defaults = SlackConfig()
    mode = _string(table, "slack", "mode", default=defaults.mode)
    if mode not in ("socket", "http"):
        _fail(
            "slack.mode",
            f'{_show(mode)} is not a mode; use "socket" (Socket Mode, SLACK_APP_TOKEN) or '
            '"http" (Events API over HTTP, SLACK_SIGNING_SECRET)',
        )
    host = _string(table, "slack", "host", default=defaults.host)
    assert host is not None
    port = _int(table, "slack", "port", defaults.port, 1, 65535)
    api_url = _string(table, "slack", "api_url", default=defaults.api_url)
    assert api_url is not None
    _refuse_url_secrets("slack.api_url", api_url)
    if not api_url.startswith(("http://", "https://")):
        _fail("slack.api_url", f"{_show(redact_url(api_url))} must start with http:// or https://")
    if not api_url.endswith("/"):
        api_url += "/"
    return SlackConfig(mode=mode, host=host, port=port, api_url=api_url)


def _matrix(data: Mapping[str, Any]) -> MatrixConfig | None:
    table = _table(data, "", "matrix")
    if table is None:
        return None
    _check_keys(table, "matrix", MATRIX_KEYS)
    homeserver = _required_string(
        table, "matrix", "homeserver", 'the homeserver URL, e.g. "https://matrix.example.org"'
    )
    _refuse_url_secrets("matrix.homeserver", homeserver)
    if not homeserver.startswith(("http://", "https://")):
        _fail(
            "matrix.homeserver",
            f"{_show(redact_url(homeserver))} must start with http:// or https:// "
            '(e.g. "https://matrix.example.org")',
        )
    user_id = _required_string(
        table, "matrix", "user_id", 'the bot\'s Matrix id, e.g. "@circlebot:example.org"'
    )
    _no_hidden("matrix.user_id", user_id, "a Matrix user id")
    if not _MATRIX_USER.match(user_id):
        _fail(
            "matrix.user_id",
            f'{_show(user_id)} is not a Matrix user id (like "@circlebot:example.org")',
        )
    prefix = _string(table, "matrix", "command_prefix", default="!")
    assert prefix is not None
    _word("matrix.command_prefix", prefix, "the command prefix")
    device_name = _string(table, "matrix", "device_name", default="circlebot")
    assert device_name is not None
    store_path = _string(table, "matrix", "store_path")
    return MatrixConfig(
        homeserver=homeserver,
        user_id=user_id,
        command_prefix=prefix,
        device_name=device_name,
        store_path=store_path,
    )


def _circles(data: Mapping[str, Any], warnings: list[str]) -> tuple[CircleSpec, ...]:
    if "circles" not in data:
        _fail("circles", "at least one circle is required; add a [[circles]] table")
    tables = _table_list(data, "", "circles")
    if not tables:
        _fail("circles", "at least one circle is required; add a [[circles]] table")
    circles: list[CircleSpec] = []
    names: dict[str, int] = {}
    channels: dict[str, int] = {}
    rooms: dict[str, int] = {}
    for index, table in enumerate(tables):
        where = _join("circles", index)
        circle, circle_warnings = parse_circle(table, where)
        folded = _name_key(circle.name)
        if folded in names:
            _fail(
                _join(where, "name"),
                f"{_show(circle.name)} is already the name of circles[{names[folded]}]",
            )
        names[folded] = index
        if circle.slack_channel is not None:
            if circle.slack_channel in channels:
                other = circles[channels[circle.slack_channel]].name
                _fail(
                    _join(where, "slack_channel"),
                    f"{_show(circle.slack_channel)} is already the channel of circle "
                    f"{_show(other)}; each circle needs its own channel",
                )
            channels[circle.slack_channel] = index
        if circle.matrix_room is not None:
            if circle.matrix_room in rooms:
                other = circles[rooms[circle.matrix_room]].name
                _fail(
                    _join(where, "matrix_room"),
                    f"{_show(circle.matrix_room)} is already the room of circle "
                    f"{_show(other)}; each circle needs its own room",
                )
            rooms[circle.matrix_room] = index
        circles.append(circle)
        warnings.extend(circle_warnings)
    return tuple(circles)


def _platform_warnings(
    circles: Iterable[CircleSpec], slack: SlackConfig | None, matrix: MatrixConfig | None
) -> list[str]:
    warnings: list[str] = []
    if slack is None and matrix is None:
        return warnings
    for index, circle in enumerate(circles):
        where = f"circles[{index}]"
        on_slack = slack is not None and circle.slack_channel is not None
        on_matrix = matrix is not None and circle.matrix_room is not None
        if not on_slack and not on_matrix:
            enabled = " or ".join(
                key for key, on in (("slack_channel", slack), ("matrix_room", matrix)) if on
            )
            warnings.append(
                f"{where}: circle {_show(circle.name)} has no {enabled}, so nobody can reach it"
            )
        for platform, attr, bound in (
            ("Slack", "slack", on_slack),
            ("Matrix", "matrix", on_matrix),
        ):
            if not bound:
                continue
            missing = [m.name for m in circle.members if m.is_leader and getattr(m, attr) is None]
            if missing:
                warnings.append(
                    f"{where}.members: leader(s) {', '.join(missing)} have no {attr} id; "
                    f"their reactions on {platform} cannot be counted"
                )
    return warnings


def parse_config(data: Mapping[str, Any], path: str = "<config>") -> Config:
    """Validate already-loaded TOML data. Errors name `path` and the key."""
    try:
        _refuse_secrets(data, "")
        _check_keys(data, "", TOP_KEYS)
        warnings: list[str] = []
        storage = _storage(data)
        slack = _slack(data)
        matrix = _matrix(data)
        circles = _circles(data, warnings)
        warnings.extend(_platform_warnings(circles, slack, matrix))
    except ConfigError as exc:
        raise exc.in_file(path) from None
    return Config(
        storage=storage,
        slack=slack,
        matrix=matrix,
        circles=circles,
        warnings=tuple(warnings),
        path=path,
    )


def load_config(path: str | Path) -> Config:
    """Read and validate the TOML file at `path`. Every problem is a ConfigError."""
    missing = "no such file (config.example.toml is a documented starting point)"
    return parse_config(read_toml(path, ConfigError, missing), str(path))


def read_toml(
    path: str | Path, error: type[ConfigError] = ConfigError, missing: str = "no such file"
) -> dict[str, Any]:
    """Read a TOML file; every problem (missing, unreadable, too large, not UTF-8, bad
    syntax, nested too deeply) is an `error` naming the file and, where known, the line."""
    name = str(path)
    try:
        with Path(path).open("rb") as file:
            # Bounded, so that /dev/zero or a wrong multi-gigabyte file is refused, not read.
            raw = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise error(missing, file=name) from None
    except IsADirectoryError:
        raise error("is a directory, not a TOML file", file=name) from None
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror or exc}", file=name) from None
    if len(raw) > MAX_FILE_BYTES:
        raise error(
            f"too large for a TOML file of circlebot (more than {MAX_FILE_BYTES:,} bytes); "
            "is it the right file?",
            file=name,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        raise error("not valid UTF-8 text", file=name, line=bad_line) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)$", message)
        line = int(match.group(1)) if match else None
        if match:
            message = f"{message[: match.start()].strip()} (column {match.group(2)})"
        elif "(at end of document)" in message:
            message = message.replace("(at end of document)", "(at the end of the file)")
        raise error(f"invalid TOML: {message}", file=name, line=line) from None
    except RecursionError:
        raise error("invalid TOML: arrays or tables nested too deeply to read", file=name) from None
    except ValueError:
        # Python refuses to read an integer of more than 4300 digits.
        long_number = re.search(r"[0-9A-Fa-f_]{1000,}", text)
        line = text[: long_number.start()].count("\n") + 1 if long_number else None
        raise error("invalid TOML: a number is too long", file=name, line=line) from None
    deep = _too_deep(data)
    if deep is not None:
        raise error(
            f"nested too deeply (more than {MAX_DEPTH} levels of arrays or tables)",
            key=deep,
            file=name,
        )
    return data


def _too_deep(data: Mapping[str, Any]) -> str | None:
    """The key of a value nested more than MAX_DEPTH levels down, or None. Walks without
    recursion, so it cannot fail where the parser just succeeded."""
    stack: list[tuple[object, str, int]] = [(data, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            return where
        # The key names the tables and arrays of tables down to the nesting, not each of
        # a thousand brackets.
        if isinstance(value, Mapping):
            for key, item in value.items():
                stack.append((item, _join(where, str(key)) if depth < 8 else where, depth + 1))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                named = depth < 8 and isinstance(item, Mapping)
                stack.append((item, _join(where, index) if named else where, depth + 1))
    return None


# --------------------------------------------------------------------------- summary


def _emoji_label(key: str) -> str:
    if key in UNICODE_BY_NAME:
        return f"{UNICODE_BY_NAME[key]} :{key}:"
    if key.isascii():
        return f":{key}:"
    return key


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _quorum_text(circle: CircleSpec) -> str:
    quorum = circle.rules.quorum
    leaders = {
        side: sum(1 for m in circle.members if m.side == side and m.is_leader)
        for side in circle.sides
    }
    need = ", ".join(
        f"{side} {math.ceil(quorum * count)} of {count}" for side, count in leaders.items()
    )
    share = "every leader" if quorum == 1 else f"{quorum} of the leaders"
    return f"{quorum} ({share} of each side must answer: {need})"


def _next_fires(circle: CircleSpec, count: int, now: datetime | None) -> list[datetime]:
    if circle.checkins is None:
        return []
    zone = ZoneInfo(circle.timezone)
    trigger = _load_cron_trigger().from_crontab(circle.checkins.schedule, timezone=zone)
    moment = (now or datetime.now(zone)).astimezone(zone)
    fires: list[datetime] = []
    previous: datetime | None = None
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, moment)
        if not isinstance(fire, datetime):
            break
        fires.append(fire)
        previous, moment = fire, fire + _ONE_MINUTE
    return fires


def summary(config: Config, now: datetime | None = None) -> str:
    """Human text for `circlebot check-config`."""
    lines = [f"Configuration: {config.path}", f"Storage: {redact_url(config.storage.url)}"]
    platforms: list[str] = []
    if config.slack is not None:
        slack = config.slack
        where = (
            f"HTTP on {slack.host}:{slack.port}, POST /slack/events"
            if slack.mode == "http"
            else "Socket Mode"
        )
        platforms.append(f"Slack ({where}; Web API {redact_url(slack.api_url)})")
    if config.matrix is not None:
        matrix = config.matrix
        platforms.append(
            f"Matrix ({matrix.user_id} on {redact_url(matrix.homeserver)}, "
            f"command prefix {_show(matrix.command_prefix)})"
        )
    if platforms:
        lines.append("Platforms: " + "; ".join(platforms))
    else:
        lines.append("Platforms: none configured; `circlebot run` starts the console adapter")

    for circle in config.circles:
        rules = circle.rules
        lines.append("")
        lines.append(f"Circle {_show(circle.name)} (time zone {circle.timezone})")
        bound = []
        if circle.slack_channel:
            bound.append(f"Slack channel {circle.slack_channel}")
        if circle.matrix_room:
            bound.append(f"Matrix room {circle.matrix_room}")
        lines.append(
            "  Where: "
            + (", ".join(bound) if bound else "console only (no slack_channel or matrix_room)")
        )
        lines.append(f"  Sides ({len(circle.sides)}, each weighs the same):")
        width = max(len(side) for side in circle.sides)
        for side in circle.sides:
            leaders = [m.name for m in circle.members if m.side == side and m.is_leader]
            voices = [m.name for m in circle.members if m.side == side and not m.is_leader]
            text = f"    {side.ljust(width)}  leaders: {', '.join(leaders)}"
            if voices:
                text += f"; members (voice, no vote): {', '.join(voices)}"
            lines.append(text)
        lines.append("  Admins: " + (", ".join(circle.admins) if circle.admins else "none"))
        lines.append("  Rules:")
        lines.append(f"    quorum: {_quorum_text(circle)}")
        lines.append(f"    min consent per side: {rules.min_consent_per_side}")
        lines.append(f"    early close: {_yes(rules.early_close)}")
        lines.append(f"    co-sponsor required: {_yes(rules.require_cosponsor)}")
        lines.append(f"    default deadline: {rules.default_deadline}")
        reminders = ", ".join(str(r) for r in rules.reminders)
        lines.append(
            f"    reminders: {reminders} before the deadline"
            if reminders
            else "    reminders: none"
        )
        by_stance: dict[Stance, list[str]] = {stance: [] for stance in Stance}
        for key, stance in rules.emoji.items():
            by_stance[stance].append(_emoji_label(key))
        lines.append(
            "    reactions: "
            + "; ".join(
                f"{stance.value} {' '.join(labels) or '(none)'}"
                for stance, labels in by_stance.items()
            )
        )
        checkins = circle.checkins
        if checkins is None:
            lines.append("  Check-ins: none scheduled")
        else:
            remind = f", reminder after {checkins.remind_after}" if checkins.remind_after else ""
            lines.append(
                f"  Check-ins: {_show(checkins.schedule)} ({circle.timezone}), "
                f"open for {checkins.open_for}{remind}, "
                f"{len(checkins.questions)} question(s) used in turn"
            )
            fires = _next_fires(circle, 1, now)
            if fires:
                lines.append(f"    next: {fires[0].strftime('%a %Y-%m-%d %H:%M %Z')}")

    if config.warnings:
        lines.append("")
        lines.append(f"Warnings ({len(config.warnings)}):")
        lines.extend(f"  - {warning}" for warning in config.warnings)
    return "\n".join(lines)
