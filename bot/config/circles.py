"""One circle table (a `[[circles]]` entry of the config, or a scenario's `[circle]`) →
`CircleSpec`, and the list of circles of a config.

Everything that could break parity is refused here: a circle with one side, a side with
no leader, a member on an unknown side. Names are compared in NFC and without case, so
`Milpa` and `milpa`, or `josé` typed two ways, are one name.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError

from bot.config.checkins import parse_checkins
from bot.config.errors import fail
from bot.config.platforms import PlatformConfig
from bot.config.report import parse_report
from bot.config.rules import parse_rules
from bot.config.secrets import refuse_secrets
from bot.config.values import (
    check_keys,
    earlier_spelling,
    join_key,
    name_key,
    no_hidden,
    required_string,
    show,
    string,
    string_list,
    table_list,
    typed_name,
    wrong_type,
)
from bot.domain.circle import Channel, CircleSpec, MemberSpec, leaders_by_side
from bot.domain.i18n import DEFAULT_LANGUAGE, DEFAULT_LOCALES, LANGUAGES
from bot.domain.model import Role

# The keys every circle may have; each platform's plug-in adds its own.
CIRCLE_KEYS = (
    "name",
    "timezone",
    "language",
    "locale",
    "sides",
    "admins",
    "rules",
    "members",
    "checkins",
    "report",
)
MEMBER_KEYS = ("name", "side", "role", "language", "timezone", "locale")
_NO_CIRCLES = "at least one circle is required; add a [[circles]] table"


def parse_circle(
    data: Mapping[str, Any], where: str, platforms: Sequence[PlatformConfig] | None = None
) -> tuple[CircleSpec, list[str]]:
    """Parse and validate one circle table (one `[[circles]]` entry, or a scenario's
    `[circle]`). `where` prefixes keys in messages (`circles[0]`, `circle`); `platforms`
    read their own keys (None: the installed platforms). Returns the spec and warnings;
    raises ConfigError (without a file name) on the first problem."""
    if platforms is None:
        from bot.config.plugins import installed_configs

        platforms = installed_configs()
    if not isinstance(data, Mapping):
        wrong_type(where, "a table", data)
    refuse_secrets(data, where)
    check_keys(data, where, CIRCLE_KEYS + tuple(k for p in platforms for k in p.circle_keys))
    warnings: list[str] = []

    name = typed_name(
        join_key(where, "name"),
        required_string(data, where, "name", "every circle needs a name"),
        "the circle's name",
        single_word=False,
    )
    channels: dict[str, Channel] = {}
    for platform in sorted(platforms, key=lambda p: _first_key(data, p.circle_keys)):
        channel = platform.read_channel(data, where)
        if channel is not None:
            channels[platform.name] = channel

    timezone = string(data, where, "timezone", default="UTC")
    assert timezone is not None
    zone = _zone(join_key(where, "timezone"), timezone)
    language = _language(data, where) or DEFAULT_LANGUAGE
    locale = _locale(data, where, language)

    sides = _sides(data, where)
    members = _members(data, where, sides, platforms, language)
    leaders = leaders_by_side(sides, members)
    for side, names in leaders.items():
        if not names:
            fail(
                join_key(where, "members"),
                f"side {show(side)} has no leader; every side needs at least one leader "
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
    rules = parse_rules(data, where, counts)
    checkins, checkin_warnings = parse_checkins(data, where, zone)
    warnings.extend(checkin_warnings)

    spec = CircleSpec(
        name=name,
        sides=tuple(sides),
        members=tuple(members),
        timezone=timezone,
        admins=tuple(admins),
        rules=rules,
        channels=channels,
        checkins=checkins,
        report=parse_report(data, where, zone),
        language=language,
        locale=locale,
    )
    return spec, warnings


def _first_key(data: Mapping[str, Any], keys: Sequence[str]) -> int:
    """Where the first of `keys` stands in the table (its channels keep the file's order)."""
    order = list(data)
    return min((order.index(key) for key in keys if key in data), default=len(order))


def parse_circles(
    data: Mapping[str, Any], platforms: Sequence[PlatformConfig]
) -> tuple[tuple[CircleSpec, ...], list[str]]:
    """The config's `[[circles]]`: at least one, each with its own name, and its own
    channel on each platform. Returns the circles and their warnings."""
    if "circles" not in data:
        fail("circles", _NO_CIRCLES)
    tables = table_list(data, "", "circles")
    if not tables:
        fail("circles", _NO_CIRCLES)
    circles: list[CircleSpec] = []
    warnings: list[str] = []
    names: dict[str, int] = {}
    places: dict[tuple[str, str | None, str], int] = {}  # (platform, workspace, channel)
    configs = {platform.name: platform for platform in platforms}
    for index, table in enumerate(tables):
        where = join_key("circles", index)
        circle, circle_warnings = parse_circle(table, where, platforms)
        folded = name_key(circle.name)
        if folded in names:
            fail(
                join_key(where, "name"),
                f"{show(circle.name)} is already the name of circles[{names[folded]}]",
            )
        names[folded] = index
        for name, channel in circle.channels.items():
            place = (name, channel.workspace, channel.id)
            if place in places:
                other = circles[places[place]].name
                config = configs[name]
                fail(
                    join_key(where, config.channel_key),
                    f"{show(channel.id)} is already the {config.channel_word} of circle "
                    f"{show(other)}; each circle needs its own {config.channel_word}",
                )
            places[place] = index
        circles.append(circle)
        warnings.extend(circle_warnings)
    return tuple(circles), warnings


def _locale(data: Mapping[str, Any], where: str, language: str) -> str | None:
    """`locale = "es_MX"`: how dates and times are written, a CLDR locale of `language`."""
    code = string(data, where, "locale")
    if code is None:
        return None
    try:
        found = Locale.parse(code)
    except (ValueError, UnknownLocaleError):
        found = None
    if found is None or found.language != language:
        fail(
            join_key(where, "locale"),
            f"{show(code)} is not a locale of the language {show(language)}; use one like "
            f"{show(DEFAULT_LOCALES.get(language, language))}",
        )
    return str(found)


def _language(data: Mapping[str, Any], where: str) -> str | None:
    """`language = "es"`: one of the languages the bot has a catalogue for."""
    code = string(data, where, "language")
    if code is not None and code not in LANGUAGES:
        fail(
            join_key(where, "language"),
            f"{show(code)} is not a language circlebot speaks; use one of "
            f"{', '.join(repr(known) for known in LANGUAGES)}",
        )
    return code


# Names ZoneInfo opens that are no place's zone: the host's own (`localtime`, whatever
# the machine is set to), the template of POSIX TZ strings, and tzdata's placeholder,
# whose offset is 0 with the abbreviation `-00`.
_NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})


@functools.cache
def _zone_names() -> frozenset[str]:
    """The IANA zone names a circle or member may use. Without `posix/`, `right/` or
    file paths, which available_timezones() already leaves out."""
    return frozenset(zoneinfo.available_timezones()) - _NOT_PLACES


def _zone(key: str, name: str) -> ZoneInfo:
    try:
        if name not in _zone_names():
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        fail(
            key,
            f"{show(name)} is not a known time zone; use an IANA name such as "
            '"America/Los_Angeles", "Europe/Paris" or "UTC"',
        )


def _sides(data: Mapping[str, Any], where: str) -> list[str]:
    key = join_key(where, "sides")
    listed = string_list(
        data,
        where,
        "sides",
        required=True,
        what='list the partner organisations, e.g. sides = ["milpa", "vera"]',
    )
    assert listed is not None
    sides = [
        typed_name(join_key(key, index), side, "a side name") for index, side in enumerate(listed)
    ]
    seen: dict[str, str] = {}
    for index, side in enumerate(sides):
        if earlier_spelling(seen, side) is not None:
            fail(join_key(key, index), f"side {show(side)} is listed twice")
    if len(sides) < 2:
        fail(
            key,
            f"a circle needs at least two sides (partner organisations), got {len(sides)}; "
            "parity means no side decides alone",
        )
    return sides


def _members(
    data: Mapping[str, Any],
    where: str,
    sides: list[str],
    platforms: Sequence[PlatformConfig],
    circle_language: str,
) -> list[MemberSpec]:
    tables = table_list(data, where, "members")
    if not tables:
        fail(
            join_key(where, "members"),
            "missing; add a [[circles.members]] table for each person, "
            "with at least one leader per side",
        )
    members: list[MemberSpec] = []
    names: dict[str, str] = {}
    taken: dict[tuple[str, str], str] = {}  # (platform, id or folded address) -> member
    keys = MEMBER_KEYS + tuple(k for p in platforms for k in p.member_keys)
    for index, table in enumerate(tables):
        at = join_key(join_key(where, "members"), index)
        check_keys(table, at, keys)
        name = typed_name(
            join_key(at, "name"),
            required_string(table, at, "name", "every member needs a name"),
            "a member name",
        )
        earlier = earlier_spelling(names, name)
        if earlier is not None:
            same = "" if earlier == name else f" (as {show(earlier)})"
            fail(join_key(at, "name"), f"{show(name)} is already a member of this circle{same}")
        side_text = required_string(table, at, "side", f"use one of {', '.join(sides)}")
        # The side as the circle spells it: "Milpa" and an NFD "josé" name a listed side.
        side = next((s for s in sides if name_key(s) == name_key(side_text)), None)
        if side is None:
            fail(join_key(at, "side"), f"{show(side_text)} is not one of {', '.join(sides)}")
        role_text = string(table, at, "role", default=Role.LEADER.value)
        assert role_text is not None
        if role_text not in (Role.LEADER.value, Role.MEMBER.value):
            fail(
                join_key(at, "role"),
                f'{show(role_text)} is not a role; use "leader" (votes) or "member" '
                "(a voice, no vote)",
            )
        handles: dict[str, str] = {}
        to_resolve: dict[str, str] = {}
        for platform in platforms:
            given = platform.read_member(table, at)
            if given is None:
                continue
            same = given.handle or (given.to_resolve or "").casefold()
            if (platform.name, same) in taken:
                fail(
                    join_key(at, given.key),
                    f"{show(given.handle or given.to_resolve or '')} is already the "
                    f"{platform.title} id of {taken[(platform.name, same)]}",
                )
            taken[(platform.name, same)] = name
            if given.handle is not None:
                handles[platform.name] = given.handle
            if given.to_resolve is not None:
                to_resolve[platform.name] = given.to_resolve
        member_language = _language(table, at)
        member_zone = string(table, at, "timezone")
        if member_zone is not None:
            _zone(join_key(at, "timezone"), member_zone)
        members.append(
            MemberSpec(
                name=name,
                side=side,
                role=Role(role_text),
                handles=handles,
                to_resolve=to_resolve,
                language=member_language,
                timezone=member_zone,
                locale=_locale(table, at, member_language or circle_language),
            )
        )
    return members


def _admins(data: Mapping[str, Any], where: str, members: list[MemberSpec]) -> list[str]:
    key = join_key(where, "admins")
    given = string_list(data, where, "admins", required=False, what="") or []
    known = {name_key(m.name): m.name for m in members}
    admins: list[str] = []
    for index, text in enumerate(given):
        admin = no_hidden(join_key(key, index), text, "a member name")
        if name_key(admin) not in known:
            fail(
                join_key(key, index),
                f"{show(admin)} is not a member of this circle; admins are member names "
                f"({', '.join(known.values())})",
            )
        # Stored as the member's own spelling, so that later comparisons are exact.
        if known[name_key(admin)] in admins:
            fail(join_key(key, index), f"{show(admin)} is listed twice")
        admins.append(known[name_key(admin)])
    return admins
