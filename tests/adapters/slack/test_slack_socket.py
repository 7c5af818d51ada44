"""Socket Mode: the real SocketModeClient connects to the fake's websocket (its URL comes
from apps.connections.open on the fake Web API), acknowledges every envelope, and keeps
working across Slack's `disconnect` (it reconnects)."""

from __future__ import annotations

import pytest

from adapters.slack import build_adapter
from bot.domain.errors import AppError
from tests.adapters.services import NoCore
from tests.adapters.slack.conftest import CHANNEL, RigFactory
from tests.adapters.slack.fakeslack import (
    APP_TOKEN,
    BOT_TOKEN,
    event_envelope,
    eventually,
    new_event_id,
    reaction_event,
)


async def test_socket_mode_connects_acks_and_reconnects(make_rig: RigFactory) -> None:
    rig = await make_rig("socket")
    (opened,) = rig.fake.calls_to("apps.connections.open")
    assert opened.params["_token"] == APP_TOKEN
    assert rig.adapter.readiness() is None  # connected: /readyz says ready
    card = await rig.propose("Adopt it by 3d")
    assert len(rig.fake.acks) == 1  # the slash command's envelope

    # Slack asks the app to move to a new connection; events keep flowing, once each.
    await rig.fake.sockets[-1].send_json({"type": "disconnect", "reason": "refresh_requested"})
    await eventually(lambda: rig.fake.connections == 2, what="a new connection")
    await eventually(lambda: len(rig.fake.sockets) == 1)
    event_id = new_event_id()
    envelope = event_envelope(reaction_event("UCY", "+1", card.ts), event_id)
    await rig.deliver.event(envelope)
    await rig.deliver.event(envelope, retry=1)  # redelivered on the new connection
    await rig.shows(card, "*milpa* 0/2 … · *vera* 1/2 …")
    assert len(rig.fake.calls_to("apps.connections.open")) == 2
    assert all(ack.get("envelope_id") for ack in rig.fake.acks.values())
    await eventually(lambda: rig.adapter.busy == 0)
    rows = [r for r in await rig.history() if r["kind"] == "reaction"]
    assert [r["event_id"] for r in rows] == [event_id]
    assert rig.fake.channel_messages(CHANNEL) == [card]
    await rig.adapter.stop()
    assert rig.adapter.readiness() == "not connected to Slack"


async def test_a_rejected_app_token_stops_the_start_with_a_clear_error(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig("socket")
    adapter = build_adapter(
        rig.config, {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xapp-wrong"}
    )

    async def sink(event: object) -> None:
        raise AssertionError("no events expected")

    with pytest.raises(AppError, match=r"Slack refused SLACK_APP_TOKEN \(invalid_auth\)"):
        await adapter.start(sink, NoCore())
    assert rig.fake.connections == 1  # only the rig's own connection
