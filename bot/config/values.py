"""Typed readers for one value at a key path of loaded TOML data.

Each reader takes the table, the path of that table (`circles[0].members[2]`) and the
key, and either returns the value or raises a ConfigError naming the whole path
(`circles[0].members[2].side: …`). Values are echoed in messages shortened and with
hidden characters spelled out, so a message can neither flood a terminal nor hide text.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NoReturn

from bot.config.errors import fail
from bot.domain.durations import Duration, DurationError, parse_duration

SHOWN_MAX = 60  # characters of a value echoed in a message
NAME_MAX = 64  # characters of a circle, side or member name, typed in commands
DURATION_TEXT_MAX = 32


# Characters that hide or reorder text (bidi overrides and isolates, zero-width ones):
# two names that look the same on screen must not be two people.
_INVISIBLE = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + [chr(c) for c in range(0x200B, 0x2010)]
    + ["\u2060", "\ufeff"]
)


# --------------------------------------------------------------------------- key paths


def join_key(where: str, name: str | int) -> str:
    """`circles[0]` + `members` -> `circles[0].members`; + 2 -> `circles[0].members[2]`."""
    if isinstance(name, int):
        return f"{where}[{name}]"
    return f"{where}.{name}" if where else name


def toml_header(key: str) -> str:
    """The TOML spelling of a table's header: `circles[0].rules` -> `circles.rules`."""
    return re.sub(r"\[\d+\]", "", key)


# --------------------------------------------------------------------------- showing values


def type_name(value: object) -> str:
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
    return f"a {type(value).__name__}"  # "a date", "a time"


def is_hidden(ch: str) -> bool:
    """A control, format (bidi, zero-width) or line-separator character."""
    return ch in _INVISIBLE or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")


def _visible(text: str) -> str:
    return "".join(f"\\u{ord(ch):04x}" if is_hidden(ch) else ch for ch in text)


def show(value: object) -> str:
    """A value as it would be written in TOML, for messages: shortened when long, with
    hidden characters spelled out."""
    if isinstance(value, str):
        short = value if len(value) <= SHOWN_MAX else value[: SHOWN_MAX - 1] + "…"
        return _visible(json.dumps(short, ensure_ascii=False))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        shown = ", ".join(show(v) for v in value[:5])
        return "[" + shown + (", …]" if len(value) > 5 else "]")
    if isinstance(value, int) and value.bit_length() > 200:
        # str() of a huge int is slow, or refused past 4300 digits.
        digits = int(value.bit_length() * math.log10(2))
        return f"{'minus ' if value < 0 else ''}a number of about {digits} digits"
    return str(value)


def wrong_type(key: str, expected: str, value: object) -> NoReturn:
    got = type_name(value)
    if isinstance(value, str | int | float):
        got += f" ({show(value)})"
    fail(key, f"expected {expected}, got {got}")


# --------------------------------------------------------------------------- tables


def check_keys(data: Mapping[str, Any], where: str, known: Sequence[str]) -> None:
    """Refuse a key that is not in `known`, suggesting the nearest known one."""
    for key in data:
        if key not in known:
            hint = difflib.get_close_matches(key, known, n=1)
            did_you_mean = f"did you mean {hint[0]!r}? " if hint else ""
            fail(
                join_key(where, key),
                f"unknown key; {did_you_mean}known keys: {', '.join(known)}",
            )


def table(data: Mapping[str, Any], where: str, name: str) -> Mapping[str, Any] | None:
    """The sub-table `name`, or None when it is absent."""
    if name not in data:
        return None
    value = data[name]
    if not isinstance(value, Mapping):
        wrong_type(
            join_key(where, name), f"a table ([{toml_header(join_key(where, name))}])", value
        )
    return value


def table_list(data: Mapping[str, Any], where: str, name: str) -> list[Mapping[str, Any]]:
    """The array of tables `name` (`[[name]]`); empty when absent."""
    key = join_key(where, name)
    value = data.get(name, [])
    if not isinstance(value, list):
        wrong_type(key, f"an array of tables ([[{toml_header(key)}]])", value)
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            wrong_type(join_key(key, index), f"a table ([[{toml_header(key)}]])", item)
    return value


# --------------------------------------------------------------------------- scalars


def string(
    data: Mapping[str, Any],
    where: str,
    name: str,
    *,
    default: str | None = None,
    required: bool = False,
    what: str = "",
) -> str | None:
    """A non-empty string, stripped; `default` when absent (unless `required`)."""
    key = join_key(where, name)
    if name not in data:
        if required:
            fail(key, f"missing; {what or 'a value is required'}")
        return default
    value = data[name]
    if not isinstance(value, str):
        wrong_type(key, "a string", value)
    value = value.strip()
    if not value:
        fail(key, "must not be empty")
    return value


def required_string(data: Mapping[str, Any], where: str, name: str, what: str = "") -> str:
    """A non-empty string, stripped; when absent, `missing; {what}`."""
    value = string(data, where, name, required=True, what=what)
    assert value is not None
    return value


def boolean(data: Mapping[str, Any], where: str, name: str, default: bool) -> bool:
    if name not in data:
        return default
    value = data[name]
    if not isinstance(value, bool):
        wrong_type(join_key(where, name), "true or false", value)
    return value


def integer(
    data: Mapping[str, Any], where: str, name: str, default: int, low: int, high: int | None
) -> int:
    """A whole number from `low` to `high` (no upper bound when None)."""
    key = join_key(where, name)
    if name not in data:
        return default
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int):
        wrong_type(key, "an integer", value)
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"{low} or more"
        fail(key, f"{show(value)} is out of range; use a whole number {bounds}")
    return value


def string_list(
    data: Mapping[str, Any], where: str, name: str, *, required: bool, what: str
) -> list[str] | None:
    """An array of non-empty strings, each stripped; None when absent and not required."""
    key = join_key(where, name)
    if name not in data:
        if required:
            fail(key, f"missing; {what}")
        return None
    value = data[name]
    if not isinstance(value, list):
        wrong_type(key, "an array of strings", value)
    result: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            wrong_type(join_key(key, index), "a string", item)
        if not item.strip():
            fail(join_key(key, index), "must not be empty")
        result.append(item.strip())
    return result


def duration(data: Mapping[str, Any], where: str, name: str) -> Duration | None:
    """A duration such as "72h" or "6mo"; None when absent."""
    if name not in data:
        return None
    return duration_value(join_key(where, name), data[name])


def duration_value(key: str, value: object) -> Duration:
    if not isinstance(value, str):
        wrong_type(key, 'a duration string such as "72h", "3d" or "6mo"', value)
    if len(value.strip()) > DURATION_TEXT_MAX:
        fail(key, f'{show(value)} is not a duration; use e.g. "90s", "72h", "3d" or "6mo"')
    try:
        return parse_duration(value)
    except DurationError as exc:
        fail(key, str(exc))


# --------------------------------------------------------------------------- names and ids


def no_hidden(key: str, value: str, what: str) -> str:
    """`value`, refused if it holds an invisible or control character."""
    hidden = next((ch for ch in value if is_hidden(ch)), None)
    if hidden is not None:
        fail(
            key,
            f"{show(value)} contains an invisible or control character "
            f"(U+{ord(hidden):04X}); write {what} without it",
        )
    return value


def one_word(key: str, value: str, what: str) -> str:
    """`value`, refused if it holds a hidden character or a space."""
    no_hidden(key, value, what)
    if any(ch.isspace() for ch in value):
        fail(key, f"{show(value)} contains a space; {what} must be a single word")
    return value


def typed_name(key: str, value: str, what: str, *, single_word: bool = True) -> str:
    """A name people type (circle, side, member): stored in NFC so that the same letters
    typed on different keyboards are the same name, and free of hidden characters."""
    value = unicodedata.normalize("NFC", value)
    if len(value) > NAME_MAX:
        fail(key, f"{show(value)} is too long for {what}; use at most {NAME_MAX} characters")
    return one_word(key, value, what) if single_word else no_hidden(key, value, what)


def name_key(name: str) -> str:
    """What two names are compared by: NFC, then case-folded (`José` = `josé`)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def earlier_spelling(seen: dict[str, str], value: str) -> str | None:
    """Record `value`; return the earlier spelling if it was already seen (any case, any
    Unicode normal form)."""
    folded = name_key(value)
    if folded in seen:
        return seen[folded]
    seen[folded] = value
    return None
