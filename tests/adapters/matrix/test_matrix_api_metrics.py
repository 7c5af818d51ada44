"""Every client-server API request the Matrix adapter makes is counted (for /metrics) by a
label without ids: nio's method name (`sync`, `room_send`, ...) or, for raw requests, the
endpoint's template. A 429 (M_LIMIT_EXCEEDED) counts as RATE_LIMITED, and the request
that follows it counts the outcome; an error answer or an exception counts as ERROR.

Against a small local homeserver (aiohttp) that can answer 429s, and against the real
Synapse for the labels of a whole decision."""

from __future__ import annotations

import asyncio
import re
import socket
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nio
import pytest
from aiohttp import web

from adapters.matrix import MatrixAdapter, MatrixError, MemoryCursors
from adapters.matrix.config import MatrixConfig
from adapters.matrix.http import endpoint, nio_method
from bot.domain.api_calls import ApiCalls, ApiOutcome
from bot.domain.circle import Channel, CircleSpec, MemberSpec
from bot.domain.events import InboundEvent
from bot.text.messages import Notice
from tests.adapters.matrix.harness import Cast, Person, fresh_bot, is_card
from tests.adapters.matrix.test_synapse_flows import room_with_bot
from tests.adapters.services import NoCore
from tests.synapse_server import SynapseServer

OK, ERROR, LIMITED = ApiOutcome.OK, ApiOutcome.ERROR, ApiOutcome.RATE_LIMITED
ME = "@circlebot:example.org"
ROOM = "!council:example.org"
ENCRYPTION = "GET /rooms/{room}/state/m.room.encryption"
RELATIONS = "GET /rooms/{room}/relations/{event}/m.annotation"
# What an id would look like in a label: a sigil, or a server name.
ID_IN_LABEL = re.compile(r"[!@$#]|:[a-z]")


def counts(calls: ApiCalls) -> dict[tuple[str, str], int]:
    return {(method, str(outcome)): n for (method, outcome), n in calls.snapshot().items()}


@dataclass
class Refusal:
    status: int
    errcode: str
    times: int = 1


@dataclass
class FakeHomeserver:
    """Just enough of the client-server API for the adapter to start, sync, send and
    read reactions; `refuse` makes an endpoint answer with an error for a while."""

    refusals: dict[str, list[Refusal]] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    sinces: list[str | None] = field(default_factory=list)  # each sync's position
    url: str = ""
    _runner: web.AppRunner | None = None
    _batches: int = 0
    _events: int = 0

    def refuse(self, name: str, status: int, errcode: str, times: int = 1) -> None:
        self.refusals.setdefault(name, []).append(Refusal(status, errcode, times))

    async def start(self) -> FakeHomeserver:
        app = web.Application()
        app.router.add_route("*", "/_matrix/client/{version}/{rest:.*}", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _serve(self, request: web.Request) -> web.Response:
        rest = request.match_info["rest"]
        name = self._name(request.method, rest)
        self.requests[name] += 1
        pending = self.refusals.get(name, [])
        if pending:
            refusal = pending[0]
            refusal.times -= 1
            if refusal.times <= 0:
                pending.pop(0)
            body: dict[str, Any] = {"errcode": refusal.errcode, "error": "refused by the test"}
            if refusal.status == 429:
                body["retry_after_ms"] = 10
            return web.json_response(body, status=refusal.status)
        return web.json_response(await self._answer(name, request))

    @staticmethod
    def _name(method: str, rest: str) -> str:
        if rest == "account/whoami":
            return "whoami"
        if rest.startswith("join/"):
            return "join"
        if rest == "sync":
            return "sync"
        if "/send/" in rest:
            return "send"
        if "/relations/" in rest:
            return "relations"
        if rest.endswith("/state/m.room.encryption"):
            return "encryption"
        return f"{method} {rest}"

    async def _answer(self, name: str, request: web.Request) -> dict[str, Any]:
        if name == "whoami":
            return {"user_id": ME, "device_id": "BOTDEVICE"}
        if name == "join":
            return {"room_id": ROOM}
        if name == "send":
            self._events += 1
            return {"event_id": f"$event{self._events}"}
        if name == "relations":
            return {"chunk": []}
        if name == "sync":
            self.sinces.append(request.query.get("since"))
            timeout = int(request.query.get("timeout", "0"))
            await asyncio.sleep(min(timeout, 50) / 1000)  # a short long poll
            self._batches += 1
            return {"next_batch": f"s{self._batches}", "rooms": {}}
        raise web.HTTPNotFound(
            text='{"errcode": "M_NOT_FOUND", "error": "not here"}', content_type="application/json"
        )


@pytest.fixture
async def home() -> AsyncIterator[FakeHomeserver]:
    server = await FakeHomeserver().start()
    yield server
    await server.close()


def council() -> list[CircleSpec]:
    people = (("ana", "milpa"), ("ben", "milpa"), ("cy", "vera"), ("dee", "vera"))
    members = tuple(MemberSpec(n, s, handles={"matrix": f"@{n}:example.org"}) for n, s in people)
    return [CircleSpec("council", ("milpa", "vera"), members, channels={"matrix": Channel(ROOM)})]


async def started(url: str) -> MatrixAdapter:
    adapter = MatrixAdapter(
        MatrixConfig(homeserver=url, user_id=ME),
        council(),
        access_token="secret",
        cursors=MemoryCursors(),
        sync_timeout_ms=50,
        first_backoff=0.05,
        max_backoff=0.2,
    )

    await adapter.start(Ignore(), NoCore())
    return adapter


class Ignore:
    """A sink for events nobody here looks at."""

    async def __call__(self, event: InboundEvent) -> None:
        pass

    async def accept(self, event: InboundEvent) -> None:
        pass


def test_labels_name_the_method_never_an_id() -> None:
    assert nio_method(nio.SyncResponse) == "sync"
    assert nio_method(nio.RoomSendResponse) == "room_send"
    assert nio_method(nio.JoinedMembersResponse) == "joined_members"
    assert nio_method(nio.WhoamiResponse) == "whoami"
    room, event = "%21council%3Aexample.org", "%24card%3Aexample.org"
    assert endpoint("GET", f"/_matrix/client/v3/rooms/{room}/messages?dir=b") == (
        "GET /rooms/{room}/messages"
    )
    path = f"/_matrix/client/v1/rooms/{room}/relations/{event}/m.annotation?limit=100"
    assert endpoint("GET", path) == RELATIONS
    alias = "%23council%3Aexample.org"
    assert endpoint("GET", f"/_matrix/client/v3/directory/room/{alias}") == (
        "GET /directory/room/{alias}"
    )
    txn = "cb.outbox-1.0f3a9c"
    assert endpoint("put", f"/_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}") == (
        "PUT /rooms/{room}/send/m.room.message/{}"
    )
    assert endpoint("GET", "/_matrix/client/v3/devices/ABCDEFGHIJ") == "GET /devices/{}"


async def test_starting_counts_each_request_by_method(home: FakeHomeserver) -> None:
    adapter = await started(home.url)
    try:
        assert counts(adapter.api_calls()) == {
            ("whoami", "ok"): 1,
            ("join", "ok"): 1,
            (ENCRYPTION, "ok"): 1,  # 404 is the answer "not encrypted", not an error
            ("sync", "ok"): 1,
        }
    finally:
        await adapter.stop()


async def test_a_429_counts_as_rate_limited_and_the_send_once_when_it_lands(
    home: FakeHomeserver,
) -> None:
    adapter = await started(home.url)
    try:
        home.refuse("send", 429, "M_LIMIT_EXCEEDED")
        await adapter.post(ROOM, Notice.text("hello"), None, "outbox:1")
        home.refuse("relations", 429, "M_LIMIT_EXCEEDED", times=2)
        assert await adapter.read_reactions(ROOM, "$event1") == []
        found = counts(adapter.api_calls())
        assert (found[("room_send", "rate_limited")], found[("room_send", "ok")]) == (1, 1)
        assert (found[(RELATIONS, "rate_limited")], found[(RELATIONS, "ok")]) == (2, 1)
        assert ("room_send", "error") not in found and (RELATIONS, "error") not in found
        assert (home.requests["send"], home.requests["relations"]) == (2, 3)
    finally:
        await adapter.stop()


async def test_errors_count_once_and_so_does_giving_up_on_429s(home: FakeHomeserver) -> None:
    adapter = await started(home.url)
    try:
        home.refuse("send", 403, "M_FORBIDDEN")
        with pytest.raises(MatrixError):
            await adapter.post(ROOM, Notice.text("hello"), None, "outbox:1")
        home.refuse("send", 429, "M_LIMIT_EXCEEDED", times=100)
        with pytest.raises(MatrixError):
            await adapter.post(ROOM, Notice.text("hello"), None, "outbox:2")
        home.refuse("relations", 500, "M_UNKNOWN")
        with pytest.raises(MatrixError):
            await adapter.read_reactions(ROOM, "$event1")
        found = counts(adapter.api_calls())
        assert found[("room_send", "error")] == 2  # the refusal, then the send given up
        assert found[("room_send", "rate_limited")] == home.requests["send"] - 1
        assert found[(RELATIONS, "error")] == 1
        assert ("room_send", "ok") not in found
    finally:
        await adapter.stop()


async def test_a_rate_limited_sync_is_waited_out_and_counted(home: FakeHomeserver) -> None:
    adapter = await started(home.url)
    loop = asyncio.create_task(adapter.run())
    try:
        home.refuse("sync", 429, "M_LIMIT_EXCEEDED")
        for _ in range(400):  # polling: the loop syncs on its own
            if home.requests["sync"] >= 4:
                break
            await asyncio.sleep(0.01)
        found = counts(adapter.api_calls())
        assert found[("sync", "rate_limited")] == 1
        assert found[("sync", "ok")] >= 2 and ("sync", "error") not in found
    finally:
        await adapter.stop()
        await asyncio.wait_for(loop, timeout=5)


async def test_a_homeserver_that_cannot_be_reached_counts_errors() -> None:
    with socket.socket() as sock:  # a port nobody listens on once it is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    adapter = await started(f"http://127.0.0.1:{port}")  # keeps trying: does not fail
    try:
        assert counts(adapter.api_calls()) == {("whoami", "error"): 1}
    finally:
        await adapter.stop()


@pytest.mark.slow
async def test_a_decision_on_synapse_counts_by_method_without_ids(
    synapse: SynapseServer, cast: Cast, people: dict[str, Person], db_path: Path
) -> None:
    ana = people["ana"]
    room = await room_with_bot(people, cast)
    bot = fresh_bot(synapse, cast, room, db_path)
    adapter = await bot.start()
    try:
        await ana.say(room, "!propose Adopt it by 2h")
        await ana.wait_for(room, is_card(cast.bot.user_id, 1), "the card")
        synapse.override_ratelimit(cast.bot.user_id, per_second=1, burst=1)
        try:
            for n in range(4):
                await adapter.post(room, Notice.text(f"note {n}"), None, f"outbox:counted:{n}")
        finally:
            synapse.clear_ratelimit(cast.bot.user_id)
        found = counts(adapter.api_calls())
        assert found[("whoami", "ok")] == 1 and found[("join", "ok")] >= 1
        assert found[("sync", "ok")] >= 1
        assert found[("room_send", "ok")] >= 5  # the card and the four notes
        assert found[("room_send", "rate_limited")] >= 1
        assert ("room_send", "error") not in found
        assert not [label for label, _ in found if ID_IN_LABEL.search(label)]
    finally:
        await bot.stop()


async def test_only_the_leading_replica_syncs_and_a_new_leader_goes_on_from_the_stored_position(
    home: FakeHomeserver,
) -> None:
    adapter = MatrixAdapter(
        MatrixConfig(homeserver=home.url, user_id=ME),
        council(),
        access_token="secret",
        cursors=MemoryCursors(),
        sync_timeout_ms=50,
        first_backoff=0.05,
        max_backoff=0.2,
    )
    await adapter.set_leading(False)  # a follower: logs in and finds its rooms, no sync
    await adapter.start(Ignore(), NoCore())
    running = asyncio.ensure_future(adapter.run())
    try:
        await asyncio.sleep(0.3)
        assert home.requests["sync"] == 0
        assert adapter.readiness() is None  # nothing to sync: ready
        assert adapter.cursors is not None
        await adapter.cursors.set(adapter.sync.cursor_name, "s-stored-by-the-old-leader")
        await adapter.set_leading(True)
        for _ in range(100):
            if home.requests["sync"] >= 2:
                break
            await asyncio.sleep(0.05)
        assert home.requests["sync"] >= 2
        assert home.sinces[0] == "s-stored-by-the-old-leader"
        await adapter.set_leading(False)  # steps down: the long poll ends, no more syncs
        await asyncio.sleep(0.1)
        stopped_at = home.requests["sync"]
        await asyncio.sleep(0.3)
        assert home.requests["sync"] == stopped_at
    finally:
        await adapter.stop()
        await running
