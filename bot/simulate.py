"""`circlebot simulate SCENARIO.toml`: run the real engine on a scripted scenario.

The scenario names a circle (the same keys as one `[[circles]]` entry of the config), one
proposal and a list of events in time order. The real core runs on a throw-away SQLite
database with a manual clock and no platform: the proposal is opened with a `propose`
command at `opened_at`, each event is applied at its time (deadlines that passed before it
close first), and the clock is finally run to the deadline, so deadline outcomes are
included. The result is one JSON object.
"""

from __future__ import annotations

import difflib
import json
import sys
import tempfile
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from bot import commands as cmd
from bot.circle import CircleSpec
from bot.clock import ManualClock
from bot.config import ConfigError, parse_circle, read_toml
from bot.core import Core
from bot.durations import DurationError, iso, parse_when
from bot.events import CommandEvent, ReactionEvent
from bot.redact import redact_text
from bot.refusal import Refusal
from bot.stances import HANDSHAKE, normalize_emoji
from bot.tally import Status
from storage import open_repository

PLATFORM = "sim"
TOP_KEYS = ("circle", "proposal", "events")
PROPOSAL_KEYS = ("author", "text", "opened_at", "deadline")
EVENT_KEYS = ("at", "user", "react", "unreact", "command", "text")
EVENT_ACTIONS = ("react", "unreact", "command")
EVENT_COMMANDS = ("amend", "withdraw", "cosponsor")
_EXAMPLE_TIME = "2026-01-05T10:00:00Z"
_MAX_DURATION_AMOUNT = 999_999  # what bot.durations accepts in one duration
# The engine adds spans of up to 100 years (reminders, reviews) to the scenario's times;
# these bounds keep every such sum inside the calendar Python can represent.
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST = datetime(9000, 1, 1, tzinfo=UTC)
_SHOWN_MAX = 60


class ScenarioError(ConfigError):
    """An invalid scenario. `str()` gives `FILE: KEY: PROBLEM` (file and key when known)."""


def _fail(key: str | None, problem: str) -> NoReturn:
    raise ScenarioError(problem, key=key)


# --------------------------------------------------------------------------- parsing


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
    text: str | None = None  # amend only

    @property
    def key(self) -> str:
        return f"events[{self.index}]"


@dataclass(frozen=True)
class Scenario:
    circle: CircleSpec
    proposal: ScenarioProposal
    events: tuple[ScenarioEvent, ...]
    warnings: tuple[str, ...]


def _show(value: object) -> str:
    if isinstance(value, str):
        short = value if len(value) <= _SHOWN_MAX else value[: _SHOWN_MAX - 1] + "…"
        return json.dumps(short, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return str(value)


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
    if isinstance(value, list):
        return "an array"
    if isinstance(value, datetime):
        return "a date-time"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, time):
        return "a time"
    return f"a {type(value).__name__}"


def _check_keys(data: Mapping[str, Any], where: str, known: Sequence[str]) -> None:
    for key in data:
        if key not in known:
            hint = difflib.get_close_matches(key, known, n=1)
            did_you_mean = f"did you mean {hint[0]!r}? " if hint else ""
            _fail(
                f"{where}.{key}" if where else key,
                f"unknown key; {did_you_mean}known keys: {', '.join(known)}",
            )


def _text(data: Mapping[str, Any], where: str, name: str, what: str) -> str:
    key = f"{where}.{name}"
    if name not in data:
        _fail(key, f"missing; {what}")
    value = data[name]
    if not isinstance(value, str):
        _fail(key, f"expected a string, got {_type_name(value)}")
    if not value.strip():
        _fail(key, "must not be empty")
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def _moment(data: Mapping[str, Any], where: str, name: str) -> datetime:
    """A TOML date-time with an offset, or an ISO string ending in Z (or an offset)."""
    key = f"{where}.{name}"
    if name not in data:
        _fail(key, f"missing; a date and time in UTC like {_EXAMPLE_TIME}")
    value = data[name]
    moment: datetime
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            _fail(key, f"{_show(value)} is not a date and time; write it like {_EXAMPLE_TIME}")
    elif isinstance(value, date):
        _fail(key, f"{value.isoformat()} has no time of day; write it like {_EXAMPLE_TIME}")
    else:
        _fail(key, f"expected a date and time like {_EXAMPLE_TIME}, got {_type_name(value)}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        _fail(
            key,
            f"{moment.isoformat()} has no time zone; write it in UTC with a Z, "
            f"like {_EXAMPLE_TIME}",
        )
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is past the end of the calendar
        moment = _LATEST
    if not _EARLIEST <= moment < _LATEST:
        _fail(
            key,
            f"{value.isoformat() if isinstance(value, datetime) else _show(value)} is out of "
            f"range; a scenario runs between {_EARLIEST.year} and {_LATEST.year - 1} "
            f"(e.g. {_EXAMPLE_TIME})",
        )
    return moment


def _members_list(circle: CircleSpec) -> str:
    return ", ".join(m.name for m in circle.members)


def _name_key(name: str) -> str:
    # As the config compares names: NFC, then case-folded.
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def _member(circle: CircleSpec, key: str, name: str) -> str:
    """The member's name as the circle spells it (`Ana` or an NFD `josé` find them)."""
    for member in circle.members:
        if _name_key(member.name) == _name_key(name):
            return member.name
    _fail(
        key,
        f"{_show(name)} is not a member of the circle (members: {_members_list(circle)})",
    )


def parse_scenario(data: Mapping[str, Any]) -> Scenario:
    """Validate loaded TOML data. Raises ScenarioError (without a file name)."""
    _check_keys(data, "", TOP_KEYS)
    if "circle" not in data:
        _fail("circle", "missing; add a [circle] table with the same keys as a [[circles]] entry")
    circle_data = data["circle"]
    if not isinstance(circle_data, Mapping):
        _fail("circle", f"expected a table ([circle]), got {_type_name(circle_data)}")
    try:
        circle, warnings = parse_circle(circle_data, "circle")
    except ConfigError as exc:
        raise ScenarioError(exc.problem, key=exc.key or "circle") from None

    if "proposal" not in data:
        _fail("proposal", "missing; add a [proposal] table with author, text, opened_at, deadline")
    table = data["proposal"]
    if not isinstance(table, Mapping):
        _fail("proposal", f"expected a table ([proposal]), got {_type_name(table)}")
    _check_keys(table, "proposal", PROPOSAL_KEYS)
    author = _text(table, "proposal", "author", "the member who opens the proposal")
    author = _member(circle, "proposal.author", author)
    if not next(m for m in circle.members if m.name == author).is_leader:
        _fail(
            "proposal.author",
            f"{_show(author)} is a member with a voice; only leaders can open proposals",
        )
    text = _text(table, "proposal", "text", "the text of the proposal")
    opened_at = _moment(table, "proposal", "opened_at")
    deadline = _moment(table, "proposal", "deadline")
    if deadline <= opened_at:
        _fail(
            "proposal.deadline",
            f"{iso(deadline)} must be after proposal.opened_at ({iso(opened_at)})",
        )
    proposal = ScenarioProposal(author, text, opened_at, deadline)

    raw_events = data.get("events", [])
    if not isinstance(raw_events, list):
        _fail("events", f"expected an array of tables ([[events]]), got {_type_name(raw_events)}")
    events: list[ScenarioEvent] = []
    previous = opened_at
    for index, raw in enumerate(raw_events):
        event = _event(circle, index, raw)
        if event.at < opened_at:
            _fail(
                f"{event.key}.at",
                f"{iso(event.at)} is before the proposal opens (proposal.opened_at = "
                f"{iso(opened_at)})",
            )
        if event.at < previous:
            _fail(
                f"{event.key}.at",
                f"must be in time order ({iso(event.at)} comes after {iso(previous)})",
            )
        previous = event.at
        events.append(event)
    return Scenario(circle, proposal, tuple(events), tuple(warnings))


def _event(circle: CircleSpec, index: int, raw: object) -> ScenarioEvent:
    key = f"events[{index}]"
    if not isinstance(raw, Mapping):
        _fail(key, f"expected a table ([[events]]), got {_type_name(raw)}")
    _check_keys(raw, key, EVENT_KEYS)
    at = _moment(raw, key, "at")
    user = _text(raw, key, "user", "the member who acts")
    user = _member(circle, f"{key}.user", user)
    actions = [name for name in EVENT_ACTIONS if name in raw]
    if not actions:
        _fail(key, "needs one of react, unreact or command")
    if len(actions) > 1:
        _fail(key, f"has both {actions[0]} and {actions[1]}; give one action per event")
    action = actions[0]
    value = raw[action]
    if not isinstance(value, str):
        _fail(f"{key}.{action}", f"expected a string, got {_type_name(value)}")
    value = value.strip()
    if not value:
        _fail(f"{key}.{action}", "must not be empty")
    text: str | None = None
    if action == "command":
        value = value.lower()
        if value not in EVENT_COMMANDS:
            _fail(
                f"{key}.command",
                f"{_show(value)} is not a scenario command; use amend, withdraw or cosponsor "
                '(stances are reactions: react = "+1")',
            )
        if value == "amend":
            text = _text(raw, key, "text", "amend needs the new text of the proposal")
    if text is None and "text" in raw:
        what = f"command = {_show(value)}" if action == "command" else action
        _fail(f"{key}.text", f'only command = "amend" takes a text, not {what}')
    return ScenarioEvent(index, at, user, action, value, text)


# --------------------------------------------------------------------------- loading


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate the TOML file at `path`. Every problem is a ScenarioError."""
    name = str(path)
    data = read_toml(path, ScenarioError)
    try:
        return parse_scenario(data)
    except ScenarioError as exc:
        raise exc.in_file(name) from None


# --------------------------------------------------------------------------- running


def deadline_clause(opened_at: datetime, deadline: datetime, timezone: str) -> str | None:
    """A `by WHEN` that the propose command turns back into exactly `deadline`, or None.

    A duration from `opened_at` is exact and independent of the time zone; a local date and
    time is the fallback for spans too long for one duration."""
    span = deadline - opened_at
    if span > timedelta(0) and span.microseconds == 0:
        seconds = span.days * 86400 + span.seconds
        for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
            if seconds % size == 0 and seconds // size <= _MAX_DURATION_AMOUNT:
                return f"{seconds // size}{unit}"
    zone = ZoneInfo(timezone)
    local = deadline.astimezone(zone)
    if local.microsecond:
        return None
    text = local.strftime("%Y-%m-%d %H:%M:%S")
    try:
        back = parse_when(text, opened_at, zone)
    except DurationError:
        return None
    return text if back == deadline else None


def _propose_line(scenario: Scenario) -> str:
    proposal = scenario.proposal
    clause = deadline_clause(proposal.opened_at, proposal.deadline, scenario.circle.timezone)
    if clause is None:
        _fail(
            "proposal.deadline",
            f"{iso(proposal.deadline)} cannot be given to the propose command exactly; "
            "use whole seconds",
        )
    line = f"propose {proposal.text} by {clause}"
    try:
        parsed = cmd.parse_command(line)
    except cmd.CommandError as exc:
        _fail("proposal.text", str(exc))
    if not isinstance(parsed, cmd.Propose) or parsed.text != proposal.text or parsed.review:
        _fail(
            "proposal.text",
            "ends with words the propose command reads as a clause (`review WHEN` or "
            "`by WHEN`); reword the end of the text",
        )
    return line


def _amend_line(pid: int, event: ScenarioEvent) -> str:
    assert event.text is not None
    line = f"amend {pid} {event.text}"
    try:
        parsed = cmd.parse_command(line)
    except cmd.CommandError as exc:
        _fail(f"{event.key}.text", str(exc))
    if not isinstance(parsed, cmd.Amend) or parsed.text != event.text or parsed.by:
        _fail(
            f"{event.key}.text",
            "ends with words the amend command reads as a new deadline (`by WHEN`); "
            "reword the end of the text",
        )
    return line


def _event_id(index: int) -> str:
    # Zero-padded: marks of the same instant are ordered by their event id as text.
    return f"e{index:06d}"


class _Runner:
    def __init__(self, scenario: Scenario, core: Core, clock: ManualClock) -> None:
        self.scenario = scenario
        self.core = core
        self.clock = clock
        self.warnings: list[str] = list(scenario.warnings)
        self.pid = 0

    def open(self) -> None:
        proposal = self.scenario.proposal
        line = _propose_line(self.scenario)
        self.clock.set(proposal.opened_at)
        replies = self.core.handle(
            CommandEvent(
                platform=PLATFORM,
                event_id="propose",
                channel=self.scenario.circle.name,
                user=proposal.author,
                text=line,
                at=proposal.opened_at,
            )
        )
        refused = [r.text for r in replies if not r.ok]
        if refused:
            _fail("proposal", "the core refused to open it: " + " ".join(refused))
        with self.core.repo.transaction() as tx:
            found = tx.proposals(newest_first=True, limit=1)
        if not found:
            _fail("proposal", "the core did not open it: " + " ".join(r.text for r in replies))
        self.pid = found[0].id
        opened = found[0]
        if opened.deadline != proposal.deadline or opened.text != proposal.text:
            raise RuntimeError(
                f"proposal opened as {opened.text!r} until {iso(opened.deadline)}, "
                f"not {proposal.text!r} until {iso(proposal.deadline)}"
            )

    def play(self, event: ScenarioEvent) -> None:
        self.clock.set(event.at)
        self.core.advance()
        if event.action == "command":
            self._command(event)
        else:
            self._reaction(event)

    def _reaction(self, event: ScenarioEvent) -> None:
        added = event.action == "react"
        status = Status(self.core.state(self.pid).proposal.status)
        if status.is_closed:
            self._warn(
                event,
                f"proposal #{self.pid} is already {status.value}; the reaction is recorded "
                "but changes nothing",
            )
        elif status is Status.DRAFT and not (added and normalize_emoji(event.value) == HANDSHAKE):
            self._warn(
                event,
                f"proposal #{self.pid} is a draft waiting for a co-sponsor; "
                "the reaction is not counted",
            )
        try:
            self.core.handle(
                ReactionEvent(
                    platform=PLATFORM,
                    event_id=_event_id(event.index),
                    channel=self.scenario.circle.name,
                    user=event.user,
                    emoji=event.value,
                    added=added,
                    proposal_id=self.pid,
                    at=event.at,
                )
            )
        except Refusal as exc:  # defensive: a reaction is never refused, only not counted
            self._warn(event, f"{event.action} {event.value} by {event.user} refused: {exc}")
            return
        handshake = added and normalize_emoji(event.value) == HANDSHAKE
        still_draft = self.core.state(self.pid).proposal.status == Status.DRAFT
        if status is Status.DRAFT and handshake and still_draft:
            self._warn(
                event,
                f"🤝 by {event.user} did not co-sponsor proposal #{self.pid}: a co-sponsor "
                "must be a leader of another side than the author's",
            )

    def _command(self, event: ScenarioEvent) -> None:
        if event.value == "amend":
            line = _amend_line(self.pid, event)
        else:
            line = f"{event.value} {self.pid}"
        replies = self.core.handle(
            CommandEvent(
                platform=PLATFORM,
                event_id=_event_id(event.index),
                channel=self.scenario.circle.name,
                user=event.user,
                text=line,
                at=event.at,
            )
        )
        for reply in replies:
            if not reply.ok:
                self._warn(event, f"{event.value} by {event.user} refused: {reply.text}")

    def _warn(self, event: ScenarioEvent, text: str) -> None:
        self.warnings.append(f"{event.key} ({iso(event.at)}): {text}")

    def finish(self) -> dict[str, Any]:
        deadline = self.core.state(self.pid).proposal.deadline
        self.clock.set(max(deadline, self.clock.now()))
        self.core.advance()
        state = self.core.state(self.pid)
        proposal = state.proposal
        status = Status(proposal.status)
        order = [m.name for m in self.scenario.circle.members]
        stances = {
            name: state.stances[name].value
            for name in sorted(state.stances, key=lambda n: (n not in order, order.index(n)))
        }
        result = state.result
        return {
            "status": status.value,
            "round": proposal.round,
            "decided_at": None if not status.is_closed else iso(proposal.decided_at),
            "sides": {side.side: side.to_json() for side in result.sides},
            "stances": stances,
            "proposal": {
                "id": proposal.id,
                "text": proposal.text,
                "author": proposal.author,
                "opened_at": iso(proposal.created_at),
                "deadline": iso(proposal.deadline),
                "cosponsor": proposal.cosponsor,
            },
            "leaders": {side: list(names) for side, names in state.leaders.items()},
            "objectors": list(result.objectors),
            "standing_aside": list(result.standing_aside),
            "concerns": list(result.concerns),
            "warnings": list(self.warnings),
        }


def simulate(scenario: Scenario) -> dict[str, Any]:
    """Run a parsed scenario on the real engine and a throw-away database."""
    with tempfile.TemporaryDirectory(prefix="circlebot-sim-") as folder:
        repo = open_repository(f"sqlite:///{Path(folder) / 'simulation.db'}")
        try:
            clock = ManualClock(scenario.proposal.opened_at)
            core = Core(repo, [scenario.circle], clock, platforms=())
            notes = core.start()
            runner = _Runner(scenario, core, clock)
            runner.warnings += [n.removeprefix("warning: ") for n in notes if "warning" in n]
            runner.open()
            for event in scenario.events:
                runner.play(event)
            return runner.finish()
        finally:
            repo.engine.dispose()


def run_scenario(path: str | Path) -> dict[str, Any]:
    """Load, validate and run the scenario at `path`. Raises ScenarioError when invalid."""
    scenario = load_scenario(path)
    try:
        return simulate(scenario)
    except ScenarioError as exc:
        raise exc.in_file(str(path)) from None


def main_simulate(path: str | Path) -> int:
    """`circlebot simulate FILE`: the JSON result on stdout, warnings on stderr.

    0 for any outcome; 2 for an invalid scenario; 1 if the engine itself failed."""
    try:
        result = run_scenario(path)
    except ScenarioError as exc:
        print(f"circlebot: {redact_text(str(exc))}", file=sys.stderr)
        return 2
    except Exception as exc:  # never a traceback: say what failed, briefly
        print(
            f"circlebot: {path}: internal error while running the scenario: "
            f"{type(exc).__name__}: {redact_text(str(exc))}",
            file=sys.stderr,
        )
        return 1
    for warning in result["warnings"]:
        print(f"circlebot: warning: {warning}", file=sys.stderr)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0
