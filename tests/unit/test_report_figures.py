"""The circle's own report (bot/domain/report.py) against SPEC "The circle's own report":
hand-computed histories, and properties of any history."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.durations import Duration
from bot.domain.model import Stance, Status
from bot.domain.report import (
    Amended,
    CheckinHeld,
    Closed,
    Cosponsored,
    Dominance,
    Figures,
    Opened,
    ProposalRecord,
    RoundOpened,
    StanceMark,
    dominance,
    own_figures,
    report,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SIDES = ("milpa", "vera")
LEADERS = {"milpa": ("ana", "ben"), "vera": ("cy", "dee")}
SIDE_OF = {"ana": "milpa", "ben": "milpa", "cy": "vera", "dee": "vera", "eli": "vera"}
REMINDERS = (Duration(seconds=24 * 3600), Duration(seconds=3600))
SINCE, UNTIL = T0 - timedelta(days=90), T0 + timedelta(days=30)
C, K, A, X = Stance.CONSENT, Stance.CONCERN, Stance.STAND_ASIDE, Stance.OBJECT


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def opened(pid: int, author: str, at: float = 0, deadline: float = 72) -> Opened:
    return Opened(pid, author, h(at), h(deadline))


def round_(pid: int, number: int, at: float) -> RoundOpened:
    return RoundOpened(pid, number, h(at), LEADERS, REMINDERS)


def stance(pid: int, number: int, who: str, what: Stance, at: float, added: bool = True):
    return StanceMark(pid, number, who, what, added, h(at))


def figures_of(records, checkins=(), since=SINCE, until=UNTIL):
    return report("council", SIDES, records, checkins, SIDE_OF, since, until)


AMENDED_AFTER_OBJECTION: list[ProposalRecord] = [
    opened(1, "ana"),
    round_(1, 1, 0),
    stance(1, 1, "ana", C, 1),
    stance(1, 1, "ben", C, 2),
    stance(1, 1, "cy", X, 3),
    Amended(1, "ana", h(10), h(72)),
    round_(1, 2, 10),
    stance(1, 2, "ana", C, 11),
    stance(1, 2, "ben", C, 12),
    stance(1, 2, "cy", C, 13),
    stance(1, 2, "dee", K, 50),  # after the 24h reminder (at 48h)
    Closed(1, Status.PASSED, h(50)),
]


def test_a_proposal_amended_after_another_sides_objection() -> None:
    sides = figures_of(AMENDED_AFTER_OBJECTION).sides
    assert sides["milpa"] == Figures(
        authored=1,
        passed=1,
        asked=4,
        answered_in_time=4,
        median_answer_seconds=5400,  # 1h, 2h, 1h, 2h
        leaders_asked=2,
        amended_after_other_side=1,
    )
    assert sides["vera"] == Figures(
        objections=1,
        concerns=1,
        objections_then_amended=1,
        asked=4,
        answered_in_time=3,  # dee never answered round 1
        median_answer_seconds=3 * 3600,  # 3h, 3h, 40h
        reminders=1,  # dee, at 48h in round 2
        leaders_asked=2,
    )


def test_a_draft_cosponsored_then_withdrawn_and_check_ins() -> None:
    records = [
        Opened(2, "cy", h(0), h(72)),
        Cosponsored(2, "ben", h(1)),
        round_(2, 1, 1),
        stance(2, 1, "ana", A, 1.5),
        stance(2, 1, "ana", A, 1.6, added=False),  # taken back: still answered once
        Closed(2, Status.WITHDRAWN, h(2)),
    ]
    everyone = tuple(SIDE_OF.items())
    checkins = [
        CheckinHeld(h(5), "ana", "milpa", everyone, frozenset({"ana", "cy", "eli"})),
        CheckinHeld(h(200), "dee", "vera", everyone, frozenset()),
        CheckinHeld(UNTIL, "dee", "vera", everyone, frozenset(everyone)),  # after the period
    ]
    sides = figures_of(records, checkins).sides
    assert sides["milpa"].cosponsored_other_side == 1
    assert (sides["vera"].authored, sides["vera"].withdrawn) == (1, 1)
    assert (sides["milpa"].asked, sides["milpa"].answered_in_time) == (2, 1)
    assert sides["milpa"].median_answer_seconds == 1800
    assert sides["vera"].median_answer_seconds is None
    assert (sides["milpa"].facilitated, sides["vera"].facilitated) == (1, 1)
    assert (sides["milpa"].checkin_prompts, sides["milpa"].checkin_replies) == (4, 1)
    assert (sides["vera"].checkin_prompts, sides["vera"].checkin_replies) == (6, 2)
    assert sides["milpa"].reminders == 0  # both reminders fell after the withdrawal


def test_a_proposal_opened_before_the_period_does_not_count() -> None:
    late = figures_of(AMENDED_AFTER_OBJECTION, since=h(1)).sides
    assert late["milpa"] == Figures() and late["vera"] == Figures()


def test_an_open_round_asks_nobody_yet_but_its_objections_count() -> None:
    records = [opened(3, "dee"), round_(3, 1, 0), stance(3, 1, "ana", X, 1)]
    sides = figures_of(records).sides
    assert sides["milpa"].objections == 1 and sides["milpa"].asked == 0
    assert sides["vera"].authored == 1


def test_reminders_for_one_deadline_are_not_counted_twice() -> None:
    # Round 1 got the 24h reminder; round 2 (same deadline) opened after it: not again.
    records = [
        opened(4, "ana"),
        round_(4, 1, 0),
        Amended(4, "ana", h(60), h(72)),
        round_(4, 2, 60),
        Closed(4, Status.NO_QUORUM, h(72)),
    ]
    sides = figures_of(records).sides
    assert sides["milpa"].reminders == 2 + 2  # 24h (round 1) and 1h (round 2), each leader
    assert sides["milpa"].no_quorum == 1


# The figures of a side in SPEC's JSON, in its order.
SPEC_FIGURES = [
    "authored",
    "passed",
    "blocked",
    "no_quorum",
    "withdrawn",
    "objections",
    "concerns",
    "objections_then_amended",
    "asked",
    "answered_in_time",
    "median_answer_seconds",
    "reminders",
    "leaders_asked",
    "facilitated",
    "checkin_prompts",
    "checkin_replies",
    "cosponsored_other_side",
    "amended_after_other_side",
]


def test_json_shape_is_the_spec_s() -> None:
    data = figures_of(AMENDED_AFTER_OBJECTION).to_json()
    assert list(data) == ["circle", "since", "until", "sides"]
    assert data["since"] == "2025-12-02T09:00:00Z"
    assert list(data["sides"]["milpa"]) == SPEC_FIGURES


def test_a_side_over_two_thirds_is_said() -> None:
    records = [opened(p, "ana") for p in range(1, 9)] + [opened(p, "cy") for p in (9, 10)]
    found = dominance(figures_of(records))
    assert Dominance("authored", "milpa", 8, 10) in found
    even = [opened(p, "ana") for p in (1, 2)] + [opened(3, "cy")]  # exactly two thirds
    assert not any(d.figure == "authored" for d in dominance(figures_of(even)))


def test_own_figures_count_only_that_person() -> None:
    mine = own_figures("dee", AMENDED_AFTER_OBJECTION, (), SIDE_OF, SINCE, UNTIL)
    assert (mine.asked, mine.answered_in_time, mine.reminders, mine.concerns) == (2, 1, 1, 1)
    assert mine.median_answer_seconds == 40 * 3600 and mine.authored == 0


# -- any history ------------------------------------------------------------------------

PEOPLE = sorted(SIDE_OF)
statuses = st.sampled_from(list(Status)[2:])


@st.composite
def proposal_history(draw: st.DrawFn, pid: int) -> list[ProposalRecord]:
    start = draw(st.integers(0, 200))
    author = draw(st.sampled_from(PEOPLE))
    records: list[ProposalRecord] = [opened(pid, author, start, start + 72)]
    clock = float(start)
    rounds = draw(st.integers(0, 3))
    for number in range(1, rounds + 1):
        if number > 1:
            records.append(Amended(pid, author, h(clock), h(start + 72)))
        records.append(round_(pid, number, clock))
        for _ in range(draw(st.integers(0, 6))):
            clock += draw(st.integers(0, 30))
            who = draw(st.sampled_from(PEOPLE))
            records.append(
                stance(
                    pid,
                    number,
                    who,
                    draw(st.sampled_from(list(Stance))),
                    clock,
                    draw(st.booleans()),
                )
            )
        if draw(st.booleans()) and number == 1:
            records.append(Cosponsored(pid, draw(st.sampled_from(PEOPLE)), h(clock)))
    if rounds and draw(st.booleans()):
        records.append(Closed(pid, draw(statuses), h(clock + draw(st.integers(0, 80)))))
    return records


@st.composite
def histories(draw: st.DrawFn) -> list[list[ProposalRecord]]:
    count = draw(st.integers(0, 5))
    return [draw(proposal_history(pid)) for pid in range(1, count + 1)]


def interleave(proposals: list[list[ProposalRecord]], seed: int) -> list[ProposalRecord]:
    """The proposals' records mixed together, each proposal's in its own order."""
    rng = random.Random(seed)
    queues = [list(p) for p in proposals if p]
    merged: list[ProposalRecord] = []
    while queues:
        queue = rng.choice(queues)
        merged.append(queue.pop(0))
        if not queue:
            queues.remove(queue)
    return merged


@settings(max_examples=150, deadline=None)
@given(histories(), st.integers(0, 10_000))
def test_interleaving_independent_proposals_changes_nothing(proposals, seed) -> None:
    in_order = [record for p in proposals for record in p]
    assert figures_of(in_order) == figures_of(interleave(proposals, seed))


CROSS_SIDE = ("amended_after_other_side",)


@settings(max_examples=150, deadline=None)
@given(histories(), st.data())
def test_another_sides_stances_do_not_change_a_sides_own_figures(proposals, data) -> None:
    before = figures_of([r for p in proposals for r in p]).sides["milpa"]
    extra = [
        r._replace(member=data.draw(st.sampled_from(["cy", "dee", "eli"])))
        for p in proposals
        for r in p
        if isinstance(r, StanceMark)
    ]
    with_extra = [
        r
        for p in proposals
        for r in (*p[:-1], *[e for e in extra if e.proposal_id == p[0].proposal_id], p[-1])
    ]
    after = figures_of(with_extra).sides["milpa"]
    for name in CROSS_SIDE:
        setattr(before, name, 0)
        setattr(after, name, 0)
    assert before == after


# The figures a side's people add up to: all of SPEC's but a median, the check-in ones
# (these histories hold no check-ins) and the amendments after another side's answer.
NOT_SUMMED = {
    "median_answer_seconds",
    "facilitated",
    "checkin_prompts",
    "checkin_replies",
    "amended_after_other_side",
}
ADDITIVE = tuple(figure for figure in SPEC_FIGURES if figure not in NOT_SUMMED)


@settings(max_examples=150, deadline=None)
@given(histories())
def test_each_persons_figures_add_up_to_their_sides(proposals) -> None:
    records = [r for p in proposals for r in p]
    sides = figures_of(records).sides
    for side in SIDES:
        people = [name for name, s in SIDE_OF.items() if s == side]
        own = [own_figures(n, records, (), SIDE_OF, SINCE, UNTIL) for n in people]
        for figure in ADDITIVE:
            assert sum(getattr(f, figure) for f in own) == getattr(sides[side], figure), figure


@settings(max_examples=150, deadline=None)
@given(histories())
def test_figures_stay_within_their_bounds(proposals) -> None:
    records = [r for p in proposals for r in p]
    sides = figures_of(records).sides
    assert sum(f.authored for f in sides.values()) == len(proposals)
    for f in sides.values():
        assert f.passed + f.blocked + f.no_quorum + f.withdrawn <= f.authored
        assert f.answered_in_time <= f.asked
        assert f.objections_then_amended <= f.objections
        assert (f.median_answer_seconds is None) == (f.answered_in_time == 0)
        assert f.checkin_replies <= f.checkin_prompts
