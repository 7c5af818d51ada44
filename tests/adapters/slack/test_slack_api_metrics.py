"""Every Web API call the Slack adapter makes is counted by method and outcome (for
/metrics): once with its final outcome after the SDK's retries, plus each 429 on the way;
calls made by Bolt's own per-request client and by Socket Mode count too."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import SlackAdapter
from adapters.slack.webapi import SlackWeb
from bot.config import ServerConfig
from bot.domain.api_calls import ApiCalls, ApiOutcome
from bot.runtime.runner import Runtime
from tests.adapters.slack.conftest import CHANNEL, Rig, council
from tests.adapters.slack.fakeslack import BOT_TOKEN, FakeSlack, eventually
from tests.runtime.test_ops_server import Ops

OK, ERROR, LIMITED = ApiOutcome.OK, ApiOutcome.ERROR, ApiOutcome.RATE_LIMITED


def counted(calls: ApiCalls, outcome: ApiOutcome) -> Counter[str]:
    """How many calls of each method ended with `outcome`."""
    return Counter({m: n for (m, o), n in calls.snapshot().items() if o == outcome})


def answered(fake: FakeSlack, status: int = 200) -> Counter[str]:
    """How many requests of each method the fake answered with `status`."""
    return Counter(call.method for call in fake.calls if call.status == status)


async def until_counted(calls: ApiCalls, method: str, outcome: ApiOutcome, least: int) -> None:
    """The fake records a request before it answers: the count follows an instant later."""
    await eventually(
        lambda: calls.snapshot().get((method, outcome), 0) >= least,
        what=f"{least} x {method} {outcome}",
    )


def closed_port() -> int:
    with socket.socket() as sock:  # a port nobody listens on once it is closed
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_every_call_is_counted_once_by_method(rig: Rig) -> None:
    """Over HTTP and Socket Mode: auth.test, apps.connections.open (Socket Mode), the
    card's chat.postMessage, ... each counted OK exactly as often as Slack answered it."""
    await rig.propose("Adopt it by 3d")
    calls = rig.adapter.api_calls()
    await eventually(lambda: counted(calls, OK) == answered(rig.fake), what="every call counted")
    ok = counted(calls, OK)
    assert ok["auth.test"] == 1 and ok["chat.postMessage"] >= 1
    assert ok["apps.connections.open"] == (1 if rig.mode == "socket" else 0)
    assert not counted(calls, ERROR) and not counted(calls, LIMITED)


async def test_bolts_own_client_is_counted(http_rig: Rig) -> None:
    """Bolt hands listeners and middleware a client it makes per request (not ours): its
    calls count too."""
    rig = http_rig
    app = rig.adapter.app
    assert app is not None

    given: list[AsyncWebClient] = []

    async def ask_slack(client: AsyncWebClient, next: Callable[[], Awaitable[None]]) -> None:
        given.append(client)
        await client.auth_test()
        await next()

    app.middleware(ask_slack)
    await rig.propose("Adopt it by 3d")
    await until_counted(rig.adapter.api_calls(), "auth.test", OK, 2)  # start, then Bolt's
    assert given and all(client is not app.client for client in given)


async def test_a_429_counts_as_rate_limited_and_the_call_once_when_it_lands(
    http_rig: Rig,
) -> None:
    rig = http_rig
    rig.fake.fail("chat.postMessage", 429, retry_after=0)
    await rig.propose("Adopt it by 3d")
    calls = rig.adapter.api_calls()
    await until_counted(calls, "chat.postMessage", OK, 1)
    assert calls.snapshot()[("chat.postMessage", LIMITED)] == 1
    assert counted(calls, OK)["chat.postMessage"] == answered(rig.fake)["chat.postMessage"]
    assert not counted(calls, ERROR)


async def test_429s_until_the_sdk_gives_up_count_each_and_one_error(http_rig: Rig) -> None:
    rig = http_rig
    assert rig.adapter.web is not None
    web = rig.adapter.web
    rig.fake.fail("conversations.open", 429, retry_after=0, times=10)
    with pytest.raises(SlackApiError):
        await web.client.conversations_open(users="UANA")
    limited = len(rig.fake.calls_to("conversations.open"))
    assert limited > 1  # the SDK retried
    snapshot = web.calls.snapshot()
    assert snapshot[("conversations.open", LIMITED)] == limited  # the last one too
    assert snapshot[("conversations.open", ERROR)] == 1
    assert ("conversations.open", OK) not in snapshot


async def test_an_error_answer_counts_once_as_an_error(http_rig: Rig) -> None:
    rig = http_rig
    assert rig.adapter.web is not None
    web = rig.adapter.web
    with pytest.raises(SlackApiError):  # 200 with "ok": false
        await web.client.chat_postMessage(channel="CNOWHERE", text="hello")
    assert web.calls.snapshot()[("chat.postMessage", ERROR)] == 1


async def test_5xx_retried_count_once_with_the_final_outcome(http_rig: Rig) -> None:
    rig = http_rig
    assert rig.adapter.web is not None
    web = rig.adapter.web
    rig.fake.fail("conversations.open", 500)
    await web.client.conversations_open(users="UANA")  # retried, then answered
    assert web.calls.snapshot()[("conversations.open", OK)] == 1
    rig.fake.fail("conversations.open", 503, times=10)
    with pytest.raises(SlackApiError):  # retried until the SDK gave up
        await web.client.conversations_open(users="UBEN")
    assert [c.status for c in rig.fake.calls_to("conversations.open")][:3] == [500, 200, 503]
    snapshot = web.calls.snapshot()
    assert (snapshot[("conversations.open", OK)], snapshot[("conversations.open", ERROR)]) == (1, 1)
    assert ("conversations.open", LIMITED) not in snapshot


async def test_a_timeout_counts_as_an_error(fake: FakeSlack) -> None:
    calls = ApiCalls()
    web = SlackWeb(BOT_TOKEN, fake.api_url, timeout=0.2, backoff=0.01, calls=calls)
    fake.fail("chat.postMessage", 200, delay=2.0)  # answers after the client gave up
    try:
        with pytest.raises(TimeoutError):
            await web.client.chat_postMessage(channel=CHANNEL, text="hello")
    finally:
        await web.close()
    assert calls.snapshot() == {("chat.postMessage", ERROR): 1}  # never repeated blindly


async def test_a_connection_that_cannot_be_opened_counts_once_as_an_error() -> None:
    calls = ApiCalls()
    web = SlackWeb(BOT_TOKEN, f"http://127.0.0.1:{closed_port()}/api/", backoff=0.01, calls=calls)
    try:
        with pytest.raises(aiohttp.ClientConnectorError):
            await web.client.auth_test()  # tried again (nothing was sent), then given up
    finally:
        await web.close()
    assert calls.snapshot() == {("auth.test", ERROR): 1}


async def test_slack_web_counts_into_a_fresh_tally_unless_given_one() -> None:
    given = ApiCalls()
    web, own = SlackWeb(BOT_TOKEN, "http://x/api/", calls=given), SlackWeb(BOT_TOKEN, "x")
    try:
        assert web.calls is given and own.calls is not given
    finally:
        await web.close()
        await own.close()


class ServedRig(Rig):
    """The bot with the operators' server ([server]) on an ephemeral port."""

    def _build(self) -> tuple[Runtime, SlackAdapter]:
        runtime, adapter = super()._build()
        served = Runtime(runtime.core, [adapter], server=ServerConfig("127.0.0.1", 0))
        return served, adapter


async def test_metrics_count_slack_calls_by_method(fake: FakeSlack, tmp_path: Path) -> None:
    rig = ServedRig(fake, tmp_path / "bot.db", "http", council())
    await rig.start()
    try:
        async with aiohttp.ClientSession() as session:
            ops = Ops(rig.runtime, session)
            sent = {"platform": "slack", "method": "chat.postMessage"}
            assert await ops.metric("circlebot_api_calls_total", **sent) is None
            started = {"platform": "slack", "method": "auth.test"}
            assert await ops.metric("circlebot_api_calls_total", **started) == 1
            fake.fail("chat.postMessage", 429, retry_after=0)
            await rig.propose("Adopt it by 3d")
            await until_counted(rig.adapter.api_calls(), "chat.postMessage", OK, 1)
            assert await ops.metric("circlebot_api_calls_total", **sent) == 1
            assert await ops.metric("circlebot_api_rate_limits_total", **sent) == 1
            assert await ops.metric("circlebot_api_errors_total", **sent) is None
    finally:
        await rig.close()
