"""One circle table (a `[[circles]]` entry of the config, or a scenario's `[circle]`) →
`CircleSpec`, and the list of circles of a config.

Everything that could break parity is refused here: a circle with one side, a side with
no leader, a member on an unknown side. Names are compared in NFC and without case, so
`Milpa` and `milpa`, or `josé` typed two ways, are one name.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config.checkins import parse_checkins
from bot.config.errors import fail
from bot.config.report import parse_report
from bot.config.rules import parse_rules
from bot.config.secrets import refuse_secrets
from bot.config.values import (
    check_keys,
    earlier_spelling,
    email_address,
    join_key,
    matrix_user_id,
    name_key,
    no_hidden,
    one_word,
    required_string,
    show,
    string,
    string_list,
    table_list,
    typed_name,
    wrong_type,
)
from bot.domain.circle import CircleSpec, MemberSpec, leaders_by_side
from bot.domain.i18n import DEFAULT_LANGUAGE, LANGUAGES
from bot.domain.model import Role

CIRCLE_KEYS = (
    "name",
    "slack_channel",
    "slack_team",
    "matrix_room",
    "timezone",
    "language",
    "sides",
    "admins",
    "rules",
    "members",
    "checkins",
    "report",
)
MEMBER_KEYS = ("name", "side", "role", "slack", "matrix", "language", "timezone")

# Room ids of room version 12 have no server part ("!abc…"); aliases always do.
_MATRIX_ROOM = re.compile(r"^(![^\s:]+(:[^\s:]+(:\d+)?)?|#[^\s:]+:[^\s:]+(:\d+)?)$")
_SLACK_TEAM = re.compile(r"^T[A-Z0-9]{2,}$")
_NO_CIRCLES = "at least one circle is required; add a [[circles]] table"


def parse_circle(data: Mapping[str, Any], where: str) -> tuple[CircleSpec, list[str]]:
    """Parse and validate one circle table (one `[[circles]]` entry, or a scenario's
    `[circle]`). `where` prefixes keys in messages (`circles[0]`, `circle`). Returns the
    spec and warnings; raises ConfigError (without a file name) on the first problem."""
    if not isinstance(data, Mapping):
        wrong_type(where, "a table", data)
    refuse_secrets(data, where)
    check_keys(data, where, CIRCLE_KEYS)
    warnings: list[str] = []

    name = typed_name(
        join_key(where, "name"),
        required_string(data, where, "name", "every circle needs a name"),
        "the circle's name",
        single_word=False,
    )
    slack_channel = string(data, where, "slack_channel")
    if slack_channel is not None:
        one_word(join_key(where, "slack_channel"), slack_channel, "a Slack channel id")
    slack_team = string(data, where, "slack_team")
    if slack_team is not None and not _SLACK_TEAM.match(slack_team):
        fail(
            join_key(where, "slack_team"),
            f'{show(slack_team)} is not a Slack workspace id; it looks like "T0123ABCD" '
            "(in Slack: the workspace's About page, or the start of any app's install URL)",
        )
    matrix_room = string(data, where, "matrix_room")
    if matrix_room is not None:
        no_hidden(join_key(where, "matrix_room"), matrix_room, "a Matrix room id")
        if not _MATRIX_ROOM.match(matrix_room):
            fail(
                join_key(where, "matrix_room"),
                f"{show(matrix_room)} is not a Matrix room id or alias "
                '(like "!roomid:example.org" or "#council:example.org")',
            )

    timezone = string(data, where, "timezone", default="UTC")
    assert timezone is not None
    zone = _zone(join_key(where, "timezone"), timezone)
    language = _language(data, where) or DEFAULT_LANGUAGE

    sides = _sides(data, where)
    members = _members(data, where, sides)
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
        slack_channel=slack_channel,
        matrix_room=matrix_room,
        checkins=checkins,
        report=parse_report(data, where, zone),
        language=language,
        slack_team=slack_team,
    )
    return spec, warnings


def parse_circles(data: Mapping[str, Any]) -> tuple[tuple[CircleSpec, ...], list[str]]:
    """The config's `[[circles]]`: at least one, each with its own name, Slack channel
    and Matrix room. Returns the circles and their warnings."""
    if "circles" not in data:
        fail("circles", _NO_CIRCLES)
    tables = table_list(data, "", "circles")
    if not tables:
        fail("circles", _NO_CIRCLES)
    circles: list[CircleSpec] = []
    warnings: list[str] = []
    names: dict[str, int] = {}
    channels: dict[tuple[str | None, str], int] = {}  # (workspace, channel)
    rooms: dict[str, int] = {}
    for index, table in enumerate(tables):
        where = join_key("circles", index)
        circle, circle_warnings = parse_circle(table, where)
        folded = name_key(circle.name)
        if folded in names:
            fail(
                join_key(where, "name"),
                f"{show(circle.name)} is already the name of circles[{names[folded]}]",
            )
        names[folded] = index
        if circle.slack_channel is not None:
            place = (circle.slack_team, circle.slack_channel)
            if place in channels:
                other = circles[channels[place]].name
                fail(
                    join_key(where, "slack_channel"),
                    f"{show(circle.slack_channel)} is already the channel of circle "
                    f"{show(other)}; each circle needs its own channel",
                )
            channels[place] = index
        if circle.matrix_room is not None:
            if circle.matrix_room in rooms:
                other = circles[rooms[circle.matrix_room]].name
                fail(
                    join_key(where, "matrix_room"),
                    f"{show(circle.matrix_room)} is already the room of circle "
                    f"{show(other)}; each circle needs its own room",
                )
            rooms[circle.matrix_room] = index
        circles.append(circle)
        warnings.extend(circle_warnings)
    return tuple(circles), warnings


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


def _members(data: Mapping[str, Any], where: str, sides: list[str]) -> list[MemberSpec]:
    tables = table_list(data, where, "members")
    if not tables:
        fail(
            join_key(where, "members"),
            "missing; add a [[circles.members]] table for each person, "
            "with at least one leader per side",
        )
    members: list[MemberSpec] = []
    names: dict[str, str] = {}
    slack_ids: dict[str, str] = {}
    matrix_ids: dict[str, str] = {}
    for index, table in enumerate(tables):
        at = join_key(join_key(where, "members"), index)
        check_keys(table, at, MEMBER_KEYS)
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
        slack = string(table, at, "slack")
        slack_email = None
        if slack is not None:
            if "@" in slack:  # an e-mail address, looked up in the workspace on start
                slack_email = email_address(join_key(at, "slack"), slack)
                slack, same = None, slack_email.casefold()
            else:
                one_word(join_key(at, "slack"), slack, "a Slack user id (or an e-mail address)")
                same = slack
            if same in slack_ids:
                fail(
                    join_key(at, "slack"),
                    f"{show(slack_email or slack)} is already the Slack id of {slack_ids[same]}",
                )
            slack_ids[same] = name
        matrix = string(table, at, "matrix")
        if matrix is not None:
            matrix_user_id(join_key(at, "matrix"), matrix, "@ana:example.org")
            if matrix in matrix_ids:
                fail(
                    join_key(at, "matrix"),
                    f"{show(matrix)} is already the Matrix id of {matrix_ids[matrix]}",
                )
            matrix_ids[matrix] = name
        member_zone = string(table, at, "timezone")
        if member_zone is not None:
            _zone(join_key(at, "timezone"), member_zone)
        members.append(
            MemberSpec(
                name=name,
                side=side,
                role=Role(role_text),
                slack=slack,
                matrix=matrix,
                slack_email=slack_email,
                language=_language(table, at),
                timezone=member_zone,
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
