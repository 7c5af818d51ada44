"""A `circlebot simulate` scenario file → `Scenario`.

The scenario's `[circle]` is read by the same reader as a config's `[[circles]]` entry,
so every key means the same and is refused with the same message; the proposal and the
events are read with the same value readers. Times must carry a time zone and stay well
inside the calendar, because the engine adds spans of up to 100 years to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bot.config.circles import parse_circle
from bot.config.errors import ConfigError, fail
from bot.config.toml import read_toml
from bot.config.values import (
    check_keys,
    join_key,
    name_key,
    required_string,
    show,
    table,
    table_list,
    type_name,
)
from bot.domain.circle import CircleSpec
from bot.domain.durations import iso

TOP_KEYS = ("circle", "proposal", "events")
PROPOSAL_KEYS = ("author", "text", "opened_at", "deadline")
EVENT_KEYS = ("at", "user", "react", "unreact", "command", "text", "until", "proxy")
EVENT_ACTIONS = ("react", "unreact", "command")
EVENT_COMMANDS = ("amend", "withdraw", "cosponsor", "close", "outcome", "away", "back")
_TEXT_COMMANDS = ("amend", "outcome")  # the commands that take a text
_EXAMPLE_TIME = "2026-01-05T10:00:00Z"
# The engine adds spans of up to 100 years (reminders, reviews) to the scenario's times;
# these bounds keep every such sum inside the calendar Python can represent.
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class ScenarioError(ConfigError):
    """An invalid scenario. `str()` gives `FILE: KEY: PROBLEM` (file and key when known)."""


@dataclass(frozen=True)
class ScenarioProposal:
    author: str
    text: str
    opened_at: datetime
    deadline: datetime


@dataclass(frozen=True)
class ScenarioEvent:
    index: int
    at: datetime
    user: str
    action: str  # react | unreact | command
    value: str  # the emoji, or the command name
    text: str | None = None  # amend and outcome
    until: datetime | None = None  # away only
    proxy: str | None = None  # away only: who answers for `user` meanwhile

    @property
    def key(self) -> str:
        return f"events[{self.index}]"


@dataclass(frozen=True)
class Scenario:
    circle: CircleSpec
    proposal: ScenarioProposal
    events: tuple[ScenarioEvent, ...]
    warnings: tuple[str, ...]


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate the TOML file at `path`. Every problem is a ScenarioError."""
    data = read_toml(path, ScenarioError)
    try:
        return parse_scenario(data)
    except ScenarioError as exc:
        raise exc.in_file(str(path)) from None


def parse_scenario(data: Mapping[str, Any]) -> Scenario:
    """Validate loaded TOML data. Raises ScenarioError (without a file name)."""
    try:
        return _scenario(data)
    except ConfigError as exc:  # from the shared readers: the same problem, as a scenario's
        raise ScenarioError(exc.problem, key=exc.key) from None


def _scenario(data: Mapping[str, Any]) -> Scenario:
    check_keys(data, "", TOP_KEYS)
    circle_table = table(data, "", "circle")
    if circle_table is None:
        fail("circle", "missing; add a [circle] table with the same keys as a [[circles]] entry")
    circle, warnings = parse_circle(circle_table, "circle")
    proposal_table = table(data, "", "proposal")
    if proposal_table is None:
        fail("proposal", "missing; add a [proposal] table with author, text, opened_at, deadline")
    proposal = _proposal(circle, proposal_table)
    events: list[ScenarioEvent] = []
    previous = proposal.opened_at
    for index, event_table in enumerate(table_list(data, "", "events")):
        event = _event(circle, index, event_table)
        if event.at < proposal.opened_at:
            fail(
                f"{event.key}.at",
                f"{iso(event.at)} is before the proposal opens (proposal.opened_at = "
                f"{iso(proposal.opened_at)})",
            )
        if event.at < previous:
            fail(
                f"{event.key}.at",
                f"must be in time order ({iso(event.at)} comes after {iso(previous)})",
            )
        previous = event.at
        events.append(event)
    return Scenario(circle, proposal, tuple(events), tuple(warnings))


def _proposal(circle: CircleSpec, data: Mapping[str, Any]) -> ScenarioProposal:
    check_keys(data, "proposal", PROPOSAL_KEYS)
    author = _member(
        circle,
        "proposal.author",
        required_string(data, "proposal", "author", "the member who opens the proposal"),
    )
    if not next(m for m in circle.members if m.name == author).is_leader:
        fail(
            "proposal.author",
            f"{show(author)} is a member with a voice; only leaders can open proposals",
        )
    text = _text(data, "proposal", "text", "the text of the proposal")
    opened_at = _moment(data, "proposal", "opened_at")
    deadline = _moment(data, "proposal", "deadline")
    if deadline <= opened_at:
        fail(
            "proposal.deadline",
            f"{iso(deadline)} must be after proposal.opened_at ({iso(opened_at)})",
        )
    return ScenarioProposal(author, text, opened_at, deadline)


def _event(circle: CircleSpec, index: int, data: Mapping[str, Any]) -> ScenarioEvent:
    key = join_key("events", index)
    check_keys(data, key, EVENT_KEYS)
    at = _moment(data, key, "at")
    user = _member(
        circle, join_key(key, "user"), required_string(data, key, "user", "the member who acts")
    )
    actions = [name for name in EVENT_ACTIONS if name in data]
    if not actions:
        fail(key, "needs one of react, unreact or command")
    if len(actions) > 1:
        fail(key, f"has both {actions[0]} and {actions[1]}; give one action per event")
    action = actions[0]
    value = required_string(data, key, action)
    text: str | None = None
    if action == "command":
        value = value.lower()
        if value not in EVENT_COMMANDS:
            fail(
                join_key(key, "command"),
                f"{show(value)} is not a scenario command; use "
                f"{', '.join(EVENT_COMMANDS)} "
                '(stances are reactions: react = "+1")',
            )
        if value == "amend":
            text = _text(data, key, "text", "amend needs the new text of the proposal")
        elif value == "outcome":
            text = _text(data, key, "text", "outcome needs the outcome statement")
    if text is None and "text" in data:
        what = f"command = {show(value)}" if action == "command" else action
        fail(join_key(key, "text"), f'only command = "amend" or "outcome" takes a text, not {what}')
    until, proxy = None, None
    if action == "command" and value == "away":
        if "until" not in data:
            fail(join_key(key, "until"), "away needs until, when the member is back")
        until = _moment(data, key, "until")
        if until <= at:
            fail(join_key(key, "until"), f"{iso(until)} must be after the event's at ({iso(at)})")
        if "proxy" in data:
            proxy = _member(
                circle,
                join_key(key, "proxy"),
                required_string(data, key, "proxy", "the leader who answers meanwhile"),
            )
    for extra in ("until", "proxy"):
        if extra in data and until is None:
            what = f"command = {show(value)}" if action == "command" else action
            fail(join_key(key, extra), f'only command = "away" takes {extra}, not {what}')
    return ScenarioEvent(index, at, user, action, value, text, until, proxy)


def _text(data: Mapping[str, Any], where: str, name: str, what: str) -> str:
    """A proposal's text: a non-empty string whose line breaks are all `\\n`, whatever
    the file's line endings."""
    text = required_string(data, where, name, what)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _member(circle: CircleSpec, key: str, name: str) -> str:
    """The member's name as the circle spells it (`Ana` or an NFD `josé` find them), the
    way the config matches admins and sides."""
    for member in circle.members:
        if name_key(member.name) == name_key(name):
            return member.name
    members = ", ".join(m.name for m in circle.members)
    fail(key, f"{show(name)} is not a member of the circle (members: {members})")


def _moment(data: Mapping[str, Any], where: str, name: str) -> datetime:
    """A TOML date-time with an offset, or an ISO string ending in Z (or an offset), in
    UTC and within the calendar the engine can compute with."""
    key = join_key(where, name)
    if name not in data:
        fail(key, f"missing; a date and time in UTC like {_EXAMPLE_TIME}")
    value = data[name]
    moment: datetime
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            fail(key, f"{show(value)} is not a date and time; write it like {_EXAMPLE_TIME}")
    elif isinstance(value, date):
        fail(key, f"{value.isoformat()} has no time of day; write it like {_EXAMPLE_TIME}")
    else:
        fail(key, f"expected a date and time like {_EXAMPLE_TIME}, got {type_name(value)}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        fail(
            key,
            f"{moment.isoformat()} has no time zone; write it in UTC with a Z, "
            f"like {_EXAMPLE_TIME}",
        )
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is past the end of the calendar
        moment = _LATEST
    if not _EARLIEST <= moment < _LATEST:
        shown = value.isoformat() if isinstance(value, datetime) else show(value)
        fail(
            key,
            f"{shown} is out of range; a scenario runs between {_EARLIEST.year} and "
            f"{_LATEST.year - 1} (e.g. {_EXAMPLE_TIME})",
        )
    return moment
