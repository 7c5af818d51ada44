"""HTTP mode: Slack's request signature is checked by the real Bolt app. Forged, unsigned,
tampered and stale requests are refused with no side effect: no core event, no Web API
call. Also: start-up errors, and replies where the bot cannot post ephemerally."""

from __future__ import annotations

import json
import time
import urllib.parse
from dataclasses import replace

import pytest

from adapters.slack import SlackAdapter, build_adapter
from adapters.slack.config import SlackConfig
from bot.config import Config, StorageConfig
from bot.domain.errors import AppError
from bot.wiring.app import build_adapters
from tests.adapters.services import NoCore
from tests.adapters.slack.conftest import CHANNEL, Rig, RigFactory, council, env_for
from tests.adapters.slack.fakeslack import (
    FakeSlack,
    block_action,
    command_payload,
    event_envelope,
    eventually,
    reaction_event,
    sign,
)


async def test_forged_unsigned_tampered_and_stale_requests_change_nothing(http_rig: Rig) -> None:
    rig = http_rig
    assert rig.http is not None
    card = await rig.propose("Adopt it by 3d")
    await eventually(lambda: rig.fake.ephemeral)  # the proposer's reply: all work done
    await eventually(lambda: rig.adapter.busy == 0)
    calls, inbound, history = len(rig.fake.calls), rig.adapter.inbound, await rig.history()

    reaction = json.dumps(event_envelope(reaction_event("UANA", "+1", card.ts)))
    command = urllib.parse.urlencode(command_payload("/propose", "Forged by 3d", "UANA"))
    click = urllib.parse.urlencode(
        {"payload": json.dumps(block_action("UBEN", "circlebot_stance:consent", "1", card.ts))}
    )
    now = int(time.time())
    refused = []
    for body, kind in (
        (reaction, "application/json"),
        (command, "application/x-www-form-urlencoded"),
        (click, "application/x-www-form-urlencoded"),
    ):
        # Signed with another secret.
        forged = sign("not-the-secret", str(now), body)
        refused.append(await rig.http.post(body, kind, signature=forged))
        # No signature at all.
        refused.append(await rig.http.post(body, kind, signed=False))
        # A valid signature of another body.
        other = sign(rig.http.secret, str(now), body + " ")
        refused.append(await rig.http.post(body, kind, signature=other))
        # Correctly signed, but more than five minutes old, or ahead.
        for skew in (-301, -3600, 301):
            stamp = str(now + skew)
            replayed = sign(rig.http.secret, stamp, body)
            refused.append(await rig.http.post(body, kind, signature=replayed, timestamp=stamp))
        # A malformed signature header.
        refused.append(await rig.http.post(body, kind, signature="v1=deadbeef"))
    assert [answer.status for answer in refused] == [401] * len(refused)

    assert rig.adapter.busy == 0 and rig.adapter.inbound == inbound
    assert len(rig.fake.calls) == calls  # not even Bolt's own auth.test
    assert await rig.history() == history
    assert rig.tally(card) == "*milpa* 0/2 … · *vera* 0/2 …"

    # The same requests, properly signed and recent (four minutes old is fine), work.
    rig.http.clock_offset = -240
    assert (await rig.http.post(reaction, "application/json")).status == 200
    await rig.shows(card, "*milpa* 1/2 … · *vera* 0/2 …")


async def test_url_verification_answers_the_challenge(http_rig: Rig) -> None:
    assert http_rig.http is not None
    body = json.dumps({"token": "t", "challenge": "c-123", "type": "url_verification"})
    answer = await http_rig.http.post(body, "application/json")
    assert answer.status == 200 and answer.body == {"challenge": "c-123"}


async def test_replies_where_the_bot_is_not_go_through_the_response_url(http_rig: Rig) -> None:
    rig = http_rig
    await rig.command("ana", "/circle", "proposals", channel="CRANDOM")
    await rig.command("ana", "/propose", "", channel="CRANDOM")  # the form: not here
    replies = await eventually(lambda: len(rig.fake.responses) == 2 and rig.fake.responses)
    assert all(r["response_type"] == "ephemeral" and r["name"] == "ana" for r in replies)
    assert {"not part of any circle" in r["text"] for r in replies} == {True}
    assert rig.fake.opened == []  # no form opened outside a circle
    failed = [c for c in rig.fake.calls_to("chat.postEphemeral")]
    assert len(failed) == 2  # tried first, refused (channel_not_found)


@pytest.mark.parametrize(
    ("mode", "missing", "message"),
    [
        ("socket", "SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN is not set"),
        ("socket", "SLACK_APP_TOKEN", "SLACK_APP_TOKEN is not set"),
        ("http", "SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET is not set"),
        ("http", "SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN is not set"),
    ],
)
def test_a_missing_secret_is_named(mode: str, missing: str, message: str) -> None:
    config = Config(
        storage=StorageConfig(),
        platforms={"slack": SlackConfig(mode=mode)},
        circles=(council(),),
        warnings=(),
        path="x.toml",
    )
    env = env_for(mode)
    env.pop(missing, None)
    with pytest.raises(AppError, match=message):
        build_adapter(config, env)
    # The same through bot.wiring.app, which loads the package by name.
    with pytest.raises(AppError, match=message):
        build_adapters(config, env)
    assert isinstance(build_adapters(config, env_for(mode))[0], SlackAdapter)


def test_a_token_of_the_wrong_kind_is_refused() -> None:
    config = Config(StorageConfig(), {"slack": SlackConfig()}, (council(),), (), "x.toml")
    with pytest.raises(AppError, match=r"SLACK_BOT_TOKEN does not look right.*xoxb-"):
        build_adapter(config, {"SLACK_BOT_TOKEN": "xapp-1", "SLACK_APP_TOKEN": "xapp-1"})
    with pytest.raises(AppError, match=r"SLACK_APP_TOKEN does not look right.*xapp-"):
        build_adapter(config, {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-1"})


async def test_a_rejected_bot_token_stops_the_start_with_a_clear_error(
    fake: FakeSlack, make_rig: RigFactory
) -> None:
    rig = await make_rig("http")
    config = replace(
        rig.config, platforms={"slack": SlackConfig(mode="http", port=0, api_url=fake.api_url)}
    )
    adapter = build_adapter(config, {"SLACK_BOT_TOKEN": "xoxb-wrong", "SLACK_SIGNING_SECRET": "s"})

    async def sink(event: object) -> None:
        raise AssertionError("no events expected")

    with pytest.raises(AppError, match=r"Slack refused SLACK_BOT_TOKEN \(invalid_auth\)"):
        await adapter.start(sink, NoCore())
    assert rig.fake.channel_messages(CHANNEL) == []
