"""A burst: 500 signed reaction requests in 5 seconds, arriving concurrently and out of
order. The card is edited a few times (at Slack's pace, one edit per 3 s) and ends with
the exact per-side tally."""

from __future__ import annotations

import asyncio
import itertools
import time

from tests.adapters.slack.conftest import CHANNEL, USERS, RigFactory
from tests.adapters.slack.fakeslack import BOT_USER, event_envelope, eventually, reaction_event

CHURN_EMOJI = ("+1", "thinking_face", "neutral_face", "raised_hand", "white_check_mark", "eyes")


def burst(start: float) -> list[tuple[str, str, bool]]:
    """500 reactions: 246 added-then-removed pairs by the four leaders, four that must not
    count (a stranger, the bot) or count as a voice (eve), and four final answers."""
    events: list[tuple[str, str, bool]] = []
    leaders = ("ana", "ben", "cy", "dee")
    for n in range(246):
        user, emoji = leaders[n % 4], CHURN_EMOJI[n % len(CHURN_EMOJI)]
        if n % 5 == 0:
            emoji += "::skin-tone-3"
        events += [(user, emoji, True), (user, emoji, False)]
    events += [("UZED", "+1", True), (BOT_USER, "raised_hand", True)]
    events += [("eve", "raised_hand", True), ("UZED", "white_check_mark", True)]
    events += [
        ("ana", "+1", True),
        ("ben", "thinking_face", True),
        ("cy", "neutral_face", True),
        ("dee", "white_check_mark", True),
    ]
    assert len(events) == 500
    return events


async def test_500_reactions_in_5_seconds_give_few_edits_and_the_exact_tally(
    make_rig: RigFactory,
) -> None:
    # Slack's pace for edits; no early close, so the last answers decide the tally.
    rig = await make_rig("http", edit_interval=3.0, early_close=False)
    assert rig.http is not None
    card = await rig.propose("Adopt it by 3d")
    await eventually(lambda: rig.adapter.busy == 0)
    edits_before = len(rig.fake.calls_to("chat.update"))

    start = time.time()
    events = burst(start)
    begun = time.monotonic()

    async def send(index: int, user: str, emoji: str, added: bool) -> int:
        # Paced: request i leaves at i * 10 ms (the load generator's schedule).
        await asyncio.sleep(max(0.0, begun + index * 0.01 - time.monotonic()))
        event = reaction_event(
            USERS.get(user, user),
            emoji,
            card.ts,
            CHANNEL,
            added,
            event_ts=f"{start + index / 1000:.6f}",
        )
        assert rig.http is not None
        return (await rig.http.event(event_envelope(event))).status

    statuses = await asyncio.gather(*(send(i, *e) for i, e in enumerate(events)))
    sent = time.monotonic()
    assert statuses == [200] * 500
    assert sent - begun < 10.0, "the load generator fell behind"

    final = "*milpa* 2/2 ✓ · *vera* 1/2 ✓"
    # Generous bounds: on an idle machine this takes about a second, on a loaded one the
    # core absorbs the burst more slowly.
    await eventually(lambda: rig.tally(card) == final, 60.0, f"the final tally {final!r}")
    landed = time.monotonic()
    await eventually(lambda: rig.adapter.busy == 0, 60.0, "every reaction applied")
    edits = rig.fake.calls_to("chat.update")[edits_before:]
    print(
        f"\n500 reactions in {sent - begun:.2f} s -> {len(edits)} chat.update calls; "
        f"final tally {landed - sent:.2f} s after the last request"
    )
    # ~5 s of burst at one edit per 3 s, plus the final state: a handful, never hundreds
    # (on a slow machine the burst is absorbed more slowly, at the same pace).
    assert 2 <= len(edits) <= 2 + (landed - begun) / 3.0
    # At Slack's pace: about 3 s apart (as they reached the server, give or take its load).
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(edits)]
    assert all(gap >= 2.5 for gap in gaps), gaps
    state = await rig.runtime.call(rig.core.state, 1)
    assert {name: stance.value for name, stance in state.stances.items()} == {
        "ana": "consent",
        "ben": "concern",
        "cy": "stand_aside",
        "dee": "consent",
        "eve": "object",  # a voice: shown, not counted
    }
    reactions = [r for r in await rig.history() if r["kind"] == "reaction"]
    assert len(reactions) == 499  # every one recorded once, except the bot's own
    assert state.proposal.status == "open"  # no early close: the deadline decides
