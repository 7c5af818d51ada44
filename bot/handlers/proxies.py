"""Proxies within a side. With the circle's rule `allow_proxy`, a leader going away may
name a leader of their own side who answers for them meanwhile: while the away leader
has no stance of their own, the proxy's stance counts for them too (bot.domain.tally.with_proxies).

A proxy is a mark of the away leader on the round (`proxy:ben`), so it is counted with
the round's other marks and replayed from history like them. It joins the rounds open
when it is named and every round that opens while the leader is away, and stays with a
round once there: like the leaders, it is frozen per round."""

from __future__ import annotations

from datetime import datetime

from bot.domain import identity
from bot.domain.circle import CircleSpec
from bot.domain.i18n import Lang
from bot.domain.model import Mark, MarkSource, Member
from bot.domain.refusal import Refusal
from bot.domain.tally import PROXY_SOURCE, proxy_key
from bot.ports.store import UnitOfWork
from bot.state.context import Context


def chosen_proxy(
    ctx: Context, spec: CircleSpec, actor: Member, user: identity.PersonRef, say: Lang
) -> Member:
    """The member `actor` names as proxy; refused unless the circle allows proxies and
    they are another leader of the same side."""
    if not spec.rules.allow_proxy:
        raise Refusal(say._("This circle does not use proxies: its rule allow_proxy is off."))
    if not actor.is_leader:
        raise Refusal(say._("Only leaders can name a proxy: a proxy answers for a leader."))
    proxy = identity.find(ctx.directory.members(spec.name), user)
    if proxy is None:
        raise Refusal(say._('"{user}" is not a member of this circle.', user=user))
    if proxy.name == actor.name:
        raise Refusal(say._("You can't be your own proxy."))
    if proxy.side != actor.side:
        raise Refusal(
            say._(
                "{name} is on {their_side}. A proxy must be a leader of your own side "
                "({side}): a side's weight never moves to another.",
                name=proxy.name,
                their_side=proxy.side,
                side=actor.side,
            )
        )
    if not proxy.is_leader:
        raise Refusal(
            say._(
                "{name} is a member with a voice, not a leader; a proxy must be a leader "
                "of your own side.",
                name=proxy.name,
            )
        )
    return proxy


def join_round(
    ctx: Context,
    tx: UnitOfWork,
    circle_id: int,
    proposal_id: int,
    number: int,
    away: str,
    proxy: str,
    at: datetime,
    event_id: str,
) -> bool:
    """Let `proxy` answer for `away` in one round, if the round counts both as leaders of
    one side. Recorded in history, which replays it like a reaction."""
    frozen = ctx.rounds.frozen(tx, proposal_id, number)
    if not frozen.rules.allow_proxy:
        return False  # a rule turned on mid-round applies from the next round
    side_of = {name: side for side, names in frozen.leaders.items() for name in names}
    if away not in side_of or side_of.get(proxy) != side_of[away]:
        return False
    sign = proxy_key(proxy)
    mark_is_there = any(
        m.member == away and m.sign == sign and m.source.platform == PROXY_SOURCE
        for m in tx.marks(proposal_id, number)
    )
    tx.record(
        circle_id=circle_id,
        kind="proxy",
        actor=away,
        at=at,
        platform=PROXY_SOURCE,
        event_id=event_id,
        proposal_id=proposal_id,
        round=number,
        member=away,
        sign=sign,
        added=True,
        detail={"proxy": proxy},
    )
    source = MarkSource(PROXY_SOURCE, event_id)
    mark = Mark(member=away, sign=sign, added=True, at=at, source=source)
    tx.put_mark(proposal_id, number, mark, replace=mark_is_there)
    tx.touch_cards(proposal_id)
    return True


def carry_into_round(
    ctx: Context, tx: UnitOfWork, spec: CircleSpec, proposal_id: int, number: int, now: datetime
) -> None:
    """A round opening now: the proxies of the leaders away now join it. Read from the
    store, not the directory: another replica may have taken the `away` command."""
    circle_id = ctx.directory.circle_id(spec.name)
    for member in tx.members(circle_id):
        if member.proxy and member.away_until and member.away_until > now:
            event_id = f"proxy:{proposal_id}:{number}:{member.name}"
            join_round(
                ctx, tx, circle_id, proposal_id, number, member.name, member.proxy, now, event_id
            )
