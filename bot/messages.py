"""What the bot says, as a platform-neutral model. Each adapter renders it in its own
idiom (Slack Block Kit, Matrix HTML + plain body, console text)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.i18n import Reader
from bot.model import Stance, Status
from bot.stances import DEFAULT_EMOJI
from bot.tally import SideTally, Tally


@dataclass(frozen=True)
class Mention:
    """A person to notify; adapters turn it into a real mention on their platform."""

    member: str
    slack: str | None = None
    matrix: str | None = None
    # How this person reads what is sent to them alone (a reminder's direct message).
    reader: Reader = field(default_factory=Reader)


@dataclass(frozen=True)
class Notice:
    """A short message: text with mentions in between (`("Waiting on ", Mention(…))`)."""

    parts: tuple[str | Mention, ...]
    # The check-in this notice opens (its prompt): replies in its thread are counted.
    checkin: int | None = None

    @property
    def mentions(self) -> tuple[Mention, ...]:
        return tuple(part for part in self.parts if isinstance(part, Mention))

    def plain(self) -> str:
        return "".join(part if isinstance(part, str) else f"@{part.member}" for part in self.parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "notice": [
                part
                if isinstance(part, str)
                else {"member": part.member, "slack": part.slack, "matrix": part.matrix}
                for part in self.parts
            ]
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Notice:
        return cls(
            tuple(
                part
                if isinstance(part, str)
                else Mention(part["member"], part.get("slack"), part.get("matrix"))
                for part in data["notice"]
            )
        )

    @classmethod
    def text(cls, text: str) -> Notice:
        return cls((text,))


def listing(mentions: Sequence[Mention]) -> tuple[str | Mention, ...]:
    """Mentions separated by commas, as Notice parts."""
    parts: list[str | Mention] = []
    for index, mention in enumerate(mentions):
        if index:
            parts.append(", ")
        parts.append(mention)
    return tuple(parts)


@dataclass(frozen=True)
class Reply:
    """An answer to one person's command, shown to them alone (Slack: ephemeral)."""

    text: str
    ok: bool = True


@dataclass(frozen=True)
class SideLine:
    side: str
    leaders: int
    responded: int
    consenting: int
    consents: bool
    quorum: bool
    objecting: tuple[str, ...]
    standing_aside: tuple[str, ...]
    concerns: tuple[str, ...]
    waiting: tuple[str, ...]

    @classmethod
    def of(cls, side: SideTally) -> SideLine:
        return cls(
            side=side.side,
            leaders=len(side.leaders),
            responded=side.responded,
            consenting=side.consenting,
            consents=side.consents,
            quorum=side.quorum,
            objecting=side.objecting,
            standing_aside=side.stand_aside,
            concerns=side.concern,
            waiting=side.waiting,
        )

    @property
    def mark(self) -> str:
        if self.objecting:
            return "✋"
        if self.consents:
            return "✓"
        if not self.waiting:
            return "✗"  # everyone answered, yet this side has not consented
        return "…"

    def short(self) -> str:
        """`milpa 2/2 ✓`: leaders consenting out of leaders, and the side's state."""
        return f"{self.side} {self.consenting}/{self.leaders} {self.mark}"


def side_lines(result: Tally) -> tuple[SideLine, ...]:
    return tuple(SideLine.of(side) for side in result.sides)


def tally_line(lines: Sequence[SideLine]) -> str:
    """The per-side tally people see; never one head-count across sides."""
    return " · ".join(line.short() for line in lines)


LEGEND: tuple[tuple[Stance, tuple[str, ...]], ...] = tuple(DEFAULT_EMOJI.items())


@dataclass(frozen=True)
class ProposalCard:
    proposal_id: int
    circle: str
    text: str
    author: str
    status: Status
    round: int
    deadline: datetime
    timezone: str
    sides: tuple[SideLine, ...]
    voices: tuple[tuple[str, Stance], ...] = ()  # non-voting members who answered
    legend: tuple[tuple[Stance, tuple[str, ...]], ...] = LEGEND
    decided_at: datetime | None = None
    review_at: datetime | None = None
    cosponsor: str | None = None
    needs_cosponsor: bool = False
    reader: Reader = field(default_factory=Reader)  # the circle's language and time zone

    @property
    def title(self) -> str:
        return f"Proposal #{self.proposal_id} by {self.author}"


@dataclass(frozen=True)
class Outcome:
    proposal_id: int
    text: str
    status: Status
    round: int
    sides: tuple[SideLine, ...]
    decided_at: datetime
    objectors: tuple[str, ...] = ()
    standing_aside: tuple[str, ...] = ()
    concerns: tuple[str, ...] = ()
    note: str = ""  # e.g. who withdrew it
    reader: Reader = field(default_factory=Reader)  # the circle's language and time zone

    @property
    def headline(self) -> str:
        return {
            Status.PASSED: f"✅ Proposal #{self.proposal_id} passed",
            Status.BLOCKED: f"✋ Proposal #{self.proposal_id} is blocked",
            Status.NO_QUORUM: f"⌛ Proposal #{self.proposal_id} closed without consent",
            Status.WITHDRAWN: f"↩️ Proposal #{self.proposal_id} was withdrawn",
        }.get(self.status, f"Proposal #{self.proposal_id}: {self.status}")


@dataclass(frozen=True)
class Reminder:
    """Before a deadline: who has not answered yet. Slack sends each person a direct
    message; Matrix mentions them in the thread; both say which sides are incomplete."""

    proposal_id: int
    text: str
    deadline: datetime
    timezone: str
    waiting: tuple[Mention, ...]  # leaders without a stance who are not away
    sides: tuple[SideLine, ...]
    late: bool = False  # it fell due while the bot was down
    reader: Reader = field(
        default_factory=Reader
    )  # the circle's (each Mention carries its person's)

    def incomplete(self) -> str:
        """`Waiting on vera (1 of 2)`: sides with leaders yet to answer."""
        parts = [
            f"{line.side} ({len(line.waiting)} of {line.leaders})"
            for line in self.sides
            if line.waiting
        ]
        return "Waiting on " + ", ".join(parts) if parts else "Everyone has answered"
