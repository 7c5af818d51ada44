"""The parity tally: pure functions, no I/O, no clock, no database.

Stance marks in -> each member's stance -> per-side tally -> outcome. Everything here is
deterministic in its inputs, whatever order the marks arrived in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.circle import Rules
from bot.domain.model import Mark, MarkKind, MarkSource, Sign, Stance, Status

PROXY_SOURCE = "core"  # the platform of the marks that name proxies


def stance_key(stance: Stance) -> Sign:
    """A button or a command that sets a stance is a mark too, so it behaves exactly
    like a reaction (the most recent present mark wins) without touching real ones."""
    return Sign.stance(stance)


def reaction_key(emoji: str) -> Sign:
    """What a platform's reaction (already normalised) is counted as: a plain emoji,
    whatever its text, so typing `proxy:ben` as a reaction sets nothing."""
    return Sign.reaction(emoji)


def proxy_key(proxy: str) -> Sign:
    """Naming a proxy is a mark by the away leader: it lives with the round's marks, so
    every replica counts it and history replays it."""
    return Sign.proxy(proxy)


def latest_marks(marks: Iterable[Mark]) -> dict[tuple[str, str, Sign], Mark]:
    """The newest mark per (member, platform, emoji): a last-writer-wins register, so any
    shuffle or duplication of the same marks gives the same result."""
    latest: dict[tuple[str, str, Sign], Mark] = {}
    for mark in marks:
        current = latest.get(mark.key)
        if current is None or mark.position > current.position:
            latest[mark.key] = mark
    return latest


def stance_of(mark: Mark, emoji_map: Mapping[str, Stance]) -> Stance | None:
    kind, value = mark.sign.kind, mark.sign.value
    if kind is MarkKind.STANCE:
        try:
            return Stance(value)
        except ValueError:  # no stance of ours: counts for nothing
            return None
    return emoji_map.get(value) if kind is MarkKind.REACTION else None


def stances_from_latest(
    latest: Iterable[Mark], emoji_map: Mapping[str, Stance]
) -> dict[str, Stance]:
    """Each member's stance: that of their most recent stance mark still present."""
    best: dict[str, tuple[tuple[datetime, MarkSource], Stance]] = {}
    for mark in latest:
        if not mark.added:
            continue
        stance = stance_of(mark, emoji_map)
        if stance is None:
            continue
        current = best.get(mark.member)
        if current is None or mark.position > current[0]:
            best[mark.member] = (mark.position, stance)
    return {member: stance for member, (_, stance) in best.items()}


def resolve_stances(marks: Iterable[Mark], emoji_map: Mapping[str, Stance]) -> dict[str, Stance]:
    return stances_from_latest(latest_marks(marks).values(), emoji_map)


def proxies_from_latest(latest: Iterable[Mark]) -> dict[str, str]:
    """Who answers for whom in a round: each member's most recently named proxy. Only
    the core names one (bot.handlers.proxies); a platform's mark never does."""
    best: dict[str, tuple[tuple[datetime, MarkSource], str]] = {}
    for mark in latest:
        if not mark.added or mark.sign.kind is not MarkKind.PROXY:
            continue
        if mark.source.platform != PROXY_SOURCE:
            continue
        current = best.get(mark.member)
        if current is None or mark.position > current[0]:
            best[mark.member] = (mark.position, mark.sign.value)
    return {member: proxy for member, (_, proxy) in best.items()}


@dataclass(frozen=True)
class Counted:
    """The stances a round is counted with: each leader's own, and for an away leader
    with none, their proxy's (`proxied`: away leader -> proxy)."""

    stances: dict[str, Stance]
    proxied: dict[str, str]


def with_proxies(
    leaders: Mapping[str, Sequence[str]],
    own: Mapping[str, Stance],
    proxies: Mapping[str, str],
) -> Counted:
    """A proxy's own stance counts for the leader they answer for, only while that leader
    has none of their own, and only within one side: a proxy who is not a leader of the
    same side (as the round froze them) counts for nobody, so weight never moves
    between sides."""
    side_of = {name: side for side, names in leaders.items() for name in names}
    stances, proxied = dict(own), {}
    for away, proxy in proxies.items():
        side = side_of.get(away)
        if side is None or away in own or proxy == away or side_of.get(proxy) != side:
            continue
        stance = own.get(proxy)
        if stance is not None:
            stances[away] = stance
            proxied[away] = proxy
    return Counted(stances, proxied)


def count_marks(
    latest: Iterable[Mark], rules: Rules, leaders: Mapping[str, Sequence[str]]
) -> Counted:
    """A round's counted stances from its newest marks: stances, and proxies if the
    round's frozen rules allow them."""
    latest = list(latest)
    own = stances_from_latest(latest, rules.emoji)
    proxies = proxies_from_latest(latest) if rules.allow_proxy else {}
    return with_proxies(leaders, own, proxies)


@dataclass(frozen=True)
class SideTally:
    side: str
    leaders: tuple[str, ...]
    needed: int  # responses needed for quorum
    consent: tuple[str, ...]
    concern: tuple[str, ...]
    stand_aside: tuple[str, ...]
    objecting: tuple[str, ...]
    quorum: bool
    consents: bool

    @property
    def responded(self) -> int:
        return len(self.consent) + len(self.concern) + len(self.stand_aside) + len(self.objecting)

    @property
    def waiting(self) -> tuple[str, ...]:
        answered = set(self.consent + self.concern + self.stand_aside + self.objecting)
        return tuple(name for name in self.leaders if name not in answered)

    @property
    def consenting(self) -> int:
        return len(self.consent) + len(self.concern)

    def to_json(self) -> dict[str, object]:
        return {
            "leaders": len(self.leaders),
            "responded": self.responded,
            "consent": len(self.consent),
            "concern": len(self.concern),
            "stand_aside": len(self.stand_aside),
            "object": len(self.objecting),
            "quorum": self.quorum,
            "consents": self.consents,
        }


@dataclass(frozen=True)
class Tally:
    sides: tuple[SideTally, ...]

    @property
    def blocked(self) -> bool:
        return any(side.objecting for side in self.sides)

    @property
    def passes(self) -> bool:
        return all(side.consents for side in self.sides)

    @property
    def complete(self) -> bool:
        return all(not side.waiting for side in self.sides)

    @property
    def objectors(self) -> tuple[str, ...]:
        return tuple(name for side in self.sides for name in side.objecting)

    @property
    def standing_aside(self) -> tuple[str, ...]:
        return tuple(name for side in self.sides for name in side.stand_aside)

    @property
    def concerns(self) -> tuple[str, ...]:
        return tuple(name for side in self.sides for name in side.concern)

    def side(self, name: str) -> SideTally:
        return next(side for side in self.sides if side.side == name)


def tally(
    rules: Rules, leaders: Mapping[str, Sequence[str]], stances: Mapping[str, Stance]
) -> Tally:
    """Per-side tally of the leaders frozen for a round. Stances of anyone else (voices,
    people added mid-round) are not counted."""
    sides = []
    for side, names in leaders.items():
        by_stance: dict[Stance, list[str]] = {stance: [] for stance in Stance}
        for name in names:
            stance = stances.get(name)
            if stance is not None:
                by_stance[stance].append(name)
        needed = math.ceil(rules.quorum * len(names))
        responded = sum(len(v) for v in by_stance.values())
        has_quorum = responded >= needed
        consenting = len(by_stance[Stance.CONSENT]) + len(by_stance[Stance.CONCERN])
        sides.append(
            SideTally(
                side=side,
                leaders=tuple(names),
                needed=needed,
                consent=tuple(by_stance[Stance.CONSENT]),
                concern=tuple(by_stance[Stance.CONCERN]),
                stand_aside=tuple(by_stance[Stance.STAND_ASIDE]),
                objecting=tuple(by_stance[Stance.OBJECT]),
                quorum=has_quorum,
                consents=has_quorum
                and not by_stance[Stance.OBJECT]
                and consenting >= rules.min_consent_per_side,
            )
        )
    return Tally(sides=tuple(sides))


def decide(result: Tally, rules: Rules, *, at_deadline: bool) -> Status | None:
    """The outcome an open round has reached, or None while it stays open.

    Before the deadline only an early pass closes it: an objection opens a conversation,
    it does not end one."""
    if not at_deadline:
        if rules.early_close and result.complete and result.passes:
            return Status.PASSED
        return None
    if result.blocked:
        return Status.BLOCKED
    if result.passes:
        return Status.PASSED
    return Status.NO_QUORUM
