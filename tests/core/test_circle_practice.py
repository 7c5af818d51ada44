"""Circle practice in the core: `close ID`, `outcome ID TEXT`, proxies within a side
(`away UNTIL proxy USER`), and `decisions [N] [WORDS]`. Expected behaviour is SPEC.md's
("Close now", "Outcome statement", "Proxy")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.model import Stance, Status
from bot.queries import posts
from bot.text.render_text import card_text, outcome_text

Harness = Any  # tests/core/conftest.py: Harness (fixtures h, hdb, make_harness)
HarnessFactory = Any
T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
CIRCLE = "council"


# --- close ID ------------------------------------------------------------------------


def test_close_decides_now_by_the_deadline_rule_and_says_who_closed_it(
    make_harness: HarnessFactory, db_url: str
) -> None:
    hdb = make_harness(url=db_url, early_close=False)
    pid = hdb.propose("ben")
    for name in ("ana", "ben", "cy", "dee"):
        hdb.react(name, "+1", pid)
    assert hdb.proposal(pid).status is Status.OPEN
    hdb.tick(hours=1)
    reply = hdb.ok("ben", f"close {pid}")
    assert reply.startswith(f"Proposal #{pid} is closed: passed.")
    proposal = hdb.proposal(pid)
    assert proposal.status is Status.PASSED
    assert proposal.closed_by == "ben"
    assert proposal.decided_at == hdb.clock.now()
    assert len(hdb.outcomes(pid)) == 1
    text = outcome_text(posts.outcome(hdb.core.ctx, pid))
    assert "Closed before its deadline by ben." in text
    [row] = hdb.history(kind="outcome", proposal_id=pid)
    assert row["detail"] == {"status": "passed", "closed_by": "ben"}
    assert hdb.history(kind="close", proposal_id=pid)[0]["actor"] == "ben"


@pytest.mark.parametrize(
    ("answers", "status"),
    [
        ({"ana": "+1", "cy": "hand"}, Status.BLOCKED),
        ({"ana": "+1", "cy": "+1"}, Status.PASSED),
        ({"ana": "+1"}, Status.NO_QUORUM),
        ({}, Status.NO_QUORUM),
    ],
)
def test_close_gives_what_the_deadline_would(
    make_harness: HarnessFactory, answers: dict[str, str], status: Status
) -> None:
    # Quorum of half: one leader per side is enough, as at the deadline.
    h = make_harness(quorum=0.5)
    pid = h.propose()
    for name, emoji in answers.items():
        h.react(name, emoji, pid)
    h.ok("ana", f"close {pid}")
    assert h.proposal(pid).status is status


def test_an_admin_may_close_someone_elses_proposal_but_nobody_else(h: Harness) -> None:
    pid = h.propose("ben")
    before = h.snapshot()
    refused = h.refused("cy", f"close {pid}")
    assert refused == f"Only the author (ben) or an admin can close #{pid}."
    assert h.snapshot() == before
    h.ok("ana", f"close {pid}")  # ana is the circle's admin
    assert h.proposal(pid).closed_by == "ana"


def test_closing_twice_or_an_unknown_proposal_is_refused(h: Harness) -> None:
    pid = h.propose()
    h.ok("ana", f"close {pid}")
    before = h.snapshot()
    assert "already closed" in h.refused("ana", f"close {pid}")
    assert "There is no proposal #99" in h.refused("ana", "close 99")
    assert h.snapshot() == before


def test_a_closed_proposal_has_no_reminder_or_deadline_left(h: Harness) -> None:
    pid = h.propose()
    assert h.core.jobs([pid])[pid] is not None
    h.ok("ana", f"close {pid}")
    assert h.core.jobs([pid])[pid] is None
    h.advance_to(T0 + timedelta(days=4))  # past the reminders and the deadline
    assert len(h.outcomes(pid)) == 1
    assert not [m for m in h.pending() if m.proposal_id == pid and m.payload.get("reminder")]


def test_a_draft_closed_now_closes_without_quorum(make_harness: HarnessFactory) -> None:
    h = make_harness(require_cosponsor=True)
    pid = h.propose()
    h.ok("ana", f"close {pid}")
    assert h.proposal(pid).status is Status.NO_QUORUM


def test_cerrar_in_spanish(h: Harness) -> None:
    pid = h.propose()
    assert "closed" in h.ok("ana", f"cerrar {pid}")


# --- outcome ID TEXT -----------------------------------------------------------------


def test_an_outcome_statement_is_posted_shown_and_every_version_kept(hdb: Harness) -> None:
    pid = hdb.propose("ben")
    hdb.ok("ben", f"close {pid}")
    first = hdb.ok("ben", f"outcome {pid} We adopt it; ana drafts the letter by Friday")
    assert first == f"The outcome statement of #{pid} is saved and posted in its thread."
    hdb.tick(minutes=5)
    second = hdb.ok("ana", f"outcome {pid} We adopt it; cy drafts the letter by Monday")
    assert "replaced" in second
    assert hdb.proposal(pid).statement == "We adopt it; cy drafts the letter by Monday"
    rows = hdb.history(kind="statement", proposal_id=pid)
    assert [(r["actor"], r["detail"]["text"]) for r in rows] == [
        ("ben", "We adopt it; ana drafts the letter by Friday"),
        ("ana", "We adopt it; cy drafts the letter by Monday"),
    ]
    assert rows[1]["detail"]["previous"] == "We adopt it; ana drafts the letter by Friday"
    notices = [n for n in hdb.notices(pid) if n.startswith("📝")]
    assert notices == [
        f"📝 Outcome statement of proposal #{pid}, from @ben: "
        "We adopt it; ana drafts the letter by Friday",
        f"📝 Outcome statement of proposal #{pid}, from @ana: "
        "We adopt it; cy drafts the letter by Monday",
    ]
    card = posts.card(hdb.core.ctx, pid)
    assert card.statement == "We adopt it; cy drafts the letter by Monday"
    assert "Outcome statement: We adopt it; cy drafts the letter by Monday" in card_text(card)
    assert "Outcome statement: We adopt it; cy drafts" in hdb.ok("dee", f"status {pid}")
    assert "Outcome statement: We adopt it; cy drafts" in hdb.ok("dee", "decisions")


def test_an_outcome_on_an_open_proposal_is_refused_and_changes_nothing(h: Harness) -> None:
    pid = h.propose()
    before = h.snapshot()
    refused = h.refused("ana", f"outcome {pid} Done")
    assert refused == (
        f"Proposal #{pid} is not closed yet (open): its outcome statement comes once it is "
        f"(`close {pid}` closes it now)."
    )
    assert h.snapshot() == before


def test_only_the_author_or_an_admin_writes_the_outcome(h: Harness) -> None:
    pid = h.propose("ben")
    h.ok("ben", f"close {pid}")
    before = h.snapshot()
    assert h.refused("dee", f"outcome {pid} Mine") == (
        f"Only the author (ben) or an admin can write the outcome statement of #{pid}."
    )
    assert "needs the outcome statement" in h.refused("ben", f"outcome {pid}")
    assert h.snapshot() == before


def test_resultado_in_spanish(h: Harness) -> None:
    pid = h.propose()
    h.ok("ana", f"cerrar {pid}")
    h.ok("ana", f"resultado {pid} Aprobada; ben escribe la carta")
    assert h.proposal(pid).statement == "Aprobada; ben escribe la carta"


# --- proxies -------------------------------------------------------------------------


@pytest.fixture
def hp(make_harness: HarnessFactory) -> Harness:
    return make_harness(allow_proxy=True)


def test_a_proxys_stance_counts_for_the_away_leader(hp: Harness) -> None:
    pid = hp.propose("cy")
    reply = hp.ok("ana", "away 1w proxy ben")
    assert "ben answers for you meanwhile" in reply
    assert f"open proposal #{pid} too" in reply
    hp.react("ben", "+1", pid)
    state = hp.state(pid)
    assert state.stances["ana"] is Stance.CONSENT
    assert state.proxied == {"ana": "ben"}
    milpa = state.result.side("milpa")
    assert milpa.consenting == 2 and not milpa.waiting
    card = posts.card(hp.core.ctx, pid)
    assert "By proxy: ben (for ana)" in card_text(card)
    assert "by proxy: ben (for ana)" in hp.ok("dee", f"status {pid}")
    # The history alone gives the same tally.
    rebuilt = hp.rebuilt_state(pid)
    assert rebuilt.stances == state.stances and rebuilt.proxied == state.proxied


def test_the_away_leaders_own_answer_always_wins(hp: Harness) -> None:
    pid = hp.propose("cy")
    hp.ok("ana", "away 1w proxy ben")
    hp.react("ben", "+1", pid)
    hp.react("ana", "hand", pid)
    state = hp.state(pid)
    assert state.stances["ana"] is Stance.OBJECT
    assert state.proxied == {}
    hp.react("ana", "hand", pid, added=False)  # ana takes her answer back: ben's counts again
    assert hp.state(pid).stances["ana"] is Stance.CONSENT


def test_a_proxy_can_close_a_proposal_early_when_the_rule_holds(hp: Harness) -> None:
    pid = hp.propose("cy")
    for name in ("ben", "cy", "dee"):
        hp.react(name, "+1", pid)
    assert hp.proposal(pid).status is Status.OPEN  # ana has not answered
    hp.ok("ana", "away 3d proxy ben")  # ben's consent now counts for ana too
    assert hp.proposal(pid).status is Status.PASSED
    outcome = outcome_text(posts.outcome(hp.core.ctx, pid))
    assert "ben (for ana)" not in outcome or "Objected" not in outcome


def test_an_objection_by_proxy_is_shown_as_such(hp: Harness) -> None:
    pid = hp.propose("cy")
    hp.ok("ana", "away 3d proxy ben")
    hp.react("ben", "hand", pid)
    hp.advance_to(hp.proposal(pid).deadline)
    assert hp.proposal(pid).status is Status.BLOCKED
    text = outcome_text(posts.outcome(hp.core.ctx, pid))
    assert "Objected: ben (for ana), ben" in text


def test_a_proxy_named_before_a_proposal_opens_joins_its_round(hp: Harness) -> None:
    hp.ok("ana", "away 1w proxy ben")
    pid = hp.propose("cy")
    hp.react("ben", "+1", pid)
    assert hp.state(pid).proxied == {"ana": "ben"}
    [row] = hp.history(kind="proxy", proposal_id=pid)
    assert row["member"] == "ana" and row["detail"] == {"proxy": "ben"}


def test_a_proxy_stays_with_its_round_after_back_but_not_for_the_next(hp: Harness) -> None:
    pid = hp.propose("cy")
    hp.ok("ana", "away 1w proxy ben")
    reply = hp.ok("ana", "back")
    assert "keep ben as your proxy until they close" in reply
    hp.react("ben", "+1", pid)
    assert hp.state(pid).proxied == {"ana": "ben"}  # frozen with the round
    later = hp.propose("cy", "Another one")
    hp.react("ben", "+1", later)
    assert hp.state(later).proxied == {}


def test_an_amendment_opens_a_round_with_the_proxies_of_those_still_away(hp: Harness) -> None:
    pid = hp.propose("cy")
    hp.ok("ana", "away 1w proxy ben")
    hp.ok("cy", f"amend {pid} Adopt the revised policy")
    hp.react("ben", "+1", pid)
    state = hp.state(pid)
    assert state.proposal.round == 2 and state.proxied == {"ana": "ben"}


@pytest.mark.parametrize(
    ("user", "text", "refusal"),
    [
        ("ana", "away 1w proxy cy", "cy is on vera. A proxy must be a leader of your own side"),
        ("ana", "away 1w proxy eve", "eve is a member with a voice, not a leader"),
        ("ana", "away 1w proxy ana", "You can't be your own proxy."),
        ("ana", "away 1w proxy zed", '"zed" is not a member of this circle.'),
        ("eve", "away 1w proxy ben", "Only leaders can name a proxy"),
    ],
)
def test_proxy_refusals_change_nothing(hp: Harness, user: str, text: str, refusal: str) -> None:
    pid = hp.propose("cy")
    before = hp.snapshot()
    assert refusal in hp.refused(user, text)
    assert hp.snapshot() == before
    assert hp.state(pid).proxied == {}


def test_a_proxy_when_the_rule_is_off_is_refused(h: Harness) -> None:
    h.propose("cy")
    before = h.snapshot()
    assert h.refused("ana", "away 1w proxy ben") == (
        "This circle does not use proxies: its rule allow_proxy is off."
    )
    assert h.snapshot() == before


def test_a_proxy_never_moves_weight_to_another_side_even_if_sides_change(hp: Harness) -> None:
    pid = hp.propose("cy")
    hp.ok("ana", "away 1w proxy ben")
    hp.ok("ana", "circle add ben vera")  # ben moves side: from the next round on
    hp.react("ben", "+1", pid)
    # In this round ben is still a leader of milpa, as the round froze him.
    assert hp.state(pid).proxied == {"ana": "ben"}
    later = hp.propose("cy", "Next")
    hp.react("ben", "+1", later)
    assert hp.state(later).proxied == {}  # ana's proxy is now on another side: no weight moves


def test_suplente_in_spanish_and_circle_shows_the_proxy(hp: Harness) -> None:
    hp.ok("ana", "ausente 1sem suplente ben")
    assert "ben answers for them" in hp.ok("cy", "circle")


# --- decisions [N] [WORDS] ----------------------------------------------------------


def test_decisions_search_text_and_statements_regardless_of_case_and_accents(
    h: Harness,
) -> None:
    first = h.propose("ana", "Adopt the Política de visitas")
    h.ok("ana", f"close {first}")
    second = h.propose("ana", "Buy a new projector")
    h.ok("ana", f"close {second}")
    h.ok("ana", f"outcome {second} Cy buys it; the VISITING room gets it")
    third = h.propose("ana", "Open the garden on Sundays")
    h.ok("ana", f"close {third}")
    found = h.ok("dee", "decisions politica")
    assert f"#{first}" in found and f"#{second}" not in found and f"#{third}" not in found
    found = h.ok("dee", "decisions visit")
    lines = [line for line in found.splitlines() if line.startswith("#")]
    assert [line.split()[0] for line in lines] == [f"#{second}", f"#{first}"]  # newest first
    assert found.startswith('The 2 latest decisions in council matching "visit":')
    found = h.ok("dee", "decisions 1 visit")
    assert [line.split()[0] for line in found.splitlines() if line.startswith("#")] == [
        f"#{second}"
    ]
    assert h.ok("dee", "decisions nothing-like-this") == ('No decisions match "nothing-like-this".')
    assert f"#{third}" in h.ok("dee", "decisiones 5 GARDEN súndays")


def test_decisions_search_only_finds_closed_proposals(h: Harness) -> None:
    h.propose("ana", "Still open about visiting")
    assert h.ok("dee", "decisions visiting") == 'No decisions match "visiting".'


def test_help_lists_the_new_commands(h: Harness) -> None:
    text = h.ok("dee", "help")
    for usage in ("`close ID`", "`outcome ID TEXT`", "`decisions [N] [WORDS]`"):
        assert usage in text
    assert "`away UNTIL [proxy USER]`" in text


@pytest.mark.parametrize("typed", ["proxy:ben", "stance:consent", "stance:bogus", "literal:x"])
def test_a_reaction_that_looks_like_the_bots_own_marks_sets_nothing(
    make_harness: HarnessFactory, typed: str
) -> None:
    # Matrix lets people react with any text: `proxy:ben` must not name a proxy, nor
    # `stance:consent` answer, nor anything unknown break the event.
    h = make_harness(allow_proxy=False)
    pid = h.propose("cy")
    for name in ("ben", "cy", "dee"):
        h.react(name, "+1", pid)
    h.react("ana", typed, pid)
    state = h.state(pid)
    assert state.proxied == {} and "ana" not in state.stances
    assert h.proposal(pid).status is Status.OPEN
    [row] = h.history(kind="reaction", member="ana")
    assert (row["mark"], row["emoji"]) == ("reaction", typed)  # kept, as a plain emoji
    h.react("ana", typed, pid, added=False)  # and taken back like one
    assert "ana" not in h.state(pid).stances


def test_a_proxy_rule_turned_on_mid_round_applies_from_the_next_round(
    make_harness: HarnessFactory, make_spec: Any
) -> None:
    h = make_harness()  # allow_proxy off
    pid = h.propose("cy")
    h.restart([make_spec(allow_proxy=True)])
    assert "ben answers for you" in h.ok("ana", "away 1w proxy ben")
    h.react("ben", "+1", pid)
    assert h.state(pid).proxied == {}  # the round froze the rule off
    later = h.propose("cy", "Next")
    h.react("ben", "+1", later)
    assert h.state(later).proxied == {"ana": "ben"}
