"""Members given by e-mail address in the config: the Slack adapter looks each up once
on start (users.lookupByEmail), the core keeps the id, and a restart asks Slack nothing
again. An address Slack does not know is said in the log, and the bot starts for the
rest."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from bot.domain.circle import CircleSpec, MemberSpec
from tests.adapters.slack.conftest import RigFactory, council
from tests.adapters.slack.fakeslack import FakeSlack


def by_email() -> CircleSpec:
    spec = council()
    members = tuple(
        MemberSpec(m.name, m.side, m.role, to_resolve={"slack": f"{m.name}@example.org"})
        if m.name in ("ana", "dee")
        else m
        for m in spec.members
    )
    return replace(spec, members=members)


async def test_addresses_are_looked_up_once_and_the_people_can_act(
    fake: FakeSlack, make_rig: RigFactory
) -> None:
    fake.add_user("UANA", "ana", email="ana@example.org")
    fake.add_user("UDEE", "dee", email="dee@example.org")
    rig = await make_rig("http", spec=by_email())
    assert len(fake.calls_to("users.lookupByEmail")) == 2
    card = await rig.propose("Adopt the visiting policy by 3d", who="UANA")
    for who in ("UANA", "ben", "cy", "UDEE"):
        assert (await rig.react(who, "white_check_mark", card)).status == 200
    await rig.shows(card, "*milpa* 2/2 ✓ · *vera* 2/2 ✓")

    await rig.restart()  # the ids are kept: Slack is not asked again
    assert len(fake.calls_to("users.lookupByEmail")) == 2


async def test_an_unknown_address_is_said_and_the_rest_work(
    fake: FakeSlack, make_rig: RigFactory, caplog: pytest.LogCaptureFixture
) -> None:
    fake.add_user("UANA", "ana", email="ana@example.org")  # dee's address is unknown
    with caplog.at_level(logging.WARNING, logger="adapters.slack"):
        rig = await make_rig("http", spec=by_email())
    said = [r.getMessage() for r in caplog.records if "cannot find" in r.getMessage()]
    assert said == [
        "slack: cannot find dee@example.org (dee in circle council) in the workspace: "
        "users_not_found; they cannot answer from Slack until the address is one they sign "
        "in with, or their Slack id is in the config (`circlebot doctor` checks it)"
    ]
    card = await rig.propose("Adopt the visiting policy by 3d", who="UANA")
    assert card.text  # the bot runs for everyone else

    fake.add_user("UDEE", "dee", email="dee@example.org")  # fixed in Slack: found next start
    await rig.restart()
    assert [c.params.get("email") for c in fake.calls_to("users.lookupByEmail")] == [
        "ana@example.org",
        "dee@example.org",
        "dee@example.org",
    ]
