"""Replies to the read-only commands: proposals, status, decisions, circle."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot import checkins
from bot.context import Context
from bot.messages import side_lines, tally_line
from bot.model import Proposal, Status
from bot.render_text import local_time, side_detail

if TYPE_CHECKING:
    from bot.circle import CircleSpec

_SNIPPET = 80


def snippet(text: str) -> str:
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= _SNIPPET and first == text else first[: _SNIPPET - 1] + "…"


def open_proposals(ctx: Context, spec: CircleSpec) -> str:
    with ctx.store.transaction() as tx:
        found = tx.proposals(
            ctx.directory.circle_id(spec.name), statuses=[Status.OPEN.value, Status.DRAFT.value]
        )
        states = [ctx.rounds.state(tx, p) for p in found]
    if not states:
        return "No open proposals. Open one with `propose TEXT [by WHEN]`."
    lines = [f"Open proposals in {spec.name}:"]
    for state in states:
        p = state.proposal
        until = (
            "draft"
            if p.status == Status.DRAFT
            else "until " + local_time(p.deadline, spec.timezone)
        )
        lines.append(
            f"#{p.id} {snippet(p.text)} — {tally_line(side_lines(state.result))} — {until}"
        )
    return "\n".join(lines)


def status(ctx: Context, spec: CircleSpec, proposal: Proposal) -> str:
    state = ctx.rounds.load(ctx.store, proposal.id)
    p = state.proposal
    lines = [
        f"#{p.id} by {p.author} · {p.status.replace('_', ' ')} · round {p.round}",
        p.text,
        f"Deadline: {local_time(p.deadline, spec.timezone)}",
    ]
    if p.decided_at:
        lines.append(f"Decided: {local_time(p.decided_at, spec.timezone)}")
    if p.review:
        when = local_time(p.review_at, spec.timezone) if p.review_at else p.review
        lines.append(f"Review: {when}")
    lines += [side_detail(line) for line in side_lines(state.result)]
    leaders = {n for names in state.leaders.values() for n in names}
    voices = [
        f"{n} ({s.label.lower()})" for n, s in sorted(state.stances.items()) if n not in leaders
    ]
    if voices:
        lines.append("Voices (not counted): " + ", ".join(voices))
    return "\n".join(lines)


def decisions(ctx: Context, spec: CircleSpec, count: int) -> str:
    closed = [s.value for s in Status if s.is_closed]
    with ctx.store.transaction() as tx:
        found = tx.proposals(
            ctx.directory.circle_id(spec.name), statuses=closed, closed=True, limit=count
        )
        states = [ctx.rounds.state(tx, p) for p in found]
    if not states:
        return "No decisions yet."
    lines = [f"Last {len(states)} decision(s) in {spec.name}:"]
    for state in states:
        p = state.proposal
        when = local_time(p.decided_at, spec.timezone) if p.decided_at else "?"
        lines.append(
            f"#{p.id} {p.status.replace('_', ' ')} {when} — {snippet(p.text)} — "
            f"{tally_line(side_lines(state.result))}"
        )
    return "\n".join(lines)


def circle(ctx: Context, spec: CircleSpec, now: datetime) -> str:
    members = ctx.directory.members(spec.name)
    rules = spec.rules
    lines = [f"Circle {spec.name} ({spec.timezone})"]
    for side in spec.sides:
        people = []
        for m in (m for m in members if m.side == side):
            tags = [m.role] + (["admin"] if m.name in spec.admins else [])
            if m.away_until and m.away_until > now:
                tags.append("away until " + local_time(m.away_until, spec.timezone))
            people.append(f"{m.name} ({', '.join(tags)})")
        lines.append(f"{side}: " + ", ".join(people))
    lines.append(
        f"Rules: quorum {rules.quorum} of each side's leaders, at least "
        f"{rules.min_consent_per_side} consent per side, no objection; "
        f"early close {'on' if rules.early_close else 'off'}; co-sponsor "
        f"{'required' if rules.require_cosponsor else 'not required'}; default deadline "
        f"{rules.default_deadline}; reminders {', '.join(str(r) for r in rules.reminders)} before"
    )
    if spec.checkins:
        upcoming = checkins.trigger(spec).get_next_fire_time(None, now)
        with ctx.store.transaction() as tx:
            facilitator = checkins.upcoming_facilitator(ctx, tx, spec, now)
        lines.append(
            f"Check-ins: {spec.checkins.schedule} ({spec.timezone}); next "
            f"{local_time(upcoming, spec.timezone) if upcoming else 'never'}, facilitated by "
            f"{facilitator.name if facilitator else 'nobody available'}"
        )
    return "\n".join(lines)
