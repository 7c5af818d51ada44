"""The pure parity tally (bot/domain/tally.py) against SPEC.md "Stances" and "Parity rules"."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.circle import Rules
from bot.domain.durations import Duration
from bot.domain.model import Mark, MarkSource, Sign, Stance, Status
from bot.domain.stances import build_emoji_map, normalize_emoji
from bot.domain.tally import (
    Tally,
    decide,
    latest_marks,
    resolve_stances,
    stance_key,
    stance_of,
    stances_from_latest,
    tally,
)

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
EMOJI = build_emoji_map()
C, K, A, X = Stance.CONSENT, Stance.CONCERN, Stance.STAND_ASIDE, Stance.OBJECT

TWO_BY_TWO = {"milpa": ["ana", "ben"], "vera": ["cy", "dee"]}
EVERYONE = [*TWO_BY_TWO["milpa"], *TWO_BY_TWO["vera"]]


def rules(
    quorum: Fraction | int | str = 1,
    min_consent: int = 1,
    early_close: bool = True,
) -> Rules:
    return Rules(quorum=Fraction(quorum), min_consent_per_side=min_consent, early_close=early_close)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


_counter = 0


def sign(emoji: str | Sign) -> Sign:
    """A platform's reaction (normalised), or one of the bot's own signs as it is."""
    return emoji if isinstance(emoji, Sign) else Sign.reaction(normalize_emoji(emoji))


def mark(
    member: str,
    emoji: str | Sign,
    minutes: float,
    added: bool = True,
    order: MarkSource | None = None,
) -> Mark:
    """A mark; the source (event id) is unique unless given."""
    global _counter
    _counter += 1
    source = order or MarkSource("test", f"e{_counter:06d}")
    return Mark(member, sign(emoji), added, at(minutes), source)


def all_(stance: Stance, names: Sequence[str] = EVERYONE) -> dict[str, Stance]:
    return dict.fromkeys(names, stance)


# --- quorum ---------------------------------------------------------------------------


def test_quorum_point_seven_of_ten_needs_seven_not_eight() -> None:
    leaders = {"a": [f"a{i}" for i in range(10)], "b": ["b0"]}
    r = rules(Fraction("0.7"))
    seven = {f"a{i}": C for i in range(7)} | {"b0": C}
    six = {f"a{i}": C for i in range(6)} | {"b0": C}
    side_a = tally(r, leaders, seven).side("a")
    assert side_a.needed == 7
    assert side_a.quorum is True
    assert side_a.consents is True
    assert tally(r, leaders, six).side("a").quorum is False
    assert tally(r, leaders, six).side("a").consents is False
    # The float pitfall the Fraction avoids (0.07 x 100 = 7.000000000000001 in floats).
    assert math.ceil(0.07 * 100) == 8
    assert (
        tally(rules(Fraction("0.07")), {"a": [f"a{i}" for i in range(100)]}, {}).side("a").needed
        == 7
    )


@pytest.mark.parametrize(
    ("quorum", "leaders", "needed"),
    [
        (Fraction(1), 1, 1),
        (Fraction(1), 2, 2),
        (Fraction(1), 5, 5),
        (Fraction(1, 2), 2, 1),
        (Fraction(1, 2), 3, 2),
        (Fraction(2, 3), 3, 2),
        (Fraction(2, 3), 4, 3),
        (Fraction("0.75"), 4, 3),
        (Fraction("0.7"), 10, 7),
        (Fraction("0.1"), 10, 1),
        (Fraction("0.01"), 3, 1),
        (Fraction("0.3"), 10, 3),
        (Fraction("0.6"), 5, 3),
        (Fraction("0.07"), 100, 7),
        (Fraction("0.57"), 100, 57),
    ],
)
def test_quorum_is_the_ceiling_of_the_exact_fraction(
    quorum: Fraction, leaders: int, needed: int
) -> None:
    names = [f"x{i}" for i in range(leaders)]
    r = rules(quorum)
    result = tally(r, {"x": names, "y": ["y0"]}, {})
    assert result.side("x").needed == needed
    just_enough = all_(C, names[:needed]) | {"y0": C}
    one_short = all_(C, names[: needed - 1]) | {"y0": C}
    assert tally(r, {"x": names, "y": ["y0"]}, just_enough).side("x").quorum is True
    assert tally(r, {"x": names, "y": ["y0"]}, one_short).side("x").quorum is False


def test_quorum_counts_every_stance_including_stand_aside_and_object() -> None:
    r = rules(1)
    stances = {"ana": A, "ben": X, "cy": K, "dee": C}
    result = tally(r, TWO_BY_TWO, stances)
    assert result.side("milpa").quorum is True
    assert result.side("milpa").responded == 2
    assert result.side("vera").quorum is True


def test_default_quorum_needs_every_leader() -> None:
    result = tally(Rules(), TWO_BY_TWO, {"ana": C, "cy": C, "dee": C})
    assert result.side("milpa").quorum is False
    assert result.side("milpa").consents is False
    assert result.side("milpa").waiting == ("ben",)
    assert result.side("vera").consents is True
    assert result.passes is False


# --- consent per side -----------------------------------------------------------------


def test_concern_counts_as_consent() -> None:
    result = tally(rules(), TWO_BY_TWO, {"ana": K, "ben": K, "cy": K, "dee": C})
    assert result.passes is True
    assert result.concerns == ("ana", "ben", "cy")
    assert result.side("milpa").consenting == 2


def test_side_whose_leaders_all_stand_aside_has_not_consented() -> None:
    result = tally(rules(), TWO_BY_TWO, {"ana": A, "ben": A, "cy": C, "dee": C})
    milpa = result.side("milpa")
    assert milpa.quorum is True
    assert milpa.consents is False
    assert result.passes is False
    assert result.blocked is False
    assert result.standing_aside == ("ana", "ben")
    assert decide(result, rules(), at_deadline=False) is None
    assert decide(result, rules(), at_deadline=True) is Status.NO_QUORUM


def test_one_consent_and_one_stand_aside_is_enough_by_default() -> None:
    result = tally(rules(), TWO_BY_TWO, {"ana": C, "ben": A, "cy": A, "dee": K})
    assert result.passes is True
    assert decide(result, rules(), at_deadline=False) is Status.PASSED


def test_min_consent_per_side() -> None:
    r = rules(min_consent=2)
    one_each = {"ana": C, "ben": A, "cy": C, "dee": C}
    result = tally(r, TWO_BY_TWO, one_each)
    assert result.side("milpa").consents is False
    assert result.side("vera").consents is True
    assert decide(result, r, at_deadline=True) is Status.NO_QUORUM
    both = {"ana": C, "ben": K, "cy": C, "dee": C}
    assert decide(tally(r, TWO_BY_TWO, both), r, at_deadline=False) is Status.PASSED


def test_min_consent_larger_than_a_side_can_never_pass() -> None:
    r = rules(min_consent=3)
    result = tally(r, TWO_BY_TWO, all_(C))
    assert result.passes is False
    assert decide(result, r, at_deadline=True) is Status.NO_QUORUM


def test_quorum_without_consent_fails_and_consent_without_quorum_fails() -> None:
    r = rules(Fraction(1, 2))
    # milpa: quorum (1 of 2) but the one answer is stand aside -> no consent.
    result = tally(r, TWO_BY_TWO, {"ana": A, "cy": C})
    assert result.side("milpa").quorum is True
    assert result.side("milpa").consents is False
    # quorum 1: one consent of two is not quorum.
    result = tally(rules(1), TWO_BY_TWO, {"ana": C, "cy": C, "dee": C})
    assert result.side("milpa").consenting == 1
    assert result.side("milpa").consents is False


# --- objections -----------------------------------------------------------------------


@pytest.mark.parametrize("objector", EVERYONE)
def test_any_single_objection_blocks(objector: str) -> None:
    stances = all_(C) | {objector: X}
    result = tally(rules(), TWO_BY_TWO, stances)
    assert result.blocked is True
    assert result.passes is False
    assert result.objectors == (objector,)
    side = "milpa" if objector in TWO_BY_TWO["milpa"] else "vera"
    assert result.side(side).consents is False
    assert result.side(side).quorum is True
    # Before the deadline an objection does not close the proposal.
    assert decide(result, rules(), at_deadline=False) is None
    assert decide(result, rules(), at_deadline=True) is Status.BLOCKED


def test_objection_blocks_even_when_quorum_is_not_reached() -> None:
    result = tally(rules(), TWO_BY_TWO, {"ana": X})
    assert decide(result, rules(), at_deadline=True) is Status.BLOCKED


def test_objection_in_a_big_side_blocks_like_in_a_small_one() -> None:
    leaders = {"big": [f"b{i}" for i in range(9)], "small": ["s0"]}
    stances = {f"b{i}": C for i in range(9)} | {"s0": X}
    result = tally(rules(), leaders, stances)
    assert decide(result, rules(), at_deadline=True) is Status.BLOCKED


# --- early close and deadline -----------------------------------------------------------


def test_early_close_only_when_every_leader_answered() -> None:
    r = rules(Fraction(1, 2))
    partial = tally(r, TWO_BY_TWO, {"ana": C, "cy": C})
    assert partial.passes is True
    assert partial.complete is False
    assert decide(partial, r, at_deadline=False) is None
    assert decide(partial, r, at_deadline=True) is Status.PASSED
    full = tally(r, TWO_BY_TWO, {"ana": C, "ben": A, "cy": C, "dee": K})
    assert full.complete is True
    assert decide(full, r, at_deadline=False) is Status.PASSED


def test_early_close_false_decides_only_at_the_deadline() -> None:
    r = rules(early_close=False)
    result = tally(r, TWO_BY_TWO, all_(C))
    assert result.passes is True
    assert result.complete is True
    assert decide(result, r, at_deadline=False) is None
    assert decide(result, r, at_deadline=True) is Status.PASSED


def test_complete_but_not_passing_stays_open_until_the_deadline() -> None:
    r = rules()
    result = tally(r, TWO_BY_TWO, {"ana": A, "ben": A, "cy": C, "dee": C})
    assert result.complete is True
    assert decide(result, r, at_deadline=False) is None


@pytest.mark.parametrize(
    ("stances", "expected"),
    [
        ({}, Status.NO_QUORUM),
        ({"ana": C, "ben": C}, Status.NO_QUORUM),
        ({"ana": C, "ben": C, "cy": C}, Status.NO_QUORUM),
        ({"ana": C, "ben": C, "cy": C, "dee": C}, Status.PASSED),
        ({"ana": C, "ben": A, "cy": K, "dee": A}, Status.PASSED),
        ({"ana": A, "ben": A, "cy": A, "dee": A}, Status.NO_QUORUM),
        ({"ana": C, "ben": C, "cy": C, "dee": X}, Status.BLOCKED),
        ({"dee": X}, Status.BLOCKED),
        ({"ana": X, "ben": X, "cy": X, "dee": X}, Status.BLOCKED),
    ],
)
def test_deadline_outcomes(stances: dict[str, Stance], expected: Status) -> None:
    assert decide(tally(rules(), TWO_BY_TWO, stances), rules(), at_deadline=True) is expected


# --- who counts -----------------------------------------------------------------------------


def test_voices_and_strangers_never_count() -> None:
    stances = {"ana": C, "ben": C, "cy": C, "eve": C, "zed": X, "newbie": X}
    result = tally(rules(), TWO_BY_TWO, stances)
    assert result.blocked is False
    assert result.objectors == ()
    assert result.side("vera").waiting == ("dee",)
    assert result.side("vera").consents is False
    assert result.side("milpa").responded == 2
    all_leaders = {name for side in result.sides for name in side.leaders}
    assert all_leaders == set(EVERYONE)


def test_side_order_and_leader_order_are_kept() -> None:
    leaders = {"vera": ["dee", "cy"], "milpa": ["ben", "ana"]}
    result = tally(rules(), leaders, {"ana": C, "ben": C, "cy": K, "dee": K})
    assert [s.side for s in result.sides] == ["vera", "milpa"]
    assert result.side("vera").concern == ("dee", "cy")
    assert result.side("milpa").consent == ("ben", "ana")


def test_side_tally_json_and_waiting() -> None:
    result = tally(rules(), TWO_BY_TWO, {"ana": K, "cy": X, "dee": A})
    assert result.side("milpa").to_json() == {
        "leaders": 2,
        "responded": 1,
        "consent": 0,
        "concern": 1,
        "stand_aside": 0,
        "object": 0,
        "quorum": False,
        "consents": False,
    }
    assert result.side("vera").to_json() == {
        "leaders": 2,
        "responded": 2,
        "consent": 0,
        "concern": 0,
        "stand_aside": 1,
        "object": 1,
        "quorum": True,
        "consents": False,
    }
    assert result.side("milpa").waiting == ("ben",)
    assert result.side("vera").waiting == ()
    assert result.complete is False


def test_status_closed_flags() -> None:
    assert {s for s in Status if s.is_closed} == {
        Status.PASSED,
        Status.BLOCKED,
        Status.NO_QUORUM,
        Status.WITHDRAWN,
    }


def test_rules_survive_their_json_round_trip() -> None:
    original = Rules(
        quorum=Fraction(7, 10),
        min_consent_per_side=2,
        early_close=False,
        require_cosponsor=True,
        default_deadline=Duration(months=1),
        reminders=(Duration(seconds=90), Duration(seconds=7200), Duration(seconds=86400 * 2)),
        emoji=build_emoji_map({Stance.CONSENT: ["heart"]}),
    )
    again = Rules.from_json(original.to_json())
    assert again == original
    assert again.quorum == Fraction(7, 10)


# --- stance resolution ------------------------------------------------------------------


def test_latest_present_mark_wins() -> None:
    marks = [mark("ana", "+1", 1), mark("ana", "raised_hand", 2), mark("ana", "thinking_face", 3)]
    assert resolve_stances(marks, EMOJI) == {"ana": K}
    # Arrival order does not matter, the time does.
    assert resolve_stances(list(reversed(marks)), EMOJI) == {"ana": K}


def test_removing_falls_back_to_the_next_most_recent_present_one() -> None:
    marks = [
        mark("ana", "+1", 1),
        mark("ana", "raised_hand", 2),
        mark("ana", "thinking_face", 3),
    ]
    assert resolve_stances([*marks, mark("ana", "thinking_face", 4, added=False)], EMOJI) == {
        "ana": X
    }
    assert resolve_stances(
        [
            *marks,
            mark("ana", "thinking_face", 4, added=False),
            mark("ana", "raised_hand", 5, added=False),
        ],
        EMOJI,
    ) == {"ana": C}
    # Removing the middle one leaves the newest.
    assert resolve_stances([*marks, mark("ana", "raised_hand", 4, added=False)], EMOJI) == {
        "ana": K
    }


def test_removing_every_stance_leaves_no_stance() -> None:
    marks = [mark("ana", "+1", 1), mark("ana", "+1", 2, added=False)]
    assert resolve_stances(marks, EMOJI) == {}


def test_re_adding_an_emoji_makes_it_the_most_recent_again() -> None:
    marks = [
        mark("ana", "+1", 1),
        mark("ana", "raised_hand", 2),
        mark("ana", "+1", 3, added=False),
        mark("ana", "+1", 4),
    ]
    assert resolve_stances(marks, EMOJI) == {"ana": C}


def test_a_removal_older_than_the_add_does_not_remove_it() -> None:
    marks = [mark("ana", "+1", 5), mark("ana", "+1", 1, added=False)]
    assert resolve_stances(marks, EMOJI) == {"ana": C}
    assert resolve_stances(list(reversed(marks)), EMOJI) == {"ana": C}


def test_non_stance_emoji_are_ignored_even_when_newest() -> None:
    marks = [
        mark("ana", "raised_hand", 1),
        mark("ana", "tada", 2),
        mark("ana", "handshake", 3),
        mark("ana", "eyes", 4),
        mark("ben", "heart", 1),
    ]
    assert resolve_stances(marks, EMOJI) == {"ana": X}


def test_skin_tones_map_like_their_base() -> None:
    marks = [mark("ana", "+1::skin-tone-3", 1), mark("ben", "👍🏽", 1), mark("cy", "✋🏿", 1)]
    assert resolve_stances(marks, EMOJI) == {"ana": C, "ben": C, "cy": X}


def test_ties_in_time_are_broken_by_the_event_order() -> None:
    marks = [
        mark("ana", "+1", 1, order=MarkSource("slack", "b")),
        mark("ana", "raised_hand", 1, order=MarkSource("slack", "a")),
    ]
    assert resolve_stances(marks, EMOJI) == {"ana": C}
    assert resolve_stances(list(reversed(marks)), EMOJI) == {"ana": C}


def test_stance_keys_behave_like_reactions() -> None:
    marks = [
        mark("ana", "+1", 1),
        mark("ana", stance_key(X), 2),
    ]
    assert resolve_stances(marks, EMOJI) == {"ana": X}
    # A newer reaction overrides an older button press...
    assert resolve_stances([*marks, mark("ana", "thinking_face", 3)], EMOJI) == {"ana": K}
    # ...and removing it falls back to the button press.
    assert resolve_stances(
        [*marks, mark("ana", "thinking_face", 3), mark("ana", "thinking_face", 4, added=False)],
        EMOJI,
    ) == {"ana": X}
    # Pressing another button replaces the first like another reaction would.
    assert resolve_stances([*marks, mark("ana", stance_key(A), 5)], EMOJI) == {"ana": A}


@pytest.mark.parametrize("stance", list(Stance))
def test_stance_key_round_trips(stance: Stance) -> None:
    m = mark("ana", stance_key(stance), 1)
    assert stance_of(m, {}) is stance
    assert resolve_stances([m], {}) == {"ana": stance}


def test_custom_emoji_map() -> None:
    custom = build_emoji_map({Stance.CONSENT: ["heart"], Stance.OBJECT: ["-1"]})
    marks = [mark("ana", "❤️", 1), mark("ben", "+1", 1), mark("cy", "👎🏽", 1)]
    assert resolve_stances(marks, custom) == {"ana": C, "cy": X}


def test_latest_marks_keeps_one_per_member_and_emoji() -> None:
    a1 = mark("ana", "+1", 1)
    a2 = mark("ana", "+1", 3, added=False)
    b1 = mark("ana", "tada", 2)
    latest = latest_marks([a2, a1, b1, a1])
    assert latest == {("ana", "test", sign("+1")): a2, ("ana", "test", sign("tada")): b1}
    assert stances_from_latest(latest.values(), EMOJI) == {}


def test_the_same_emoji_on_two_platforms_are_two_reactions() -> None:
    """A circle in both a Slack channel and a Matrix room: removing 👍 in one place
    leaves the 👍 in the other."""
    on_slack = mark("ana", "+1", 1, order=MarkSource("slack", "1"))
    on_matrix = mark("ana", "+1", 2, order=MarkSource("matrix", "$a"))
    removed_on_matrix = mark("ana", "+1", 3, added=False, order=MarkSource("matrix", "$b"))
    assert resolve_stances([on_slack, on_matrix, removed_on_matrix], EMOJI) == {"ana": C}
    removed_on_slack = mark("ana", "+1", 4, added=False, order=MarkSource("slack", "2"))
    assert resolve_stances([on_slack, on_matrix, removed_on_slack], EMOJI) == {"ana": C}
    assert resolve_stances([on_slack, removed_on_slack, removed_on_matrix], EMOJI) == {}


# --- an independent reading of SPEC.md, to compare the tally with -------------------------


def spec_outcome(
    r: Rules,
    leaders: Mapping[str, Sequence[str]],
    stances: Mapping[str, Stance],
    at_deadline: bool,
) -> Status | None:
    consents: list[bool] = []
    any_object = False
    everyone_answered = True
    for names in leaders.values():
        answers = [stances[n] for n in names if n in stances]
        if len(answers) < len(names):
            everyone_answered = False
        # |responded| >= q x |L|, in integers: no rounding anywhere.
        quorum = len(answers) * r.quorum.denominator >= r.quorum.numerator * len(names)
        objects = X in answers
        any_object |= objects
        consenting = sum(1 for a in answers if a in (C, K))
        consents.append(quorum and not objects and consenting >= r.min_consent_per_side)
    passes = all(consents)
    if not at_deadline:
        return Status.PASSED if r.early_close and everyone_answered and passes else None
    if any_object:
        return Status.BLOCKED
    return Status.PASSED if passes else Status.NO_QUORUM


leader_sets = st.lists(st.integers(min_value=1, max_value=5), min_size=2, max_size=4).map(
    lambda sizes: {f"s{i}": [f"s{i}l{j}" for j in range(n)] for i, n in enumerate(sizes)}
)
rule_sets = st.builds(
    rules,
    quorum=st.fractions(min_value=Fraction(1, 20), max_value=1, max_denominator=20).filter(
        lambda q: q > 0
    ),
    min_consent=st.integers(min_value=1, max_value=3),  # config refuses 0
    early_close=st.booleans(),
)


@st.composite
def situations(draw: st.DrawFn) -> tuple[Rules, dict[str, list[str]], dict[str, Stance]]:
    r = draw(rule_sets)
    leaders = draw(leader_sets)
    everyone = [n for names in leaders.values() for n in names] + ["voice1", "stranger"]
    stances = draw(
        st.dictionaries(st.sampled_from(everyone), st.sampled_from(list(Stance)), max_size=12)
    )
    return r, leaders, stances


@settings(max_examples=300, deadline=None)
@given(situations(), st.booleans())
def test_tally_agrees_with_an_independent_reading_of_the_spec(
    situation: tuple[Rules, dict[str, list[str]], dict[str, Stance]], at_deadline: bool
) -> None:
    r, leaders, stances = situation
    result = tally(r, leaders, stances)
    assert decide(result, r, at_deadline=at_deadline) is spec_outcome(
        r, leaders, stances, at_deadline
    )


@settings(max_examples=300, deadline=None)
@given(situations())
def test_never_passed_while_a_leader_objects(
    situation: tuple[Rules, dict[str, list[str]], dict[str, Stance]],
) -> None:
    r, leaders, stances = situation
    result = tally(r, leaders, stances)
    leader_objects = any(stances.get(n) is X for names in leaders.values() for n in names)
    for at_deadline in (False, True):
        outcome = decide(result, r, at_deadline=at_deadline)
        if leader_objects:
            assert outcome is not Status.PASSED
    if leader_objects:
        # (d) an objection never closes a proposal before its deadline...
        assert decide(result, r, at_deadline=False) is None
        # ...and at the deadline it blocks.
        assert decide(result, r, at_deadline=True) is Status.BLOCKED


@settings(max_examples=200, deadline=None)
@given(situations())
def test_voices_never_change_the_tally(
    situation: tuple[Rules, dict[str, list[str]], dict[str, Stance]],
) -> None:
    r, leaders, stances = situation
    leader_names = {n for names in leaders.values() for n in names}
    only_leaders = {n: s for n, s in stances.items() if n in leader_names}
    assert tally(r, leaders, stances) == tally(r, leaders, only_leaders)


# --- properties of stance resolution -----------------------------------------------------

MEMBERS = ["ana", "ben", "cy", "dee", "eve"]
EMOJIS = [
    "+1",
    "+1::skin-tone-3",
    "👍🏽",
    "white_check_mark",
    "thinking_face",
    "neutral_face",
    "raised_hand",
    "✋🏿",
    "octagonal_sign",
    "tada",
    "handshake",
    stance_key(C),
    stance_key(X),
    stance_key(A),
]


@st.composite
def mark_sets(draw: st.DrawFn) -> list[Mark]:
    """Distinct marks: each has its own event id (as (platform, event_id) is unique);
    times are coarse so that ties happen."""
    raw = draw(
        st.lists(
            st.tuples(
                st.sampled_from(MEMBERS),
                st.sampled_from(EMOJIS),
                st.booleans(),
                st.integers(min_value=0, max_value=8),
            ),
            max_size=30,
        )
    )
    ids = draw(st.permutations(range(len(raw))))
    return [
        Mark(member, sign(emoji), added, at(minute), MarkSource("console", f"{ids[i]:03d}"))
        for i, (member, emoji, added, minute) in enumerate(raw)
    ]


@settings(max_examples=300, deadline=None)
@given(mark_sets(), st.randoms(use_true_random=False), st.data())
def test_any_shuffle_and_duplication_gives_the_same_stances_and_tally(
    marks: list[Mark], rnd: random.Random, data: st.DataObject
) -> None:
    duplicated = marks + [rnd.choice(marks) for _ in range(len(marks) // 2)] if marks else []
    rnd.shuffle(duplicated)
    r = data.draw(rule_sets)
    expected = resolve_stances(marks, EMOJI)
    got = resolve_stances(duplicated, EMOJI)
    assert got == expected
    leaders = {"milpa": ["ana", "ben"], "vera": ["cy", "dee"]}
    assert tally(r, leaders, got) == tally(r, leaders, expected)
    assert latest_marks(duplicated) == latest_marks(marks)


@settings(max_examples=300, deadline=None)
@given(mark_sets(), st.randoms(use_true_random=False))
def test_incremental_register_equals_resolving_the_whole_set(
    marks: list[Mark], rnd: random.Random
) -> None:
    arrival = list(marks)
    rnd.shuffle(arrival)
    register: dict[tuple[str, Sign], Mark] = {}
    for m in arrival:  # what the live `marks` table does, one event at a time
        current = register.get((m.member, m.sign))
        if current is None or m.position > current.position:
            register[(m.member, m.sign)] = m
        # At every step the incremental state equals the batch over what arrived so far.
        seen = arrival[: arrival.index(m) + 1]
        assert stances_from_latest(register.values(), EMOJI) == resolve_stances(seen, EMOJI)
    assert stances_from_latest(register.values(), EMOJI) == resolve_stances(marks, EMOJI)


@settings(max_examples=300, deadline=None)
@given(mark_sets())
def test_resolution_matches_a_literal_reading_of_the_spec(marks: list[Mark]) -> None:
    """Per member: replay each emoji's add/remove in time order; the stance is that of
    the present stance emoji whose last add is the newest."""
    expected: dict[str, Stance] = {}
    for member in {m.member for m in marks}:
        present: dict[Sign, tuple[datetime, MarkSource]] = {}
        for m in sorted((m for m in marks if m.member == member), key=lambda m: m.position):
            if m.added:
                present[m.sign] = m.position
            else:
                present.pop(m.sign, None)
        candidates = [
            (position, stance_of(Mark(member, what, True, T0, MarkSource("", "")), EMOJI))
            for what, position in present.items()
        ]
        candidates = [(p, s) for p, s in candidates if s is not None]
        if candidates:
            expected[member] = max(candidates, key=lambda c: c[0])[1]  # type: ignore[assignment]
    assert resolve_stances(marks, EMOJI) == expected


def test_tally_type_is_value_comparable() -> None:
    a = tally(rules(), TWO_BY_TWO, {"ana": C})
    b = tally(rules(), TWO_BY_TWO, {"ana": C})
    assert isinstance(a, Tally)
    assert a == b
    assert a != tally(rules(), TWO_BY_TWO, {"ana": K})
