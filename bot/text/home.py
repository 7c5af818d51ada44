"""A person's overview across their circles, as adapters render it (a platform's home
tab): the open proposals with their per-side tallies, and which of them still wait for
this person's answer. bot.queries.home_query builds it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.i18n import Reader
from bot.domain.model import Stance, Status
from bot.text.messages import SideLine


@dataclass(frozen=True)
class HomeProposal:
    proposal_id: int
    text: str
    author: str
    status: Status
    round: int
    deadline: datetime
    sides: tuple[SideLine, ...]
    # This person's answer on the current round (None: no answer yet).
    my_stance: Stance | None
    # This person is a leader of the current round (frozen when it opened): their
    # answer counts. False for voices, drafts and leaders added mid-round.
    counted: bool
    # Where the card is on the platform asked about (None: not posted there yet).
    channel: str | None = None
    message_ref: str | None = None

    @property
    def awaiting_me(self) -> bool:
        """Open, this person's answer counts, and they have not answered yet."""
        return self.status is Status.OPEN and self.counted and self.my_stance is None


@dataclass(frozen=True)
class HomeCircle:
    name: str
    timezone: str
    side: str
    role: str  # "leader" or "member"
    away_until: datetime | None
    proposals: tuple[HomeProposal, ...]  # open and draft proposals, oldest first
    reader: Reader = field(
        default_factory=Reader
    )  # how this person reads, as a member of this circle


@dataclass(frozen=True)
class Home:
    circles: tuple[HomeCircle, ...]  # only the circles this person belongs to

    @property
    def reader(self) -> Reader:
        """How this person reads their Home: as set in their first circle."""
        return self.circles[0].reader if self.circles else Reader()

    @property
    def pending(self) -> tuple[tuple[HomeCircle, HomeProposal], ...]:
        """The proposals waiting for this person's answer, nearest deadline first."""
        found = [(c, p) for c in self.circles for p in c.proposals if p.awaiting_me]
        return tuple(sorted(found, key=lambda pair: (pair[1].deadline, pair[1].proposal_id)))
