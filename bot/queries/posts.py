"""What the adapters render for a proposal: its card, a reminder, its outcome.

Built from the database on demand (by bot.runtime.dispatch, when it delivers), so what goes out
is always the state at sending time, never a stale copy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.domain.i18n import of
from bot.domain.model import Mark, Proposal, Stance, Status
from bot.domain.stances import latest_reasons
from bot.ports.store import UnitOfWork
from bot.state.context import Context
from bot.text.messages import (
    Outcome,
    ProposalCard,
    Reminder,
    StanceReason,
    missing_at_close,
    side_lines,
    stance_reasons,
)


def card(ctx: Context, proposal_id: int) -> ProposalCard:
    """The proposal's card as it stands now."""
    with ctx.store.transaction() as tx:
        proposal = tx.proposal(proposal_id)
        assert proposal is not None, proposal_id
        return card_in(ctx, tx, proposal)


def card_in(
    ctx: Context,
    tx: UnitOfWork,
    proposal: Proposal,
    marks: Sequence[Mark] | None = None,
) -> ProposalCard:
    """The same, read in the caller's transaction (a delivery pass's claim), with the
    round's `marks` when the caller read them with the proposal."""
    state = ctx.rounds.state(tx, proposal, marks)
    spec = ctx.directory.spec_of(proposal)
    leaders = {name for names in state.leaders.values() for name in names}
    voices = tuple(
        (name, stance) for name, stance in sorted(state.stances.items()) if name not in leaders
    )
    return ProposalCard(
        proposal_id=proposal.id,
        circle=spec.name,
        text=proposal.text,
        author=proposal.author,
        status=proposal.status,
        round=proposal.round,
        deadline=proposal.deadline,
        timezone=spec.timezone,
        sides=side_lines(state.result, state.proxied),
        voices=voices,
        decided_at=proposal.decided_at,
        review_at=proposal.review_at,
        cosponsor=proposal.cosponsor,
        needs_cosponsor=proposal.status == Status.DRAFT,
        reader=spec.reader,
        statement=proposal.statement,
        closed_by=proposal.closed_by,
        reasons=reasons_in(tx, proposal, state.stances),
    )


def reasons_in(
    tx: UnitOfWork, proposal: Proposal, stances: Mapping[str, Stance]
) -> tuple[StanceReason, ...]:
    """The reasons given with the stances of the proposal's round that stand."""
    if not proposal.round:
        return ()
    commands = tx.stance_commands(proposal.id, proposal.round)
    return stance_reasons(latest_reasons(commands, stances), stances)


def reminder(ctx: Context, proposal_id: int, late: bool = False) -> Reminder | None:
    """Who still has to answer, as of now; None once nobody is left to remind."""
    with ctx.store.transaction() as tx:
        return reminder_in(ctx, tx, proposal_id, late)


def reminder_in(
    ctx: Context, tx: UnitOfWork, proposal_id: int, late: bool = False
) -> Reminder | None:
    """The same, read in the caller's transaction."""
    proposal = tx.proposal(proposal_id)
    if proposal is None:
        raise KeyError(proposal_id)
    state = ctx.rounds.state(tx, proposal)
    if proposal.status != Status.OPEN:
        return None
    spec = ctx.directory.spec_of(proposal)
    now = ctx.clock.now()
    away = {m.name for m in ctx.directory.members(spec.name) if m.away_until and m.away_until > now}
    waiting = tuple(
        ctx.directory.mention(spec.name, name)
        for side in state.result.sides
        for name in side.waiting
        if name not in away
    )
    if not waiting:
        return None
    return Reminder(
        proposal_id=proposal.id,
        text=proposal.text,
        deadline=proposal.deadline,
        timezone=spec.timezone,
        waiting=waiting,
        sides=side_lines(state.result, state.proxied),
        late=late,
        reader=spec.reader,
    )


def outcome(ctx: Context, proposal_id: int) -> Outcome:
    """What is posted once in the thread when the proposal closes, in the circle's
    language."""
    with ctx.store.transaction() as tx:
        return outcome_in(ctx, tx, proposal_id)


def outcome_in(ctx: Context, tx: UnitOfWork, proposal_id: int) -> Outcome:
    """The same, read in the caller's transaction."""
    proposal = tx.proposal(proposal_id)
    if proposal is None:
        raise KeyError(proposal_id)
    state = ctx.rounds.state(tx, proposal)
    assert proposal.decided_at is not None, proposal_id
    reader = ctx.directory.spec_of(proposal).reader
    lang = of(reader)
    notes = []
    if proposal.closed_by:
        notes.append(lang._("Closed before its deadline by {name}.", name=proposal.closed_by))
    note = ""
    if proposal.status == Status.NO_QUORUM and proposal.round == 0:
        note = lang._("It was never co-sponsored, so voting did not open.")
    elif proposal.status == Status.NO_QUORUM:
        note = missing_at_close(side_lines(state.result), lang)
    elif proposal.status == Status.WITHDRAWN:
        name = tx.actor_of(proposal.id, "withdraw")
        note = lang._("Withdrawn by {name}.", name=name)
    notes.append(note)
    return Outcome(
        proposal_id=proposal.id,
        text=proposal.text,
        status=proposal.status,
        round=proposal.round,
        sides=side_lines(state.result, state.proxied),
        decided_at=proposal.decided_at,
        objectors=state.result.objectors,
        standing_aside=state.result.standing_aside,
        concerns=state.result.concerns,
        note=" ".join(n for n in notes if n),
        reader=reader,
        reasons=reasons_in(tx, proposal, state.stances),
    )
