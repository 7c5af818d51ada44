"""Builds a person's overview across their circles (bot.text.home) from the database. Call it
on the core's thread (Runtime.call), like every other read of the database."""

from __future__ import annotations

from bot.domain.model import Status
from bot.state.context import Context
from bot.state.directory import in_workspace
from bot.text.home import Home, HomeCircle, HomeProposal
from bot.text.messages import side_lines

OPEN_STATUSES = (Status.OPEN.value, Status.DRAFT.value)


def build_home(ctx: Context, platform: str, user: str, workspace: str | None = None) -> Home:
    """The home of the platform user `user` (their handle there, or a member's
    name on the console); with many workspaces, of `workspace`'s circles."""
    now = ctx.clock.now()
    circles: list[HomeCircle] = []
    for spec in ctx.directory.specs.values():
        if not in_workspace(spec, workspace):
            continue
        member = ctx.directory.member_for(spec.name, platform, user)
        if member is None:
            continue
        proposals: list[HomeProposal] = []
        with ctx.store.transaction() as tx:
            found = tx.proposals(ctx.directory.circle_id(spec.name), statuses=list(OPEN_STATUSES))
            for proposal in found:
                state = ctx.rounds.state(tx, proposal)
                card = next((c for c in tx.cards(proposal.id) if c.platform == platform), None)
                status = proposal.status
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
                reader=spec.reader_of(member.name),
            )
        )
    return Home(tuple(circles))
