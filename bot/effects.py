"""Small steps every handler takes inside its transaction: record what a command did,
queue a message in a proposal's thread, read a WHEN, insist on membership."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot import outbox
from bot.circle import CircleSpec
from bot.context import Context
from bot.durations import DurationError, parse_when
from bot.events import CommandEvent
from bot.model import Member
from bot.outbox import Post
from bot.refusal import Refusal
from bot.store import UnitOfWork


def record_command(
    ctx: Context,
    tx: UnitOfWork,
    spec: CircleSpec,
    kind: str,
    member: str,
    now: datetime,
    event: CommandEvent,
    detail: dict[str, object] | None = None,
    actor: str | None = None,
) -> None:
    tx.record(
        circle_id=ctx.directory.circle_id(spec.name),
        kind=kind,
        actor=actor or member,
        member=member,
        at=now,
        platform=event.platform,
        event_id=event.event_id,
        detail=detail,
    )


def to_thread(
    ctx: Context,
    tx: UnitOfWork,
    spec: CircleSpec,
    proposal_id: int,
    key: str,
    post: Post,
    at: datetime,
) -> None:
    """Queue a post for the proposal's thread on every platform, once per key (built by
    bot.outbox)."""
    for platform, channel in ctx.directory.channels(spec):
        tx.enqueue(
            key=outbox.on(platform, key),
            platform=platform,
            channel=channel,
            kind="thread",
            payload=outbox.encode(post),
            created_at=at,
            proposal_id=proposal_id,
        )


def when(spec: CircleSpec, text: str, now: datetime, what: str) -> datetime:
    """A WHEN typed in a command, in the circle's time zone; refused unless ahead."""
    try:
        moment = parse_when(text, now, ZoneInfo(spec.timezone))
    except DurationError as exc:
        raise Refusal(str(exc)) from exc
    if moment <= now:
        raise Refusal(f"The {what} must be in the future ({text!r} is not).")
    return moment


def require_member(spec: CircleSpec, member: Member | None) -> Member:
    if member is None:
        raise Refusal(
            f"You are not a member of the circle {spec.name}; ask one of its admins "
            f"({', '.join(spec.admins) or 'none configured'}) to add you."
        )
    return member
