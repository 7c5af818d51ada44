"""bot.text.home: a person's open proposals across their circles, with per-side tallies and
what still waits for their answer."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import adapters.slack
from bot.domain.circle import Channel, CircleSpec, MemberSpec, Rules
from bot.domain.clock import ManualClock
from bot.domain.events import CommandEvent, ReactionEvent
from bot.domain.model import Role, Stance, Status
from bot.handlers.core import Core
from bot.queries.home_query import build_home
from storage import open_repository

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def circle(name: str, channel: str, **rules: object) -> CircleSpec:
    return CircleSpec(
        name=name,
        sides=("milpa", "vera"),
        members=(
            MemberSpec("ana", "milpa", Role.LEADER, handles={"slack": "UANA"}),
            MemberSpec("ben", "milpa", Role.LEADER, handles={"slack": "UBEN"}),
            MemberSpec("cy", "vera", Role.LEADER, handles={"slack": "UCY"}),
            MemberSpec("dee", "vera", Role.LEADER, handles={"slack": "UDEE"}),
            MemberSpec("eve", "milpa", Role.MEMBER, handles={"slack": "UEVE"}),
        ),
        admins=("ana",),
        timezone="America/Los_Angeles",
        rules=Rules(**rules),  # type: ignore[arg-type]
        channels={"slack": Channel(channel)},
    )


class World:
    def __init__(self, path: Path, specs: list[CircleSpec]) -> None:
        self.clock = ManualClock(T0)
        self.repo = open_repository(f"sqlite:///{path}")
        self.core = Core(self.repo, specs, self.clock, [adapters.slack.TRAITS])
        self.core.start()
        self.ids = itertools.count()

    def say(self, user: str, channel: str, text: str) -> str:
        event = CommandEvent("slack", f"c{next(self.ids)}", channel, user, text)
        (reply,) = self.core.handle(event)
        assert reply.ok, reply.text
        return reply.text

    def react(self, user: str, pid: int, emoji: str) -> None:
        self.core.handle(
            ReactionEvent("slack", f"r{next(self.ids)}", "", user, emoji, True, proposal_id=pid)
        )


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    specs = [circle("council", "CCOUNCIL"), circle("garden", "CGARDEN", require_cosponsor=True)]
    # Someone who is only in one circle.
    fay = MemberSpec("fay", "vera", Role.LEADER, handles={"slack": "UFAY"})
    specs[1] = replace(specs[1], members=(*specs[1].members, fay))
    made = World(tmp_path / "home.db", specs)
    yield made
    made.repo.engine.dispose()


def test_open_proposals_per_circle_with_tallies_and_my_pending_answers(world: World) -> None:
    world.say("UANA", "CCOUNCIL", "propose Adopt the visiting policy by 3d")
    world.say("UANA", "CCOUNCIL", "propose Paint the hall by 1d")
    world.say("UCY", "CGARDEN", "propose Plant beans by 2d")  # a draft: needs a co-sponsor
    world.react("UANA", 1, "+1")
    world.react("UCY", 1, "thinking_face")
    world.react("UEVE", 2, "+1")  # a voice: shown as hers, never awaited

    home = build_home(world.core.ctx, "slack", "UANA")
    council, garden = home.circles
    assert (council.name, council.side, council.role) == ("council", "milpa", "leader")
    first, second = council.proposals
    assert first.proposal_id == 1 and first.my_stance is Stance.CONSENT
    assert not first.awaiting_me
    assert [line.short() for line in first.sides] == ["milpa 1/2 …", "vera 1/2 …"]
    assert second.awaiting_me and second.counted
    assert second.channel == "CCOUNCIL" and second.message_ref is None  # not posted yet
    (draft,) = garden.proposals
    assert draft.status is Status.DRAFT and not draft.awaiting_me and not draft.counted
    # Nearest deadline first: #2 closes in one day.
    assert [p.proposal_id for _, p in home.pending] == [2]

    eve = build_home(world.core.ctx, "slack", "UEVE")
    (eve_council, _) = eve.circles
    voice = eve_council.proposals[1]
    assert voice.my_stance is Stance.CONSENT and not voice.counted and not voice.awaiting_me
    assert eve.pending == ()


def test_only_the_circles_a_person_belongs_to(world: World) -> None:
    world.say("UANA", "CCOUNCIL", "propose Adopt it by 3d")
    fay = build_home(world.core.ctx, "slack", "UFAY")
    assert [c.name for c in fay.circles] == ["garden"]
    assert build_home(world.core.ctx, "slack", "USTRANGER").circles == ()
    # The same person is found by platform id only on their own platform.
    assert build_home(world.core.ctx, "matrix", "UANA").circles == ()


def test_closed_proposals_leave_the_home_and_away_is_shown(world: World) -> None:
    world.say("UANA", "CCOUNCIL", "propose Adopt it by 3d")
    for user in ("UANA", "UBEN", "UCY", "UDEE"):
        world.react(user, 1, "+1")  # passes early
    world.say("UBEN", "CCOUNCIL", "away 2d")
    ben = build_home(world.core.ctx, "slack", "UBEN")
    council = ben.circles[0]
    assert council.proposals == ()
    assert council.away_until == T0 + timedelta(days=2)
    world.clock.advance(timedelta(days=3))
    assert build_home(world.core.ctx, "slack", "UBEN").circles[0].away_until is None


def test_a_leader_added_mid_round_is_not_awaited_on_that_round(world: World) -> None:
    world.say("UANA", "CCOUNCIL", "propose Adopt it by 3d")
    world.say("UANA", "CCOUNCIL", "circle add UNEW vera leader")
    new = build_home(world.core.ctx, "slack", "UNEW")
    (proposal,) = new.circles[0].proposals
    assert not proposal.counted and not proposal.awaiting_me
