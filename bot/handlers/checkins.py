"""Scheduled circle check-ins: the prompt in the channel naming the facilitator, the
replies in its thread, a nudge to those still silent, and a per-side summary at close.

Everything is derived from the database and keyed, so each scheduled check-in happens
once whatever wakes the bot, and a restart neither repeats nor loses one."""

from __future__ import annotations

from datetime import datetime

from bot.domain import intents
from bot.domain.circle import CircleSpec
from bot.domain.circle_schedules import checkins_schedule, fire_times, next_fire
from bot.domain.events import ThreadReplyEvent
from bot.domain.i18n import Lang, of
from bot.domain.model import Checkin, Member
from bot.domain.refusal import Refusal
from bot.handlers.effects import compose, require_member
from bot.handlers.schedule import Job, JobKey, JobKind, is_late
from bot.ports.store import UnitOfWork
from bot.queries.facilitation import away_names, upcoming_facilitator
from bot.state import outbox
from bot.state.call import Call
from bot.state.context import Context
from bot.state.outbox import NoticePost
from bot.text.messages import Mention, Notice


def run_due(ctx: Context, spec: CircleSpec, now: datetime) -> None:
    """Start the check-in that fell due (if still within its window), nudge, close."""
    if spec.checkins is None:
        return
    circle_id = ctx.directory.circle_id(spec.name)
    with ctx.store.transaction() as tx:
        since_key = f"checkins:{spec.name}:since"
        since_text = tx.cursor(since_key)
        if since_text is None:  # never before: the schedule starts now, with no backlog
            tx.set_cursor(since_key, now.isoformat())
            since = now
        else:
            since = datetime.fromisoformat(since_text)
        last = tx.latest_checkin(circle_id)
        after = max(since, last.scheduled_for) if last else since
        # Only the latest missed one can still be open; older ones are past their window.
        latest = max(fire_times(checkins_schedule(spec), after, now), default=None)
        if latest is not None and now < spec.checkins.open_for.after(latest):
            start(ctx, tx, spec, latest, now)
    with ctx.store.transaction() as tx:
        for checkin in tx.checkins_to_nudge(circle_id, now):
            _nudge(ctx, tx, spec, checkin, now)
        for checkin in tx.checkins_to_close(circle_id, now):
            _close(ctx, tx, spec, checkin, now)


def start(
    ctx: Context, tx: UnitOfWork, spec: CircleSpec, scheduled_for: datetime, now: datetime
) -> Checkin:
    assert spec.checkins is not None
    ctx.checkin_started = True  # its nudge and close are wake-ups to plan
    circle_id = ctx.directory.circle_id(spec.name)
    facilitator = upcoming_facilitator(ctx, tx, spec, now)
    questions = spec.checkins.questions
    question = questions[tx.count_checkins(circle_id) % len(questions)]
    remind = spec.checkins.remind_after
    checkin = tx.create_checkin(
        circle_id=circle_id,
        scheduled_for=scheduled_for,
        started_at=now,
        question=question,
        facilitator=facilitator.name if facilitator else None,
        facilitator_side=facilitator.side if facilitator else None,
        nudge_at=remind.after(scheduled_for) if remind else None,
        closes_at=spec.checkins.open_for.after(scheduled_for),
        late=is_late(ctx, scheduled_for, now),
    )
    parts = _prompt(ctx, spec, checkin, facilitator)
    for platform, channel in ctx.directory.channels(spec):
        tx.enqueue(
            key=outbox.on(platform, outbox.checkin_prompt(checkin.id)),
            platform=platform,
            channel=channel,
            kind="channel",
            payload=outbox.encode(NoticePost(Notice(tuple(parts)))),
            created_at=now,
            checkin_id=checkin.id,
        )
    return checkin


def _prompt(
    ctx: Context, spec: CircleSpec, checkin: Checkin, facilitator: Member | None
) -> list[str | Mention]:
    """The check-in's post in the channel, in the circle's language; the question is
    the circle's own words, as configured."""
    say = of(spec.reader)
    closes = say.when(checkin.closes_at, spec.reader.timezone)
    parts: list[str | Mention] = [say._("☀️ Check-in: {question}", question=checkin.question)]
    parts.append("\n")
    if facilitator is not None:
        parts += compose(
            say._("Facilitator: {facilitator}."),
            facilitator=ctx.directory.mention(spec.name, facilitator.name),
        )
        parts.append(" ")
    parts.append(say._("Reply in this thread by {closes}.", closes=closes))
    if checkin.late:
        parts.append(" " + say._("(Late: the bot was offline when it was due.)"))
    return parts


def _to_thread(
    ctx: Context,
    tx: UnitOfWork,
    spec: CircleSpec,
    checkin: Checkin,
    what: str,
    notice: Notice,
    now: datetime,
) -> None:
    for platform, channel in ctx.directory.channels(spec):
        tx.enqueue(
            key=outbox.on(platform, outbox.checkin_step(what, checkin.id)),
            platform=platform,
            channel=channel,
            kind="thread",
            payload=outbox.encode(
                NoticePost(
                    notice, in_thread_of=outbox.on(platform, outbox.checkin_prompt(checkin.id))
                )
            ),
            created_at=now,
        )


def _nudge(ctx: Context, tx: UnitOfWork, spec: CircleSpec, checkin: Checkin, now: datetime) -> None:
    tx.checkin_nudged(checkin.id)
    members = ctx.directory.members(spec.name)
    replied = tx.checkin_replies(checkin.id)
    away = away_names(members, now)
    silent = [m.name for m in members if m.name not in replied and m.name not in away]
    if not silent:
        return
    say = of(spec.reader)
    notice = Notice(
        compose(
            say._("⏰ The check-in closes {closes}. Still to hear from {people}."),
            closes=say.when(checkin.closes_at, spec.reader.timezone),
            people=[ctx.directory.mention(spec.name, name) for name in silent],
        )
    )
    _to_thread(ctx, tx, spec, checkin, "nudge", notice, now)


def summary_line(spec: CircleSpec, members: list[Member], replied: set[str], say: Lang) -> str:
    """`Check-in closed: milpa 4/4 · vera 2/4 checked in.`, per side, in `say`."""
    counts = []
    for side in spec.sides:
        names = [m.name for m in members if m.side == side]
        counts.append(f"{side} {sum(n in replied for n in names)}/{len(names)}")
    return say._("Check-in closed: {counts} checked in.", counts=" · ".join(counts))


def _close(ctx: Context, tx: UnitOfWork, spec: CircleSpec, checkin: Checkin, now: datetime) -> None:
    tx.close_checkin(checkin.id, checkin.closes_at)
    members, replied = ctx.directory.members(spec.name), tx.checkin_replies(checkin.id)
    line = summary_line(spec, members, replied, of(spec.reader))
    _to_thread(ctx, tx, spec, checkin, "close", Notice.text(line), now)


def jobs(ctx: Context) -> list[Job]:
    """Wake-ups for check-ins: each circle's next scheduled one (by the one rule for
    clock changes, bot.domain.cron), and the nudge and close of those open."""
    now = ctx.clock.now()
    found = [
        Job(JobKey(JobKind.CHECKIN, spec.name), fire)
        for spec in ctx.directory.specs.values()
        if (fire := next_fire(checkins_schedule(spec), now)) is not None
    ]
    with ctx.store.transaction() as tx:
        for checkin in tx.open_checkins():
            if checkin.nudge_at is not None:
                found.append(Job(JobKey(JobKind.CHECKIN_NUDGE, checkin.id), checkin.nudge_at))
            found.append(Job(JobKey(JobKind.CHECKIN_CLOSE, checkin.id), checkin.closes_at))
    return found


def count_reply(ctx: Context, event: ThreadReplyEvent) -> None:
    """A reply in a check-in's thread counts its author as checked in."""
    at = min(event.at, ctx.clock.now()) if event.at else ctx.clock.now()
    with ctx.store.transaction() as tx:
        checkin_id = tx.checkin_posted_as(event.platform, event.thread_ref)
        if checkin_id is None:
            return  # some other thread
        checkin = tx.checkin(checkin_id)
        if checkin is None or checkin.closed_at is not None:
            return
        spec = ctx.directory.spec_by_id(checkin.circle_id)
        member = ctx.directory.member_for(spec.name, event.platform, event.user)
        if member is not None:
            tx.add_checkin_reply(checkin.id, member.name, at)


def start_now(call: Call, intent: intents.Checkin) -> str:
    """`checkin`: start the circle's check-in now (admins, and whoever facilitates next)."""
    ctx, spec, now, say = call.ctx, call.spec, call.now, call.say
    actor = require_member(spec, call.member, say)
    if spec.checkins is None:
        raise Refusal(say._("The circle {circle} has no check-ins configured.", circle=spec.name))
    with ctx.store.transaction() as tx:
        circle_id = ctx.directory.circle_id(spec.name)
        upcoming = upcoming_facilitator(ctx, tx, spec, now)
        if not ctx.directory.is_admin(spec, actor) and (upcoming is None or upcoming != actor):
            if upcoming is None:
                raise Refusal(
                    say._("Only admins can start a check-in now: nobody is next to facilitate.")
                )
            raise Refusal(
                say._(
                    "Only admins or the next facilitator ({name}) can start a check-in now.",
                    name=upcoming.name,
                )
            )
        if tx.open_checkins(circle_id):
            raise Refusal(say._("A check-in is already open; reply in its thread."))
        checkin = start(ctx, tx, spec, now, now)
    return say._(
        "Check-in started; it is open until {closes}.",
        closes=say.when(checkin.closes_at, call.reader.timezone),
    )
