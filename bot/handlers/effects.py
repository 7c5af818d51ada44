"""Small steps every handler takes inside its transaction: record what a command did,
queue a message in a proposal's thread, read a WHEN, insist on membership; and how the
person who typed a command reads the answer (their language and time zone)."""

from __future__ import annotations

import string
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.circle import CircleSpec
from bot.domain.durations import DAY_ENDS, DurationError, WhenRead, read_when
from bot.domain.i18n import Lang, Reader
from bot.domain.model import Member, Proposal
from bot.domain.refusal import Refusal
from bot.ports.store import UnitOfWork
from bot.state import outbox
from bot.state.call import Call
from bot.state.context import Context
from bot.state.outbox import Post
from bot.text.messages import Mention, listing

# Zones whose name for people says nothing more than their abbreviation.
_UNIVERSAL = {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Universal", "Etc/Universal", "Zulu"}
_UNIVERSAL |= {"Etc/Zulu", "GMT", "Etc/GMT", "Etc/Greenwich", "Greenwich", "Etc/GMT0", "GMT0"}


def record_command(
    call: Call,
    kind: str,
    member: str,
    detail: dict[str, object] | None = None,
    actor: str | None = None,
) -> None:
    """History of a command about a member (`actor`: who asked, when not the member)."""
    call.unit.record(
        circle_id=call.ctx.directory.circle_id(call.spec.name),
        kind=kind,
        actor=actor or member,
        member=member,
        at=call.now,
        platform=call.event.platform,
        event_id=call.event.event_id,
        detail=detail,
    )


def record_on_proposal(
    call: Call,
    kind: str,
    proposal: Proposal,
    detail: dict[str, Any] | None = None,
    round: int | None = None,
) -> None:
    """History of a command on a proposal, by the member who asked, on its current round
    unless `round` says."""
    call.unit.record(
        circle_id=call.ctx.directory.circle_id(call.spec.name),
        kind=kind,
        actor=call.actor.name,
        at=call.now,
        platform=call.event.platform,
        event_id=call.event.event_id,
        proposal_id=proposal.id,
        round=proposal.round if round is None else round,
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
    bot.state.outbox)."""
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


def speaker(spec: CircleSpec, member: Member | None) -> Reader:
    """How the person who typed a command reads the answer: a member in their own
    language and time zone (else the circle's); someone unknown as the circle."""
    return spec.reader_of(member.name) if member is not None else spec.reader


def when(
    text: str, now: datetime, reader: Reader, what: str, say: Lang, day_ends: time = DAY_ENDS
) -> WhenRead:
    """A WHEN typed in a command, read in the time zone and language of whoever typed it
    (`reader`, `say`), a day without a time at the circle's `day_ends`; refused, in their
    language, unless ahead, or when the zone skips its wall time. `what` is what it sets:
    `deadline`, `review` or `away`."""
    try:
        read = read_when(text, now, ZoneInfo(reader.timezone), say, day_ends)
    except DurationError as exc:
        raise Refusal(str(exc)) from exc
    moment = read.moment
    if moment <= now:
        if what == "review":
            problem = say._(
                "The review date must be in the future ({text} is not).", text=repr(text)
            )
        elif what == "away":
            problem = say._(
                "The end of your time away must be in the future ({text} is not).", text=repr(text)
            )
        else:
            problem = say._("The deadline must be in the future ({text} is not).", text=repr(text))
        raise Refusal(problem)
    return read


def repeated_note(say: Lang, text: str, read: WhenRead, timezone: str) -> str:
    """For the answer to a command with a WHEN (`text`, as typed): that its wall time
    happens twice (the clocks go back that night) and which of the two was read; empty
    otherwise."""
    if not read.repeated:
        return ""
    return " " + say._(
        "{text} happens twice in {zone}, as the clocks go back that night; it is read as "
        "the first time: {moment}.",
        text=repr(text.strip()),
        zone=timezone,
        moment=say.when(read.moment, timezone),
    )


def in_zone(say: Lang, moment: datetime, timezone: str) -> str:
    """A moment with the zone it is told in, for the answer that confirms a time someone
    typed: `Tue 1 Dec 2026, 17:00 CET (Central European Time)`."""
    text = say.when(moment, timezone)
    if timezone in _UNIVERSAL:
        return text
    name = say.zone_name(timezone)
    if "(" in name:  # the zone has no name of its own: "Unknown Region (…) Time"
        return text
    return f"{text} ({name})"


def compose(template: str, **values: object) -> tuple[str | Mention, ...]:
    """Notice parts from a translated text whose `{fields}` name people: a field given a
    Mention becomes that mention, one given a list of Mentions becomes them in a row
    (`@ana, @ben`), anything else is written in. The translation may put them in any
    order; call it as `compose(lang._("{who} objects …"), who=mention)`."""
    parts: list[str | Mention] = []

    def add(text: str) -> None:
        if not text:
            return
        if parts and isinstance(parts[-1], str):
            parts[-1] += text
        else:
            parts.append(text)

    for literal, field, spec, conversion in string.Formatter().parse(template):
        add(literal)
        if field is None:
            continue
        value = values[field]
        if isinstance(value, Mention):
            parts.append(value)
        elif isinstance(value, list | tuple) and all(isinstance(v, Mention) for v in value):
            for part in listing(value):
                if isinstance(part, Mention):
                    parts.append(part)
                else:
                    add(part)
        else:
            shown = repr(value) if conversion == "r" else str(value)
            add(format(shown, spec or ""))
    return tuple(parts)


def require_member(spec: CircleSpec, member: Member | None, say: Lang) -> Member:
    if member is None:
        if spec.admins:
            raise Refusal(
                say._(
                    "You are not a member of the circle {circle}; ask one of its admins "
                    "({admins}) to add you.",
                    circle=spec.name,
                    admins=", ".join(spec.admins),
                )
            )
        raise Refusal(
            say._(
                "You are not a member of the circle {circle}, and it has no admins "
                "configured to add you.",
                circle=spec.name,
            )
        )
    return member
