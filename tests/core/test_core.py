"""The core end to end: commands, reactions and deadlines over a real database, with time
moved by a ManualClock. Expected behaviour is SPEC.md's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain import intents
from bot.domain.circle import Channel, CircleSpec, MemberSpec
from bot.domain.events import CommandEvent, ReactionEvent
from bot.domain.model import Mark, MarkSource, Role, Sign, Stance, Status
from bot.domain.stances import normalize_emoji
from bot.domain.tally import resolve_stances, tally
from bot.handlers import reactions
from bot.queries import posts

Harness = Any  # tests/core/conftest.py: Harness (fixtures h, hdb, make_harness)
HarnessFactory = Any
T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # the harness clock's start
CIRCLE = "council"
C, K, A, X = Stance.CONSENT, Stance.CONCERN, Stance.STAND_ASIDE, Stance.OBJECT
DEADLINE = T0 + timedelta(hours=72)
LEADERS = ("ana", "ben", "cy", "dee")


def everyone_consents(h: Harness, pid: int, step: timedelta = timedelta(minutes=1)) -> datetime:
    """Each leader reacts 👍 in turn; returns the time of the last reaction."""
    moment: datetime = h.clock.now()
    for name in LEADERS:
        moment += step
        h.react(name, "+1", pid, at=moment)
    return moment


# --- start-up -----------------------------------------------------------------------------


def test_start_records_the_configured_members(h: Harness) -> None:
    assert [m.name for m in h.core.directory.members(CIRCLE)] == ["ana", "ben", "cy", "dee", "eve"]
    added = h.history(kind="member_add")
    assert sorted(r["member"] for r in added) == ["ana", "ben", "cy", "dee", "eve"]
    assert {r["platform"] for r in added} == {"config"}
    assert len(h.start_notes) == 5


# --- propose ------------------------------------------------------------------------------


def test_propose_opens_round_one_with_the_default_deadline(hdb: Harness) -> None:
    h = hdb
    reply = h.ok("ana", "propose Adopt the visiting policy")
    assert reply == "Proposal #1 is open until Thu, Jan 8, 2026, 2:00\u202fAM PST (Pacific Time)."
    p = h.proposal(1)
    assert (p.status, p.round, p.author, p.text) == ("open", 1, "ana", "Adopt the visiting policy")
    assert p.deadline == DEADLINE
    assert p.created_at == T0
    assert p.decided_at is None
    state = h.state(1)
    assert state.leaders == {"milpa": ["ana", "ben"], "vera": ["cy", "dee"]}
    assert state.stances == {}
    [row] = h.history(kind="propose")
    assert (row["proposal_id"], row["actor"], row["platform"]) == (1, "ana", "console")
    assert row["detail"]["deadline"] == "2026-01-08T10:00:00Z"
    assert h.card_versions(1) == {"console": 1}


def test_the_author_is_not_assumed_to_consent(h: Harness) -> None:
    pid = h.propose("ana")
    assert h.state(pid).stances == {}
    assert h.state(pid).result.side("milpa").waiting == ("ana", "ben")


@pytest.mark.parametrize(
    ("clause", "deadline"),
    [
        ("by 3d", T0 + timedelta(days=3)),
        ("by 90s", T0 + timedelta(seconds=90)),
        ("by 2w", T0 + timedelta(weeks=2)),
        ("by 1mo", datetime(2026, 2, 5, 10, tzinfo=UTC)),
        # Local time in the circle's zone (Los Angeles, PST = UTC-8).
        ("by 2026-12-01 17:00", datetime(2026, 12, 2, 1, 0, tzinfo=UTC)),
        ("by 2026-07-01 17:00", datetime(2026, 7, 2, 0, 0, tzinfo=UTC)),
        ("by 2026-01-05 03:00", datetime(2026, 1, 5, 11, 0, tzinfo=UTC)),
        ("by 2026-01-09", datetime(2026, 1, 10, 1, 0, tzinfo=UTC)),  # day_ends, 17:00
    ],
)
def test_propose_by(h: Harness, clause: str, deadline: datetime) -> None:
    h.ok("ben", f"propose Paint the office {clause}")
    p = h.proposal(1)
    assert p.deadline == deadline
    assert p.text == "Paint the office"


def test_a_time_as_people_write_it_sets_the_deadline_and_the_reply_names_it(h: Harness) -> None:
    # Monday 5 January 2026, 02:00 in Los Angeles: Friday is the 9th, at day_ends (17:00).
    reply = h.ok("ben", "propose Paint the office by Friday")
    assert reply == "Proposal #1 is open until Fri, Jan 9, 2026, 5:00\u202fPM PST (Pacific Time)."
    p = h.proposal(1)
    assert p.text == "Paint the office"
    assert p.deadline == datetime(2026, 1, 10, 1, 0, tzinfo=UTC)
    assert h.ok("ben", "amend 1 Paint it by tomorrow 9:30 am").endswith(
        "Tue, Jan 6, 2026, 9:30\u202fAM PST (Pacific Time)."
    )
    assert h.proposal(1).deadline == datetime(2026, 1, 6, 17, 30, tzinfo=UTC)


def test_a_time_that_cannot_be_read_opens_nothing(h: Harness) -> None:
    refused = h.refused("ben", "propose Paint the office by Fridya 5pm")
    assert 'could not read "Fridya 5pm"' in refused or 'could not read "fridya"' in refused
    assert '"Friday 5pm"' in refused
    assert h.ok("ben", "proposals").count("#") == 0
    # Text that does not look like a date stays in the proposal.
    h.ok("ben", "propose Paint the wall by the door")
    assert h.proposal(1).text == "Paint the wall by the door"


@pytest.mark.parametrize(
    "text",
    [
        "propose Too late by 2025-12-31 17:00",
        # 01:00 in Los Angeles today is 09:00 UTC: an hour ago.
        "propose Earlier today by 2026-01-05 01:00",
        "propose Exactly now by 2026-01-05 02:00",
        "propose Bad date by 2026-02-30 10:00",
        "propose Bad month by 2026-13-01",
        "propose Zero by 0s",
        "propose Far by 999999mo",
        "propose Review in the past review 2025-01-01",
        "propose",
        "propose   ",
        "propose " + "x" * 3001,
    ],
)
def test_propose_refusals_change_nothing(h: Harness, text: str) -> None:
    before = h.snapshot()
    h.refused("ana", text)
    assert h.snapshot() == before
    assert h.proposals() == []


@pytest.mark.parametrize("user", ["eve", "zed", "U0123ANA"])
def test_only_leaders_can_propose(h: Harness, user: str) -> None:
    before = h.snapshot()
    reply = h.refused(user, "propose Something")
    assert ("leaders" in reply) or ("not a member" in reply)
    assert h.snapshot() == before


# --- reactions ----------------------------------------------------------------------------


def test_early_pass_when_every_leader_consents(hdb: Harness) -> None:
    h = hdb
    pid = h.propose()
    times = [T0 + timedelta(minutes=m) for m in (5, 7, 11, 13)]
    for name, moment, emoji in zip(
        LEADERS, times, ["+1", "✅", "thinking_face", "👍🏽"], strict=True
    ):
        assert h.proposal(pid).status == "open"
        h.react(name, emoji, pid, at=moment)
    p = h.proposal(pid)
    assert p.status == "passed"
    assert p.decided_at == times[-1]  # the deciding reaction's time, not the clock's
    assert h.state(pid).result.concerns == ("cy",)
    [outcome] = h.outcomes(pid)
    assert outcome.channel == CIRCLE and outcome.kind == "thread"
    [row] = h.history(kind="outcome")
    assert row["detail"] == {"status": "passed"} and row["at"] == times[-1]
    out = posts.outcome(h.core.ctx, pid)
    assert out.status is Status.PASSED
    assert out.concerns == ("cy",)
    assert out.decided_at == times[-1]


def test_passes_with_one_consent_and_one_stand_aside_per_side(h: Harness) -> None:
    pid = h.propose()
    for i, (name, emoji) in enumerate(
        [("ana", "+1"), ("ben", "neutral_face"), ("cy", "😐"), ("dee", "thinking_face")]
    ):
        h.react(name, emoji, pid, at=T0 + timedelta(minutes=i + 1))
    assert h.proposal(pid).status == "passed"
    assert posts.outcome(h.core.ctx, pid).standing_aside == ("ben", "cy")


def test_voices_are_shown_but_never_counted(h: Harness) -> None:
    pid = h.propose()
    h.react("eve", "raised_hand", pid, at=T0 + timedelta(minutes=1))
    state = h.state(pid)
    assert state.stances == {"eve": X}
    assert state.result.blocked is False
    assert state.result.objectors == ()
    assert posts.card(h.core.ctx, pid).voices == (("eve", X),)
    assert h.notices(pid) == []  # no "what is your reason?" for a voice
    everyone_consents(h, pid)
    assert h.proposal(pid).status == "passed"


def test_a_voice_stance_command_is_recorded_as_a_voice(h: Harness) -> None:
    pid = h.propose()
    reply = h.ok("eve", f"object {pid}")
    assert "voice" in reply
    assert h.state(pid).result.blocked is False


def test_reactions_by_people_outside_the_circle_never_count(h: Harness) -> None:
    pid = h.propose()
    h.react("zed", "raised_hand", pid, at=T0 + timedelta(minutes=1))
    h.react("circlebot", "+1", pid, at=T0 + timedelta(minutes=2))
    assert h.state(pid).stances == {}
    rows = h.history(kind="reaction")
    assert [(r["actor"], r["counted"], r["note"]) for r in rows] == [
        ("zed", False, "not a member"),
        ("circlebot", False, "not a member"),
    ]
    assert h.rebuilt_state(pid).stances == {}


@pytest.mark.parametrize(
    ("emoji", "stance"),
    [
        ("+1::skin-tone-3", C),
        (":+1::skin-tone-6:", C),
        ("👍🏽", C),
        ("👍🏿", C),
        ("✅", C),
        ("🤔", K),
        ("😐", A),
        ("✋🏻", X),
        ("raised_hand::skin-tone-4", X),
        ("🛑", X),
    ],
)
def test_skin_tones_and_unicode_map_like_their_base(h: Harness, emoji: str, stance: Stance) -> None:
    pid = h.propose()
    h.react("ben", emoji, pid, at=T0 + timedelta(minutes=1))
    assert h.state(pid).stances == {"ben": stance}
    [row] = h.history(kind="reaction")
    assert row["emoji"] == normalize_emoji(emoji)


def test_other_emoji_are_ignored(h: Harness) -> None:
    pid = h.propose()
    h.react("ben", "+1", pid, at=T0 + timedelta(minutes=1))
    h.react("ben", "tada", pid, at=T0 + timedelta(minutes=2))
    h.react("ben", "🎉", pid, at=T0 + timedelta(minutes=3))
    h.react("ben", "handshake", pid, at=T0 + timedelta(minutes=4))
    assert h.state(pid).stances == {"ben": C}


def test_unreact_falls_back_to_the_next_most_recent_present_stance(hdb: Harness) -> None:
    h = hdb
    pid = h.propose()
    t = [T0 + timedelta(minutes=m) for m in range(1, 8)]
    h.react("ben", "+1", pid, at=t[0])
    h.react("ben", "neutral_face", pid, at=t[1])
    h.react("ben", "thinking_face", pid, at=t[2])
    assert h.state(pid).stances == {"ben": K}
    h.react("ben", "thinking_face", pid, added=False, at=t[3])
    assert h.state(pid).stances == {"ben": A}
    h.react("ben", "+1", pid, added=False, at=t[4])
    assert h.state(pid).stances == {"ben": A}
    h.react("ben", "neutral_face", pid, added=False, at=t[5])
    assert h.state(pid).stances == {}
    h.react("ben", "thinking_face", pid, at=t[6])
    assert h.state(pid).stances == {"ben": K}
    assert h.rebuilt_state(pid).stances == {"ben": K}


def test_an_out_of_order_removal_does_not_undo_a_newer_add(h: Harness) -> None:
    pid = h.propose()
    h.react("ben", "+1", pid, at=T0 + timedelta(minutes=5))
    h.react("ben", "+1", pid, added=False, at=T0 + timedelta(minutes=2))
    assert h.state(pid).stances == {"ben": C}
    assert h.rebuilt_state(pid).stances == {"ben": C}


def test_button_press_behaves_like_a_reaction(h: Harness) -> None:
    pid = h.propose()
    h.react("ben", "+1", pid, at=T0 + timedelta(minutes=1))
    h.clock.set(T0 + timedelta(minutes=2))
    reactions.press(
        h.core.ctx,
        ReactionEvent(
            "console",
            "button1",
            CIRCLE,
            "ben",
            "",
            True,
            proposal_id=pid,
            at=T0 + timedelta(minutes=2),
        ),
        X,
    )
    assert h.state(pid).stances == {"ben": X}
    h.react("ben", "thinking_face", pid, at=T0 + timedelta(minutes=3))
    assert h.state(pid).stances == {"ben": K}
    h.react("ben", "thinking_face", pid, added=False, at=T0 + timedelta(minutes=4))
    assert h.state(pid).stances == {"ben": X}


def test_stance_commands_behave_like_reactions(h: Harness) -> None:
    pid = h.propose()
    h.tick(minutes=1)
    assert h.ok("ben", f"object #{pid}") == f"Recorded your answer on #{pid}: object."
    h.tick(minutes=1)
    h.ok("ben", f"stand aside {pid}")
    assert h.state(pid).stances == {"ben": A}
    h.tick(minutes=1)
    h.react("ben", "+1", pid, at=h.clock.now())
    assert h.state(pid).stances == {"ben": C}
    for name in ("ana", "cy", "dee"):
        h.tick(minutes=1)
        h.ok(name, f"consent {pid}")
    assert h.proposal(pid).status == "passed"
    assert h.proposal(pid).decided_at == h.clock.now()


# --- objections, deadlines ------------------------------------------------------------------


def test_an_objection_keeps_it_open_asks_for_the_reason_and_blocks_at_the_deadline(
    hdb: Harness,
) -> None:
    h = hdb
    pid = h.propose("ana")
    h.react("dee", "raised_hand", pid, at=T0 + timedelta(minutes=1))
    for i, name in enumerate(("ana", "ben", "cy")):
        h.react(name, "+1", pid, at=T0 + timedelta(minutes=2 + i))
    assert h.proposal(pid).status == "open"
    assert h.state(pid).result.complete
    [notice] = h.notices(pid)
    assert "@dee objects to proposal #1" in notice
    assert "What is your reason?" in notice
    assert "@ana" in notice  # the author is told
    assert h.outcomes(pid) == []
    assert h.core.advance() == []  # not yet
    assert h.advance_to(DEADLINE - timedelta(seconds=1)) == []
    assert h.advance_to(DEADLINE) == [pid]
    p = h.proposal(pid)
    assert (p.status, p.decided_at) == ("blocked", DEADLINE)
    assert posts.outcome(h.core.ctx, pid).objectors == ("dee",)
    assert len(h.outcomes(pid)) == 1
    assert h.advance_to(DEADLINE + timedelta(days=1)) == []
    assert len(h.outcomes(pid)) == 1
    assert len(h.history(kind="outcome")) == 1


def test_a_lifted_objection_lets_it_pass_early(h: Harness) -> None:
    pid = h.propose()
    h.react("dee", "🛑", pid, at=T0 + timedelta(minutes=1))
    for i, name in enumerate(("ana", "ben", "cy")):
        h.react(name, "+1", pid, at=T0 + timedelta(minutes=2 + i))
    h.react("dee", "🛑", pid, added=False, at=T0 + timedelta(minutes=10))
    assert h.proposal(pid).status == "open"  # dee has no stance now
    h.react("dee", "✅", pid, at=T0 + timedelta(minutes=11))
    p = h.proposal(pid)
    assert (p.status, p.decided_at) == ("passed", T0 + timedelta(minutes=11))


def test_objection_notice_is_not_repeated_for_a_second_object_emoji(h: Harness) -> None:
    pid = h.propose()
    h.react("dee", "raised_hand", pid, at=T0 + timedelta(minutes=1))
    h.react("dee", "octagonal_sign", pid, at=T0 + timedelta(minutes=2))
    assert len(h.notices(pid)) == 1


def test_objection_notice_goes_once_per_leader_per_round(h: Harness) -> None:
    """Toggling ✋, or object → consent → object, asks for the reason once; a new round
    (amend) asks again; another leader's objection gets its own notice."""
    pid = h.propose()
    h.react("dee", "raised_hand", pid, at=T0 + timedelta(minutes=1))
    h.react("dee", "raised_hand", pid, added=False, at=T0 + timedelta(minutes=2))
    h.react("dee", "raised_hand", pid, at=T0 + timedelta(minutes=3))
    h.react("dee", "+1", pid, at=T0 + timedelta(minutes=4))
    h.react("dee", "octagonal_sign", pid, at=T0 + timedelta(minutes=5))
    assert len([n for n in h.notices(pid) if "@dee objects" in n]) == 1
    h.react("cy", "raised_hand", pid, at=T0 + timedelta(minutes=6))
    assert len([n for n in h.notices(pid) if "@cy objects" in n]) == 1
    h.ok("ana", f"amend {pid} Adopt the visiting policy, revised")
    h.react("dee", "raised_hand", pid, at=h.clock.now() + timedelta(minutes=1))
    assert len([n for n in h.notices(pid) if "@dee objects" in n]) == 2


def test_no_quorum_at_the_deadline(hdb: Harness) -> None:
    h = hdb
    pid = h.propose()
    h.react("ana", "+1", pid, at=T0 + timedelta(minutes=1))
    h.react("ben", "+1", pid, at=T0 + timedelta(minutes=2))
    h.react("cy", "+1", pid, at=T0 + timedelta(minutes=3))
    assert h.advance_to(DEADLINE + timedelta(hours=5)) == [pid]
    p = h.proposal(pid)
    assert (p.status, p.decided_at) == ("no_quorum", DEADLINE)
    out = posts.outcome(h.core.ctx, pid)
    assert "quorum" in out.note
    assert len(h.outcomes(pid)) == 1


def test_a_side_that_only_stands_aside_gives_no_quorum(h: Harness) -> None:
    pid = h.propose()
    for i, (name, emoji) in enumerate(
        [("ana", "+1"), ("ben", "+1"), ("cy", "neutral_face"), ("dee", "neutral_face")]
    ):
        h.react(name, emoji, pid, at=T0 + timedelta(minutes=i + 1))
    assert h.proposal(pid).status == "open"
    h.advance_to(DEADLINE)
    assert h.proposal(pid).status == "no_quorum"


def test_early_close_false_passes_only_at_the_deadline(make_harness: HarnessFactory) -> None:
    h = make_harness(early_close=False)
    pid = h.propose()
    everyone_consents(h, pid)
    assert h.proposal(pid).status == "open"
    h.advance_to(DEADLINE)
    assert (h.proposal(pid).status, h.proposal(pid).decided_at) == ("passed", DEADLINE)


def test_quorum_fraction_at_the_deadline(make_harness: HarnessFactory) -> None:
    from fractions import Fraction

    h = make_harness(quorum=Fraction(1, 2))
    pid = h.propose()
    h.react("ana", "+1", pid, at=T0 + timedelta(minutes=1))
    h.react("cy", "+1", pid, at=T0 + timedelta(minutes=2))
    assert h.proposal(pid).status == "open"  # not every leader answered: no early close
    h.advance_to(DEADLINE)
    assert h.proposal(pid).status == "passed"


def test_advance_closes_each_due_proposal_once(h: Harness) -> None:
    first = h.propose()
    h.tick(hours=1)
    second = h.ok("ben", "propose Second by 1h")
    assert second.startswith("Proposal #2")
    assert h.advance_to(T0 + timedelta(hours=2)) == [2]
    assert h.advance_to(DEADLINE) == [first]
    assert h.core.advance() == []
    assert [p.status for p in h.proposals()] == ["no_quorum", "no_quorum"]
    assert len(h.history(kind="outcome")) == 2


# --- late and duplicate events ---------------------------------------------------------------


def test_late_reactions_are_recorded_but_change_nothing(hdb: Harness) -> None:
    h = hdb
    pid = h.propose()
    last = everyone_consents(h, pid)
    before_state = h.state(pid)
    before_pending = h.pending()
    before_cards = h.card_versions(pid)
    h.react("dee", "raised_hand", pid, at=last + timedelta(minutes=1))
    h.react("ana", "+1", pid, added=False, at=last + timedelta(minutes=2))
    after = h.state(pid)
    assert after.stances == before_state.stances
    assert after.result == before_state.result
    assert h.proposal(pid).status == "passed"
    late = h.history(kind="reaction", counted=False)
    assert [(r["member"], r["note"], r["emoji"]) for r in late] == [
        ("dee", "late", "raised_hand"),
        ("ana", "late", "+1"),
    ]
    assert h.pending() == before_pending
    assert h.card_versions(pid) == before_cards
    assert h.rebuilt_state(pid).stances == after.stances


def test_stance_commands_on_a_closed_proposal_are_refused(h: Harness) -> None:
    pid = h.propose()
    everyone_consents(h, pid)
    before = h.snapshot()
    assert "closed" in h.refused("dee", f"object {pid}")
    assert h.snapshot() == before


def test_the_same_reaction_event_applied_twice_counts_once(hdb: Harness) -> None:
    h = hdb
    pid = h.propose()
    h.react("ben", "+1", pid, at=T0 + timedelta(minutes=1), event_id="R1")
    # Redelivered with the same id, even with a different payload: ignored.
    h.react("ben", "+1", pid, at=T0 + timedelta(minutes=1), event_id="R1")
    h.react("ben", "+1", pid, added=False, at=T0 + timedelta(minutes=2), event_id="R1")
    h.react("ben", "raised_hand", pid, at=T0 + timedelta(minutes=3), event_id="R1")
    assert h.state(pid).stances == {"ben": C}
    assert len(h.history(kind="reaction")) == 1
    assert h.notices(pid) == []
    # The same id on another platform is another event.
    h.react(
        "ben",
        "raised_hand",
        pid,
        at=T0 + timedelta(minutes=4),
        event_id="R1",
        platform="matrix",
        channel="!council:example.org",
    )
    assert len(h.history(kind="reaction")) == 2


def repeated(replies: list[Any]) -> bool:
    """A redelivered command's only answer: that it was done before (sent only for what
    a dead process left, see bot.runtime.runner)."""
    return len(replies) == 1 and replies[0].repeat and replies[0].text.startswith("Done before")


def test_the_same_command_event_applied_twice_counts_once(hdb: Harness) -> None:
    h = hdb
    assert h.cmd("ana", "propose Once", event_id="C1")[0].ok
    [again] = h.cmd("ana", "propose Once", event_id="C1")
    assert again.repeat and again.text == 'Done before: "propose Once". Nothing more changed.'
    assert len(h.proposals()) == 1
    h.tick(minutes=1)
    assert h.cmd("ana", "amend 1 Twice", event_id="C2")[0].ok
    assert repeated(h.cmd("ana", "amend 1 Twice", event_id="C2"))
    assert h.proposal(1).round == 2
    assert len(h.history(kind="amend")) == 1
    h.tick(minutes=1)
    assert h.cmd("dee", "object 1", event_id="C3")[0].ok
    assert repeated(h.cmd("dee", "object 1", event_id="C3"))
    assert len(h.history(kind="reaction")) == 1
    assert len(h.notices(1)) == 2  # the amend notice and one objection notice
    assert h.cmd("ana", "away 1w", event_id="C4")[0].ok
    assert repeated(h.cmd("ana", "away 1w", event_id="C4"))
    assert len(h.history(kind="away")) == 1
    assert h.cmd("ana", "circle add fay vera", event_id="C5")[0].ok
    assert repeated(h.cmd("ana", "circle add fay vera", event_id="C5"))
    assert len(h.history(kind="member_add", member="fay")) == 1


@pytest.mark.parametrize("text", ["withdraw 1", "cosponsor 1"])
def test_a_redelivered_state_changing_command_is_silent(
    make_harness: HarnessFactory, text: str
) -> None:
    h = make_harness(require_cosponsor=True)
    h.propose("ana")
    user = "cy" if text.startswith("cosponsor") else "ana"
    assert h.cmd(user, text, event_id="D1")[0].ok
    before = h.snapshot()
    assert repeated(h.cmd(user, text, event_id="D1"))
    assert h.snapshot() == before


def test_outcome_is_queued_once_per_platform(make_harness: HarnessFactory) -> None:
    h = make_harness(platforms=("console", "matrix"))
    pid = h.propose()
    assert h.card_versions(pid) == {"console": 1, "matrix": 1}
    everyone_consents(h, pid)
    h.advance_to(DEADLINE + timedelta(days=1))
    [console] = h.outcomes(pid, "console")
    [matrix] = h.outcomes(pid, "matrix")
    assert (console.channel, matrix.channel) == (CIRCLE, "!council:example.org")
    assert h.outcomes(pid, "slack") == []  # not a configured platform
    # A restart does not post it again.
    h.restart()
    h.core.advance()
    assert len(h.outcomes(pid, "console")) == 1
    assert len(h.outcomes(pid, "matrix")) == 1


# --- withdraw -------------------------------------------------------------------------------


def test_withdraw_by_the_author(h: Harness) -> None:
    pid = h.propose("ben")
    h.tick(minutes=5)
    assert h.ok("ben", f"withdraw {pid}") == f"Proposal #{pid} withdrawn."
    p = h.proposal(pid)
    assert (p.status, p.decided_at) == ("withdrawn", T0 + timedelta(minutes=5))
    assert len(h.outcomes(pid)) == 1
    assert [r["actor"] for r in h.history(kind="withdraw")] == ["ben"]
    assert "closed" in h.refused("ben", f"withdraw {pid}")
    h.advance_to(DEADLINE)
    assert h.proposal(pid).status == "withdrawn"


def test_withdraw_by_an_admin(h: Harness) -> None:
    pid = h.propose("ben")
    h.ok("ana", f"withdraw {pid}")  # ana is an admin
    assert h.proposal(pid).status == "withdrawn"


@pytest.mark.parametrize("user", ["cy", "dee", "eve", "zed"])
def test_withdraw_by_anyone_else_is_refused(h: Harness, user: str) -> None:
    pid = h.propose("ben")
    before = h.snapshot()
    h.refused(user, f"withdraw {pid}")
    assert h.snapshot() == before


# --- amend ----------------------------------------------------------------------------------


def test_amend_starts_a_new_round_and_clears_stances(hdb: Harness) -> None:
    h = hdb
    pid = h.propose("ben")
    h.react("ana", "+1", pid, at=T0 + timedelta(minutes=1))
    h.react("dee", "raised_hand", pid, at=T0 + timedelta(minutes=2))
    h.clock.set(T0 + timedelta(hours=1))
    reply = h.ok("ben", f"amend {pid} Adopt the visiting policy, revised")
    assert reply == f"Proposal #{pid} amended; round 2 is open."
    p = h.proposal(pid)
    assert (p.round, p.text, p.status, p.deadline) == (
        2,
        "Adopt the visiting policy, revised",
        "open",
        DEADLINE,  # kept
    )
    state = h.state(pid)
    assert state.stances == {}
    assert state.result.blocked is False
    # Round-1 answers stay in the history.
    assert [r["round"] for r in h.history(kind="reaction")] == [1, 1]
    [amend] = h.history(kind="amend")
    assert amend["detail"]["previous"] == "Adopt the visiting policy"
    assert amend["round"] == 2
    notices = h.notices(pid)
    assert any("round 2" in n and "@ana" in n and "@dee" in n for n in notices)
    # Round 2 counts on its own.
    everyone_consents(h, pid)
    assert h.proposal(pid).status == "passed"
    assert posts.outcome(h.core.ctx, pid).round == 2


def test_a_reaction_made_before_an_amendment_does_not_count_in_the_new_round(
    h: Harness,
) -> None:
    pid = h.propose()
    h.clock.set(T0 + timedelta(hours=1))
    h.ok("ana", f"amend {pid} Revised text")
    h.react("ben", "+1", pid, at=T0 + timedelta(minutes=30))  # delivered late
    assert h.state(pid).stances == {}


def test_amend_with_a_new_deadline(h: Harness) -> None:
    pid = h.propose()
    assert h.ok("ana", f"amend {pid} New text by 5d") == (
        f"Proposal #{pid} amended; round 2 is open until Sat, Jan 10, 2026, "
        f"2:00\u202fAM PST (Pacific Time)."
    )
    assert h.proposal(pid).deadline == T0 + timedelta(days=5)
    assert "future" in h.refused("ana", f"amend {pid} Newer text by 2025-01-01 10:00")
    assert h.proposal(pid).text == "New text"


def test_amend_by_an_admin_but_not_by_others(h: Harness) -> None:
    pid = h.propose("ben")
    for user in ("cy", "dee", "eve", "zed"):
        before = h.snapshot()
        h.refused(user, f"amend {pid} Hijacked")
        assert h.snapshot() == before
    h.ok("ana", f"amend {pid} Tidied by an admin")
    assert h.proposal(pid).round == 2


def test_amend_a_closed_proposal_is_refused(h: Harness) -> None:
    pid = h.propose()
    h.ok("ana", f"withdraw {pid}")
    before = h.snapshot()
    h.refused("ana", f"amend {pid} Again")
    assert h.snapshot() == before


def test_leaders_are_frozen_per_round(hdb: Harness) -> None:
    h = hdb
    pid = h.propose()
    h.ok("ana", "circle add fay vera leader")
    assert [m.name for m in h.core.directory.members(CIRCLE)][-1] == "fay"
    assert h.state(pid).leaders == {"milpa": ["ana", "ben"], "vera": ["cy", "dee"]}
    h.react("fay", "raised_hand", pid, at=T0 + timedelta(minutes=1))
    assert h.state(pid).result.blocked is False  # fay is not a leader of this round
    # A second proposal opened now counts fay.
    other = h.propose("cy", "Another")
    assert h.state(other).leaders["vera"] == ["cy", "dee", "fay"]
    # Amending the first starts a round with fay too.
    h.ok("ana", f"amend {pid} Revised")
    assert h.state(pid).leaders["vera"] == ["cy", "dee", "fay"]
    everyone_consents(h, pid)
    assert h.proposal(pid).status == "open"  # fay has not answered round 2
    h.react("fay", "+1", pid, at=h.clock.now() + timedelta(minutes=10))
    assert h.proposal(pid).status == "passed"


def test_a_leader_demoted_mid_round_still_counts_in_that_round(h: Harness) -> None:
    pid = h.propose()
    h.ok("ana", "circle add ben milpa member")
    everyone_consents(h, pid)
    assert h.proposal(pid).status == "passed"


def test_a_leader_removed_mid_round_still_answers_that_round(h: Harness) -> None:
    pid = h.propose()
    h.ok("ana", "circle remove ben")
    assert h.state(pid).leaders["milpa"] == ["ana", "ben"]
    everyone_consents(h, pid)
    assert h.state(pid).stances.get("ben") is C
    assert h.proposal(pid).status == "passed"


def test_rules_are_frozen_per_round_across_a_restart(
    h: Harness, make_spec: Callable[..., CircleSpec]
) -> None:
    pid = h.propose()
    h.restart([make_spec(early_close=False, min_consent_per_side=2)])
    assert h.state(pid).rules.early_close is True
    h.react("ana", "+1", pid, at=T0 + timedelta(minutes=1))
    h.react("ben", "neutral_face", pid, at=T0 + timedelta(minutes=2))
    h.react("cy", "+1", pid, at=T0 + timedelta(minutes=3))
    h.react("dee", "neutral_face", pid, at=T0 + timedelta(minutes=4))
    assert h.proposal(pid).status == "passed"  # the rules it opened with
    second = h.propose()
    assert h.state(second).rules.min_consent_per_side == 2


# --- co-sponsoring --------------------------------------------------------------------------


def test_draft_until_a_leader_of_another_side_cosponsors(
    hdb: Harness, make_spec: Callable[..., CircleSpec]
) -> None:
    h = hdb
    h.restart([make_spec(require_cosponsor=True)])
    reply = h.ok("ana", "propose Needs a partner")
    assert "draft" in reply
    pid = 1
    p = h.proposal(pid)
    assert (p.status, p.round) == ("draft", 0)
    # Reactions during the draft are recorded, not counted.
    h.react("cy", "raised_hand", pid, at=T0 + timedelta(minutes=1))
    h.react("ben", "+1", pid, at=T0 + timedelta(minutes=2))
    assert [r["note"] for r in h.history(kind="reaction")] == ["draft", "draft"]
    assert h.notices(pid) == []
    # A stance by command is refused while a draft.
    assert "draft" in h.refused("dee", f"consent {pid}")
    # Same side cannot co-sponsor; voices and strangers neither.
    assert "another side" in h.refused("ben", f"cosponsor {pid}")
    h.refused("ana", f"cosponsor {pid}")
    h.refused("zed", f"cosponsor {pid}")
    assert h.proposal(pid).status == "draft"
    h.tick(minutes=10)
    assert h.ok("cy", f"cosponsor {pid}").startswith("You co-sponsored")
    p = h.proposal(pid)
    assert (p.status, p.round, p.cosponsor) == ("open", 1, "cy")
    assert h.state(pid).stances == {}  # draft reactions did not carry over
    assert "already open" in h.refused("dee", f"cosponsor {pid}")
    everyone_consents(h, pid)
    assert h.proposal(pid).status == "passed"


def test_handshake_reaction_by_another_side_opens_round_one(make_harness: HarnessFactory) -> None:
    h = make_harness(require_cosponsor=True)
    pid = h.propose("ana")
    h.react("dee", "🤝🏽", pid, at=T0 + timedelta(minutes=3))
    p = h.proposal(pid)
    assert (p.status, p.round, p.cosponsor) == ("open", 1, "dee")
    [row] = h.history(kind="cosponsor")
    assert row["actor"] == "dee"
    everyone_consents(h, pid)
    assert h.proposal(pid).status == "passed"


def test_handshake_by_a_stranger_does_nothing(make_harness: HarnessFactory) -> None:
    h = make_harness(require_cosponsor=True)
    pid = h.propose("ana")
    h.react("zed", "handshake", pid)
    assert h.proposal(pid).status == "draft"


@pytest.mark.parametrize("user", ["ben", "ana", "eve"])
def test_handshake_by_the_same_side_is_recorded_and_ignored(
    make_harness: HarnessFactory, user: str
) -> None:
    h = make_harness(require_cosponsor=True)
    pid = h.propose("ana")
    h.react(user, "handshake", pid, at=T0 + timedelta(minutes=1))
    assert h.proposal(pid).status == "draft"
    assert [r["note"] for r in h.history(kind="reaction")] == ["draft"]


def test_a_draft_reaching_its_deadline_closes_as_no_quorum(make_harness: HarnessFactory) -> None:
    h = make_harness(require_cosponsor=True)
    pid = h.propose("ana")
    h.react("ben", "+1", pid, at=T0 + timedelta(minutes=1))
    assert h.advance_to(DEADLINE) == [pid]
    p = h.proposal(pid)
    assert (p.status, p.round, p.decided_at) == ("no_quorum", 0, DEADLINE)
    assert "co-sponsored" in posts.outcome(h.core.ctx, pid).note
    assert len(h.outcomes(pid)) == 1
    # A co-sponsor arriving now changes nothing.
    h.refused("cy", f"cosponsor {pid}")
    h.react("cy", "handshake", pid)
    assert h.proposal(pid).status == "no_quorum"


def test_amending_or_withdrawing_a_draft(make_harness: HarnessFactory) -> None:
    h = make_harness(require_cosponsor=True)
    pid = h.propose("ana")
    assert h.ok("ana", f"amend {pid} Better draft by 4d") == (
        f"Draft #{pid} amended; its deadline is Fri, Jan 9, 2026, 2:00\u202fAM PST (Pacific Time)."
    )
    assert h.ok("ana", f"amend {pid} Better draft") == f"Draft #{pid} amended."
    p = h.proposal(pid)
    assert (p.status, p.round, p.text, p.deadline) == (
        "draft",
        0,
        "Better draft",
        T0 + timedelta(days=4),
    )
    h.ok("cy", f"cosponsor {pid}")
    assert h.proposal(pid).round == 1
    assert h.state(pid).proposal.text == "Better draft"
    second = h.propose("ben", "Another draft")
    h.ok("ben", f"withdraw {second}")
    assert h.proposal(second).status == "withdrawn"


# --- review dates ---------------------------------------------------------------------------


def test_review_date_brings_a_passed_decision_back_once(hdb: Harness) -> None:
    h = hdb
    h.ok("ben", "propose Adopt the policy review 6mo")
    pid = 1
    assert h.proposal(pid).review == "6mo"
    decided = everyone_consents(h, pid)
    p = h.proposal(pid)
    assert p.status == "passed"
    review_at = datetime(2026, 7, 5, 10, 4, tzinfo=UTC)
    assert decided == T0 + timedelta(minutes=4)
    assert p.review_at == review_at  # 6 months after the decision
    assert h.advance_to(review_at - timedelta(seconds=1)) == []
    assert len(h.proposals()) == 1
    opened = h.advance_to(review_at + timedelta(days=1))
    assert opened == [2]
    review = h.proposal(2)
    assert review.review_of == pid
    assert review.status == "open" and review.round == 1
    assert f"#{pid}" in review.text and "Adopt the policy" in review.text
    assert review.author == "ben"
    assert review.deadline == review_at + timedelta(days=1) + timedelta(hours=72)
    assert h.proposal(pid).reviewed is True
    # Only once, also after a restart.
    assert h.core.advance() == []
    h.restart()
    assert h.core.advance() == []
    assert len(h.proposals()) == 2


def test_no_review_for_a_blocked_or_withdrawn_decision(h: Harness) -> None:
    h.ok("ben", "propose Blocked one review 1w")
    h.react("cy", "raised_hand", 1, at=T0 + timedelta(minutes=1))
    h.ok("ben", "propose Withdrawn one review 1w")
    h.ok("ben", "withdraw 2")
    h.advance_to(DEADLINE)
    assert h.proposal(1).status == "blocked"
    assert h.proposal(1).review_at is None
    h.advance_to(DEADLINE + timedelta(weeks=30))
    assert len(h.proposals()) == 2


def test_review_at_a_local_date(h: Harness) -> None:
    h.ok("ben", "propose Policy review 2026-09-01 09:00")
    everyone_consents(h, 1)
    assert h.proposal(1).review_at == datetime(2026, 9, 1, 16, 0, tzinfo=UTC)


# --- membership -----------------------------------------------------------------------------


def test_circle_add_and_remove_by_an_admin(hdb: Harness) -> None:
    h = hdb
    assert "added as a leader of vera" in h.ok("ana", "circle add fay vera")
    assert "added as a member of milpa" in h.ok("ana", "circle add gus milpa member")
    names = {m.name: (m.side, m.role) for m in h.core.directory.members(CIRCLE)}
    assert names["fay"] == ("vera", "leader") and names["gus"] == ("milpa", "member")
    h.ok("ana", "circle remove gus")
    assert "gus" not in {m.name for m in h.core.directory.members(CIRCLE)}
    assert [r["member"] for r in h.history(kind="member_add", platform="console")] == [
        "fay",
        "gus",
    ]
    [removed] = h.history(kind="member_remove")
    assert removed["member"] == "gus"
    assert (removed["platform"], removed["detail"]) == ("console", {"side": "milpa"})
    # Membership by command survives a restart with the same config.
    h.restart()
    assert {m.name for m in h.core.directory.members(CIRCLE)} == {
        "ana",
        "ben",
        "cy",
        "dee",
        "eve",
        "fay",
    }


def test_membership_changes_record_the_admin_as_actor(h: Harness) -> None:
    h.ok("ana", "circle add fay vera")
    h.ok("ana", "circle remove fay")
    rows = h.history(member="fay")
    assert [(r["kind"], r["actor"]) for r in rows] == [
        ("member_add", "ana"),
        ("member_remove", "ana"),
    ]


def test_membership_changed_by_command_survives_a_restart(h: Harness) -> None:
    h.ok("ana", "circle remove cy")
    h.ok("ana", "circle add ben vera leader")
    h.restart()
    sides = {m.name: m.side for m in h.core.directory.members(CIRCLE)}
    assert "cy" not in sides
    assert sides["ben"] == "vera"


@pytest.mark.parametrize(
    "text",
    [
        "circle add fay vera",
        "circle remove dee",
        "circle add eve milpa leader",
    ],
)
@pytest.mark.parametrize("user", ["ben", "cy", "eve", "zed"])
def test_circle_changes_are_for_admins_only(h: Harness, user: str, text: str) -> None:
    before = h.snapshot()
    h.refused(user, text)
    assert h.snapshot() == before


@pytest.mark.parametrize(
    "text",
    [
        "circle remove cy",  # vera keeps dee
        "circle remove dee",
    ],
)
def test_removing_one_of_two_leaders_is_fine(h: Harness, text: str) -> None:
    h.ok("ana", text)


def test_refuses_to_remove_or_demote_the_last_leader_of_a_side(h: Harness) -> None:
    h.ok("ana", "circle remove cy")
    for text in (
        "circle remove dee",
        "circle add dee vera member",
        "circle add dee milpa leader",
    ):
        before = h.snapshot()
        assert "parity" in h.refused("ana", text)
        assert h.snapshot() == before
    assert {m.name for m in h.core.directory.members(CIRCLE) if m.side == "vera"} == {"dee"}


def test_circle_add_on_an_unknown_side_or_remove_unknown_person(h: Harness) -> None:
    for text in ("circle add fay nowhere", "circle remove nobody", "circle add fay vera boss"):
        before = h.snapshot()
        h.refused("ana", text)
        assert h.snapshot() == before


def test_away_and_back(h: Harness) -> None:
    reply = h.ok("ben", "away 1w")
    assert "away until" in reply
    ben = next(m for m in h.core.directory.members(CIRCLE) if m.name == "ben")
    assert ben.away_until == T0 + timedelta(weeks=1)
    assert "ben (leader, away until" in h.ok("zed", "circle")
    h.ok("ben", "back")
    ben = next(m for m in h.core.directory.members(CIRCLE) if m.name == "ben")
    assert ben.away_until is None
    assert [r["kind"] for r in h.history(member="ben", platform="console")] == ["away", "back"]
    before = h.snapshot()
    h.refused("ben", "away 2025-01-01")
    h.refused("zed", "away 1w")
    h.refused("ben", "away someday")
    assert h.snapshot() == before


# --- control characters ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Hello\x00world", "Helloworld"),
        ("Bell\x07", "Bell"),
        ("\x1b[31mred", "[31mred"),
        ("line one\x0bline two", "line one\nline two"),
    ],
)
def test_control_characters_are_removed_from_a_proposal_and_never_posted(
    h: Harness, text: str, kept: str
) -> None:
    reply = h.ok("ana", f"propose {text} by 3d")
    assert reply.startswith("Proposal #1 is open until")
    assert h.proposal(1).text == kept
    posted = repr([m.payload for m in h.pending()])
    assert not any(c in posted for c in ("\\x00", "\\x07", "\\x1b", "\\x0b"))


# --- errors change nothing ------------------------------------------------------------------

ERRORS: list[tuple[str, str]] = [
    ("ana", "x" * 100_000),
    ("ana", "propose " + "x" * 100_000),
    ("ana", "propose \x00\x07\x1b"),  # nothing left once the control characters go
    ("ana", ""),
    ("ana", "   "),
    ("ana", "frobnicate 1"),
    ("ana", "status 999"),
    ("ana", "status 0"),
    ("ana", "status x"),
    ("ana", "status 99999999999999999999"),
    ("ana", "amend 999 New text"),
    ("ana", "amend 1"),
    ("ana", "withdraw 999"),
    ("ana", "withdraw"),
    ("cy", "cosponsor 999"),
    ("cy", "cosponsor 1"),  # open already, no co-sponsor needed
    ("ben", "consent 999"),
    ("ben", "consent because 1"),
    ("ben", "object"),
    ("zed", "consent 1"),
    ("zed", "propose Mine"),
    ("eve", "propose Mine"),
    ("cy", "amend 1 Not mine"),
    ("cy", "withdraw 1"),
    ("ben", "circle add fay vera"),
    ("ana", "circle add"),
    ("ana", "circle frob"),
    ("ana", "decisions 0"),
    ("ana", "decisions 3 " + " ".join(["w"] * 11)),
    ("ana", "checkin"),
    ("ana", "help nonsense"),
    ("ana", "back now"),
    ("zed", "back"),
]


@pytest.mark.parametrize(("user", "text"), ERRORS, ids=[f"{u}:{t[:30]!r}" for u, t in ERRORS])
def test_command_errors_reply_privately_and_change_nothing(
    h: Harness, user: str, text: str
) -> None:
    h.propose("ana", "The one")
    before = h.snapshot()
    replies = h.cmd(user, text)
    assert len(replies) == 1
    assert replies[0].ok is False
    assert 0 < len(replies[0].text) <= 1000  # short
    assert h.snapshot() == before


def test_a_proposal_of_another_circle_is_unknown_here(
    make_harness: HarnessFactory, make_spec: Callable[..., CircleSpec]
) -> None:
    h = make_harness(specs=[make_spec(), make_spec("garden")])
    h.ok("ana", "propose In the garden", channel="garden")
    before = h.snapshot()
    for text in ("status 1", "withdraw 1", "amend 1 x", "consent 1"):
        assert "no proposal #1" in h.refused("ana", text)
    assert h.snapshot() == before


@pytest.mark.parametrize("channel", ["general", "", "COUNCIL", "!council:example.org"])
def test_commands_in_a_channel_that_is_not_a_circle(h: Harness, channel: str) -> None:
    before = h.snapshot()
    replies = h.cmd("ana", "propose Somewhere else", channel=channel)
    assert [r.ok for r in replies] == [False]
    assert "not part of any circle" in replies[0].text
    assert h.snapshot() == before


def test_reactions_on_unknown_proposals_or_messages_are_ignored(h: Harness) -> None:
    before = h.snapshot()
    h.react("ana", "+1", 999)
    h.core.handle(ReactionEvent("console", "m1", CIRCLE, "ana", "+1", True, message_ref="nope"))
    h.core.handle(ReactionEvent("console", "m2", CIRCLE, "ana", "+1", True))
    assert h.snapshot() == before


def test_reactions_on_a_posted_card_are_found_by_its_message_ref(hdb: Harness) -> None:
    h = hdb
    pid = h.propose()
    with h.repo.transaction() as tx:
        tx.card_rendered(pid, "console", 1, "msg-17")
    for i, name in enumerate(LEADERS):
        h.core.handle(
            ReactionEvent(
                "console",
                f"ref{i}",
                CIRCLE,
                name,
                "+1",
                True,
                message_ref="msg-17",
                at=T0 + timedelta(minutes=i + 1),
            )
        )
    assert h.proposal(pid).status == "passed"
    # The same ref on another platform is another message.
    h.core.handle(ReactionEvent("slack", "s1", "C1", "U1", "+1", True, message_ref="msg-17"))
    assert len(h.history(kind="reaction")) == 4


def test_decisions_lists_the_last_n_closed_newest_first(h: Harness) -> None:
    for text in ("First", "Second", "Third", "Still open"):
        h.propose("ana", text)
    h.tick(minutes=1)
    h.ok("ana", "withdraw 2")
    h.tick(minutes=1)
    h.ok("ana", "withdraw 1")
    h.tick(minutes=1)
    h.ok("ana", "withdraw 3")
    listing = h.ok("zed", "decisions 2").splitlines()
    assert listing[0] == "Last 2 decisions in council:"
    assert [line.split()[0] for line in listing[1:]] == ["#3", "#1"]
    assert len(h.ok("zed", "decisions").splitlines()) == 4


def test_slack_users_and_channel_map_to_members(
    make_harness: HarnessFactory, make_spec: Callable[..., CircleSpec]
) -> None:
    spec = make_spec()
    members = tuple(replace(m, handles={"slack": f"U0{m.name.upper()}"}) for m in spec.members)
    h = make_harness(
        specs=[replace(spec, members=members, channels={"slack": Channel("C0COUNCIL")})]
    )
    slack = {"platform": "slack", "channel": "C0COUNCIL"}
    reply = h.ok("U0ANA", "propose From Slack", **slack)
    assert reply.startswith("Proposal #1")
    assert h.proposal(1).author == "ana"
    h.refused("ana", "propose Not a slack id", **slack)
    for i, name in enumerate(LEADERS):
        h.react(
            f"U0{name.upper()}",
            "+1::skin-tone-2",
            1,
            platform="slack",
            channel="C0COUNCIL",
            at=T0 + timedelta(minutes=i + 1),
        )
    assert h.proposal(1).status == "passed"
    assert [r["member"] for r in h.history(kind="reaction")] == list(LEADERS)


def test_read_only_commands(h: Harness) -> None:
    assert "No open proposals" in h.ok("zed", "proposals")
    pid = h.propose("ana", "First line\nsecond line")
    h.react("ana", "+1", pid, at=T0 + timedelta(minutes=1))
    h.react("eve", "+1", pid, at=T0 + timedelta(minutes=2))
    listing = h.ok("zed", "proposals")
    assert f"#{pid} First line" in listing and "milpa 1/2" in listing and "vera 0/2" in listing
    status = h.ok("zed", f"status {pid}")
    assert "round 1" in status and "waiting on: ben" in status
    assert "Voices (not counted): eve (consent)" in status
    assert h.ok("eve", "decisions") == "No decisions yet."
    h.ok("ana", f"withdraw {pid}")
    assert "withdrawn" in h.ok("eve", "decisions 5")
    assert "milpa: ana (leader, admin), ben (leader), eve (member)" in h.ok("zed", "circle")
    assert "propose" in h.ok("zed", "help")


# --- history is the truth -------------------------------------------------------------------


def test_restarting_on_the_same_database_keeps_everything(hdb: Harness) -> None:
    h = hdb
    first = h.propose("ana")
    h.react("ana", "+1", first, at=T0 + timedelta(minutes=1))
    h.react("dee", "raised_hand", first, at=T0 + timedelta(minutes=2))
    h.ok("ana", "circle add fay vera")
    second = h.propose("ben", "Second")
    h.react("fay", "thinking_face", second, at=T0 + timedelta(minutes=3))
    before = (h.state(first), h.state(second), h.history(), h.pending())
    h.restart()
    assert (h.state(first), h.state(second), h.history(), h.pending()) == before
    assert h.rebuilt_state(first).stances == before[0].stances
    assert "fay" in {m.name for m in h.core.directory.members(CIRCLE)}
    # It carries on where it left off.
    h.react("dee", "raised_hand", first, added=False, at=T0 + timedelta(minutes=4))
    for name in ("ben", "cy", "dee"):
        h.react(name, "+1", first, at=T0 + timedelta(minutes=5))
    assert h.proposal(first).status == "passed"
    h.advance_to(DEADLINE + timedelta(minutes=10))  # second opened minutes after T0
    assert h.proposal(second).status == "no_quorum"


def test_restart_with_a_member_removed_from_the_config(
    h: Harness, make_spec: Callable[..., CircleSpec]
) -> None:
    spec = make_spec()
    h.restart([replace(spec, members=(*spec.members, MemberSpec("fay", "vera", Role.LEADER)))])
    assert "fay" in {m.name for m in h.core.directory.members(CIRCLE)}
    h.restart([spec])
    assert "fay" not in {m.name for m in h.core.directory.members(CIRCLE)}
    assert [r["kind"] for r in h.history(member="fay")] == ["member_add", "member_remove"]


def test_a_reaction_after_the_deadline_is_late_even_before_advance_runs(h: Harness) -> None:
    pid = h.propose()
    h.react("ana", "+1", pid, at=T0 + timedelta(minutes=1))
    h.react("ben", "+1", pid, at=T0 + timedelta(minutes=2))
    h.react("cy", "+1", pid, at=T0 + timedelta(minutes=3))
    h.clock.set(DEADLINE + timedelta(minutes=2))
    h.react("dee", "raised_hand", pid, at=DEADLINE + timedelta(minutes=1))
    h.core.advance()
    assert h.proposal(pid).status == "no_quorum"
    assert h.history(kind="reaction", member="dee")[0]["note"] == "late"


def test_a_deciding_reaction_after_the_deadline_comes_too_late(hdb: Harness) -> None:
    h = hdb
    pid = h.propose()
    for i, name in enumerate(("ana", "ben", "cy")):
        h.react(name, "+1", pid, at=T0 + timedelta(minutes=i + 1))
    h.react("dee", "+1", pid, at=DEADLINE)  # at the deadline is already too late
    p = h.proposal(pid)
    assert (p.status, p.decided_at) == ("no_quorum", DEADLINE)
    assert h.history(kind="reaction", member="dee")[0]["note"] == "late"
    assert len(h.outcomes(pid)) == 1
    h.core.advance()
    assert len(h.outcomes(pid)) == 1


def test_a_reaction_stamped_in_the_future_does_not_close_it_early(h: Harness) -> None:
    pid = h.propose()
    h.react("zed", "+1", pid, at=DEADLINE + timedelta(days=300), move_clock=False)
    assert h.clock.now() < DEADLINE
    assert h.proposal(pid).status == "open"


def _past_deadline_with_three_consents(h: Harness) -> int:
    pid = h.propose()
    for i, name in enumerate(("ana", "ben", "cy")):
        h.react(name, "+1", pid, at=T0 + timedelta(minutes=i + 1))
    h.clock.set(DEADLINE + timedelta(minutes=5))  # advance() has not run yet
    return pid


def _closed_as_at_the_deadline(h: Harness, pid: int) -> None:
    h.core.advance()
    p = h.proposal(pid)
    assert (p.status, p.round, p.decided_at) == ("no_quorum", 1, DEADLINE)
    assert [r["detail"] for r in h.history(kind="outcome")] == [{"status": "no_quorum"}]


def test_a_stance_command_after_the_deadline_does_not_count(h: Harness) -> None:
    pid = _past_deadline_with_three_consents(h)
    h.cmd("dee", f"object {pid}")
    _closed_as_at_the_deadline(h, pid)


def test_amend_after_the_deadline_is_refused(h: Harness) -> None:
    pid = _past_deadline_with_three_consents(h)
    h.refused("ana", f"amend {pid} Too late")
    _closed_as_at_the_deadline(h, pid)


def test_withdraw_after_the_deadline_is_refused(h: Harness) -> None:
    pid = _past_deadline_with_three_consents(h)
    h.refused("ana", f"withdraw {pid}")
    _closed_as_at_the_deadline(h, pid)


def test_cosponsor_after_the_draft_deadline_is_refused(make_harness: HarnessFactory) -> None:
    h = make_harness(require_cosponsor=True)
    pid = h.propose("ana")
    h.clock.set(DEADLINE + timedelta(minutes=5))
    h.refused("cy", f"cosponsor {pid}")
    h.core.advance()
    p = h.proposal(pid)
    assert (p.status, p.round, p.decided_at) == ("no_quorum", 0, DEADLINE)


def test_handshake_after_the_draft_deadline_comes_too_late(make_harness: HarnessFactory) -> None:
    h = make_harness(require_cosponsor=True)
    pid = h.propose("ana")
    h.react("cy", "handshake", pid, at=DEADLINE + timedelta(minutes=1))
    p = h.proposal(pid)
    assert (p.status, p.round, p.decided_at) == ("no_quorum", 0, DEADLINE)
    assert h.history(kind="cosponsor") == []


def test_times_in_another_zone_are_the_same_instant(hdb: Harness) -> None:
    h = hdb
    pid = h.propose()
    paris = timezone(timedelta(hours=1))
    moments = [datetime(2026, 1, 5, 12, m, tzinfo=paris) for m in (1, 2, 3, 4)]
    for name, moment in zip(LEADERS, moments, strict=True):
        h.react(name, "+1", pid, at=moment)
    assert h.proposal(pid).decided_at == datetime(2026, 1, 5, 11, 4, tzinfo=UTC)
    assert h.history(kind="reaction")[0]["at"] == datetime(2026, 1, 5, 11, 1, tzinfo=UTC)


# --- live state equals the state rebuilt from history (property) ---------------------------

USERS = ["ana", "ben", "cy", "dee", "eve", "zed"]
EMOJI = [
    "+1",
    "+1::skin-tone-3",
    "👍🏽",
    "white_check_mark",
    "thinking_face",
    "🤔",
    "neutral_face",
    "raised_hand",
    "✋🏿",
    "octagonal_sign",
    "tada",
    "heart",
    "eyes",
]

event_lists = st.lists(
    st.tuples(
        st.sampled_from(USERS),
        st.sampled_from(EMOJI),
        st.booleans(),  # added
        st.integers(min_value=0, max_value=40),  # minute: coarse, so ties happen
        st.integers(min_value=0, max_value=9),  # 0 -> redeliver an earlier event id
    ),
    min_size=1,
    max_size=25,
)


@pytest.fixture
def prop_harness(
    make_harness: HarnessFactory, make_spec: Callable[..., CircleSpec], db_url: str
) -> Harness:
    return make_harness(
        url=db_url,
        specs=[make_spec("open", early_close=False), make_spec("early")],
    )


_example = iter(range(10**9))


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=event_lists)
def test_live_state_equals_state_rebuilt_from_history(
    prop_harness: Harness, events: list[tuple[str, str, bool, int, int]]
) -> None:
    h = prop_harness
    n = next(_example)
    pids = {}
    for circle in ("open", "early"):
        reply = h.ok("ana", "propose Property", channel=circle)
        pids[circle] = int(reply.split("#")[1].split()[0])
    distinct: dict[str, Mark] = {}
    seen_ids: set[str] = set()
    sent: list[tuple[str, ReactionEvent]] = []
    start = h.clock.now()  # the harness lives across examples; its clock moves on
    for i, (user, emoji, added, minute, dup) in enumerate(events):
        at = start + timedelta(minutes=minute, seconds=i % 3)
        h.clock.set(max(h.clock.now(), at))  # a platform stamps an event before it arrives
        for circle, pid in pids.items():
            if dup == 0 and sent:
                event_id = sent[(i * 7) % len(sent)][0]  # same id, maybe another payload
                event_id = event_id.replace("-open-", f"-{circle}-").replace(
                    "-early-", f"-{circle}-"
                )
            else:
                event_id = f"x{n}-{circle}-{i}"
            event = ReactionEvent("console", event_id, circle, user, emoji, added, None, pid, at)
            h.core.handle(event)
            if circle == "open":
                sent.append((event_id, event))
                if event_id not in seen_ids and user != "zed":  # zed is not a member
                    distinct[event_id] = Mark(
                        user,
                        Sign.reaction(normalize_emoji(emoji)),
                        added,
                        at,
                        MarkSource("console", event_id),
                    )
                seen_ids.add(event_id)
    for pid in pids.values():
        live = h.core.state(pid)
        rebuilt = h.rebuilt_state(pid)
        assert live.stances == rebuilt.stances
        assert live.result == rebuilt.result
    # With no early close nothing closed, so every distinct member event counts.
    live = h.core.state(pids["open"])
    assert live.proposal.status == "open"
    expected = resolve_stances(distinct.values(), live.rules.emoji)
    assert live.stances == expected
    assert live.result == tally(live.rules, live.leaders, expected)
    # With early close it passed only if the counted answers allow it.
    early = h.core.state(pids["early"])
    if early.proposal.status == "passed":
        assert early.result.complete and early.result.passes
    else:
        assert early.proposal.status == "open"
        assert not (early.result.complete and early.result.passes)


def test_every_stance_changing_event_is_in_the_history(hdb: Harness) -> None:
    h = hdb
    pid = h.propose()
    h.react("ben", "+1", pid, at=T0 + timedelta(minutes=1))
    h.react("zed", "+1", pid, at=T0 + timedelta(minutes=1))
    h.clock.set(T0 + timedelta(minutes=2))
    h.ok("cy", f"concern {pid}")
    rows = h.history(kind="reaction")
    assert [
        (r["member"], (r["mark"], r["emoji"]), r["added"], r["counted"], r["event_id"])
        for r in rows
    ] == [
        ("ben", ("reaction", "+1"), True, True, rows[0]["event_id"]),
        (None, ("reaction", "+1"), True, False, rows[1]["event_id"]),
        ("cy", ("stance", "concern"), True, True, rows[2]["event_id"]),
    ]
    assert all(r["platform"] == "console" for r in rows)
    assert rows[2]["at"] == T0 + timedelta(minutes=2)
    assert h.rebuilt_state(pid).stances == h.state(pid).stances == {"ben": C, "cy": K}


def test_a_command_event_object_is_accepted_directly(h: Harness) -> None:
    replies = h.core.handle(CommandEvent("console", "direct", CIRCLE, "ana", "/propose Slash"))
    assert replies[0].ok
    replies = h.core.handle(CommandEvent("console", "direct2", CIRCLE, "ana", "!status 1"))
    assert replies[0].ok and "Slash" in replies[0].text


def test_members_fixture_shape(h: Harness) -> None:
    leaders = [m.name for m in h.core.directory.members(CIRCLE) if m.is_leader]
    assert leaders == list(LEADERS)


def test_an_intent_handed_over_typed_is_carried_out_without_reading_the_text(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A form or a button hands the core its intent; the text is what the person sees
    was asked, and is never parsed (a title with `by` in it stays text)."""

    def unread(text: str, speech: object = None) -> None:
        raise AssertionError(f"parsed {text!r}")

    monkeypatch.setattr("bot.handlers.core.parse_command", unread)
    asked = intents.Propose("Paint the wall by the door", by="2d")
    event = CommandEvent("console", "form1", CIRCLE, "ana", "propose …", intent=asked)
    [reply] = h.core.handle(event)
    assert reply.ok, reply.text
    [proposal] = h.proposals()
    assert proposal.text == "Paint the wall by the door"
    assert proposal.deadline == T0 + timedelta(days=2)


def test_a_draft_answer_names_the_deadline_it_read(make_harness: HarnessFactory) -> None:
    h = make_harness(require_cosponsor=True)
    reply = h.ok("ana", "propose Paint the office by Friday")
    assert reply.endswith(" Deadline: Fri, Jan 9, 2026, 5:00\u202fPM PST (Pacific Time).")
    assert "Deadline" not in h.ok("ana", "propose Paint the shed")  # none typed
