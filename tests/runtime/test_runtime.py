"""The runtime and dispatcher: what the core decides reaches the platform exactly once,
and a platform failure delays messages without losing or doubling them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.domain.api_calls import ApiCalls
from bot.domain.circle import CircleSpec, MemberSpec
from bot.domain.clock import ManualClock
from bot.domain.diagnosis import Check, passed
from bot.domain.events import CommandEvent, ReactionEvent
from bot.domain.model import Role, Stance, Status
from bot.handlers.core import Core
from bot.handlers.schedule import JobKey, JobKind
from bot.ports.platform import CoreServices, EventSink, Message
from bot.runtime.runner import Runtime
from bot.text.messages import Outcome, ProposalCard, Reply
from storage import open_repository

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
CIRCLE = CircleSpec(
    name="council",
    sides=("milpa", "vera"),
    members=(
        MemberSpec("ana", "milpa", Role.LEADER),
        MemberSpec("ben", "milpa", Role.LEADER),
        MemberSpec("cy", "vera", Role.LEADER),
        MemberSpec("dee", "vera", Role.LEADER),
    ),
    admins=("ana",),
)


class RecordingAdapter:
    """A platform that records what it was asked to do, and can be made to fail."""

    platform = "fake"
    edit_interval = 0.0
    private_replies = False  # like Matrix; a test turns it on to be like Slack
    redelivers = False

    def __init__(self) -> None:
        self.cards: dict[str, ProposalCard] = {}
        self.edits: list[tuple[str, ProposalCard]] = []
        self.posts: list[tuple[str | None, Message]] = []
        self.keys: list[str] = []
        self.since: list[datetime | None] = []  # each post's earlier try, as told
        self.private: list[tuple[str, Reply]] = []
        self.failing = False
        self.calls = ApiCalls()
        self.leading: bool | None = None  # what the runtime said last
        self.not_ready: str | None = None  # what /readyz should hear
        # What the platform shows on each card, when a test wants read-back.
        self.shown: dict[str, list[tuple[str, str, datetime | None]]] | None = None
        self._refs = itertools.count(1)

    def _maybe_fail(self) -> None:
        if self.failing:
            raise ConnectionError("platform unavailable")

    async def start(self, sink: EventSink, services: CoreServices) -> None:
        self.sink = sink

    async def run(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def readiness(self) -> str | None:
        return self.not_ready

    def api_calls(self) -> ApiCalls:
        return self.calls

    async def set_leading(self, leading: bool) -> None:
        self.leading = leading

    async def diagnose(self, services: CoreServices) -> list[Check]:
        return [passed("fake: nothing to check")]

    async def post_card(
        self, channel: str, card: ProposalCard, key: str, since: datetime | None = None
    ) -> str:
        self.since.append(since)
        self._maybe_fail()
        ref = f"card{next(self._refs)}"
        self.cards[ref] = card
        return ref

    async def update_card(
        self, channel: str, message_ref: str, card: ProposalCard, key: str, version: int
    ) -> None:
        self._maybe_fail()
        self.cards[message_ref] = card
        self.edits.append((message_ref, card))

    async def post(
        self,
        channel: str,
        message: Message,
        thread_ref: str | None,
        key: str,
        since: datetime | None = None,
    ) -> str | None:
        self.since.append(since)
        self._maybe_fail()
        self.posts.append((thread_ref, message))
        self.keys.append(key)
        return f"msg{next(self._refs)}"

    async def reply_private(self, channel: str, user: str, reply: Reply) -> None:
        self.private.append((user, reply))

    async def read_reactions(
        self, channel: str, message_ref: str
    ) -> list[tuple[str, str, datetime | None]] | None:
        if self.shown is None:
            return None  # like the console: cannot tell
        return self.shown.get(message_ref, [])


class Rig:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.clock = ManualClock(T0)
        self.ids = itertools.count()
        self.adapter = RecordingAdapter()
        self.runtime = self._runtime()

    def _runtime(self) -> Runtime:
        core = Core(open_repository(f"sqlite:///{self.path}"), [CIRCLE], self.clock, ["fake"])
        return Runtime(core, [self.adapter])

    async def restart(self) -> None:
        await self.runtime.stop()
        self.runtime = self._runtime()
        await self.runtime.start()

    async def command(self, user: str, text: str) -> None:
        await self.runtime.on_event(
            CommandEvent("fake", f"e{next(self.ids)}", "council", user, text)
        )

    async def react(self, user: str, emoji: str, ref: str = "card1", event_id: str = "") -> None:
        event = ReactionEvent(
            "fake", event_id or f"e{next(self.ids)}", "council", user, emoji, True, message_ref=ref
        )
        await self.runtime.on_event(event)


@pytest.fixture
async def rig(tmp_path: Path):  # type: ignore[no-untyped-def]
    rig = Rig(tmp_path / "bot.db")
    await rig.runtime.start()
    yield rig
    await rig.runtime.stop()


def outcomes(adapter: RecordingAdapter) -> list[Outcome]:
    return [message for _, message in adapter.posts if isinstance(message, Outcome)]


async def test_card_edits_and_one_outcome_in_the_cards_thread(rig: Rig) -> None:
    await rig.command("ana", "propose Adopt the policy by 3d")
    assert list(rig.adapter.cards) == ["card1"]
    assert rig.adapter.private[-1][1].ok
    for user in ("ana", "ben", "cy"):
        await rig.react(user, "+1")
    await rig.react("cy", "+1", event_id="e3")  # a redelivery: counted once
    assert rig.adapter.cards["card1"].sides[1].consenting == 1
    await rig.react("dee", "white_check_mark")
    assert rig.adapter.cards["card1"].status is Status.PASSED
    (outcome,) = outcomes(rig.adapter)
    assert outcome.status is Status.PASSED
    assert rig.adapter.posts[-1][0] == "card1"  # in the card's thread
    await rig.react("ben", "raised_hand")  # late: changes nothing, posts nothing
    assert len(outcomes(rig.adapter)) == 1
    assert rig.adapter.cards["card1"].status is Status.PASSED


async def test_a_late_reaction_is_answered_only_where_replies_are_private(rig: Rig) -> None:
    await rig.command("ana", "propose Adopt the policy by 3d")
    for user in ("ana", "ben", "cy", "dee"):
        await rig.react(user, "+1")
    assert rig.adapter.cards["card1"].status is Status.PASSED
    said = len(rig.adapter.private)
    await rig.react("ben", "raised_hand")
    assert len(rig.adapter.private) == said  # in a room, an answer would be noise
    rig.adapter.private_replies = True
    await rig.react("cy", "raised_hand")
    await rig.react("dee", "tada")  # no stance: never counted, nothing to say
    ((user, reply),) = rig.adapter.private[said:]
    assert user == "cy" and not reply.ok
    assert reply.text == "Proposal #1 is already closed (passed), so your answer was not counted."
    assert rig.adapter.cards["card1"].status is Status.PASSED
    assert len(outcomes(rig.adapter)) == 1


async def test_errors_are_private_and_post_nothing(rig: Rig) -> None:
    await rig.command("ana", "withdraw 7")
    await rig.command("zed", "propose Hello")
    assert [reply.ok for _, reply in rig.adapter.private] == [False, False]
    assert rig.adapter.cards == {} and rig.adapter.posts == []


async def test_a_platform_outage_delays_but_never_loses_or_doubles(rig: Rig) -> None:
    rig.adapter.failing = True
    await rig.command("ana", "propose Adopt it by 3d")
    assert rig.adapter.cards == {}
    rig.adapter.failing = False
    await rig.runtime.flush()
    assert list(rig.adapter.cards) == ["card1"]
    await rig.react("dee", "raised_hand")
    rig.adapter.failing = True
    rig.clock.advance(timedelta(days=4))
    await rig.runtime.tick()  # the deadline closes it while the platform is down
    assert outcomes(rig.adapter) == []
    rig.adapter.failing = False
    await rig.runtime.flush()
    await rig.runtime.flush()
    (outcome,) = outcomes(rig.adapter)
    assert outcome.status is Status.BLOCKED and outcome.objectors == ("dee",)
    assert rig.adapter.cards["card1"].status is Status.BLOCKED


async def test_a_post_tried_before_is_tried_again_saying_when(rig: Rig) -> None:
    """The adapter is told when an earlier try of the same post began (kept in the
    database, so a process that died mid-post tells the next one): it may have landed."""
    rig.adapter.failing = True
    await rig.command("ana", "propose Adopt it by 3d")
    tried = rig.clock.now()
    rig.clock.advance(timedelta(minutes=5))
    rig.adapter.failing = False
    await rig.restart()
    assert rig.adapter.since == [None, tried]
    assert list(rig.adapter.cards) == ["card1"]


async def test_a_deadline_missed_while_down_closes_once_on_start(rig: Rig) -> None:
    await rig.command("ana", "propose Adopt it by 1h")
    for user in ("ana", "ben", "cy"):
        await rig.react(user, "+1")
    await rig.runtime.stop()
    rig.clock.advance(timedelta(hours=2))
    await rig.restart()
    await rig.restart()
    (outcome,) = outcomes(rig.adapter)
    assert outcome.status is Status.NO_QUORUM
    assert outcome.decided_at == T0 + timedelta(hours=1)
    assert list(rig.adapter.cards) == ["card1"]  # never posted twice


async def test_each_proposal_has_one_job_at_its_next_due_moment(rig: Rig) -> None:
    scheduler = rig.runtime.scheduler

    def wait(pid: int) -> timedelta:
        job = scheduler.get_job(JobKey(JobKind.PROPOSAL, pid).id)
        assert job is not None
        return job.next_run_time - datetime.now(UTC)  # the core's clock is a manual one

    def proposal_jobs() -> set[int]:  # beside them: the sweep
        ids = {job.id for job in scheduler.get_jobs()}
        return {pid for pid in range(1, 10) if JobKey(JobKind.PROPOSAL, pid).id in ids}

    await rig.command("ana", "propose Later by 3d")
    await rig.command("ana", "propose Sooner by 2h")
    assert proposal_jobs() == {1, 2}
    # 3d: first its 24h reminder, 2 days from now; 2h: its 1h reminder (the 24h one
    # falls before it opened, so it is skipped).
    assert timedelta(days=2) - timedelta(seconds=1) < wait(1) <= timedelta(days=2, seconds=1)
    assert timedelta(minutes=59) < wait(2) <= timedelta(hours=1, seconds=1)
    rig.clock.advance(timedelta(hours=1))
    await rig.runtime.tick()  # the reminder goes out; next comes the deadline
    assert timedelta(minutes=59) < wait(2) <= timedelta(hours=1, seconds=1)
    await rig.command("ana", "withdraw 2")
    assert proposal_jobs() == {1}


async def test_reactions_the_stream_missed_are_read_back_before_the_deadline(rig: Rig) -> None:
    await rig.command("ana", "propose Adopt it by 1h")
    await rig.react("ana", "+1")
    await rig.react("ben", "neutral_face")  # later removed, but the removal was dropped
    # The platform shows what the event stream lost: cy and dee consented, ben's
    # reaction is gone, and a stranger's and an old one are ignored.
    rig.adapter.shown = {
        "card1": [
            ("ana", "+1", None),
            ("cy", "👍🏽", None),
            ("dee", "white_check_mark", T0 + timedelta(minutes=1)),
            ("zed", "+1", None),
            ("ben", "+1", T0 - timedelta(days=1)),  # made before the round opened
        ]
    }
    rig.clock.advance(timedelta(hours=1, seconds=1))
    await rig.runtime.tick()
    (outcome,) = outcomes(rig.adapter)
    # milpa: ana consents, ben has no answer any more -> quorum 1.0 not met.
    assert outcome.status is Status.NO_QUORUM
    state = await rig.runtime.call(rig.runtime.core.state, 1)
    assert state.stances == {"ana": Stance.CONSENT, "cy": Stance.CONSENT, "dee": Stance.CONSENT}


async def test_a_reaction_left_from_an_earlier_round_is_not_read_back_as_an_answer(
    rig: Rig,
) -> None:
    """An amend asks everyone again; ana's 👍 of round 1 is still on the card (the platform
    cannot say when it was made), so the read-back before the deadline does not count it
    for round 2. cy's, never recorded, is an answer the event stream lost."""
    await rig.command("ana", "propose Adopt it by 1h")
    await rig.react("ana", "+1")
    await rig.command("ana", "amend 1 Adopt it, revised")
    rig.adapter.shown = {"card1": [("ana", "+1", None), ("cy", "+1", None)]}
    rig.clock.advance(timedelta(hours=1, seconds=1))
    await rig.runtime.tick()
    state = await rig.runtime.call(rig.runtime.core.state, 1)
    assert state.proposal.round == 2
    assert state.stances == {"cy": Stance.CONSENT}


async def test_start_reads_open_cards_back(rig: Rig) -> None:
    await rig.command("ana", "propose Adopt it by 1d")
    await rig.runtime.stop()
    rig.adapter.shown = {"card1": [(name, "+1", None) for name in ("ana", "ben", "cy", "dee")]}
    await rig.restart()
    (outcome,) = outcomes(rig.adapter)
    assert outcome.status is Status.PASSED


async def test_a_card_that_cannot_be_rendered_holds_back_no_other(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.queries import posts

    real = posts.card_in

    def broken_for_the_first(ctx: Any, tx: Any, proposal: Any, marks: Any) -> Any:
        if proposal.id == 1:
            raise ValueError("a card this version cannot render")
        return real(ctx, tx, proposal, marks)

    monkeypatch.setattr(posts, "card_in", broken_for_the_first)
    await rig.command("ana", "propose First by 3d")
    await rig.command("ana", "propose Second by 3d")
    assert [card.proposal_id for card in rig.adapter.cards.values()] == [2]
    assert "cannot render the card of #1" in caplog.text
