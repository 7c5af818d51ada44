"""Whole decisions on Slack, through the real Bolt app (HTTP with signed requests, and
Socket Mode through a fake websocket) into a real Core + Runtime, out to the fake Web API."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.model import Status
from tests.adapters.slack.conftest import CHANNEL, USERS, Rig, RigFactory, texts
from tests.adapters.slack.fakeslack import (
    BOT_USER,
    Message,
    command_payload,
    event_envelope,
    eventually,
    home_action,
    home_opened,
    new_event_id,
    view_submission,
)


async def settled(rig: Rig) -> None:
    await eventually(lambda: rig.adapter.busy == 0, what="the adapter to finish its work")


async def test_a_decision_by_reactions_and_buttons(rig: Rig) -> None:
    card = await rig.propose("Adopt the visiting policy by 3d")
    assert card.channel == CHANNEL and card.thread_ts is None
    shown = texts(card.blocks)
    assert "Proposal #1 by ana" in shown and "Adopt the visiting policy" in shown
    assert "answer by <!date^" in shown  # the deadline, in each reader's time zone
    assert ":+1: :white_check_mark: consent" in shown  # the reaction legend
    assert rig.tally(card) == "*milpa* 0/2 … · *vera* 0/2 …"
    assert rig.has_buttons(card)
    (reply,) = rig.fake.ephemeral
    assert reply["user"] == "UANA" and reply["text"].startswith("Proposal #1 is open until")

    await rig.react("ana", "+1::skin-tone-3", card)
    await rig.shows(card, "*milpa* 1/2 … · *vera* 0/2 …")
    await rig.click("ben", "consent", card)  # a button is a reaction
    await rig.shows(card, "*milpa* 2/2 ✓ · *vera* 0/2 …")
    await rig.react("cy", "+1", card)
    await rig.shows(card, "*milpa* 2/2 ✓ · *vera* 1/2 …")
    await rig.react("cy", "+1", card, added=False)  # taken back
    await rig.shows(card, "*milpa* 2/2 ✓ · *vera* 0/2 …")
    await rig.react("eve", "raised_hand", card)  # a voice: shown, never counted
    await rig.react("UZED", "+1", card)  # not a member
    await rig.react(BOT_USER, "octagonal_sign", card)  # the bot itself
    await eventually(lambda: "Voices (not counted): eve (object)" in texts(card.blocks))
    await rig.click("cy", "concern", card)
    await rig.shows(card, "*milpa* 2/2 ✓ · *vera* 1/2 …")
    assert rig.has_buttons(card) and await rig.status() is Status.OPEN
    await rig.react("dee", "white_check_mark", card)

    # Passed: the outcome in the card's thread, once; the card final, without buttons.
    outcome = await eventually(lambda: rig.fake.thread(CHANNEL, card.ts), what="the outcome")
    await eventually(lambda: not rig.has_buttons(card), what="the final card")
    assert rig.tally(card) == "*milpa* 2/2 ✓ · *vera* 2/2 ✓"
    assert "Passed" in texts(card.blocks)
    (message,) = outcome
    assert message.text.startswith("*✅ Proposal #1 passed* (round 1)")
    assert "Consented with a concern: cy" in message.text
    late = new_event_id()
    await rig.react("ben", "raised_hand", card, event_id=late)  # after the close: recorded
    await eventually(
        lambda: rig.runtime.call(lambda: any(r["event_id"] == late for r in _rows(rig)))
    )
    await settled(rig)
    assert len(rig.fake.thread(CHANNEL, card.ts)) == 1
    assert len(rig.fake.channel_messages(CHANNEL)) == 1  # one card, never posted twice
    assert rig.tally(card) == "*milpa* 2/2 ✓ · *vera* 2/2 ✓"
    assert await rig.status() is Status.PASSED


def _rows(rig: Rig) -> list[dict[str, Any]]:
    with rig.core.repo.transaction() as tx:
        return tx.history()


async def test_redelivered_events_and_clicks_count_once(rig: Rig) -> None:
    card = await rig.propose("Adopt it by 3d")
    event_id = new_event_id()
    envelope = event_envelope(
        {
            "type": "reaction_added",
            "user": "UDEE",
            "reaction": "neutral_face",
            "item": {"type": "message", "channel": CHANNEL, "ts": card.ts},
            "event_ts": f"{datetime.now(UTC).timestamp():.6f}",
        },
        event_id,
    )
    first = await rig.deliver.event(envelope)
    again = await rig.deliver.event(envelope, retry=1)  # Slack's retry: same event id
    third = await rig.deliver.event(envelope, retry=2)
    assert first.status == again.status == third.status == 200
    await rig.shows(card, "*milpa* 0/2 … · *vera* 0/2 …")  # stand aside: answered, no consent
    await settled(rig)
    rows = [r for r in await rig.history() if r["kind"] == "reaction"]
    assert [r["event_id"] for r in rows] == [event_id]
    state = await rig.runtime.call(rig.core.state, 1)
    assert state.result.side("vera").responded == 1


async def test_propose_by_modal(rig: Rig) -> None:
    answer = await rig.command("ana", "/propose", "")
    assert answer.status == 200
    (opened,) = await eventually(lambda: rig.fake.opened, what="views.open")
    view = opened["view"]
    assert view["callback_id"] == "circlebot_propose" and view["private_metadata"] == CHANNEL
    assert opened["trigger_id"]

    # A deadline that is no WHEN, and an empty text: the form says so; nothing happens.
    bad = await rig.deliver.interactive(
        view_submission("UANA", CHANNEL, {"title": "", "text": "", "deadline": "tomorrow"})
    )
    assert bad.body["response_action"] == "errors"
    assert set(bad.body["errors"]) == {"text"}
    bad = await rig.deliver.interactive(
        view_submission("UANA", CHANNEL, {"title": "", "text": "Plant", "deadline": "soonish"})
    )
    assert bad.body["response_action"] == "errors" and set(bad.body["errors"]) == {"deadline"}
    assert rig.fake.channel_messages(CHANNEL) == []

    good = await rig.deliver.interactive(
        view_submission(
            "UANA",
            CHANNEL,
            {"title": "Beans", "text": "Plant beans along the fence", "deadline": "2d"},
            view_id="V0GOOD",
        )
    )
    assert good.status == 200 and not (good.body or {}).get("response_action")
    card = await eventually(lambda: rig.fake.channel_messages(CHANNEL), what="the card")
    assert "Beans\nPlant beans along the fence" in texts(card[0].blocks)
    state = await rig.runtime.call(rig.core.state, 1)
    assert state.proposal.text == "Beans\nPlant beans along the fence"
    assert (state.proposal.deadline - state.proposal.created_at).days == 2


async def test_an_unread_deadline_opens_the_form_prefilled_and_posts_nothing(rig: Rig) -> None:
    answer = await rig.command("ana", "/propose", "Paint the office by fridya 5pm")
    assert answer.body["response_type"] == "ephemeral"
    assert 'could not read "fridya" as a date or time' in answer.body["text"]
    assert '"Friday 5pm"' in answer.body["text"]  # how to write it
    (opened,) = await eventually(lambda: rig.fake.opened, what="views.open")
    fields = {
        block["block_id"]: block["element"].get("initial_value")
        for block in opened["view"]["blocks"]
    }
    assert fields == {
        "title": None,
        "text": "Paint the office",
        "deadline": "fridya 5pm",
        "review": None,
    }
    # The form, corrected, opens the proposal with the deadline read in words.
    good = await rig.deliver.interactive(
        view_submission(
            "UANA", CHANNEL, {"title": "", "text": "Paint the office", "deadline": "Friday 5pm"}
        )
    )
    assert good.status == 200 and not (good.body or {}).get("response_action")
    card = await eventually(lambda: rig.fake.channel_messages(CHANNEL), what="the card")
    assert len(card) == 1  # only the corrected one: nothing was posted before
    state = await rig.runtime.call(rig.core.state, 1)
    assert state.proposal.text == "Paint the office"
    deadline = state.proposal.deadline.astimezone(UTC)
    assert deadline.weekday() in (4, 5) and deadline.minute == 0  # Friday 17:00, local
    assert deadline - state.proposal.created_at != timedelta(hours=72)  # not the default


async def test_circle_subcommands_and_errors_are_ephemeral(rig: Rig) -> None:
    await rig.command("ana", "/circle", "withdraw 99")
    await rig.command("UZED", "/propose", "Hello by 3d")  # not a member
    await rig.command("ana", "/propose", "x" * 3001)  # over-long
    await rig.command("ana", "/circle", "")  # the circle itself
    await rig.command("cy", "/circle", "help")
    replies = await eventually(lambda: len(rig.fake.ephemeral) == 5 and rig.fake.ephemeral)
    by_user: dict[str, list[str]] = {}
    for reply in replies:
        assert reply["channel"] == CHANNEL
        by_user.setdefault(reply["user"], []).append(reply["text"])
    ana = " ".join(by_user["UANA"])
    assert "There is no proposal #99" in ana
    assert "too long: 3001 characters" in ana
    assert "Circle council" in ana and "milpa: ana (leader, admin)" in ana
    assert by_user["UZED"][0].startswith("⚠️ You are not a member of the circle council")
    assert "What I understand" in by_user["UCY"][0]
    assert rig.fake.channel_messages(CHANNEL) == []  # nothing was posted for anyone


async def test_admin_adds_a_member_by_mention(rig: Rig) -> None:
    await rig.command("ana", "/circle", "add <@UFAY|fay> vera member")
    (reply,) = await eventually(lambda: rig.fake.ephemeral)
    assert "added as a member of vera" in reply["text"]
    assert rig.core.directory.member_for("council", "slack", "UFAY") is not None


async def test_an_objection_pings_the_objector_and_the_author_in_the_thread(rig: Rig) -> None:
    card = await rig.propose("Adopt it by 3d")
    await rig.react("dee", "raised_hand", card)
    (notice,) = await eventually(lambda: rig.fake.thread(CHANNEL, card.ts), what="the ask")
    assert notice.text.startswith("<@UDEE> objects to proposal #1. What is your reason? <@UANA>")
    await rig.shows(card, "*milpa* 0/2 … · *vera* 0/2 ✋")


async def test_reminders_go_to_the_thread_by_name_and_to_each_person_directly(rig: Rig) -> None:
    card = await rig.propose("Adopt it by 3d")
    await rig.react("ana", "+1", card)
    await rig.shows(card, "*milpa* 1/2 … · *vera* 0/2 …")

    def enqueue() -> None:
        with rig.core.repo.transaction() as tx:
            tx.enqueue(
                key="reminder:1:24h:slack",
                platform="slack",
                channel=CHANNEL,
                kind="thread",
                payload={"reminder": True},
                created_at=rig.core.clock.now(),
                proposal_id=1,
            )

    await rig.runtime.call(enqueue)
    await rig.runtime.flush()
    (thread,) = rig.fake.thread(CHANNEL, card.ts)
    assert "Waiting on milpa (1 of 2), vera (2 of 2): ben, cy, dee" in thread.text
    assert "<@" not in thread.text  # names only in the thread: no pings
    opened = sorted(c.params["users"] for c in rig.fake.calls_to("conversations.open"))
    assert opened == ["UBEN", "UCY", "UDEE"]
    for user in ("BEN", "CY", "DEE"):
        (direct,) = rig.fake.messages["D" + user]
        assert "your answer is missing" in direct.text
        assert f"/archives/{CHANNEL}/p{card.ts.replace('.', '')}" in direct.text
    await rig.runtime.flush()  # sent once: nothing more
    assert len(rig.fake.thread(CHANNEL, card.ts)) == 1
    assert len(rig.fake.calls_to("chat.postMessage")) == 1 + 1 + 3


async def test_app_home_shows_open_proposals_and_my_pending_answers(rig: Rig) -> None:
    card = await rig.propose("Adopt the visiting policy by 3d")
    await rig.react("ana", "+1", card)
    await rig.shows(card, "*milpa* 1/2 … · *vera* 0/2 …")
    await rig.deliver.event(event_envelope(home_opened("UBEN")))
    (ben,) = await eventually(lambda: rig.fake.published, what="views.publish")
    assert ben["user_id"] == "UBEN" and ben["view"]["type"] == "home"
    home = texts(ben["view"]["blocks"])
    assert "Waiting for your answer (1)" in home
    assert "#1 Adopt the visiting policy" in home
    assert f"/archives/{CHANNEL}/p{card.ts.replace('.', '')}" in home
    assert "*milpa* 1/2 … · *vera* 0/2 …" in home
    assert "Your answer is needed" in home

    await rig.deliver.event(event_envelope(home_opened("UANA")))
    await eventually(lambda: len(rig.fake.published) == 2)
    ana = texts(rig.fake.published[1]["view"]["blocks"])
    assert "Nothing is waiting for your answer" in ana and "Your answer: consent" in ana

    await rig.deliver.event(event_envelope(home_opened("UZED")))
    await eventually(lambda: len(rig.fake.published) == 3)
    assert "not a member of any circle" in texts(rig.fake.published[2]["view"]["blocks"])


async def test_an_answer_from_the_home_tab_counts_like_a_reaction(rig: Rig) -> None:
    card = await rig.propose("Adopt the visiting policy by 3d")
    await rig.deliver.event(event_envelope(home_opened("UBEN")))
    (home,) = await eventually(lambda: rig.fake.published, what="views.publish")
    (answer_row,) = [b for b in home["view"]["blocks"] if b["type"] == "actions"]
    consent = answer_row["elements"][0]
    assert consent["action_id"] == "circlebot_stance:consent"

    pressed = home_action("UBEN", consent["action_id"], consent["value"])
    assert (await rig.deliver.interactive(pressed)).status == 200
    await rig.shows(card, "*milpa* 1/2 … · *vera* 0/2 …")
    # The Home tab is published again with the answer on it.
    await eventually(lambda: len(rig.fake.published) == 2, what="the Home tab again")
    again = texts(rig.fake.published[1]["view"]["blocks"])
    assert "Your answer: consent" in again and "Nothing is waiting for your answer" in again
    await rig.deliver.interactive(pressed)  # delivered twice: counted once
    await settled(rig)
    counted = [r for r in await rig.history() if r["kind"] == "reaction"]
    assert [r["actor"] for r in counted] == ["ben"]

    # A value that names no card (or a card elsewhere) changes nothing.
    await rig.deliver.interactive(home_action("UCY", consent["action_id"], "garbage"))
    await rig.deliver.interactive(home_action("UCY", consent["action_id"], "CGENERAL 1.2"))
    await settled(rig)
    assert rig.tally(card) == "*milpa* 1/2 … · *vera* 0/2 …"


async def test_reactions_elsewhere_and_from_other_workspaces_are_ignored(rig: Rig) -> None:
    card = await rig.propose("Adopt it by 3d")
    general = Message("CGENERAL", "1700000000.000100", "hello", None, None, None, user="UANA")
    rig.fake.messages["CGENERAL"] = [general]
    await rig.react("ana", "+1", card, user_team="T0OTHER")  # a shared channel's guest
    await rig.react("ben", "+1", general)  # not a circle's channel
    await rig.click("cy", "consent", card)
    await rig.shows(card, "*milpa* 0/2 … · *vera* 1/2 …")
    await settled(rig)
    counted = [r for r in await rig.history() if r["kind"] == "reaction"]
    assert [r["actor"] for r in counted] == ["cy"]
    assert rig.adapter.inbound == 2  # the command and cy's click reached the core


async def test_a_non_member_click_is_told_privately(rig: Rig) -> None:
    card = await rig.propose("Adopt it by 3d")
    await rig.click("UZED", "object", card)
    note = await eventually(lambda: [e for e in rig.fake.ephemeral if e["user"] == "UZED"])
    assert "not a member of the circle council" in note[0]["text"]
    await settled(rig)
    assert rig.tally(card) == "*milpa* 0/2 … · *vera* 0/2 …"
    assert USERS["ana"] == "UANA"


async def test_slack_gets_its_answer_before_the_work_is_done(rig: Rig) -> None:
    # The core is busy (its one thread is held): Slack must still get its answer at once.
    gate = threading.Event()
    busy = asyncio.ensure_future(rig.runtime.call(gate.wait, 10.0))
    try:
        answer = await asyncio.wait_for(rig.command("ana", "/propose", "Adopt it by 3d"), 3.0)
        assert answer.status == 200
        assert rig.fake.channel_messages(CHANNEL) == [] and rig.adapter.busy == 1
    finally:
        gate.set()
        await busy
    await eventually(lambda: rig.fake.channel_messages(CHANNEL), what="the card, afterwards")


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_a_draft_is_co_sponsored_with_its_button(mode: str, make_rig: RigFactory) -> None:
    rig = await make_rig(mode, require_cosponsor=True)
    card = await rig.propose("Adopt the visiting policy by 3d")
    assert "press Co-sponsor" in texts(card.blocks)
    assert await rig.status() == Status.DRAFT
    await eventually(lambda: len(rig.fake.ephemeral) == 1, what="the answer to /propose")

    await rig.cosponsor("ben", card)  # the author's own side: refused, privately
    await rig.cosponsor("UZED", card)  # not a member
    refusals = await eventually(lambda: len(rig.fake.ephemeral) == 3 and rig.fake.ephemeral[1:])
    by_user = {reply["user"]: reply["text"] for reply in refusals}
    assert "another side" in by_user["UBEN"]
    assert "not a member of the circle council" in by_user["UZED"]
    assert await rig.status() == Status.DRAFT

    answer = await rig.cosponsor("cy", card)
    assert answer.status == 200
    (done,) = await eventually(lambda: [r for r in rig.fake.ephemeral if r["user"] == "UCY"])
    assert "You co-sponsored proposal #1" in done["text"]
    await eventually(lambda: rig.has_buttons(card) and "Co-sponsored by cy" in texts(card.blocks))
    assert "circlebot_stance:consent" in str(card.blocks)  # voting is open: stance buttons
    assert await rig.status() == Status.OPEN
    await rig.cosponsor("dee", card)  # a late press on the stale card: a clear no
    (late,) = await eventually(lambda: [r for r in rig.fake.ephemeral if r["user"] == "UDEE"])
    assert "already open" in late["text"]


@pytest.mark.parametrize("text", ["status 1", "proposals", "help"])
async def test_a_read_only_command_sent_twice_is_answered_once(rig: Rig, text: str) -> None:
    """Slack retrying a slash command, or a double submit: the same trigger_id twice."""
    await rig.propose("Paint the shed by 3d")
    await eventually(lambda: len(rig.fake.ephemeral) == 1, what="the answer to /propose")
    inbound = rig.adapter.inbound
    payload = command_payload("/circle", text, USERS["cy"], CHANNEL, rig.fake.response_url("cy"))
    first = await rig.deliver.command(payload)
    again = await rig.deliver.command(dict(payload))
    assert first.status == again.status == 200
    await eventually(lambda: rig.adapter.busy == 0, what="both requests handled")
    answers = [e for e in rig.fake.ephemeral if e["user"] == USERS["cy"]]
    assert len(answers) == 1, answers
    assert rig.fake.responses == []
    assert rig.adapter.inbound == inbound + 1
    # Another press of the same command (a new trigger_id) is answered again.
    await rig.command("cy", "/circle", text)
    await eventually(
        lambda: len([e for e in rig.fake.ephemeral if e["user"] == USERS["cy"]]) == 2,
        what="the second answer",
    )


async def test_a_command_sent_again_after_a_restart_is_answered_once(http_rig: Rig) -> None:
    """The same trigger_id reaching the bot again after it restarted (or another replica
    on the same database): the inbox knows it was taken, so it is not answered twice."""
    rig = http_rig
    payload = command_payload("/circle", "help", USERS["cy"], CHANNEL, rig.fake.response_url("cy"))
    assert (await rig.deliver.command(payload)).status == 200
    await eventually(lambda: rig.adapter.busy == 0, what="the first handled")
    await rig.restart()
    inbound = rig.adapter.inbound
    assert (await rig.deliver.command(dict(payload))).status == 200
    await eventually(lambda: rig.adapter.busy == 0, what="the repeat handled")
    assert len([e for e in rig.fake.ephemeral if e["user"] == USERS["cy"]]) == 1
    assert rig.adapter.inbound == inbound  # taken once: not handed to the core again
