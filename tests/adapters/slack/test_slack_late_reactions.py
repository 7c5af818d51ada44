"""A stance reaction that arrives after its proposal closed is recorded and changes
nothing; on Slack its author alone is told, in their own language, that the proposal is
closed and the reaction was not counted. Through the real Bolt app and the fake Slack."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.domain.model import Status
from tests.adapters.slack.conftest import CHANNEL, RigFactory, council
from tests.adapters.slack.fakeslack import eventually


def notes_to(rig: Any, user: str) -> list[dict[str, Any]]:
    return [e for e in rig.fake.ephemeral if e["user"] == user]


async def test_a_reaction_after_the_close_is_answered_privately(make_rig: RigFactory) -> None:
    spec = council()
    members = tuple(
        replace(member, language="es") if member.name == "ben" else member
        for member in spec.members
    )
    rig = await make_rig("http", replace(spec, members=members))
    card = await rig.propose("Adopt the visiting policy by 3d")
    for name in ("ana", "ben", "cy", "dee"):
        await rig.react(name, "+1", card)
    await eventually(lambda: len(rig.fake.thread(CHANNEL, card.ts)) >= 1, what="the outcome")
    assert await rig.status() is Status.PASSED
    before = await rig.history()

    await rig.react("cy", "tada", card)  # not a stance: nothing to say
    await rig.react("cy", "white_check_mark", card)
    await rig.react("ben", "raised_hand", card)
    (cy,) = await eventually(lambda: notes_to(rig, "UCY"), what="cy's note")
    assert cy["text"] == "⚠️ Proposal #1 is already closed (passed), so your answer was not counted."
    assert cy["channel"] == CHANNEL
    (ben,) = await eventually(lambda: notes_to(rig, "UBEN"), what="ben's note")
    assert ben["text"] == (
        "⚠️ La propuesta #1 ya está cerrada (aprobada), así que tu respuesta no se contó."
    )
    # Recorded, and nothing else changed: still passed, nothing more in the thread.
    assert await rig.status() is Status.PASSED
    late = (await rig.history())[len(before) :]
    assert [row["counted"] for row in late if row["kind"] == "reaction"] == [False] * 3
    assert len(rig.fake.thread(CHANNEL, card.ts)) == 1
    assert len(notes_to(rig, "UCY")) == 1  # the 🎉 got no answer
