"""The directory of circles and their members: who is who, on which platform, in which
channel. Members are read from the store and kept here between events (they change only
by a command or a restart), so lookups on the hot path cost no query."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from bot.domain import identity
from bot.domain.circle import CircleSpec, leaders_by_side
from bot.domain.events import InboundEvent, ReactionEvent, ThreadReplyEvent
from bot.domain.identity import PersonReader
from bot.domain.model import Member, Proposal
from bot.ports.platform import PlatformTraits, traits_of
from bot.ports.store import Store, UnitOfWork
from bot.text.messages import Mention

# A cursor that changes with every membership change: replicas sharing one database
# compare it with what they last read before they act on their members.
MEMBERS_STAMP = "members-stamp"


class Directory:
    def __init__(
        self, circles: Sequence[CircleSpec], platforms: Sequence[str | PlatformTraits]
    ) -> None:
        self.specs = {spec.name: spec for spec in circles}
        self.traits = {t.name: t for t in map(traits_of, platforms)}
        self.platforms = tuple(self.traits)
        self._circle_ids: dict[str, int] = {}
        self._members: dict[str, list[Member]] = {}
        self._former: dict[str, list[Member]] = {}  # removed members, still identifiable
        self._stamp: str | None = None  # MEMBERS_STAMP as this replica last read it
        self.stale = False  # set by forget()

    # -- circles -----------------------------------------------------------------------

    def bind(self, spec: CircleSpec, circle_id: int) -> None:
        """The circle's row in the store (made on start)."""
        self._circle_ids[spec.name] = circle_id

    def circle_id(self, circle: str) -> int:
        return self._circle_ids[circle]

    def known(self, circle_id: int) -> bool:
        """Whether a stored circle is still configured."""
        return circle_id in self._circle_ids.values()

    def circle_for(
        self, platform: str, channel: str, workspace: str | None = None
    ) -> CircleSpec | None:
        """The circle bound to a channel or room (on a platform known by names: named
        `channel`); with many workspaces, to that channel of `workspace` (one channel id
        may be in several)."""
        by_name = self._by_name(platform)
        for spec in self.specs.values():
            if by_name:
                if spec.name == channel:
                    return spec
                continue
            bound = spec.channels.get(platform)
            if bound is not None and bound.id == channel and in_workspace(spec, workspace):
                return spec
        return None

    def called(self, platform: str) -> str:
        """The platform's name as operators read it."""
        traits = self.traits.get(platform)
        return traits.called if traits is not None else platform

    def people(self, platform: str) -> list[PersonReader]:
        """How a person is written in a command typed on `platform`: its own way first,
        then the other platforms' (a handle of another platform names that person)."""
        order = sorted(self.traits.values(), key=lambda t: t.name != platform)
        return [t.person for t in order if not t.by_name]

    def _by_name(self, platform: str) -> bool:
        # A platform the core was not told of is known by its names, unless circles
        # have channels on it.
        traits = self.traits.get(platform)
        if traits is None:
            return not any(platform in spec.channels for spec in self.specs.values())
        return traits.by_name

    def workspaces(self, platform: str) -> bool:
        """Whether circles on `platform` are in several workspaces (one app installed in
        many)."""
        return any(
            bound.workspace
            for spec in self.specs.values()
            if (bound := spec.channels.get(platform)) is not None
        )

    def workspace_of(self, platform: str, spec: CircleSpec) -> str | None:
        """The workspace the circle's channel on `platform` is in (None: the only one)."""
        bound = spec.channels.get(platform)
        return bound.workspace if bound is not None else None

    def circles_at(self, platform: str, channel: str) -> list[CircleSpec]:
        """Every circle whose channel on `platform` has this id (several only in several
        workspaces)."""
        return [spec for spec in self.specs.values() if (platform, channel) in self.channels(spec)]

    def from_elsewhere(self, store: Store, event: InboundEvent) -> bool:
        """An event from another workspace than that of the circle it would change (a
        reaction on a card, a reply in a check-in's thread, both found by their message):
        never applied. Commands find their circle by (workspace, channel) already."""
        if event.workspace is None or not isinstance(event, ReactionEvent | ThreadReplyEvent):
            return False
        with store.transaction() as tx:
            circle_id = _circle_touched(tx, event)
        return circle_id is not None and self.elsewhere(circle_id, event.workspace)

    def elsewhere(self, circle_id: int, workspace: str | None) -> bool:
        """Whether an event from `workspace` is from another workspace than the circle's
        (an unknown circle: not said here, the handler finds nothing of it either)."""
        return self.known(circle_id) and not in_workspace(self.spec_by_id(circle_id), workspace)

    def spec_by_id(self, circle_id: int) -> CircleSpec:
        for name, known in self._circle_ids.items():
            if known == circle_id:
                return self.specs[name]
        raise KeyError(circle_id)

    def spec_of(self, proposal: Proposal) -> CircleSpec:
        return self.spec_by_id(proposal.circle_id)

    def channels(self, spec: CircleSpec) -> list[tuple[str, str]]:
        """(platform, channel) pairs where the circle's cards are posted."""
        found = []
        for platform in self.platforms:
            if self._by_name(platform):
                found.append((platform, spec.name))
            elif (bound := spec.channels.get(platform)) is not None:
                found.append((platform, bound.id))
        return found

    # -- members -----------------------------------------------------------------------

    def reload(self, tx: UnitOfWork, spec: CircleSpec) -> None:
        """Read the circle's members again, after a change made in this transaction, and
        leave a new stamp beside them so other replicas know to read them again too.
        Changes take turns (lock_circles), so each reads what the one before wrote."""
        tx.lock_circles()
        self._load(tx, spec)
        self._stamp = uuid.uuid4().hex
        tx.set_cursor(MEMBERS_STAMP, self._stamp)

    def forget(self) -> None:
        """What is kept may not be what the store holds (a change whose transaction then
        failed): the next refresh reads every circle's members again."""
        self._stamp = None
        self.stale = True

    def refresh(self, tx: UnitOfWork) -> bool:
        """Read every circle's members again if another replica changed them since this
        one last read them (their stamp moved). True if it did."""
        stamp = tx.cursor(MEMBERS_STAMP)
        if stamp == self._stamp and not self.stale:
            return False
        self.stale = False
        for name in self._circle_ids:
            self._load(tx, self.specs[name])
        self._stamp = stamp
        return True

    def _load(self, tx: UnitOfWork, spec: CircleSpec) -> None:
        circle_id = self._circle_ids[spec.name]
        self._members[spec.name] = tx.members(circle_id)
        self._former[spec.name] = tx.members(circle_id, former=True)

    def members(self, circle: str) -> list[Member]:
        return self._members[circle]

    def former_members(self, circle: str) -> list[Member]:
        return self._former[circle]

    def member_for(
        self, circle: str, platform: str, user: str, former: bool = False
    ) -> Member | None:
        """The member behind a platform user; with `former`, among removed members.
        On the console a person is their name, in any case or Unicode form."""
        key = identity.name_key(user)
        by_name = self._by_name(platform)
        for member in (self._former if former else self._members)[circle]:
            if by_name and identity.name_key(member.name) == key:
                return member
            if not by_name and member.handles.get(platform) == user:
                return member
        return None

    def member_named(self, circle: str, name: str | None) -> Member | None:
        """A member, current or removed, by the name the store knows them by."""
        if not name:
            return None
        everyone = [*self._members[circle], *self._former[circle]]
        return next((m for m in everyone if m.name == name), None)

    def mention(self, circle: str, name: str) -> Mention:
        member = next((m for m in self._members[circle] if m.name == name), None)
        reader = self.specs[circle].reader_of(name)
        if member is None:
            return Mention(name, reader=reader)
        return Mention(name, member.handles, reader)

    def is_admin(self, spec: CircleSpec, member: Member) -> bool:
        return identity.holds_admin(spec, member)

    def leaders_by_side(self, spec: CircleSpec) -> dict[str, list[str]]:
        """The circle's leaders now, per side: what a round opening now freezes."""
        return leaders_by_side(spec.sides, self._members[spec.name])


def in_workspace(spec: CircleSpec, workspace: str | None) -> bool:
    """Whether an event from `workspace` (None: the only one) may touch the circle: a
    circle in a workspace takes events from that one alone."""
    if workspace is None:
        return True
    bound = {channel.workspace for channel in spec.channels.values()} - {None}
    return not bound or workspace in bound


def _circle_touched(tx: UnitOfWork, event: InboundEvent) -> int | None:
    """The circle of the card a reaction is on, or of the check-in a reply answers."""
    if isinstance(event, ThreadReplyEvent):
        checkin_id = tx.checkin_posted_as(event.platform, event.thread_ref)
        checkin = tx.checkin(checkin_id) if checkin_id is not None else None
        return checkin.circle_id if checkin is not None else None
    if not isinstance(event, ReactionEvent):
        return None
    proposal_id = event.proposal_id
    if event.removes is not None:
        original = tx.reaction(event.platform, event.removes)
        proposal_id = original.proposal_id if original is not None else None
    elif proposal_id is None and event.message_ref is not None:
        card = tx.card_by_ref(event.platform, event.message_ref, event.channel)
        proposal_id = card.proposal_id if card is not None else None
    proposal = tx.proposal(proposal_id) if proposal_id is not None else None
    return proposal.circle_id if proposal is not None else None
