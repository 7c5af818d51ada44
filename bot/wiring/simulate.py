"""`circlebot simulate SCENARIO.toml`: run the real engine on a scripted scenario.

The scenario names a circle (the same keys as one `[[circles]]` entry of the config), one
proposal and a list of events in time order. The real core runs on a throw-away SQLite
database with a manual clock and no platform: the proposal is opened with a `propose`
command at `opened_at`, each event is applied at its time (deadlines that passed before it
close first), and the clock is finally run to the deadline, so deadline outcomes are
included. The result is one JSON object.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from bot.config.scenario import (
    Scenario,
    ScenarioError,
    ScenarioEvent,
    ScenarioProposal,
    load_scenario,
    parse_scenario,
)
from bot.domain import intents
from bot.domain.clock import ManualClock
from bot.domain.durations import DurationError, iso, parse_when
from bot.domain.events import CommandEvent, ReactionEvent
from bot.domain.model import Status
from bot.domain.refusal import Refusal
from bot.domain.stances import HANDSHAKE, normalize_emoji
from bot.handlers.core import Core
from bot.handlers.engine import Engine
from bot.ports.store import Store
from bot.text.parsing import CommandError, parse_command

# The scenario is read by bot.config.scenario; these names stay importable from here.
__all__ = [
    "Scenario",
    "ScenarioError",
    "ScenarioEvent",
    "ScenarioProposal",
    "deadline_clause",
    "load_scenario",
    "parse_scenario",
    "simulate",
]

PLATFORM = "sim"
_MAX_DURATION_AMOUNT = 999_999  # what bot.domain.durations accepts in one duration


def _fail(key: str, problem: str) -> NoReturn:
    raise ScenarioError(problem, key=key)


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
        parsed = parse_command(line)
    except CommandError as exc:
        _fail("proposal.text", str(exc))
    if not isinstance(parsed, intents.Propose) or parsed.text != proposal.text or parsed.review:
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
        parsed = parse_command(line)
    except CommandError as exc:
        _fail(f"{event.key}.text", str(exc))
    if not isinstance(parsed, intents.Amend) or parsed.text != event.text or parsed.by:
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
    def __init__(self, scenario: Scenario, core: Engine, clock: ManualClock) -> None:
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
        with self.core.ctx.store.transaction() as tx:
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
        elif event.value == "outcome":
            line = f"outcome {self.pid} {event.text}"
        elif event.value == "away":
            assert event.until is not None
            clause = deadline_clause(event.at, event.until, self.scenario.circle.timezone)
            if clause is None:
                _fail(f"{event.key}.until", "use whole seconds")
            line = f"away {clause}" + (f" proxy {event.proxy}" if event.proxy else "")
        elif event.value == "back":
            line = "back"
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
        status = proposal.status
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
            "proxied": {name: state.proxied[name] for name in stances if name in state.proxied},
            "proposal": {
                "id": proposal.id,
                "text": proposal.text,
                "author": proposal.author,
                "opened_at": iso(proposal.created_at),
                "deadline": iso(proposal.deadline),
                "cosponsor": proposal.cosponsor,
                "closed_by": proposal.closed_by,
                "statement": proposal.statement,
            },
            "leaders": {side: list(names) for side, names in state.leaders.items()},
            "objectors": list(result.objectors),
            "standing_aside": list(result.standing_aside),
            "concerns": list(result.concerns),
            "warnings": list(self.warnings),
        }


def simulate(scenario: Scenario, store: Store) -> dict[str, Any]:
    """Run a parsed scenario on the real engine, on `store` (a throw-away database)."""
    clock = ManualClock(scenario.proposal.opened_at)
    core = Core(store, [scenario.circle], clock, platforms=())
    notes = core.start()
    runner = _Runner(scenario, core, clock)
    runner.warnings += [n.removeprefix("warning: ") for n in notes if "warning" in n]
    runner.open()
    for event in scenario.events:
        runner.play(event)
    return runner.finish()
