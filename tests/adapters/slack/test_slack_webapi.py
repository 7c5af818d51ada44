"""Slack's limits and failures: 429 Retry-After is honoured, 5xx retried with backoff, and
a post whose answer was lost (5xx or timeout after Slack posted it) is found again by its
metadata key instead of being posted twice. Reactions missed while down are read back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from adapters.slack.webapi import SlackWeb
from bot.text.messages import Notice
from tests.adapters.slack.conftest import CHANNEL, Rig, RigFactory
from tests.adapters.slack.fakeslack import BOT_TOKEN, BOT_USER, eventually


async def test_429_on_an_edit_waits_for_retry_after(http_rig: Rig) -> None:
    rig = http_rig
    card = await rig.propose("Adopt it by 3d")
    rig.fake.fail("chat.update", 429, retry_after=1)
    await rig.react("ana", "+1", card)
    await rig.shows(card, "*milpa* 1/2 … · *vera* 0/2 …")
    limited, landed = rig.fake.calls_to("chat.update")
    assert (limited.status, landed.status) == (429, 200)
    assert landed.at - limited.at >= 1.0  # waited Retry-After before trying again


async def test_429_on_a_post_waits_and_posts_once(http_rig: Rig) -> None:
    rig = http_rig
    rig.fake.fail("chat.postMessage", 429, retry_after=1)
    card = await rig.propose("Adopt it by 3d")
    limited, posted = rig.fake.calls_to("chat.postMessage")
    assert (limited.status, posted.status) == (429, 200)
    assert posted.at - limited.at >= 1.0
    assert rig.fake.channel_messages(CHANNEL) == [card]


async def test_500s_on_an_edit_are_retried_with_backoff(http_rig: Rig) -> None:
    rig = http_rig
    card = await rig.propose("Adopt it by 3d")
    rig.fake.fail("chat.update", 500, times=2)
    await rig.react("cy", "+1", card)
    await rig.shows(card, "*milpa* 0/2 … · *vera* 1/2 …")
    assert [c.status for c in rig.fake.calls_to("chat.update")] == [500, 500, 200]


async def test_a_post_that_landed_before_a_500_is_not_posted_again(http_rig: Rig) -> None:
    rig = http_rig
    rig.fake.fail("chat.postMessage", 500, apply=True)  # posted, but the answer is an error
    card = await rig.propose("Adopt it by 3d")
    await eventually(lambda: rig.fake.calls_to("conversations.history"), what="the read-back")
    await eventually(lambda: rig.adapter.busy == 0)
    assert rig.fake.channel_messages(CHANNEL) == [card]
    assert [c.status for c in rig.fake.calls_to("chat.postMessage")] == [500]
    assert rig.adapter.web is not None and rig.adapter.web.read_backs == 1
    # The card found again is the one the bot keeps editing.
    await rig.react("ana", "+1", card)
    await rig.shows(card, "*milpa* 1/2 … · *vera* 0/2 …")


async def test_a_post_that_failed_with_a_500_is_posted_once_after_reading_back(
    http_rig: Rig,
) -> None:
    rig = http_rig
    rig.fake.fail("chat.postMessage", 503, times=2)  # refused before posting, twice
    card = await rig.propose("Adopt it by 3d")
    assert [c.status for c in rig.fake.calls_to("chat.postMessage")] == [503, 503, 200]
    assert len(rig.fake.calls_to("conversations.history")) == 2
    assert rig.fake.channel_messages(CHANNEL) == [card]


async def test_a_post_whose_answer_timed_out_is_found_in_the_thread(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig("http", timeout=0.5)
    card = await rig.propose("Adopt it by 3d")
    # Slack posts the objection notice but answers only after the client gave up.
    rig.fake.fail("chat.postMessage", 200, apply=True, delay=1.5)
    await rig.react("dee", "raised_hand", card)
    await eventually(lambda: rig.fake.calls_to("conversations.replies"), what="the read-back")
    await eventually(lambda: rig.adapter.busy == 0)
    (notice,) = rig.fake.thread(CHANNEL, card.ts)
    assert "objects to proposal #1" in notice.text
    assert len(rig.fake.calls_to("chat.postMessage")) == 2  # the card and the notice


async def test_the_same_message_sent_concurrently_is_posted_once(http_rig: Rig) -> None:
    rig = http_rig
    card = await rig.propose("Adopt it by 3d")
    adapter = rig.adapter
    notice = Notice.text("Hello <!channel>")
    refs = await asyncio.gather(
        *(adapter.post(CHANNEL, notice, card.ts, "outbox:hello:slack") for _ in range(5))
    )
    assert len(set(refs)) == 1
    (posted,) = rig.fake.thread(CHANNEL, card.ts)
    assert posted.text == "Hello &lt;!channel&gt;"
    assert posted.metadata == {
        "event_type": "circlebot_message",
        "event_payload": {"key": "outbox:hello:slack"},
    }
    # Later, the same key again (a dispatcher retry): still the same message.
    assert await adapter.post(CHANNEL, notice, card.ts, "outbox:hello:slack") == refs[0]
    assert len(rig.fake.thread(CHANNEL, card.ts)) == 1


async def test_reactions_missed_while_down_are_read_back_on_start(http_rig: Rig) -> None:
    rig = http_rig
    card = await rig.propose("Adopt it by 3d")
    await rig.react("ana", "+1", card)
    await rig.shows(card, "*milpa* 1/2 … · *vera* 0/2 …")
    await eventually(lambda: rig.adapter.busy == 0)
    await rig.stop()
    # While the bot was down: three more answers, plus the bot's own and a stranger's.
    rig.fake.react(CHANNEL, card.ts, "UANA", "+1")
    rig.fake.react(CHANNEL, card.ts, "UBEN", "+1::skin-tone-2")
    rig.fake.react(CHANNEL, card.ts, "UCY", "thinking_face")
    rig.fake.react(CHANNEL, card.ts, "UDEE", "white_check_mark")
    rig.fake.react(CHANNEL, card.ts, BOT_USER, "raised_hand")
    rig.fake.react(CHANNEL, card.ts, "UZED", "raised_hand")
    rig.runtime, rig.adapter = rig._build()
    await rig.start()
    assert rig.fake.calls_to("reactions.get")
    (outcome,) = await eventually(lambda: rig.fake.thread(CHANNEL, card.ts), what="outcome")
    assert outcome.text.startswith("*✅ Proposal #1 passed*")
    await eventually(lambda: not rig.has_buttons(card), what="the final card")


async def test_read_reactions_leaves_out_the_bot(http_rig: Rig) -> None:
    rig = http_rig
    card = await rig.propose("Adopt it by 3d")
    rig.fake.react(CHANNEL, card.ts, "UANA", "+1::skin-tone-4")
    rig.fake.react(CHANNEL, card.ts, BOT_USER, "+1::skin-tone-4")
    rig.fake.react(CHANNEL, card.ts, "UCY", "eyes")
    present = await rig.adapter.read_reactions(CHANNEL, card.ts)
    assert present == [("UANA", "+1::skin-tone-4", None), ("UCY", "eyes", None)]
    assert await rig.adapter.read_reactions(CHANNEL, "1.000001") is None  # gone


async def test_a_post_tried_by_a_process_that_died_is_found_again_not_posted_twice(
    http_rig: Rig,
) -> None:
    """The process that posted died before it could record the ts: the next process is
    told when that try began (the outbox's attempted_at) and reads back first."""
    rig = http_rig
    await rig.propose("Adopt it by 3d")
    before = datetime.now(UTC)
    assert rig.adapter.web is not None
    first = await rig.adapter.web.post_message("outbox:k1", channel=CHANNEL, text="hello")
    # A new process: nothing of the first one's memory.
    fresh = SlackWeb(BOT_TOKEN, rig.fake.api_url, backoff=0.01)
    try:
        again = await fresh.post_message("outbox:k1", channel=CHANNEL, text="hello", since=before)
        assert again == first
        assert fresh.read_backs == 1
        # Without `since` (a first try) it posts: the key alone is not looked up.
        other = await fresh.post_message("outbox:k2", channel=CHANNEL, text="bye")
        assert other != first
    finally:
        await fresh.close()
    assert [m.ts for m in rig.fake.channel_messages(CHANNEL)][1:] == [first, other]


async def test_a_clock_set_far_from_slacks_still_finds_the_earlier_post(http_rig: Rig) -> None:
    """This machine's clock says the earlier try began an hour from now (or an hour ago):
    the read-back does not look by our clock, so the post is found, not made twice."""
    rig = http_rig
    card = await rig.propose("Adopt it by 3d")
    assert rig.adapter.web is not None
    posted = await rig.adapter.web.post_message(
        "outbox:k1", channel=CHANNEL, text="in the thread", thread_ts=card.ts
    )
    first = await rig.adapter.web.post_message("outbox:k2", channel=CHANNEL, text="hello")
    for skew in (timedelta(hours=1), -timedelta(hours=1)):
        fresh = SlackWeb(BOT_TOKEN, rig.fake.api_url, backoff=0.01)
        try:
            since = datetime.now(UTC) + skew
            again = await fresh.post_message(
                "outbox:k1", channel=CHANNEL, text="in the thread", thread_ts=card.ts, since=since
            )
            assert again == posted
            assert (
                await fresh.post_message("outbox:k2", channel=CHANNEL, text="hello", since=since)
                == first
            )
        finally:
            await fresh.close()
    assert len(rig.fake.thread(CHANNEL, card.ts)) == 1
    assert len(rig.fake.channel_messages(CHANNEL)) == 2  # the card and hello
