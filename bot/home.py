"""A person's overview across their circles: the open proposals with their per-side
tallies, and which of them still wait for this person's answer.

Read-only and platform-neutral: adapters render it (Slack's App Home tab). Call it on the
core's thread (Runtime.call), like every other read of the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.context import Context
from bot.messages import SideLine, side_lines
from bot.stances import Stance
from bot.tally import Status

OPEN_STATUSES = (Status.OPEN.value, Status.DRAFT.value)


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


@dataclass(frozen=True)
class Home:
    circles: tuple[HomeCircle, ...]  # only the circles this person belongs to

    @property
    def pending(self) -> tuple[tuple[HomeCircle, HomeProposal], ...]:
        """The proposals waiting for this person's answer, nearest deadline first."""
        found = [(c, p) for c in self.circles for p in c.proposals if p.awaiting_me]
        return tuple(sorted(found, key=lambda pair: (pair[1].deadline, pair[1].proposal_id)))


def build_home(ctx: Context, platform: str, user: str) -> Home:
    """The home of the platform user `user` (a Slack user id, a Matrix id, or a member's
    name on the console)."""
    now = ctx.clock.now()
    circles: list[HomeCircle] = []
    for spec in ctx.directory.specs.values():
        member = ctx.directory.member_for(spec.name, platform, user)
        if member is None:
            continue
        proposals: list[HomeProposal] = []
        with ctx.store.transaction() as tx:
            found = tx.proposals(ctx.directory.circle_id(spec.name), statuses=list(OPEN_STATUSES))
            for proposal in found:
                state = ctx.rounds.state(tx, proposal)
                card = next((c for c in tx.cards(proposal.id) if c.platform == platform), None)
                status = Status(proposal.status)
                leaders = {name for names in state.leaders.values() for name in names}
                proposals.append(
                    HomeProposal(
                        proposal_id=proposal.id,
                        text=proposal.text,
                        author=proposal.author,
                        status=status,
                        round=proposal.round,
                        deadline=proposal.deadline,
                        sides=side_lines(state.result),
                        my_stance=state.stances.get(member.name),
                        counted=status is Status.OPEN and member.name in leaders,
                        channel=card.channel if card else None,
                        message_ref=card.message_ref if card else None,
                    )
                )
        away = member.away_until if member.away_until and member.away_until > now else None
        circles.append(
            HomeCircle(
                name=spec.name,
                timezone=spec.timezone,
                side=member.side,
                role=member.role,
                away_until=away,
                proposals=tuple(proposals),
            )
        )
    return Home(tuple(circles))
