"""Close now, the outcome statement and a proxy on Slack, through the real Bolt app
(signed HTTP requests) into a real Core + Runtime, out to the fake Web API."""

from __future__ import annotations

from bot.domain.model import Status
from tests.adapters.slack.conftest import CHANNEL, Rig, RigFactory, texts
from tests.adapters.slack.fakeslack import eventually


async def reply_to(rig: Rig, user: str, count: int) -> str:
    """The `count`-th private reply to `user` (1 is the first)."""

    def replies() -> list[str]:
        return [e["text"] for e in rig.fake.ephemeral if e["user"] == user]

    await eventually(lambda: len(replies()) >= count, what=f"reply {count} to {user}")
    return replies()[count - 1]


async def test_a_proxy_answers_then_the_author_closes_and_writes_the_outcome(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig("http", allow_proxy=True, quorum=0.5)
    card = await rig.propose("Rent the hall on Saturdays for the workshops")
    await rig.command("cy", "/circle", "away 1w proxy <@UDEE|dee>")
    assert "dee answers for you meanwhile" in await reply_to(rig, "UCY", 1)
    await rig.react("dee", "hand", card)  # dee objects: for herself, and for cy
    await eventually(
        lambda: (
            "Objecting: cy (for dee)" in texts(card.blocks)
            or "Objecting: dee (for cy), dee" in texts(card.blocks)
        ),
        what="the proxied objection on the card",
    )
    assert "By proxy: dee (for cy)" in texts(card.blocks)

    # Someone else may not close it; the author may, and the outcome says who did.
    await rig.command("ben", "/circle", "close 1")
    assert (await reply_to(rig, "UBEN", 1)).startswith("⚠️ Only the author (ana)")
    assert await rig.status() is Status.OPEN
    await rig.command("ana", "/circle", "close 1")
    assert "is closed: blocked" in await reply_to(rig, "UANA", 2)
    assert await rig.status() is Status.BLOCKED
    (outcome,) = await eventually(
        lambda: [m for m in rig.fake.thread(CHANNEL, card.ts) if m.text.startswith("*✋")],
        what="the outcome in the thread",
    )
    assert "Closed before its deadline by ana." in outcome.text
    assert "Objected: dee (for cy), dee" in outcome.text
    await eventually(lambda: "Closed before its deadline by ana." in texts(card.blocks))

    await rig.command("ana", "/circle", "outcome 1 We keep Fridays; cy tells the partners")
    statement = await eventually(
        lambda: [m for m in rig.fake.thread(CHANNEL, card.ts) if m.text.startswith("📝")],
        what="the outcome statement in the thread",
    )
    assert statement[0].text.endswith("We keep Fridays; cy tells the partners")
    await eventually(
        lambda: "*Outcome statement*  We keep Fridays; cy tells the partners" in texts(card.blocks),
        what="the statement on the card",
    )
    await rig.command("dee", "/circle", "decisions fridays")
    assert "#1" in await reply_to(rig, "UDEE", 1)
