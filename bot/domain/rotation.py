"""Who facilitates the next check-in: round-robin that alternates sides and skips
people who are away. Pure: the past facilitators come in, the next one comes out, so
the rotation survives restarts and membership changes."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from bot.domain.model import Member


def next_facilitator(
    sides: Sequence[str],
    members: Sequence[Member],
    past: Sequence[tuple[str, str]],
    away: Collection[str] = (),
) -> Member | None:
    """`past` holds (name, side) of earlier facilitators, oldest first.

    The side after the last facilitator's takes its turn; within a side, people take
    turns in name order after whoever facilitated for that side last. A side whose
    members are all away passes its turn on."""
    if not sides:
        return None
    last_side = past[-1][1] if past else None
    start = (sides.index(last_side) + 1) % len(sides) if last_side in sides else 0
    for step in range(len(sides)):
        side = sides[(start + step) % len(sides)]
        available = sorted(
            (m for m in members if m.side == side and m.name not in away), key=lambda m: m.name
        )
        if not available:
            continue
        before = [name for name, their_side in past if their_side == side]
        if before:
            after = [m for m in available if m.name > before[-1]]
            return (after or available)[0]
        return available[0]
    return None
