"""The clock's work: deadlines that passed, reminders due, check-ins due, decisions
whose review date came; and each proposal's next wake-up for the scheduler."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.domain.i18n import of
from bot.domain.model import Card, Proposal, Status
from bot.handlers import checkins, report
from bot.handlers.proposals import close_at_deadline, open_proposal
from bot.handlers.schedule import Job, proposal_job, send_due_reminders
from bot.state.context import Context


def advance(ctx: Context) -> list[int]:
    """Do what has fallen due: close proposals at their deadline, queue reminders,
    open reviews. Returns the ids of the proposals it closed or opened."""
    now = ctx.clock.now()
    touched: list[int] = []
    with ctx.store.transaction() as tx:
        due = tx.due_proposals(now, [Status.OPEN.value, Status.DRAFT.value])
    for proposal in due:
        if not ctx.directory.known(proposal.circle_id):
            continue  # a circle no longer configured
        with ctx.store.transaction() as tx:
            current = tx.proposal(proposal.id, lock=True)
            if current is None or current.status.is_closed:
                continue
            close_at_deadline(ctx, tx, current)
            touched.append(current.id)
    with ctx.store.transaction() as tx:
        send_due_reminders(ctx, tx, now)
    for spec in ctx.directory.specs.values():
        checkins.run_due(ctx, spec, now)
        report.run_due(ctx, spec, now)
    with ctx.store.transaction() as tx:
        reviews = tx.due_reviews(now)
    for decision in reviews:
        if not ctx.directory.known(decision.circle_id):
            continue
        touched.append(open_review(ctx, decision, now))
    return touched


def open_review(ctx: Context, decision: Proposal, now: datetime) -> int:
    spec = ctx.directory.spec_of(decision)
    # The new proposal's text is the circle's, in the circle's language.
    text = of(spec.reader)._(
        "Review of decision #{number}: keep, change or retire it? — {text}",
        number=decision.id,
        text=decision.text,
    )
    with ctx.store.transaction() as tx:
        tx.update_proposal(decision.id, reviewed=True)
        known = any(m.name == decision.author for m in ctx.directory.members(spec.name))
        author = decision.author if known else "circlebot"
        return open_proposal(
            ctx,
            tx,
            spec,
            author=author,
            text=text,
            deadline=spec.rules.default_deadline.after(now),
            review=None,
            now=now,
            platform="core",
            event_id=f"review:{decision.id}",
            review_of=decision.id,
        )


def open_cards(ctx: Context, platform: str, due_only: bool) -> list[Card]:
    """Posted cards of open proposals on a platform (only those past their deadline,
    with `due_only`), for reconciling."""
    now = ctx.clock.now()
    with ctx.store.transaction() as tx:
        if due_only:
            found = tx.due_proposals(now, [Status.OPEN.value])
        else:
            found = tx.proposals(statuses=[Status.OPEN.value])
        cards = [card for p in found for card in tx.cards(p.id)]
    return [c for c in cards if c.platform == platform and c.message_ref is not None]


def jobs(ctx: Context, proposal_ids: Iterable[int] | None = None) -> dict[int, Job | None]:
    """The wake-up job of each given proposal (of all live ones when None); None for
    a proposal with nothing ahead."""
    now = ctx.clock.now()
    with ctx.store.transaction() as tx:
        if proposal_ids is None:
            found = tx.live_proposals()
            ctx.rounds.preload(tx)
        else:
            found = [p for p in map(tx.proposal, proposal_ids) if p is not None]
        return {
            p.id: proposal_job(ctx, tx, p, now) if ctx.directory.known(p.circle_id) else None
            for p in found
        }
