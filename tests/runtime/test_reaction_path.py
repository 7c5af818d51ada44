"""What one reaction costs the database on its way through the runtime: one transaction
applies it (loads, decides, writes), and delivery takes two (claim and render, then
record what went out), on SQLite and PostgreSQL, on one Slack workspace or several."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

import adapters.slack
from bot.domain.circle import Channel, CircleSpec, MemberSpec
from bot.domain.clock import ManualClock
from bot.domain.events import CommandEvent, ReactionEvent
from bot.domain.model import Role, Stance
from bot.handlers.core import Core
from bot.runtime.runner import Runtime
from storage import open_repository
from tests.runtime.test_runtime import CIRCLE, T0, RecordingAdapter, Rig

CHANNEL = "C0SHARED"


def in_workspace(name: str, team: str) -> CircleSpec:
    """A circle on Slack, in workspace `team`, on a channel id other workspaces share."""
    return CircleSpec(
        name=name,
        sides=("milpa", "vera"),
        members=tuple(
            MemberSpec(who, "milpa" if i < 2 else "vera", Role.LEADER, handles={"slack": f"U{who}"})
            for i, who in enumerate(("ana", "ben", "cy", "dee"))
        ),
        admins=("ana",),
        channels={"slack": Channel(CHANNEL, team)},
    )


class Counted:
    """A runtime whose engine counts the transactions begun (from any thread)."""

    def __init__(self, url: str, workspaces: bool) -> None:
        self.clock = ManualClock(T0)
        self.adapter = RecordingAdapter()
        if workspaces:
            self.adapter.platform = "slack"
            circles = [in_workspace("council", "T1"), in_workspace("elsewhere", "T2")]
            self.channel, self.workspace, self.user = CHANNEL, "T1", "U{}"
        else:
            circles = [CIRCLE]
            self.channel, self.workspace, self.user = "council", None, "{}"
        self.repo = open_repository(url)
        platform = adapters.slack.TRAITS if workspaces else self.adapter.platform
        core = Core(self.repo, circles, self.clock, [platform])
        self.runtime = Runtime(core, [self.adapter])
        self.ids = itertools.count()
        self.begun: list[str] = []
        event.listen(self.repo.engine, "begin", lambda _c: self.begun.append("begin"))

    async def command(self, user: str, text: str) -> None:
        await self.runtime.on_event(
            CommandEvent(
                self.adapter.platform,
                f"c{next(self.ids)}",
                self.channel,
                self.user.format(user),
                text,
                workspace=self.workspace,
            )
        )

    async def react(self, user: str, emoji: str, workspace: str | None = None) -> int:
        """Transactions the reaction took, from its arrival to its card edited."""
        before = len(self.begun)
        reaction = ReactionEvent(
            self.adapter.platform,
            f"r{next(self.ids)}",
            self.channel,
            self.user.format(user),
            emoji,
            True,
            message_ref="card1",
            at=self.clock.advance(timedelta(seconds=1)),
            workspace=workspace or self.workspace,
        )
        await self.runtime.on_event(reaction)
        return len(self.begun) - before


async def proposed(url: str, workspaces: bool) -> Counted:
    made = Counted(url, workspaces)
    await made.runtime.start()
    made.runtime.scheduler.pause()  # scheduled work (the sweep) is not the reaction's
    await made.command("ana", "propose Adopt the policy by 3d")
    return made


@pytest.fixture(params=[False, True], ids=["one workspace", "two workspaces"])
async def counted(request: pytest.FixtureRequest, db_url: str) -> Any:
    made = await proposed(db_url, workspaces=request.param)
    yield made
    await made.runtime.stop()
    made.repo.engine.dispose()


@pytest.fixture
async def two_workspaces(db_url: str) -> Any:
    made = await proposed(db_url, workspaces=True)
    yield made
    await made.runtime.stop()
    made.repo.engine.dispose()


async def test_a_reaction_takes_one_transaction_and_its_card_edit_two(counted: Counted) -> None:
    assert await counted.react("ana", "+1") == 3
    assert counted.adapter.cards["card1"].sides[0].consenting == 1
    assert await counted.react("ben", "+1") == 3  # read nothing that reactions cannot change
    assert await counted.react("cy", "raised_hand") == 3  # the objector is asked, once
    (notice,) = counted.adapter.posts
    assert "cy" in str(notice[1]) and notice[0] == "card1"
    state = await counted.runtime.call(counted.runtime.core.state, 1)
    assert state.stances == {"ana": Stance.CONSENT, "ben": Stance.CONSENT, "cy": Stance.OBJECT}


async def test_a_reaction_from_another_workspace_is_dropped_in_its_one_transaction(
    two_workspaces: Counted,
) -> None:
    rig = two_workspaces
    # Dropped where it is applied, then a delivery pass that claims nothing (and so has
    # nothing to let go of).
    assert await rig.react("ana", "+1", workspace="T2") == 2
    assert rig.adapter.edits == []
    state = await rig.runtime.call(rig.runtime.core.state, 1)
    assert state.stances == {}


async def test_a_post_a_failed_pass_never_tried_is_a_first_try_next_time(tmp_path: Path) -> None:
    """A pass records the posts it is about to try when it claims them; those it never
    tried (an earlier one failed) are not told later that a try may have landed."""
    rig = Rig(tmp_path / "bot.db")
    await rig.runtime.start()
    try:
        rig.adapter.failing = True
        await rig.command("ana", "propose First by 3d")  # its card's post fails
        first = rig.clock.now()
        rig.clock.advance(timedelta(minutes=1))
        await rig.command("ana", "propose Second by 3d")  # the first fails again: never tried
        rig.adapter.failing = False
        await rig.runtime.flush()
        assert [card.text for card in rig.adapter.cards.values()] == ["First", "Second"]
        assert rig.adapter.since == [None, first, first, None]
    finally:
        await rig.runtime.stop()
