"""What happens at a time, derived from the database: reminders before deadlines, and
the scheduler jobs that wake the bot when something falls due.

The database is the truth. Jobs only wake the runtime up (deterministic ids, rebuilt
on every start, never stored); the work itself is done by
bot.handlers.deadlines.advance, keyed so that it happens once however often it is woken."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.durations import Duration
from bot.domain.model import Proposal, Status
from bot.ports.store import UnitOfWork
from bot.state import outbox
from bot.state.context import Context
from bot.state.outbox import ReminderPost

LATE_AFTER = timedelta(minutes=1)  # sent this long after its time, a message says so


def is_late(ctx: Context, due: datetime, now: datetime) -> bool:
    """Due before this process started (the bot was down), or long overdue."""
    return due < ctx.started_at or now - due > LATE_AFTER


class JobKind(StrEnum):
    """What a wake-up job is for. A new kind of scheduled work adds a member here."""

    PROPOSAL = "proposal"  # a proposal's next reminder, deadline or review
    CHECKIN = "checkin"  # a circle's next scheduled check-in
    CHECKIN_NUDGE = "checkin-nudge"  # an open check-in's nudge
    CHECKIN_CLOSE = "checkin-close"  # an open check-in's close
    REPORT = "report"  # a circle's next scheduled report


@dataclass(frozen=True)
class JobKey:
    """Which wake-up job: its kind and what it is about (a proposal's or a check-in's
    id, a circle's name). The runtime adds, replaces and removes jobs by key."""

    kind: JobKind
    subject: int | str

    @property
    def id(self) -> str:
        """The scheduler's id for the job: made here alone and never read back."""
        return f"{self.kind}:{self.subject}"


@dataclass(frozen=True)
class Job:
    key: JobKey
    run_at: datetime


def reminder_times(
    deadline: datetime, opened_at: datetime, offsets: Iterable[Duration]
) -> Iterator[tuple[Duration, datetime]]:
    """(offset, when) for each reminder of a deadline; an offset that falls before the
    proposal opened is skipped."""
    for offset in offsets:
        when = offset.before(deadline)
        if when >= opened_at:
            yield offset, when


def send_due_reminders(ctx: Context, tx: UnitOfWork, now: datetime) -> int:
    """Queue every reminder that has fallen due and was not queued before. Returns how
    many were queued. Each is a row with a unique key: never twice, across restarts."""
    horizon = max(
        (
            offset.after(now)
            for spec in ctx.directory.specs.values()
            for offset in spec.rules.reminders
        ),
        default=now,
    )
    queued = 0
    for proposal in tx.open_before(horizon):
        if proposal.round == 0 or proposal.deadline <= now:
            continue
        spec = ctx.directory.spec_of(proposal)
        frozen = ctx.rounds.frozen(tx, proposal.id, proposal.round)
        for offset, when in reminder_times(
            proposal.deadline, proposal.created_at, frozen.rules.reminders
        ):
            if when > now:
                continue
            late = is_late(ctx, when, now)
            ctx.changes.add(proposal.id)  # its next wake-up is a later one now
            for platform, channel in ctx.directory.channels(spec):
                queued += tx.enqueue(
                    key=outbox.on(
                        platform, outbox.reminder(proposal.id, proposal.deadline, offset)
                    ),
                    platform=platform,
                    channel=channel,
                    kind="thread",
                    payload=outbox.encode(ReminderPost(str(offset), late)),
                    created_at=now,
                    proposal_id=proposal.id,
                )
    return queued


def proposal_job(ctx: Context, tx: UnitOfWork, proposal: Proposal, now: datetime) -> Job | None:
    """When a proposal next needs the bot awake: its next reminder, its deadline, or,
    once passed, its review. One job per proposal, re-planned whenever it fires."""
    status = proposal.status
    if status is Status.PASSED and proposal.review_at and not proposal.reviewed:
        return Job(JobKey(JobKind.PROPOSAL, proposal.id), proposal.review_at)
    if status.is_closed:
        return None
    moments = [proposal.deadline]
    if proposal.round:
        rules = ctx.rounds.frozen(tx, proposal.id, proposal.round).rules
        times = reminder_times(proposal.deadline, proposal.created_at, rules.reminders)
        moments += [when for _, when in times if when > now]
    return Job(JobKey(JobKind.PROPOSAL, proposal.id), min(moments))
