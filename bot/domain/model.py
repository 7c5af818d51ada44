"""The entities and enums every layer shares: statuses, roles, stances, and the
records the store hands back (members, proposals, rounds, marks, check-ins, cards,
messages waiting to go out). Standard library only: storage maps its rows to these,
and the core decides on them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    DRAFT = "draft"  # waiting for a co-sponsor from another side
    OPEN = "open"
    PASSED = "passed"
    BLOCKED = "blocked"
    NO_QUORUM = "no_quorum"
    WITHDRAWN = "withdrawn"

    @property
    def is_closed(self) -> bool:
        return self not in (Status.DRAFT, Status.OPEN)


class Role(StrEnum):
    LEADER = "leader"  # votes
    MEMBER = "member"  # a voice, no vote


class Stance(StrEnum):
    CONSENT = "consent"
    CONCERN = "concern"
    STAND_ASIDE = "stand_aside"
    OBJECT = "object"

    @property
    def counts_as_consent(self) -> bool:
        return self in (Stance.CONSENT, Stance.CONCERN)

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Stance.CONSENT: "Consent",
    Stance.CONCERN: "Concern",
    Stance.STAND_ASIDE: "Stand aside",
    Stance.OBJECT: "Object",
}


@dataclass(frozen=True)
class Member:
    """A person in a circle as the store knows them now (config and commands)."""

    name: str
    side: str
    role: Role
    # Platform name -> the person's id there (see bot.domain.circle.MemberSpec).
    handles: Mapping[str, str] = field(default_factory=dict)
    away_until: datetime | None = None
    proxy: str | None = None  # a leader of the same side who answers for them while away

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", Role(self.role))  # rows and JSON hold plain text

    @property
    def is_leader(self) -> bool:
        return self.role is Role.LEADER


@dataclass(frozen=True)
class Proposal:
    id: int
    circle_id: int
    author: str
    text: str
    status: Status
    round: int
    created_at: datetime
    deadline: datetime
    review: str | None
    review_at: datetime | None
    decided_at: datetime | None
    cosponsor: str | None
    review_of: int | None
    reviewed: bool
    closed_by: str | None = None  # who closed it before its deadline (`close`)
    statement: str | None = None  # the outcome statement: what was decided, who does what

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))


@dataclass(frozen=True)
class Round:
    """A round as stored: its text and what it is counted with, frozen when it opened."""

    proposal_id: int
    number: int
    text: str
    opened_at: datetime
    rules: dict[str, Any]
    leaders: dict[str, list[str]]


class MarkKind(StrEnum):
    """What a mark is."""

    REACTION = "reaction"  # a platform's emoji reaction (normalised)
    STANCE = "stance"  # a stance set by a button or a command
    PROXY = "proxy"  # an away leader naming who answers for them


@dataclass(frozen=True, order=True)
class Sign:
    """What a mark is on: a reaction's emoji, a stance, or the proxy named. A platform's
    reaction is always a REACTION, whatever its text, so it never sets a mark of ours."""

    kind: MarkKind
    value: str  # the emoji, the stance's value, or the proxy's name

    @classmethod
    def reaction(cls, emoji: str) -> Sign:
        return cls(MarkKind.REACTION, emoji)

    @classmethod
    def stance(cls, stance: Stance) -> Sign:
        return cls(MarkKind.STANCE, stance.value)

    @classmethod
    def proxy(cls, name: str) -> Sign:
        return cls(MarkKind.PROXY, name)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", MarkKind(self.kind))


@dataclass(frozen=True, order=True)
class MarkSource:
    """Where a mark came from: the platform and its event id (unique together). Orders
    marks of the same instant."""

    platform: str
    event_id: str


@dataclass(frozen=True)
class Mark:
    """One member's add or remove of one sign on one round: as given, and as stored for
    the round (the latest per member, platform and sign). Its `source` breaks ties
    between marks of the same instant."""

    member: str
    sign: Sign
    added: bool
    at: datetime
    source: MarkSource

    @property
    def position(self) -> tuple[datetime, MarkSource]:
        return (self.at, self.source)

    @property
    def key(self) -> tuple[str, str, Sign]:
        """The same 👍 on two platforms is two reactions, and removing one leaves
        the other."""
        return (self.member, self.source.platform, self.sign)


@dataclass(frozen=True)
class ProposalMarks:
    """A proposal with the live marks of its current round: all that an answer on it is
    decided from, read in one query."""

    proposal: Proposal
    marks: tuple[Mark, ...]


@dataclass(frozen=True)
class RecordedReaction:
    proposal_id: int
    round: int
    member: str | None
    sign: Sign
    added: bool


@dataclass(frozen=True)
class Checkin:
    id: int
    circle_id: int
    scheduled_for: datetime
    started_at: datetime
    question: str
    facilitator: str | None
    facilitator_side: str | None
    nudge_at: datetime | None
    closes_at: datetime
    closed_at: datetime | None
    late: bool


@dataclass(frozen=True)
class Card:
    """A proposal's card on one platform: where it is, and which version of the
    proposal it shows (`rendered`) against the newest (`version`)."""

    proposal_id: int
    platform: str
    channel: str
    message_ref: str | None
    version: int
    rendered: int
    # When posting it was first tried, if it never got a reference back: after a crash
    # the post may have landed, so the adapter looks before posting again.
    attempted_at: datetime | None = None


@dataclass(frozen=True)
class PendingMessage:
    id: int
    key: str
    platform: str
    channel: str
    proposal_id: int | None
    kind: str
    payload: dict[str, Any]
    checkin_id: int | None = None  # the check-in this message opens (its prompt)
    attempted_at: datetime | None = None  # as Card.attempted_at
