"""A circle's `[circles.rules]`: quorum, consent per side, deadlines, reminders, emoji."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, time
from fractions import Fraction
from typing import Any

from bot.config.errors import fail
from bot.config.values import (
    boolean,
    check_keys,
    duration,
    duration_value,
    integer,
    join_key,
    show,
    table,
    toml_header,
    wrong_type,
)
from bot.domain.circle import Rules
from bot.domain.durations import Duration
from bot.domain.model import Stance
from bot.domain.stances import DEFAULT_EMOJI, HANDSHAKE, build_emoji_map, normalize_emoji

RULE_KEYS = (
    "quorum",
    "min_consent_per_side",
    "early_close",
    "require_cosponsor",
    "allow_proxy",
    "default_deadline",
    "reminders",
    "emoji",
    "day_ends",
)
STANCE_KEYS = tuple(stance.value for stance in Stance)

_QUORUM_TEXT_MAX = 32
_QUORUM_DECIMALS = 6  # 0.333333 at most; "1/3" says a third exactly
_RATIO = re.compile(r"([0-9]{1,9})\s*/\s*([0-9]{1,9})")
_DECIMAL = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")


def parse_rules(data: Mapping[str, Any], where: str, leader_counts: Mapping[str, int]) -> Rules:
    """The circle's `rules` table (the defaults when absent). `leader_counts` (leaders per
    side) bounds min_consent_per_side, so that every side can still consent."""
    defaults = Rules()
    rules = table(data, where, "rules")
    if rules is None:
        return defaults
    at = join_key(where, "rules")
    check_keys(rules, at, RULE_KEYS)
    quorum = defaults.quorum
    if "quorum" in rules:
        quorum = _quorum(join_key(at, "quorum"), rules["quorum"])
    min_consent = integer(rules, at, "min_consent_per_side", defaults.min_consent_per_side, 1, None)
    for side, count in leader_counts.items():
        if min_consent > count:
            fail(
                join_key(at, "min_consent_per_side"),
                f"{show(min_consent)} is more than the {count} leader(s) of side "
                f"{show(side)}; "
                "that side could never consent",
            )
    default_deadline = duration(rules, at, "default_deadline") or defaults.default_deadline
    reminders = defaults.reminders
    if "reminders" in rules:
        reminders = _reminders(join_key(at, "reminders"), rules["reminders"])
    emoji = defaults.emoji
    if "emoji" in rules:
        emoji = _emoji(rules["emoji"], join_key(at, "emoji"))
    return Rules(
        quorum=quorum,
        min_consent_per_side=min_consent,
        early_close=boolean(rules, at, "early_close", defaults.early_close),
        require_cosponsor=boolean(rules, at, "require_cosponsor", defaults.require_cosponsor),
        allow_proxy=boolean(rules, at, "allow_proxy", defaults.allow_proxy),
        default_deadline=default_deadline,
        reminders=reminders,
        emoji=emoji,
        day_ends=_day_ends(rules, at, defaults.day_ends),
    )


def _day_ends(rules: Mapping[str, Any], at: str, default: time) -> time:
    """`day_ends = "17:00"`: the time a day named without one stands for (`by Friday`)."""
    if "day_ends" not in rules:
        return default
    value = rules["day_ends"]
    if not isinstance(value, str):
        wrong_type(join_key(at, "day_ends"), 'a time of day such as "17:00"', value)
    try:
        return datetime.strptime(value.strip(), "%H:%M").time()
    except ValueError:
        fail(join_key(at, "day_ends"), f'{show(value)} is not a time of day; write it like "17:00"')


def _reminders(key: str, value: object) -> tuple[Duration, ...]:
    if not isinstance(value, list):
        wrong_type(key, 'an array of durations, e.g. ["24h", "1h"]', value)
    parsed: list[Duration] = []
    for index, item in enumerate(value):
        offset = duration_value(join_key(key, index), item)
        if offset in parsed:
            fail(join_key(key, index), f"{show(item)} is listed twice")
        parsed.append(offset)
    return tuple(parsed)


def _quorum(key: str, value: object) -> Fraction:
    """A share in (0, 1]. Bounded before any arithmetic: Fraction("1e-999999999") would
    build a number with a billion digits."""
    example = 'use e.g. 1.0, 0.75 or "2/3"'
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        wrong_type(key, 'a fraction such as 1.0, 0.75 or "2/3"', value)
    outside = (
        f"{show(value)} is outside (0, 1]; quorum is the share of each side's leaders "
        "who must answer (1.0 = all of them)"
    )
    if isinstance(value, int):
        if value != 1:
            fail(key, outside)
        return Fraction(1)
    if isinstance(value, float) and not math.isfinite(value):
        fail(key, f"{value} is not a fraction between 0 and 1; {example}")
    # A float through repr() so that 0.7 is exactly 7/10, not 0.6999999999999999555….
    text = repr(value) if isinstance(value, float) else value.strip()
    if len(text) > _QUORUM_TEXT_MAX:
        fail(key, f"{show(value)} is too long for a fraction; {example}")
    ratio = _RATIO.fullmatch(text)
    decimal = _DECIMAL.fullmatch(text)
    if ratio is not None:
        numerator, denominator = int(ratio.group(1)), int(ratio.group(2))
        if denominator == 0:
            fail(key, f"{show(value)} is not a fraction; {example}")
        quorum = Fraction(numerator, denominator)
    elif decimal is not None and (decimal.group(2) or decimal.group(3)):
        sign, whole, decimals, exponent_text = decimal.groups()
        digits = int(whole + (decimals or ""))  # at most 32 characters: cheap
        exponent = int(exponent_text or 0)
        scale = len(decimals or "") - exponent
        if digits == 0:
            quorum = Fraction(0)
        elif sign == "-" or scale < 0:
            fail(key, outside)  # negative, or 10 and more
        elif len(str(digits)) - scale <= -_QUORUM_DECIMALS:  # below one in a million
            fail(
                key,
                f"{show(value)} is too small to be a share of the leaders; quorum is in "
                f"(0, 1], {example}",
            )
        elif scale > _QUORUM_DECIMALS:
            fail(
                key,
                f"{show(value)} has more than {_QUORUM_DECIMALS} decimals; for a share such "
                'as two thirds use a fraction such as "2/3"',
            )
        else:
            quorum = Fraction(digits, 10**scale)
    else:
        fail(key, f"{show(value)} is not a fraction; {example}")
    if not 0 < quorum <= 1:
        fail(key, outside)
    return quorum


def _emoji(value: object, at: str) -> dict[str, Stance]:
    if not isinstance(value, Mapping):
        wrong_type(at, f"a table ([{toml_header(at)}]) mapping stances to lists of emoji", value)
    check_keys(value, at, STANCE_KEYS)
    overrides: dict[Stance, list[str]] = {}
    for stance_name, emojis in value.items():
        key = join_key(at, stance_name)
        if not isinstance(emojis, list):
            wrong_type(key, 'an array of emoji, e.g. ["+1", "👍"]', emojis)
        if not emojis:
            fail(key, 'give at least one emoji (a short name such as "+1" or a unicode emoji)')
        for index, emoji in enumerate(emojis):
            if not isinstance(emoji, str):
                wrong_type(join_key(key, index), "a string", emoji)
            if not normalize_emoji(emoji):
                fail(join_key(key, index), "must not be empty")
            if normalize_emoji(emoji) == HANDSHAKE:
                fail(
                    join_key(key, index), f"{show(emoji)} is reserved for co-sponsoring a proposal"
                )
        overrides[Stance(stance_name)] = list(emojis)
    # The same emoji may not mean two stances, whether listed here or kept by default.
    owner: dict[str, tuple[Stance, bool]] = {}
    for stance in Stance:
        given = stance in overrides
        for emoji in overrides.get(stance, DEFAULT_EMOJI[stance]):
            emoji_key = normalize_emoji(emoji)
            other, other_given = owner.setdefault(emoji_key, (stance, given))
            if other is stance:
                continue
            if given and other_given:
                fail(
                    join_key(at, stance.value),
                    f"{show(emoji)} is also listed for {other.value}; "
                    "an emoji can mean only one stance",
                )
            listed, default = (stance, other) if given else (other, stance)
            fail(
                join_key(at, listed.value),
                f"{show(emoji_key)} is one of {default.value}'s default emoji and an emoji "
                f"can mean only one stance; also give {default.value} its own list without it",
            )
    return build_emoji_map(overrides)
