"""Who facilitates the next check-in: the rotation (bot.domain.rotation) over the circle's
members, skipping those away, after those who facilitated before. The check-in handler
names them; the `circle` view shows them."""

from __future__ import annotations

from datetime import datetime

from bot.domain.circle import CircleSpec
from bot.domain.model import Member
from bot.domain.rotation import next_facilitator
from bot.ports.store import UnitOfWork
from bot.state.context import Context


def away_names(members: list[Member], now: datetime) -> set[str]:
    return {m.name for m in members if m.away_until is not None and m.away_until > now}


def upcoming_facilitator(
    ctx: Context, tx: UnitOfWork, spec: CircleSpec, now: datetime
) -> Member | None:
    members = ctx.directory.members(spec.name)
    past = tx.past_facilitators(ctx.directory.circle_id(spec.name))
    return next_facilitator(spec.sides, members, past, away_names(members, now))
