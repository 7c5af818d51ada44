"""The pure decision of one answer on a round (bot.state.rounds.answer): what a reaction,
button or stance command does, from the round's frozen rules and leaders and its live
marks alone, with no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.circle import Rules
from bot.domain.model import Mark, MarkSource, Sign, Stance, Status
from bot.domain.tally import count_marks, decide, latest_marks, tally
from bot.state.rounds import Answer, Frozen, answer

T0 = datetime(2026, 1, 5, 10, tzinfo=UTC)
FROZEN = Frozen(Rules(), {"milpa": ["ana", "ben"], "vera": ["cy", "dee"]}, T0)
EMOJI = ("+1", "raised_hand", "thinking_face", "neutral_face", "eyes")


def mark(member: str, emoji: str, seconds: int, added: bool = True) -> Mark:
    at = T0 + timedelta(seconds=seconds)
    return Mark(member, Sign.reaction(emoji), added, at, MarkSource("slack", str(seconds)))


def stored(*marks: Mark) -> list[Mark]:
    return list(marks)


def test_what_does_not_count_is_recorded_with_why() -> None:
    new = mark("ana", "+1", 5)
    assert answer(Status.OPEN, FROZEN, [], new, member=False) == Answer(note="not a member")
    assert answer(Status.PASSED, None, [], new, member=True) == Answer(note="late")
    assert answer(Status.DRAFT, None, [], new, member=True) == Answer(note="draft")
    early = mark("ana", "+1", -5)  # made before the round opened
    assert answer(Status.OPEN, FROZEN, [], early, member=True).note == "earlier round"
    assert answer(Status.OPEN, FROZEN, [], new, member=True, earlier_round=True).note


def test_an_older_event_arriving_late_counts_but_changes_nothing() -> None:
    marks = stored(mark("ana", "+1", 10, added=False))
    assert answer(Status.OPEN, FROZEN, marks, mark("ana", "+1", 5), member=True) == Answer()


def test_a_second_consent_emoji_is_kept_but_shows_nothing_new() -> None:
    marks = stored(mark("ana", "+1", 1))
    decided = answer(Status.OPEN, FROZEN, marks, mark("ana", "white_check_mark", 2), member=True)
    assert decided == Answer(store=True)
    again = answer(Status.OPEN, FROZEN, marks, mark("ana", "+1", 3, added=False), member=True)
    assert again == Answer(store=True, replaces=True, changed=True)


def test_a_leaders_objection_asks_why_and_the_last_consent_closes_early() -> None:
    marks = stored(mark("ana", "+1", 1), mark("ben", "+1", 2), mark("cy", "+1", 3))
    objection = answer(Status.OPEN, FROZEN, marks, mark("dee", "raised_hand", 4), member=True)
    assert objection.objects and objection.changed and objection.outcome is None
    passed = answer(Status.OPEN, FROZEN, marks, mark("dee", "+1", 4), member=True)
    assert passed == Answer(store=True, changed=True, outcome=Status.PASSED)
    voice = answer(Status.OPEN, FROZEN, marks, mark("eve", "raised_hand", 4), member=True)
    assert voice.changed and not voice.objects  # a voice is shown, never asked


LEADERS = ["ana", "ben", "cy", "dee"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(LEADERS), st.sampled_from(EMOJI), st.booleans()), max_size=12
    ),
    st.sampled_from(LEADERS),
    st.sampled_from(EMOJI),
    st.booleans(),
    st.integers(min_value=0, max_value=12),
)
def test_it_agrees_with_counting_every_mark_again(
    earlier: list[tuple[str, str, bool]], member: str, emoji: str, added: bool, when: int
) -> None:
    """What `answer` says matches recounting the round from every mark (the newest per
    key wins): it keeps the mark exactly when it is the newest of its key, the card
    changes exactly when the member's stance does, and the outcome is the recount's."""
    marks = [mark(who, what, n, on) for n, (who, what, on) in enumerate(earlier)]
    live = stored(*latest_marks(marks).values())
    at = T0 + timedelta(seconds=when)
    new = Mark(member, Sign.reaction(emoji), added, at, MarkSource("slack", "new"))
    decided = answer(Status.OPEN, FROZEN, live, new, member=True)
    recount = latest_marks([*marks, new])
    before = count_marks(latest_marks(marks).values(), FROZEN.rules, FROZEN.leaders).stances
    after = count_marks(recount.values(), FROZEN.rules, FROZEN.leaders).stances
    assert decided.note is None
    assert decided.store == (recount[new.key] is new)
    assert decided.replaces == (decided.store and new.key in latest_marks(marks))
    assert decided.changed == (before.get(member) != after.get(member))
    assert decided.objects == (decided.changed and after.get(member) is Stance.OBJECT)
    outcome = decide(tally(FROZEN.rules, FROZEN.leaders, after), FROZEN.rules, at_deadline=False)
    assert decided.outcome == (outcome if decided.changed else None)
