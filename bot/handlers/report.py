"""The circle's own report: `circle report [SINCE]` and `circle report me` in chat, and
the report posted on the circle's `[circles.report]` schedule, once per fire (the
outbox's unique key), whatever wakes the bot and on whichever replica leads."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain import intents
from bot.domain.circle import CircleSpec
from bot.domain.circle_schedules import fire_times, next_fire, report_schedule
from bot.domain.durations import DurationError, parse_duration, parse_when
from bot.domain.i18n import Lang, Reader, of
from bot.domain.refusal import Refusal
from bot.domain.report import DEFAULT_PERIOD
from bot.handlers.effects import require_member
from bot.handlers.schedule import Job, JobKey, JobKind
from bot.queries.report import circle_report, person_figures
from bot.state import outbox
from bot.state.call import Call
from bot.state.context import Context
from bot.state.outbox import ReportPost
from bot.text.messages import Reply
from bot.text.report import own_message, report_message, report_text


def read_since(text: str | None, now: datetime, reader: Reader, say: Lang) -> datetime:
    """The start of a report's period: a span back from now (`30d`, `6mo`) or a date
    (`2026-01-01`, in the reader's time zone); 90 days back when not given."""
    if text is None:
        return DEFAULT_PERIOD.before(now)
    try:
        return parse_duration(text, say).before(now)
    except DurationError:
        pass
    try:
        moment = parse_when(text, now, ZoneInfo(reader.timezone), say)
    except DurationError:
        moment = None
    if moment is None or moment >= now:
        raise Refusal(
            say._(
                'I could not read "{text}" as the start of the report: give a span back '
                "from now (30d, 6mo) or a past date (2026-01-01).",
                text=text[:40],
            )
        )
    return moment


def in_chat(call: Call, intent: intents.CircleReport) -> Reply:
    """The circle's report per side, or (`me`) the person's own figures, for them alone."""
    ctx, spec, now, say = call.ctx, call.spec, call.now, call.say
    since = read_since(intent.since, now, call.reader, say)
    if intent.me:
        member = require_member(spec, call.member, say)
        figures = person_figures(ctx.store, spec, member.name, since, now)
        message = own_message(member.name, figures, since, now, say, call.reader.timezone)
    else:
        found = circle_report(ctx.store, spec, since, now)
        message = report_message(found, say, call.reader.timezone)
    return Reply(report_text(message), report=message)


def run_due(ctx: Context, spec: CircleSpec, now: datetime) -> None:
    """Post the report whose time came (the latest one missed, if the bot was down), in
    the circle's channel and room, in its language."""
    if spec.report is None:
        return
    key = f"report:{spec.name}:since"
    with ctx.store.transaction() as tx:
        since_text = tx.cursor(key)
        if since_text is None:  # never before: the schedule starts now, with no backlog
            tx.set_cursor(key, now.isoformat())
            return
        since = datetime.fromisoformat(since_text)
        latest = max(fire_times(report_schedule(spec), since, now), default=None)
    if latest is None:
        return
    found = circle_report(ctx.store, spec, spec.report.period.before(latest), latest)
    message = report_message(found, of(spec.reader), spec.timezone)
    with ctx.store.transaction() as tx:
        for platform, channel in ctx.directory.channels(spec):
            tx.enqueue(
                key=outbox.on(platform, outbox.report(spec.name, latest)),
                platform=platform,
                channel=channel,
                kind="channel",
                payload=outbox.encode(ReportPost(message)),
                created_at=now,
            )
        tx.set_cursor(key, latest.isoformat())  # with the post: a crash loses neither


def jobs(ctx: Context) -> list[Job]:
    """Each circle's next scheduled report."""
    now = ctx.clock.now()
    return [
        Job(JobKey(JobKind.REPORT, spec.name), fire)
        for spec in ctx.directory.specs.values()
        if (fire := next_fire(report_schedule(spec), now)) is not None
    ]
