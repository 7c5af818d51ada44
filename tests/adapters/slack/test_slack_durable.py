"""Slack never resends what it got an answer for, so the adapter answers only once the
event is stored (the runtime's inbox): over HTTP the response, over Socket Mode the
envelope's acknowledgement, waits for the write. An event that cannot be stored is not
acknowledged as a success: events are left for Slack to send again, and a person who
typed a command, pressed a button or submitted the form is told nothing changed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from sqlalchemy import text

from adapters.slack.listeners import not_saved
from bot.domain.events import InboundEvent
from bot.domain.i18n import Reader
from tests.adapters.slack.conftest import CHANNEL, Rig, RigFactory
from tests.adapters.slack.fakeslack import (
    block_action,
    event_envelope,
    eventually,
    reaction_event,
    view_submission,
)

NOT_SAVED = not_saved(Reader())  # the council speaks English


def hold_inbox(rig: Rig) -> tuple[asyncio.Event, asyncio.Event, list[int]]:
    """Make the inbox wait for `release` before each write; `entered` is set when a write
    is waiting. `rows` gets the inbox's row count right after each write."""
    entered, release = asyncio.Event(), asyncio.Event()
    rows: list[int] = []
    writer = rig.runtime.inbox
    real = writer.store

    async def held(event: InboundEvent) -> bool:
        entered.set()
        await release.wait()
        taken = await real(event)
        rows.append(writer.inbox.count())
        return taken

    writer.store = held  # type: ignore[method-assign]
    return entered, release, rows


async def probe(rig: Rig) -> None:
    """A round trip the bot answers at once (a reaction outside any circle's channel is
    not stored): once it is back, an answer sent before it would be back too."""
    event = reaction_event("UANA", "+1", "1.000001", channel="CGENERAL")
    assert (await rig.deliver.event(event_envelope(event))).status == 200


def count_proposals(rig: Rig) -> int:
    with rig.core.repo.engine.begin() as connection:
        return int(connection.scalar(text("SELECT count(*) FROM proposals")) or 0)


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_the_answer_waits_until_the_event_is_stored(make_rig: RigFactory, mode: str) -> None:
    rig = await make_rig(mode)
    entered, release, rows = hold_inbox(rig)
    acks_before = len(rig.fake.acks)
    answer = asyncio.ensure_future(rig.command("ana", "/propose", "Held by 3d"))
    await eventually(entered.is_set, what="the command at the inbox")
    await probe(rig)
    assert not answer.done()  # not acknowledged while the write waits
    if mode == "socket":
        assert len(rig.fake.acks) == acks_before + 1  # the probe's only
    assert rig.runtime.inbox.inbox.count() == 0 and count_proposals(rig) == 0

    release.set()
    assert (await answer).status == 200
    assert rows == [1]  # stored when the write returned, before the answer
    await eventually(lambda: rig.fake.channel_messages(CHANNEL), what="the card")
    await eventually(lambda: rig.runtime.inbox.inbox.count() == 0, what="the row removed")


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_every_kind_of_event_goes_through_the_inbox(make_rig: RigFactory, mode: str) -> None:
    rig = await make_rig(mode)
    card = await rig.propose("Adopt it by 3d")
    stored: list[InboundEvent] = []
    writer = rig.runtime.inbox
    real = writer.store

    async def recording(event: InboundEvent) -> bool:
        taken = await real(event)
        stored.append(event)
        return taken

    writer.store = recording  # type: ignore[method-assign]
    await rig.react("cy", "+1", card)
    await rig.click("ben", "consent", card)
    await rig.command("ana", "/circle", "status 1")
    form = view_submission("UDEE", CHANNEL, {"title": "", "text": "From the form"}, "V0DURABLE")
    await rig.deliver.interactive(form)
    thread = {
        "type": "message",
        "channel": CHANNEL,
        "user": "UCY",
        "text": "hello",
        "ts": "1700000000.000200",
        "thread_ts": card.ts,
    }
    await rig.deliver.event(event_envelope(thread))
    kinds = [type(event).__name__ for event in stored]
    assert kinds == [
        "ReactionEvent",
        "ReactionEvent",
        "CommandEvent",
        "CommandEvent",
        "ThreadReplyEvent",
    ]
    assert stored[3].event_id == "view:V0DURABLE"
    await rig.shows(card, "*milpa* 1/2 … · *vera* 1/2 …")
    await eventually(lambda: rig.adapter.busy == 0)
    await eventually(lambda: rig.runtime.inbox.inbox.count() == 0, what="every row removed")


def unacknowledged(caplog: pytest.LogCaptureFixture) -> Callable[[], int]:
    """How many Socket Mode envelopes Bolt answered without an acknowledgement."""

    def count() -> int:
        return sum("Unsuccessful Bolt execution result" in r.getMessage() for r in caplog.records)

    return count


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_what_cannot_be_stored_is_not_acknowledged_as_done(
    make_rig: RigFactory, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    rig = await make_rig(mode)
    card = await rig.propose("Adopt it by 3d")
    await eventually(lambda: rig.adapter.busy == 0)
    history = await rig.history()
    with rig.core.repo.engine.begin() as connection:
        connection.execute(text("DROP TABLE inbox"))  # the inbox cannot be written
    caplog.set_level(logging.INFO)
    refused = unacknowledged(caplog)

    # A command: answered privately (Slack never resends one).
    answer = await rig.command("ana", "/propose", "Unsaved by 3d")
    assert answer.status == 200 and answer.body == {"text": NOT_SAVED, "response_type": "ephemeral"}

    # The form stays open, saying so.
    form = view_submission("UANA", CHANNEL, {"title": "", "text": "Unsaved too"})
    answer = await rig.deliver.interactive(form)
    assert answer.body == {"response_action": "errors", "errors": {"text": NOT_SAVED}}

    # A reaction event: not a 2xx, so Slack sends it again.
    envelope = event_envelope(reaction_event("UCY", "+1", card.ts))
    if mode == "http":
        assert (await rig.deliver.event(envelope)).status == 503
    else:
        sent = await rig.fake.send_envelope("events_api", envelope)
        await eventually(lambda: refused() == 1, what="the event refused")
        await probe(rig)
        assert sent not in rig.fake.acks

    # A button press: Slack shows it failed, and the person is told why.
    press = block_action("UBEN", "circlebot_stance:consent", "1", card.ts)
    if mode == "http":
        assert (await rig.deliver.interactive(press)).status == 503
    else:
        sent = await rig.fake.send_envelope("interactive", press)
        await eventually(lambda: refused() == 2, what="the press refused")
        await probe(rig)
        assert sent not in rig.fake.acks
    notes = await eventually(
        lambda: [e for e in rig.fake.ephemeral if e["user"] == "UBEN"], what="the note"
    )
    assert notes[0]["text"].endswith(NOT_SAVED)

    await eventually(lambda: rig.adapter.busy == 0)
    assert await rig.history() == history  # nothing changed
    assert count_proposals(rig) == 1
    assert rig.tally(card) == "*milpa* 0/2 … · *vera* 0/2 …"
    for record in caplog.records:
        assert record.exc_info is None, record.getMessage()
