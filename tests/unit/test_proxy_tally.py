"""Proxies in the parity tally (bot.domain.tally.with_proxies), as properties: a proxy never
changes another side's tally, never moves weight between sides, and an away leader's own
answer always wins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.circle import Rules
from bot.domain.model import Mark, MarkSource, Stance
from bot.domain.tally import count_marks, proxy_key, stance_key, tally, with_proxies

LEADERS = {"milpa": ["ana", "ben", "eli"], "vera": ["cy", "dee"], "sur": ["fay"]}
NAMES = [name for names in LEADERS.values() for name in names]
SIDE_OF = {name: side for side, names in LEADERS.items() for name in names}

stances = st.dictionaries(st.sampled_from(NAMES), st.sampled_from(list(Stance)))
proxies = st.dictionaries(st.sampled_from(NAMES), st.sampled_from([*NAMES, "zed"]))
rules = st.builds(
    Rules,
    quorum=st.sampled_from([1, 0.5]),
    min_consent_per_side=st.integers(1, 2),
)


@settings(max_examples=300)
@given(stances, proxies, st.sampled_from(NAMES), st.sampled_from(NAMES), rules)
def test_adding_a_proxy_never_changes_another_sides_tally(
    own: dict[str, Stance], named: dict[str, str], away: str, proxy: str, rule: Rules
) -> None:
    before = tally(rule, LEADERS, with_proxies(LEADERS, own, named).stances)
    after = tally(rule, LEADERS, with_proxies(LEADERS, own, {**named, away: proxy}).stances)
    for side in LEADERS:
        if side != SIDE_OF[away]:
            assert after.side(side) == before.side(side)


@settings(max_examples=300)
@given(stances, proxies)
def test_an_away_leaders_own_answer_always_wins(
    own: dict[str, Stance], named: dict[str, str]
) -> None:
    counted = with_proxies(LEADERS, own, named)
    for name, stance in own.items():
        assert counted.stances[name] is stance
        assert name not in counted.proxied


@settings(max_examples=300)
@given(stances, proxies)
def test_a_proxy_counts_only_within_one_side_and_only_their_own_stance(
    own: dict[str, Stance], named: dict[str, str]
) -> None:
    counted = with_proxies(LEADERS, own, named)
    for away, proxy in counted.proxied.items():
        assert SIDE_OF[away] == SIDE_OF[proxy]
        assert away != proxy
        assert counted.stances[away] is own[proxy]  # a proxy's own, never a proxied one
    # Every counted stance is someone's own or a same-side proxy's.
    assert set(counted.stances) == set(own) | set(counted.proxied)


@settings(max_examples=200)
@given(stances, proxies)
def test_no_side_counts_more_answers_than_it_has_leaders(
    own: dict[str, Stance], named: dict[str, str]
) -> None:
    result = tally(Rules(), LEADERS, with_proxies(LEADERS, own, named).stances)
    for side in result.sides:
        assert side.responded <= len(side.leaders)


def test_proxies_from_marks_the_newest_named_wins_and_stances_ignore_them() -> None:
    t = datetime(2026, 1, 5, tzinfo=UTC)
    marks = [
        Mark("ana", proxy_key("ben"), True, t, MarkSource("core", "1")),
        Mark("ana", proxy_key("eli"), True, t + timedelta(minutes=1), MarkSource("core", "2")),
        Mark("eli", stance_key(Stance.OBJECT), True, t, MarkSource("console", "3")),
        Mark("ben", stance_key(Stance.CONSENT), True, t, MarkSource("console", "4")),
    ]
    counted = count_marks(marks, Rules(allow_proxy=True), LEADERS)
    assert counted.proxied == {"ana": "eli"}
    assert count_marks(marks, Rules(), LEADERS).proxied == {}  # the rule off: none
    forged = [
        *marks,
        Mark("ana", proxy_key("ben"), True, t + timedelta(hours=1), MarkSource("matrix", "9")),
    ]
    assert count_marks(forged, Rules(allow_proxy=True), LEADERS).proxied == {"ana": "eli"}
    assert counted.stances == {
        "ana": Stance.OBJECT,
        "eli": Stance.OBJECT,
        "ben": Stance.CONSENT,
    }
