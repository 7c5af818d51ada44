"""Circle membership: the config seeds it, commands change it, both are recorded."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.circle import CircleSpec, MemberSpec
from storage.repository import Member, Tx


class MembershipError(Exception):
    """A membership that would break parity."""


def validate_membership(spec: CircleSpec, members: Sequence[Member]) -> None:
    for member in members:
        if member.side not in spec.sides:
            raise MembershipError(f"{member.name} is on unknown side {member.side!r}")
    for side in spec.sides:
        if not any(m.side == side and m.is_leader for m in members):
            raise MembershipError(f"side {side} would have no leader")


def _as_json(member: MemberSpec) -> dict[str, Any]:
    return {
        "name": member.name,
        "side": member.side,
        "role": member.role.value,
        "slack": member.slack,
        "matrix": member.matrix,
    }


def sync_members(tx: Tx, circle_id: int, spec: CircleSpec, now: datetime) -> list[str]:
    """Apply what changed in the config file since the last start. Changes made by
    command since then stay, unless the file changed that same member."""
    previous = {m["name"]: m for m in tx.config_members(circle_id)}
    current = {m.name: _as_json(m) for m in spec.members}
    active = {m.name for m in tx.members(circle_id)}
    notes: list[str] = []

    def record(kind: str, name: str, detail: dict[str, Any]) -> None:
        tx.record(
            circle_id=circle_id,
            kind=kind,
            actor="config",
            member=name,
            at=now,
            platform="config",
            event_id=f"{spec.name}:{name}:{kind}:{now.isoformat()}",
            detail=detail,
        )
        notes.append(f"circle {spec.name}: {kind.replace('_', ' ')} {name} (from the config)")

    for name, data in current.items():
        if previous.get(name) == data:
            continue
        kind = "member_change" if name in active else "member_add"
        tx.upsert_member(circle_id, Member(**data))
        record(kind, name, {"side": data["side"], "role": data["role"]})
    for name in previous.keys() - current.keys():
        if name in active:
            tx.deactivate_member(circle_id, name)
            record("member_remove", name, {"side": previous[name]["side"]})
    tx.set_config_members(circle_id, list(current.values()))
    return notes
