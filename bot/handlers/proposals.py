"""Proposals: opening one, its rounds, amending, withdrawing, co-sponsoring, and closing
with an outcome. Each runs inside the transaction of the command (or deadline) that
caused it; what must be posted is queued in that same transaction."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain import intents
from bot.domain.circle import CircleSpec
from bot.domain.durations import DurationError, iso, parse_when
from bot.domain.i18n import Lang, lang, of
from bot.domain.model import Member, Proposal, Status
from bot.domain.refusal import Refusal
from bot.domain.tally import decide
from bot.handlers.effects import (
    compose,
    in_zone,
    record_on_proposal,
    repeated_note,
    speaker,
    to_thread,
    when,
)
from bot.handlers.proxies import carry_into_round
from bot.ports.store import UnitOfWork
from bot.state import outbox
from bot.state.call import Call
from bot.state.context import Context
from bot.state.outbox import NoticePost, OutcomePost
from bot.text.grammar import command_name
from bot.text.messages import Notice, status_label

log = logging.getLogger(__name__)


def proposal_in(ctx: Context, spec: CircleSpec, proposal_id: int, say: Lang) -> Proposal:
    """A proposal of this circle, for someone who reads `say`; refused if there is none."""
    with ctx.store.transaction() as tx:
        proposal = tx.proposal(proposal_id)
    if proposal is None or proposal.circle_id != ctx.directory.circle_id(spec.name):
        raise Refusal(say._("There is no proposal #{number} in this circle.", number=proposal_id))
    return proposal


def open_one(call: Call, proposal_id: int, allow_draft: bool) -> Proposal:
    """A proposal of this circle still taking answers (or amendments), locked for the
    command's transaction; refused, in the asker's words, if it is not."""
    ctx, say = call.ctx, call.say
    proposal = call.unit.proposal(proposal_id, lock=True)
    if proposal is None or proposal.circle_id != ctx.directory.circle_id(call.spec.name):
        raise Refusal(say._("There is no proposal #{number} in this circle.", number=proposal_id))
    status = proposal.status
    if status.is_closed:
        raise Refusal(
            say._(
                "Proposal #{number} is already closed ({status}).",
                number=proposal_id,
                status=status_label(status, say),
            )
        )
    if ctx.clock.now() >= proposal.deadline:
        # advance() is about to close it with the outcome it had at its deadline.
        raise Refusal(
            say._("Proposal #{number} reached its deadline; it is closing.", number=proposal_id)
        )
    if status is Status.DRAFT and not allow_draft:
        raise Refusal(
            say._("Proposal #{number} is a draft waiting for a co-sponsor.", number=proposal_id)
        )
    return proposal


def only_author_or_admin(call: Call, proposal: Proposal, refusal: str) -> None:
    """Refuse (with `refusal`) anyone but the proposal's author and the circle's admins."""
    actor = call.actor
    if actor.name != proposal.author and not call.ctx.directory.is_admin(call.spec, actor):
        raise Refusal(refusal)


def propose(call: Call, intent: intents.Propose) -> str:
    ctx, tx, spec, actor, now = call.ctx, call.unit, call.spec, call.actor, call.now
    text, by, review = intent.text, intent.by, intent.review
    reader, say = call.reader, call.say
    if not actor.is_leader:
        raise Refusal(say._("Only leaders can open proposals; you are a member with a voice."))
    ends = spec.rules.day_ends
    typed = when(by, now, reader, "deadline", say, ends) if by else None
    deadline = typed.moment if typed else spec.rules.default_deadline.after(now)
    review_read = when(review, now, reader, "review", say, ends) if review else None
    notes = "".join(
        repeated_note(say, text, read, reader.timezone)
        for text, read in ((by, typed), (review, review_read))
        if text and read
    )
    pid = open_proposal(
        ctx,
        tx,
        spec,
        author=actor.name,
        text=text,
        deadline=deadline,
        review=review,
        now=now,
        platform=call.event.platform,
        event_id=call.event.event_id,
    )
    if spec.rules.require_cosponsor:
        # A deadline typed is said back in words, as in every answer to a WHEN.
        typed_deadline = (
            " " + say._("Deadline: {when}", when=in_zone(say, deadline, reader.timezone)) + "."
            if typed
            else ""
        )
        return (
            say._(
                "Proposal #{number} is a draft until a leader of another side co-sponsors it "
                "(🤝 or `{cosponsor} {number}`).",
                number=pid,
                cosponsor=command_name("cosponsor", say.code),
            )
            + typed_deadline
            + notes
        )
    return (
        say._(
            "Proposal #{number} is open until {deadline}.",
            number=pid,
            deadline=in_zone(say, deadline, reader.timezone),
        )
        + notes
    )


def open_proposal(
    ctx: Context,
    tx: UnitOfWork,
    spec: CircleSpec,
    *,
    author: str,
    text: str,
    deadline: datetime,
    review: str | None,
    now: datetime,
    platform: str,
    event_id: str,
    review_of: int | None = None,
) -> int:
    circle_id = ctx.directory.circle_id(spec.name)
    draft = spec.rules.require_cosponsor
    pid = tx.create_proposal(
        circle_id=circle_id,
        author=author,
        text=text,
        status=(Status.DRAFT if draft else Status.OPEN).value,
        created_at=now,
        deadline=deadline,
        review=review,
        review_of=review_of,
    )
    tx.record(
        circle_id=circle_id,
        kind="propose",
        actor=author,
        at=now,
        platform=platform,
        event_id=event_id,
        proposal_id=pid,
        detail={"text": text, "deadline": iso(deadline), "review": review},
    )
    ctx.changes.add(pid)
    if not draft:
        open_round(ctx, tx, spec, pid, 1, text, now)
    for card_platform, channel in ctx.directory.channels(spec):
        tx.add_card(pid, card_platform, channel)
    return pid


def open_round(
    ctx: Context, tx: UnitOfWork, spec: CircleSpec, pid: int, number: int, text: str, now: datetime
) -> None:
    leaders = ctx.directory.leaders_by_side(spec)
    rules = spec.rules.to_json()
    tx.open_round(pid, number, text, now, rules, leaders)
    # The history alone must reproduce every tally: it keeps what the round froze.
    tx.record(
        circle_id=ctx.directory.circle_id(spec.name),
        kind="round",
        actor="circlebot",
        at=now,
        platform="core",
        event_id=f"round:{pid}:{number}",
        proposal_id=pid,
        round=number,
        detail={"rules": rules, "leaders": leaders, "text": text},
    )
    if spec.rules.allow_proxy:
        tx.lock_circles()  # an `away` on another replica either comes first, or sees this
        carry_into_round(ctx, tx, spec, pid, number, now)


def amend(call: Call, intent: intents.Amend) -> str:
    ctx, tx, spec, now = call.ctx, call.unit, call.spec, call.now
    pid, text, by = intent.proposal_id, intent.text, intent.by
    reader, say = call.reader, call.say
    proposal = open_one(call, pid, allow_draft=True)
    only_author_or_admin(
        call,
        proposal,
        say._(
            "Only the author ({author}) or an admin can amend #{number}.",
            author=proposal.author,
            number=pid,
        ),
    )
    typed = when(by, now, reader, "deadline", say, spec.rules.day_ends) if by else None
    deadline = typed.moment if typed else proposal.deadline
    new_round = proposal.round + 1 if proposal.status == Status.OPEN else 0
    detail = {"text": text, "deadline": iso(deadline), "previous": proposal.text}
    record_on_proposal(call, "amend", proposal, detail, round=new_round)
    tx.update_proposal(pid, text=text, deadline=deadline)
    ctx.changes.add(pid)
    if new_round:
        open_round(ctx, tx, spec, pid, new_round, text, now)
        frozen = ctx.rounds.frozen(tx, pid, new_round)
        circle = of(spec.reader)  # the notice is for everyone in the thread
        notice = Notice(
            compose(
                circle._(
                    "✏️ Proposal #{number} was amended: round {round}. Answers were "
                    "cleared; please answer again: {leaders}"
                ),
                number=pid,
                round=new_round,
                leaders=[
                    ctx.directory.mention(spec.name, n)
                    for names in frozen.leaders.values()
                    for n in names
                ],
            )
        )
        to_thread(ctx, tx, spec, pid, outbox.amended(pid, new_round), NoticePost(notice), now)
    tx.touch_cards(pid)
    if by and typed:  # a new deadline: say when it is, in the zone it was read in
        until = in_zone(say, deadline, reader.timezone)
        note = repeated_note(say, by, typed, reader.timezone)
        if new_round:
            return (
                say._(
                    "Proposal #{number} amended; round {round} is open until {deadline}.",
                    number=pid,
                    round=new_round,
                    deadline=until,
                )
                + note
            )
        return (
            say._(
                "Draft #{number} amended; its deadline is {deadline}.",
                number=pid,
                deadline=until,
            )
            + note
        )
    if new_round:
        return say._(
            "Proposal #{number} amended; round {round} is open.", number=pid, round=new_round
        )
    return say._("Draft #{number} amended.", number=pid)


def withdraw(call: Call, intent: intents.Withdraw) -> str:
    ctx, tx, spec, now = call.ctx, call.unit, call.spec, call.now
    pid, say = intent.proposal_id, call.say
    proposal = open_one(call, pid, allow_draft=True)
    only_author_or_admin(
        call,
        proposal,
        say._(
            "Only the author ({author}) or an admin can withdraw #{number}.",
            author=proposal.author,
            number=pid,
        ),
    )
    record_on_proposal(call, "withdraw", proposal)
    close(ctx, tx, spec, proposal, Status.WITHDRAWN, now)
    return say._("Proposal #{number} withdrawn.", number=pid)


def open_with_cosponsor(
    ctx: Context,
    tx: UnitOfWork,
    spec: CircleSpec,
    proposal: Proposal,
    actor: Member,
    now: datetime,
    platform: str,
    event_id: str,
) -> None:
    author = next((m for m in ctx.directory.members(spec.name) if m.name == proposal.author), None)
    if not actor.is_leader or (author is not None and author.side == actor.side):
        say = of(speaker(spec, actor))
        raise Refusal(say._("A co-sponsor must be a leader of another side than the author's."))
    tx.record(
        circle_id=ctx.directory.circle_id(spec.name),
        kind="cosponsor",
        actor=actor.name,
        at=now,
        platform=platform,
        event_id=event_id,
        proposal_id=proposal.id,
        round=1,
    )
    tx.update_proposal(proposal.id, status=Status.OPEN.value, cosponsor=actor.name)
    ctx.changes.add(proposal.id)
    open_round(ctx, tx, spec, proposal.id, 1, proposal.text, now)
    tx.touch_cards(proposal.id)


def close_now(call: Call, intent: intents.Close) -> str:
    """`close ID`: decide now by the rule applied at the deadline; the outcome says who
    closed it, and its reminders and deadline fall away with its open status."""
    ctx, tx, spec, actor, now = call.ctx, call.unit, call.spec, call.actor, call.now
    pid, say = intent.proposal_id, call.say
    proposal = open_one(call, pid, allow_draft=True)
    only_author_or_admin(
        call,
        proposal,
        say._(
            "Only the author ({author}) or an admin can close #{number}.",
            author=proposal.author,
            number=pid,
        ),
    )
    status = deadline_outcome(ctx, tx, proposal)
    detail = {"status": status.value}
    record_on_proposal(call, "close", proposal, detail)
    close(ctx, tx, spec, proposal, status, now, closed_by=actor.name)
    return say._(
        "Proposal #{number} is closed: {status}. The outcome is posted in its thread; "
        "`{outcome} {number} TEXT` adds its outcome statement: what was decided and who does what.",
        number=pid,
        status=status_label(status, say),
        outcome=command_name("outcome", say.code),
    )


def write_statement(call: Call, intent: intents.OutcomeStatement) -> str:
    """`outcome ID TEXT`: the outcome statement of a closed proposal. A new one replaces
    the last on the card; every version stays in history."""
    ctx, tx, spec, actor, now = call.ctx, call.unit, call.spec, call.actor, call.now
    pid, text, say = intent.proposal_id, intent.text, call.say
    proposal = tx.proposal(pid, lock=True)
    if proposal is None or proposal.circle_id != ctx.directory.circle_id(spec.name):
        raise Refusal(say._("There is no proposal #{number} in this circle.", number=pid))
    only_author_or_admin(
        call,
        proposal,
        say._(
            "Only the author ({author}) or an admin can write the outcome statement of #{number}.",
            author=proposal.author,
            number=pid,
        ),
    )
    if not proposal.status.is_closed:
        raise Refusal(
            say._(
                "Proposal #{number} is not closed yet ({status}): its outcome statement "
                "comes once it is (`{close} {number}` closes it now).",
                number=pid,
                status=status_label(proposal.status, say),
                close=command_name("close", say.code),
            )
        )
    detail = {"text": text, "previous": proposal.statement}
    record_on_proposal(call, "statement", proposal, detail)
    tx.update_proposal(pid, statement=text)
    tx.touch_cards(pid)
    circle = of(spec.reader)  # posted for everyone in the thread
    notice = Notice(
        compose(
            circle._("📝 Outcome statement of proposal #{number}, from {name}: {text}"),
            number=pid,
            name=ctx.directory.mention(spec.name, actor.name),
            text=text,
        )
    )
    key = outbox.statement(pid, f"{call.event.platform}:{call.event.event_id}")
    to_thread(ctx, tx, spec, pid, key, NoticePost(notice), now)
    if proposal.statement:
        return say._(
            "The outcome statement of #{number} is replaced (the earlier one stays in its "
            "history) and posted in its thread.",
            number=pid,
        )
    return say._(
        "The outcome statement of #{number} is saved and posted in its thread.", number=pid
    )


def deadline_outcome(ctx: Context, tx: UnitOfWork, proposal: Proposal) -> Status:
    """The outcome the deadline rule gives the proposal as it stands now."""
    if proposal.round == 0:  # never co-sponsored: voting never opened
        return Status.NO_QUORUM
    state = ctx.rounds.state(tx, proposal)
    status = decide(state.result, state.rules, at_deadline=True)
    assert status is not None
    return status


def close(
    ctx: Context,
    tx: UnitOfWork,
    spec: CircleSpec,
    proposal: Proposal,
    status: Status,
    at: datetime,
    closed_by: str | None = None,
) -> None:
    # Recorded first: its unique source makes a second close fail before it writes.
    detail: dict[str, object] = {"status": status.value}
    if closed_by is not None:
        detail["closed_by"] = closed_by
    tx.record(
        circle_id=ctx.directory.circle_id(spec.name),
        kind="outcome",
        actor="circlebot",
        at=at,
        platform="core",
        event_id=f"outcome:{proposal.id}",
        proposal_id=proposal.id,
        round=proposal.round,
        detail=detail,
    )
    review_at = None
    if status is Status.PASSED and proposal.review:
        # A review date was typed by the author: it is read in their zone and language.
        author = spec.reader_of(proposal.author)
        try:
            review_at = parse_when(
                proposal.review,
                at,
                ZoneInfo(author.timezone),
                lang(author.language),
                spec.rules.day_ends,
            )
        except DurationError:
            log.warning("proposal %s: unreadable review %r", proposal.id, proposal.review)
    tx.update_proposal(
        proposal.id, status=status.value, decided_at=at, review_at=review_at, closed_by=closed_by
    )
    ctx.changes.add(proposal.id)
    tx.touch_cards(proposal.id)
    to_thread(ctx, tx, spec, proposal.id, outbox.outcome(proposal.id), OutcomePost(), at)


def close_at_deadline(ctx: Context, tx: UnitOfWork, proposal: Proposal) -> Proposal:
    status = deadline_outcome(ctx, tx, proposal)
    close(ctx, tx, ctx.directory.spec_of(proposal), proposal, status, proposal.deadline)
    closed = tx.proposal(proposal.id)
    assert closed is not None
    return closed


def cosponsor(call: Call, intent: intents.Cosponsor) -> str:
    """`cosponsor ID`: a leader of another side opens a draft for answers."""
    say, pid = call.say, intent.proposal_id
    proposal = open_one(call, pid, allow_draft=True)
    if proposal.status != Status.DRAFT:
        raise Refusal(say._("Proposal #{number} is already open for answers.", number=pid))
    event = call.event
    open_with_cosponsor(
        call.ctx,
        call.unit,
        call.spec,
        proposal,
        call.actor,
        call.now,
        event.platform,
        event.event_id,
    )
    return say._("You co-sponsored proposal #{number}; it is now open for answers.", number=pid)
