"""Circle membership: the config seeds it, commands change it, both are recorded."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain import identity, intents
from bot.domain.circle import CircleSpec, MemberSpec, leaders_by_side
from bot.domain.durations import iso
from bot.domain.i18n import Lang, of
from bot.domain.model import Member, Role, Status
from bot.domain.refusal import Refusal
from bot.handlers.effects import in_zone, record_command, repeated_note, speaker, when
from bot.handlers.proxies import chosen_proxy, join_round
from bot.handlers.reactions import decide_early
from bot.ports.store import UnitOfWork
from bot.state.call import Call
from bot.state.context import Context
from bot.text.grammar import word_key


class MembershipError(Exception):
    """A membership that would break parity: `side` would have no leader, or `member`
    is on a side the circle does not have."""

    def __init__(self, message: str, side: str, member: str | None = None) -> None:
        super().__init__(message)
        self.side = side
        self.member = member

    def told(self, say: Lang) -> str:
        """The same, in a language (for the person whose command it refuses)."""
        if self.member is not None:
            return say._("{name} is on unknown side {side}", name=self.member, side=repr(self.side))
        return say._("side {side} would have no leader", side=self.side)


def validate_membership(spec: CircleSpec, members: Sequence[Member]) -> None:
    for member in members:
        if member.side not in spec.sides:
            raise MembershipError(
                f"{member.name} is on unknown side {member.side!r}", member.side, member.name
            )
    for side, leaders in leaders_by_side(spec.sides, members).items():
        if not leaders:
            raise MembershipError(f"side {side} would have no leader", side)


def _as_json(member: MemberSpec) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": member.name,
        "side": member.side,
        "role": member.role.value,
        "handles": dict(sorted(member.handles.items())),
    }
    if member.to_resolve:  # only when given: older records stay equal
        data["to_resolve"] = dict(sorted(member.to_resolve.items()))
    return data


def _member(tx: UnitOfWork, data: dict[str, Any]) -> Member:
    """The member a config entry describes; one given by what a platform looks them up
    by (an e-mail address) gets the id it was found to be, once it has been looked up."""
    handles = dict(data["handles"])
    for platform, given in (data.get("to_resolve") or {}).items():
        found = tx.resolved_identity(platform, given)
        if found is not None:
            handles[platform] = found
    return Member(data["name"], data["side"], Role(data["role"]), handles)


def sync_members(tx: UnitOfWork, circle_id: int, spec: CircleSpec, now: datetime) -> list[str]:
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
        tx.upsert_member(circle_id, _member(tx, data))
        record(kind, name, {"side": data["side"], "role": data["role"]})
    for name in previous.keys() - current.keys():
        if name in active:
            tx.deactivate_member(circle_id, name)
            record("member_remove", name, {"side": previous[name]["side"]})
    tx.set_config_members(circle_id, list(current.values()))
    return notes


# -- the membership commands (routed by bot.handlers.core, inside the command's transaction) --


def away(call: Call, intent: intents.Away) -> str:
    """`away UNTIL [proxy USER]`. Each `away` says the whole of it: without a proxy,
    rounds opening from now on have none for this leader."""
    ctx, tx, spec, now, e = call.ctx, call.unit, call.spec, call.now, call.event
    actor = call.actor
    until, proxy_user = intent.until, intent.proxy
    reader, say = call.reader, call.say
    read = when(until, now, reader, "away", say, spec.rules.day_ends)
    moment = read.moment
    proxy = chosen_proxy(ctx, spec, actor, proxy_user, say) if proxy_user else None
    detail: dict[str, object] = {"until": iso(moment), "proxy": proxy.name if proxy else None}
    record_command(call, "away", actor.name, detail)
    circle_id = ctx.directory.circle_id(spec.name)
    tx.set_away(circle_id, actor.name, moment, proxy.name if proxy else None)
    ctx.directory.reload(tx, spec)
    until_text = in_zone(say, moment, reader.timezone)
    note = repeated_note(say, until, read, reader.timezone)
    if proxy is None:
        return (
            say._("You are away until {until}: no facilitation or reminders.", until=until_text)
            + note
        )
    joined = []
    for listed in tx.proposals(circle_id, statuses=[Status.OPEN.value]):
        proposal = tx.proposal(listed.id, lock=True)  # its answers may change now
        if proposal is None or proposal.status != Status.OPEN or proposal.deadline <= now:
            continue  # closing at its deadline, with the answers it had then
        source = f"proxy:{e.platform}:{e.event_id}:{proposal.id}"
        number = proposal.round
        if join_round(ctx, tx, circle_id, proposal.id, number, actor.name, proxy.name, now, source):
            joined.append(proposal.id)
            decide_early(ctx, tx, spec, proposal, ctx.rounds.state(tx, proposal).stances, now)
    text = say._(
        "You are away until {until}: no facilitation or reminders. {proxy} answers for you "
        "meanwhile; your own answer always counts first.",
        until=until_text,
        proxy=proxy.name,
    )
    if joined:
        text += " " + say.n_(
            "This holds for the open proposal {numbers} too.",
            "This holds for the open proposals {numbers} too.",
            len(joined),
            numbers=", ".join(f"#{n}" for n in joined),
        )
    return text + note


def back(call: Call, intent: intents.Back) -> str:
    ctx, tx, spec, actor = call.ctx, call.unit, call.spec, call.actor
    record_command(call, "back", actor.name)
    tx.set_away(ctx.directory.circle_id(spec.name), actor.name, None)
    ctx.directory.reload(tx, spec)
    say = of(speaker(spec, actor))
    text = say._("Welcome back: you are in the rotation and reminders again.")
    if actor.proxy:
        text += " " + say._(
            "Proposals already open keep {proxy} as your proxy until they close; your own "
            "answer counts first.",
            proxy=actor.proxy,
        )
    return text


def add(call: Call, intent: intents.CircleAdd) -> str:
    """`circle add USER SIDE [ROLE]`: a new member, or a new side or role for one."""
    ctx, tx, spec, actor = call.ctx, call.unit, call.spec, call.actor
    user, side, role, say = intent.user, intent.side, intent.role, call.say
    _require_admin(ctx, spec, actor, say)
    # `fundacion` is `fundación`: a side is named with or without accents, any case.
    side = next((s for s in spec.sides if word_key(s) == word_key(side)), side)
    if side not in spec.sides:
        raise Refusal(
            say._(
                '"{side}" is not a side of this circle; sides: {sides}.',
                side=side,
                sides=", ".join(spec.sides),
            )
        )
    members = ctx.directory.members(spec.name)
    # Someone already here, or a removed member coming back under their old name.
    existing = identity.find(members, user)
    former = None if existing else identity.find(ctx.directory.former_members(spec.name), user)
    new = new_member(user, side, role, former)
    if existing is not None:
        new = Member(
            existing.name,
            side,
            role,
            {**new.handles, **existing.handles},
            existing.away_until,
            existing.proxy,
        )
    else:
        taken = identity.same_name(members, new.name)
        if taken is not None:  # a platform id that reads like someone's name
            raise Refusal(
                say._(
                    '"{name}" is already the name of another member of {circle}.',
                    name=new.name,
                    circle=spec.name,
                )
            )
    _keeps_parity(spec, [m for m in members if m.name != new.name] + [new], say)
    kind = "member_change" if existing else "member_add"
    detail: dict[str, object] = {"side": side, "role": role.value}
    record_command(call, kind, new.name, detail, actor=actor.name)
    tx.upsert_member(ctx.directory.circle_id(spec.name), new)
    ctx.directory.reload(tx, spec)
    return _added(say, new.name, side, role, existing is not None)


def _added(say: Lang, name: str, side: str, role: Role, existing: bool) -> str:
    if existing and role is Role.LEADER:
        return say._(
            "{name} is now a leader of {side}. Open proposals keep counting the leaders they "
            "opened with; this applies from the next round.",
            name=name,
            side=side,
        )
    if existing:
        return say._(
            "{name} is now a member of {side}. Open proposals keep counting the leaders they "
            "opened with; this applies from the next round.",
            name=name,
            side=side,
        )
    if role is Role.LEADER:
        return say._(
            "{name} is added as a leader of {side}. Open proposals keep counting the leaders "
            "they opened with; this applies from the next round.",
            name=name,
            side=side,
        )
    return say._(
        "{name} is added as a member of {side}. Open proposals keep counting the leaders "
        "they opened with; this applies from the next round.",
        name=name,
        side=side,
    )


def remove(call: Call, intent: intents.CircleRemove) -> str:
    """`circle remove USER`."""
    ctx, tx, spec, actor = call.ctx, call.unit, call.spec, call.actor
    user, say = intent.user, call.say
    _require_admin(ctx, spec, actor, say)
    members = ctx.directory.members(spec.name)
    target = identity.find(members, user)
    if target is None:
        raise Refusal(say._('"{user}" is not a member of this circle.', user=user))
    _keeps_parity(spec, [m for m in members if m.name != target.name], say)
    detail: dict[str, object] = {"side": target.side}
    record_command(call, "member_remove", target.name, detail, actor.name)
    tx.deactivate_member(ctx.directory.circle_id(spec.name), target.name)
    ctx.directory.reload(tx, spec)
    return say._(
        "{name} was removed from {circle}; this applies from the next round.",
        name=target.name,
        circle=spec.name,
    )


def new_member(
    user: identity.PersonRef, side: str, role: Role, former: Member | None = None
) -> Member:
    """A member from what an admin typed: a platform handle or a plain name. Someone
    added by handle is named by that whole handle: a name derived from it (the part
    before ":server") could be anyone's."""
    if former is not None:
        return Member(former.name, side, role, former.handles)
    if isinstance(user, identity.Handle):
        return Member(user.id, side, role, {user.platform: user.id})
    return Member(identity.clean_name(user), side, role)


def _require_admin(ctx: Context, spec: CircleSpec, actor: Member, say: Lang) -> None:
    if ctx.directory.is_admin(spec, actor):
        return
    if spec.admins:
        raise Refusal(
            say._(
                "Only the circle's admins ({admins}) can change its membership.",
                admins=", ".join(spec.admins),
            )
        )
    raise Refusal(say._("Only the circle's admins can change its membership, and it has none."))


def _keeps_parity(spec: CircleSpec, after: list[Member], say: Lang) -> None:
    try:
        validate_membership(spec, after)
    except MembershipError as exc:
        raise Refusal(say._("That would break parity: {problem}", problem=exc.told(say))) from exc
