"""Answers: reactions, buttons and stance commands on a proposal's card, and reading
a card's reactions back from the platform when the event stream missed some. An answer
is recorded (history), applied to the round's live marks if it counts, and may close
the proposal early or ask an objector for their reason."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain import intents
from bot.domain.circle import CircleSpec
from bot.domain.errors import Duplicate
from bot.domain.events import ReactionEvent
from bot.domain.i18n import of
from bot.domain.model import (
    Mark,
    MarkKind,
    MarkSource,
    Member,
    Proposal,
    ProposalMarks,
    Sign,
    Stance,
    Status,
)
from bot.domain.refusal import Refusal
from bot.domain.stances import HANDSHAKE, normalize_emoji
from bot.domain.tally import decide, reaction_key, stance_key, stance_of, tally
from bot.handlers.effects import compose, to_thread
from bot.handlers.proposals import close, close_at_deadline, open_one, open_with_cosponsor
from bot.ports.store import UnitOfWork
from bot.state import outbox
from bot.state.call import Call
from bot.state.context import Context
from bot.state.outbox import NoticePost
from bot.state.rounds import LATE, Answer, answer
from bot.text.messages import Notice, Reply, stance_label, status_label


@dataclass(frozen=True)
class StanceCommand:
    """A stance given as a command (`object 7 it breaks the budget`): which, and the
    reason typed after the id. The history keeps both (`detail`), so a reason is shown
    only while its stance stands (bot.domain.stances.latest_reasons)."""

    stance: Stance
    reason: str | None = None

    @property
    def detail(self) -> dict[str, Any]:
        return {"stance": self.stance.value, "reason": self.reason}


def react(ctx: Context, event: ReactionEvent) -> list[Reply]:
    """A reaction added or removed on a card, or a button of ours pressed: one
    transaction that loads the proposal with its round's marks, decides (bot.state.rounds.answer,
    pure) and writes what that says. Returns what to tell the person privately, where
    their platform can (a stance given after the proposal closed: not counted)."""
    now = ctx.clock.now()
    # A platform's timestamp orders events, but never runs ahead of our clock: one
    # reaction stamped in the future must not close a proposal early.
    at = min(event.at, now) if event.at else now
    with ctx.store.transaction() as tx:
        if ctx.store.shared or ctx.directory.stale:
            ctx.directory.refresh(tx)  # another replica may have changed the members
        sign = (
            stance_key(event.stance)
            if event.stance is not None
            else reaction_key(normalize_emoji(event.emoji))
        )
        added, earlier_round = event.added, False
        original = None
        if event.removes is not None:
            # A redaction names the reaction it removes, not its emoji or author.
            original = tx.reaction(event.platform, event.removes)
            if original is None or not original.added:
                return []  # not a reaction we recorded: nothing to undo
            loaded = tx.proposal_with_marks(original.proposal_id, lock=True)
            sign, added = original.sign, False
        else:
            loaded = target(tx, event)
        if loaded is None:
            return []  # a reaction on some other message: not ours to count
        proposal, marks = loaded.proposal, loaded.marks
        if ctx.directory.elsewhere(proposal.circle_id, event.workspace):
            return []  # from another workspace than its circle's: never applied
        if not proposal.status.is_closed and at >= proposal.deadline:
            # Its deadline passed before this reaction was made: the outcome stands
            # as it was at the deadline, and the reaction comes late.
            proposal = close_at_deadline(ctx, tx, proposal)
        spec = ctx.directory.spec_of(proposal)
        if original is not None:
            member = ctx.directory.member_named(spec.name, original.member)
            earlier_round = original.round != proposal.round
        else:
            member = reactor(ctx, tx, spec, proposal, event.platform, event.user)
        try:
            decided = apply_mark(
                ctx,
                tx,
                spec,
                proposal,
                member,
                sign=sign,
                added=added,
                at=at,
                platform=event.platform,
                event_id=event.event_id,
                actor=event.user,
                earlier_round=earlier_round,
                marks=marks,
            )
        except Duplicate:  # a redelivery: applied (and answered) the first time
            ctx.duplicates[event.platform] += 1
            return []
        # A stance after the close (not any emoji: those never count anyway).
        mark = Mark(event.user, sign, added, at, MarkSource(event.platform, event.event_id))
        late = decided.note == LATE and added and stance_of(mark, spec.rules.emoji) is not None
        return [closed_not_counted(spec, proposal, member.name)] if late and member else []


def closed_not_counted(spec: CircleSpec, proposal: Proposal, name: str) -> Reply:
    """A stance given after the proposal closed: recorded, not counted; said to the
    person in their own language."""
    say = of(spec.reader_of(name))
    text = say._(
        "Proposal #{number} is already closed ({status}), so your answer was not counted.",
        number=proposal.id,
        status=status_label(proposal.status, say),
    )
    return Reply(text, ok=False)


def reconcile(
    ctx: Context,
    platform: str,
    message_ref: str,
    present: Sequence[tuple[str, str, datetime | None]],
) -> int:
    """Make the recorded reactions on a card match what the platform shows now, since
    platforms drop events during outages. `present` holds (user, emoji, when made if
    known); a reaction made before the current round opened is left out. Returns how
    many differences it applied."""
    now = ctx.clock.now()
    with ctx.store.transaction() as tx:
        card = tx.card_by_ref(platform, message_ref)
        proposal = tx.proposal(card.proposal_id) if card else None
        if proposal is None or proposal.status != Status.OPEN:
            return 0
        spec = ctx.directory.spec_of(proposal)
        frozen = ctx.rounds.frozen(tx, proposal.id, proposal.round)
        shown: dict[tuple[str, Sign], Member] = {}
        for user, emoji, made_at in present:
            member = reactor(ctx, tx, spec, proposal, platform, user)
            if member is not None and (made_at is None or made_at >= frozen.opened_at):
                shown[(member.name, reaction_key(normalize_emoji(emoji)))] = member
        recorded = {
            (m.member, m.sign): m.added
            for m in tx.marks(proposal.id, proposal.round)
            if m.source.platform == platform and m.sign.kind is MarkKind.REACTION
        }
        # A reaction still on the card from an earlier round (an amend asked everyone
        # again) is not an answer to this one: the platform cannot say when it was made.
        left_on = {
            (m.member, m.sign)
            for number in range(1, proposal.round)
            for m in tx.marks(proposal.id, number)
            if m.added and m.source.platform == platform and m.sign.kind is MarkKind.REACTION
        }
        # Removals first, so a half-applied read-back never closes a proposal early.
        changes = [(key, False) for key, on in recorded.items() if on and key not in shown]
        changes += [(key, True) for key in shown if not recorded.get(key) and key not in left_on]
        # Read back before closing, what it finds was there before the deadline.
        at = min(now, proposal.deadline - timedelta(milliseconds=1))
    for (name, sign), added in changes:
        with ctx.store.transaction() as tx:
            current = tx.proposal(proposal.id, lock=True)
            if current is None or current.status != Status.OPEN:
                break
            member = shown.get((name, sign)) or ctx.directory.member_named(spec.name, name)
            with contextlib.suppress(Duplicate):
                apply_mark(
                    ctx,
                    tx,
                    spec,
                    current,
                    member,
                    sign=sign,
                    added=added,
                    at=at,
                    platform=platform,
                    event_id=f"reconcile:{message_ref}:{name}:{sign.value}:{now.isoformat()}",
                    actor=name,
                )
    return len(changes)


def reactor(
    ctx: Context, tx: UnitOfWork, spec: CircleSpec, proposal: Proposal, platform: str, user: str
) -> Member | None:
    """The member behind a reaction: current members, and those removed mid-round who
    are still among the leaders this round is counted with."""
    member = ctx.directory.member_for(spec.name, platform, user)
    if member is None and proposal.round:
        former = ctx.directory.member_for(spec.name, platform, user, former=True)
        frozen = ctx.rounds.frozen(tx, proposal.id, proposal.round)
        if former is not None and former.name in frozen.leader_names:
            return former
    return member


def target(tx: UnitOfWork, event: ReactionEvent) -> ProposalMarks | None:
    """The proposal a reaction is on, locked until the transaction ends, with its
    round's marks."""
    if event.proposal_id is not None:
        return tx.proposal_with_marks(event.proposal_id, lock=True)
    if event.message_ref is None:
        return None
    return tx.proposal_on_card(event.platform, event.message_ref, event.channel, lock=True)


def apply_mark(
    ctx: Context,
    tx: UnitOfWork,
    spec: CircleSpec,
    proposal: Proposal,
    member: Member | None,
    *,
    sign: Sign,
    added: bool,
    at: datetime,
    platform: str,
    event_id: str,
    actor: str,
    earlier_round: bool = False,
    marks: Sequence[Mark] | None = None,
    command: StanceCommand | None = None,
) -> Answer:
    """Record one reaction (or stance command) and apply it if it counts. `marks`: the
    round's live marks, when the caller read them with the proposal (else read here);
    `command`: the stance command it came from, kept in the history with its reason.
    Returns what the answer did (bot.state.rounds.answer)."""
    counts = member is not None and proposal.status is Status.OPEN
    frozen = ctx.rounds.frozen(tx, proposal.id, proposal.round) if counts else None
    if counts and marks is None:
        marks = tx.marks(proposal.id, proposal.round)
    source = MarkSource(platform, event_id)
    new = Mark(member.name if member else actor, sign, added, at, source)
    decided = answer(
        proposal.status,
        frozen,
        marks or (),
        new,
        member=member is not None,
        earlier_round=earlier_round,
    )
    # Recorded first: its unique source makes a redelivery fail before anything else.
    tx.record(
        circle_id=ctx.directory.circle_id(spec.name),
        kind="reaction",
        actor=member.name if member else actor,
        at=at,
        platform=platform,
        event_id=event_id,
        proposal_id=proposal.id,
        round=proposal.round,
        member=member.name if member else None,
        sign=sign,
        added=added,
        counted=decided.note is None,
        note=decided.note,
        detail=command.detail if command else None,
    )
    if member is None:
        return decided
    if proposal.status is Status.DRAFT and sign == reaction_key(HANDSHAKE) and added:
        # A 🤝 from the author's own side is recorded and changes nothing.
        with contextlib.suppress(Refusal):
            open_with_cosponsor(ctx, tx, spec, proposal, member, at, platform, event_id + ":open")
    if decided.store:
        tx.put_mark(proposal.id, proposal.round, new, replace=decided.replaces)
    if decided.changed:
        tx.touch_cards(proposal.id)
    if decided.objects:
        reason = command.reason if command else None
        ask_for_reason(ctx, tx, spec, proposal, member.name, at, reason)
    if decided.outcome is not None:
        close(ctx, tx, spec, proposal, decided.outcome, at)
    return decided


def decide_early(
    ctx: Context,
    tx: UnitOfWork,
    spec: CircleSpec,
    proposal: Proposal,
    stances: dict[str, Stance],
    at: datetime,
) -> None:
    """Close the proposal now if its round has reached an early outcome."""
    frozen = ctx.rounds.frozen(tx, proposal.id, proposal.round)
    result = tally(frozen.rules, frozen.leaders, stances)
    outcome = decide(result, frozen.rules, at_deadline=False)
    if outcome is not None:
        close(ctx, tx, spec, proposal, outcome, at)


def ask_for_reason(
    ctx: Context,
    tx: UnitOfWork,
    spec: CircleSpec,
    proposal: Proposal,
    objector: str,
    at: datetime,
    reason: str | None = None,
) -> None:
    """Ask an objector for their reason in the thread; one who gave it with the command
    is not asked again: the thread (the author included) is told it."""
    circle = of(spec.reader)  # asked in the thread, for everyone to read
    if reason:
        text = circle._(
            '{objector} objects to proposal #{number}, with this reason: "{reason}". '
            "{author}, as the author you may answer here or amend the proposal."
        )
    else:
        text = circle._(
            "{objector} objects to proposal #{number}. What is your reason? {author}, as "
            "the author you may answer here or amend the proposal."
        )
    notice = Notice(
        compose(
            text,
            objector=ctx.directory.mention(spec.name, objector),
            number=proposal.id,
            author=ctx.directory.mention(spec.name, proposal.author),
            reason=reason or "",
        )
    )
    key = outbox.objection(proposal.id, proposal.round, objector)
    to_thread(ctx, tx, spec, proposal.id, key, NoticePost(notice), at)


def answer_command(call: Call, intent: intents.SetStance) -> str:
    actor, pid, stance, say = call.actor, intent.proposal_id, intent.stance, call.say
    proposal = open_one(call, pid, allow_draft=False)
    apply_mark(
        call.ctx,
        call.unit,
        call.spec,
        proposal,
        actor,
        sign=stance_key(stance),
        added=True,
        at=call.now,
        platform=call.event.platform,
        event_id=call.event.event_id,
        actor=actor.name,
        command=StanceCommand(stance, intent.reason),
    )
    # Inside a sentence, in lower case: `…on #7: stand aside.`
    label = stance_label(stance, say).lower()
    if actor.is_leader:
        reply = say._("Recorded your answer on #{number}: {stance}.", number=pid, stance=label)
    else:
        reply = say._(
            "Recorded your answer on #{number}: {stance} (as a voice: only leaders' answers "
            "are counted).",
            number=pid,
            stance=label,
        )
    if intent.reason:
        reply += " " + say._('Your reason is on record: "{reason}".', reason=intent.reason)
    return reply


def press(ctx: Context, event: ReactionEvent, stance: Stance) -> None:
    """A button press: behaves exactly like a reaction."""
    react(
        ctx,
        ReactionEvent(
            platform=event.platform,
            event_id=event.event_id,
            channel=event.channel,
            user=event.user,
            emoji="",
            added=True,
            message_ref=event.message_ref,
            proposal_id=event.proposal_id,
            at=event.at,
            workspace=event.workspace,
            stance=stance,
        ),
    )
