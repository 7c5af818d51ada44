"""The circle's own report: per side, over a period, what the history says about how
power is shared (SPEC: "The circle's own report"). Pure: typed history records in,
figures out; no database, no clock.

A proposal, its rounds, stances and reminders count when the proposal opened in the
period; a check-in when it was posted in it. Records of one proposal are read in the
order the history keeps them; records of different proposals never affect each other."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, NamedTuple

from bot.domain.durations import Duration, iso
from bot.domain.model import Stance, Status

DEFAULT_PERIOD = Duration(seconds=90 * 86400)

# -- what the report reads: the history, as typed records ------------------------------


@dataclass(frozen=True)
class Opened:
    """A proposal was opened (as a draft or for consent)."""

    proposal_id: int
    author: str
    at: datetime
    deadline: datetime


@dataclass(frozen=True)
class RoundOpened:
    """A round opened, with the leaders (by side) and reminder offsets it froze."""

    proposal_id: int
    round: int
    at: datetime
    leaders: Mapping[str, tuple[str, ...]]
    reminders: tuple[Duration, ...] = ()


class StanceMark(NamedTuple):
    """A stance given (`added`) or taken back by a member on a round; only marks that
    counted are records. (A tuple: a long history has hundreds of thousands.)"""

    proposal_id: int
    round: int
    member: str
    stance: Stance
    added: bool
    at: datetime


@dataclass(frozen=True)
class Cosponsored:
    proposal_id: int
    member: str
    at: datetime


@dataclass(frozen=True)
class Amended:
    proposal_id: int
    actor: str
    at: datetime
    deadline: datetime


@dataclass(frozen=True)
class Closed:
    proposal_id: int
    status: Status
    at: datetime


ProposalRecord = Opened | RoundOpened | StanceMark | Cosponsored | Amended | Closed


@dataclass(frozen=True)
class CheckinHeld:
    """A check-in: who facilitated it, who was asked (name, side) and who replied."""

    posted_at: datetime
    facilitator: str | None
    facilitator_side: str | None
    asked: tuple[tuple[str, str], ...]
    replied: frozenset[str]


# -- what it says ------------------------------------------------------------------------


@dataclass
class Figures:
    """One side's (or one person's) figures; the field order is the JSON's."""

    authored: int = 0
    passed: int = 0
    blocked: int = 0
    no_quorum: int = 0
    withdrawn: int = 0
    objections: int = 0
    concerns: int = 0
    objections_then_amended: int = 0
    asked: int = 0
    answered_in_time: int = 0
    median_answer_seconds: int | None = None
    reminders: int = 0
    leaders_asked: int = 0
    facilitated: int = 0
    checkin_prompts: int = 0
    checkin_replies: int = 0
    cosponsored_other_side: int = 0
    amended_after_other_side: int = 0

    def to_json(self) -> dict[str, int | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def reminders_per_leader(self) -> float | None:
        return self.reminders / self.leaders_asked if self.leaders_asked else None


@dataclass(frozen=True)
class CircleReport:
    circle: str
    since: datetime
    until: datetime
    sides: Mapping[str, Figures]

    def to_json(self) -> dict[str, Any]:
        return {
            "circle": self.circle,
            "since": iso(self.since),
            "until": iso(self.until),
            "sides": {side: figures.to_json() for side, figures in self.sides.items()},
        }


# Figures that add up across sides: a side holding more than two thirds of one is said
# in a plain sentence.
SHARED_FIGURES = (
    "authored",
    "objections",
    "concerns",
    "facilitated",
    "checkin_replies",
    "cosponsored_other_side",
    "amended_after_other_side",
)


@dataclass(frozen=True)
class Dominance:
    figure: str
    side: str
    value: int
    total: int


def dominance(report: CircleReport) -> list[Dominance]:
    """Each shared figure where one side's share is above two thirds of the total."""
    found = []
    for figure in SHARED_FIGURES:
        values = {side: int(getattr(f, figure)) for side, f in report.sides.items()}
        total = sum(values.values())
        for side, value in values.items():
            if total and 3 * value > 2 * total:
                found.append(Dominance(figure, side, value, total))
    return found


# -- computing it --------------------------------------------------------------------------

# Who a figure is counted for: (name, their side) -> the key of the figures, or None.
Owner = Callable[[str, str | None], str | None]


@dataclass
class _Round:
    opened_at: datetime
    leaders: dict[str, str]  # name -> side, as frozen
    reminders: tuple[Duration, ...]
    deadline: datetime
    first_stance: dict[str, datetime] = field(default_factory=dict)
    objectors: dict[str, datetime] = field(default_factory=dict)
    concerned: dict[str, datetime] = field(default_factory=dict)
    closed_at: datetime | None = None
    amended: bool = False


class _Tally:
    """Figures being added up, by owner."""

    def __init__(self, owners: Iterable[str]) -> None:
        self.figures: dict[str, Figures] = {owner: Figures() for owner in owners}
        self.waits: dict[str, list[float]] = defaultdict(list)
        self.leaders: dict[str, set[str]] = defaultdict(set)

    def add(self, owner: str | None, figure: str, by: int = 1) -> None:
        if owner is not None and owner in self.figures:
            figures = self.figures[owner]
            setattr(figures, figure, getattr(figures, figure) + by)

    def finish(self) -> dict[str, Figures]:
        for owner, figures in self.figures.items():
            waits = self.waits.get(owner)
            figures.median_answer_seconds = round(statistics.median(waits)) if waits else None
            figures.leaders_asked = len(self.leaders.get(owner, ()))
        return self.figures


def compute(
    records: Iterable[ProposalRecord],
    checkins: Iterable[CheckinHeld],
    side_of: Mapping[str, str],
    owners: Sequence[str],
    since: datetime,
    until: datetime,
    owner: Owner | None = None,
) -> dict[str, Figures]:
    """The figures of each of `owners` (the sides, unless `owner` says otherwise) over
    [since, until). `side_of` gives a person's side when no round froze it."""
    own: Owner = owner or (lambda _name, side: side)
    tally = _Tally(owners)
    by_proposal: dict[int, list[ProposalRecord]] = defaultdict(list)
    for record in records:
        by_proposal[record.proposal_id].append(record)
    for history in by_proposal.values():
        _proposal(history, side_of, since, until, own, tally)
    for checkin in checkins:
        if since <= checkin.posted_at < until:
            _checkin(checkin, own, tally)
    return tally.finish()


def report(
    circle: str,
    sides: Sequence[str],
    records: Iterable[ProposalRecord],
    checkins: Iterable[CheckinHeld],
    side_of: Mapping[str, str],
    since: datetime,
    until: datetime,
) -> CircleReport:
    figures = compute(records, checkins, side_of, sides, since, until)
    return CircleReport(circle, since, until, {side: figures[side] for side in sides})


def own_figures(
    person: str,
    records: Iterable[ProposalRecord],
    checkins: Iterable[CheckinHeld],
    side_of: Mapping[str, str],
    since: datetime,
    until: datetime,
) -> Figures:
    """One person's own figures (for them alone): as a side's, counting only what they
    did; "another side" still means a side other than theirs."""
    figures = compute(
        records,
        checkins,
        side_of,
        [person],
        since,
        until,
        owner=lambda name, _side: person if name == person else None,
    )
    return figures[person]


def _proposal(
    history: Sequence[ProposalRecord],
    side_of: Mapping[str, str],
    since: datetime,
    until: datetime,
    own: Owner,
    tally: _Tally,
) -> None:
    opened = next((r for r in history if isinstance(r, Opened)), None)
    if opened is None or not since <= opened.at < until:
        return
    author, author_side = opened.author, side_of.get(opened.author)
    tally.add(own(author, author_side), "authored")
    deadline = opened.deadline
    rounds: list[_Round] = []
    numbers: dict[int, _Round] = {}

    def close_current(at: datetime) -> None:
        if rounds and rounds[-1].closed_at is None:
            rounds[-1].closed_at = at

    for record in history:
        kind = type(record)
        if kind is StanceMark:
            mark: StanceMark = record  # type: ignore[assignment]
            marked = numbers.get(mark.round)
            if not mark.added or marked is None or marked.closed_at is not None:
                continue
            if mark.member not in marked.first_stance:
                marked.first_stance[mark.member] = mark.at
            if mark.stance is Stance.OBJECT:
                marked.objectors.setdefault(mark.member, mark.at)
            elif mark.stance is Stance.CONCERN:
                marked.concerned.setdefault(mark.member, mark.at)
        elif isinstance(record, RoundOpened):
            close_current(record.at)
            leaders = {n: side for side, names in record.leaders.items() for n in names}
            current = _Round(record.at, leaders, record.reminders, deadline)
            rounds.append(current)
            numbers[record.round] = current
        elif isinstance(record, Amended):
            deadline = record.deadline
            if rounds and rounds[-1].closed_at is None:
                rounds[-1].amended = True
        elif isinstance(record, Cosponsored):
            side = side_of.get(record.member)
            if side is not None and side != author_side:
                tally.add(own(record.member, side), "cosponsored_other_side")
        elif isinstance(record, Closed):
            close_current(record.at)
            tally.add(own(author, author_side), record.status.value)
    reminded: set[tuple[datetime, Duration]] = set()  # each offset once per deadline
    for current in rounds:
        _round(current, opened, author_side, side_of, own, tally, reminded)


def _round(
    current: _Round,
    opened: Opened,
    author_side: str | None,
    side_of: Mapping[str, str],
    own: Owner,
    tally: _Tally,
    reminded: set[tuple[datetime, Duration]],
) -> None:
    def side(name: str) -> str | None:
        return current.leaders.get(name) or side_of.get(name)

    for name in current.objectors:
        tally.add(own(name, side(name)), "objections")
        if current.amended:
            tally.add(own(name, side(name)), "objections_then_amended")
    for name in current.concerned:
        tally.add(own(name, side(name)), "concerns")
    raised = {side(n) for n in [*current.objectors, *current.concerned]}
    if current.amended and any(s is not None and s != author_side for s in raised):
        tally.add(own(opened.author, author_side), "amended_after_other_side")
    closed = current.closed_at
    if closed is None:
        return  # still open: nobody has been asked to the end yet
    for offset in current.reminders:
        when = offset.before(current.deadline)
        key = (current.deadline, offset)
        if key in reminded or not (current.opened_at <= when < closed) or when < opened.at:
            continue
        reminded.add(key)
        for name, leader_side in current.leaders.items():
            first = current.first_stance.get(name)
            if first is None or first > when:
                tally.add(own(name, leader_side), "reminders")
    asked: Counter[str] = Counter()
    in_time: Counter[str] = Counter()
    for name, leader_side in current.leaders.items():
        owner = own(name, leader_side)
        if owner is None or owner not in tally.figures:
            continue
        asked[owner] += 1
        tally.leaders[owner].add(name)
        first = current.first_stance.get(name)
        if first is not None and first <= closed:  # the stance that closed it early counts
            in_time[owner] += 1
            tally.waits[owner].append((first - current.opened_at).total_seconds())
    for owner, count in asked.items():
        tally.add(owner, "asked", count)
    for owner, count in in_time.items():
        tally.add(owner, "answered_in_time", count)


def _checkin(checkin: CheckinHeld, own: Owner, tally: _Tally) -> None:
    if checkin.facilitator is not None:
        tally.add(own(checkin.facilitator, checkin.facilitator_side), "facilitated")
    for name, side in checkin.asked:
        tally.add(own(name, side), "checkin_prompts")
        if name in checkin.replied:
            tally.add(own(name, side), "checkin_replies")
