"""`circlebot doctor` for Matrix (adapters/matrix/doctor.py): against a real Synapse, a
correct setup passes every check and each mistake an operator can make is found, said
without a secret; a few tiny fake homeservers cover what Synapse will not do on demand
(rate limits, silence, not being a homeserver)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from urllib.parse import quote

import pytest
from aiohttp import web

from adapters.matrix import MatrixAdapter, MemoryCursors
from adapters.matrix.config import MatrixConfig
from adapters.matrix.doctor import diagnose
from adapters.matrix.saved_session import SavedSession, open_saved, seal
from bot.domain.circle import CircleSpec, MemberSpec
from bot.domain.diagnosis import Check, all_passed
from bot.domain.events import InboundEvent
from tests.adapters.matrix.harness import Cast, circle_spec
from tests.adapters.services import NoCore
from tests.synapse_server import Account, SynapseServer, free_port

CLIENT = "/_matrix/client/v3"
slow = pytest.mark.slow  # the tests that need the real Synapse

# -- setting up rooms as an operator might have (or not) ---------------------------------


def quoted(part: str) -> str:
    return quote(part, safe="")


def create_room(synapse: SynapseServer, owner: Account, alias: str | None = None) -> str:
    """A private room (join rule: invite) made by `owner`, with `alias` (a local part)."""
    body: dict[str, object] = {"preset": "private_chat", "name": f"circle {uuid.uuid4()}"}
    if alias is not None:
        body["room_alias_name"] = alias
    answer = synapse.request("POST", f"{CLIENT}/createRoom", body, token=owner.access_token)
    return str(answer["room_id"])


def invite(synapse: SynapseServer, by: Account, room: str, user: str) -> None:
    synapse.request(
        "POST", f"{CLIENT}/rooms/{quoted(room)}/invite", {"user_id": user}, token=by.access_token
    )


def join(synapse: SynapseServer, who: Account, room: str) -> None:
    synapse.request("POST", f"{CLIENT}/join/{quoted(room)}", {}, token=who.access_token)


def circle_room(
    synapse: SynapseServer,
    cast: Cast,
    *,
    bot: str = "joined",
    members: Sequence[str] = ("ben", "cy", "dee"),
    invited: Sequence[str] = (),
    alias: str | None = None,
) -> str:
    """A room made by ana, which `members` joined and `invited` are invited to; the bot
    "joined", is only "invited", or is "absent"."""
    room = create_room(synapse, cast.ana, alias)
    for name in (*members, *invited):
        invite(synapse, cast.ana, room, getattr(cast, name).user_id)
    for name in members:
        join(synapse, getattr(cast, name), room)
    if bot in ("joined", "invited"):
        invite(synapse, cast.ana, room, cast.bot.user_id)
    if bot == "joined":
        join(synapse, cast.bot, room)
    return room


def devices(synapse: SynapseServer, account: Account) -> set[str]:
    answer = synapse.request("GET", f"{CLIENT}/devices", token=account.access_token)
    return {str(device["device_id"]) for device in answer["devices"]}


def session_of(account: Account) -> tuple[str, str]:
    """What the adapter keeps for a password login: its cursor name and value (the token
    sealed with the password)."""
    value = seal(SavedSession(account.device_id, account.access_token), account.password)
    return f"matrix:{account.user_id}:session", value


def matrix_config(url: str, cast: Cast) -> MatrixConfig:
    return MatrixConfig(homeserver=url, user_id=cast.bot.user_id)


async def check(
    url: str,
    cast: Cast,
    circles: Sequence[CircleSpec] = (),
    *,
    access_token: str | None = None,
    password: str | None = None,
    cursors: MemoryCursors | None = None,
    timeout: float = 30.0,
) -> list[str]:
    """The doctor's lines, after making sure none of them says a secret."""
    checks = await diagnose(
        matrix_config(url, cast),
        circles,
        access_token=access_token,
        password=password,
        cursors=cursors or MemoryCursors(),
        timeout=timeout,
    )
    return said_without_secrets(checks, cast, access_token, password, cursors)


def said_without_secrets(
    checks: Sequence[Check],
    cast: Cast | None,
    access_token: str | None = None,
    password: str | None = None,
    cursors: MemoryCursors | None = None,
) -> list[str]:
    """The checks' lines; none may hold a token or a password, given or of anyone in
    the cast, or one kept in the cursor store."""
    lines = [found.line() for found in checks]
    secrets = {access_token, password}
    people = () if cast is None else (cast.bot, cast.ana, cast.ben, cast.cy, cast.dee, cast.eve)
    for account in people:
        secrets |= {account.access_token, account.password}
    for saved in (cursors.values if cursors else {}).values():
        secrets.add(open_saved(saved, password or "").access_token)
    for secret in secrets - {None, ""}:
        assert secret is not None
        assert not any(secret in line for line in lines), f"a secret in {lines}"
    return lines


def answers(url: str) -> str:
    return f"✓ Matrix homeserver {url} answers"


# -- a correct setup --------------------------------------------------------------------


@slow
async def test_a_correct_setup_passes_every_check(synapse: SynapseServer, cast: Cast) -> None:
    alias = f"council-{uuid.uuid4().hex[:8]}"
    by_alias = circle_room(synapse, cast, alias=alias)
    by_id = circle_room(synapse, cast)
    circles = [
        circle_spec(cast, f"#{alias}:localhost", name="council"),
        circle_spec(cast, by_id, name="garden"),
    ]
    lines = await check(synapse.url, cast, circles, access_token=cast.bot.access_token)
    bot = cast.bot.user_id
    assert lines == [
        answers(synapse.url),
        f"✓ Matrix token: {bot} on {synapse.url}",
        f"✓ circle council: the bot is in #{alias}:localhost ({by_alias})",
        "✓ circle council: all 4 members are in the room",
        f"✓ circle garden: the bot is in {by_id}",
        "✓ circle garden: all 4 members are in the room",
    ]


@slow
async def test_through_the_adapter_an_invited_bot_joins_on_start_as_the_doctor_said(
    synapse: SynapseServer, cast: Cast
) -> None:
    room = circle_room(synapse, cast, bot="invited")
    device = synapse.login(cast.bot)  # a device of its own: the adapter is started
    adapter = MatrixAdapter(
        matrix_config(synapse.url, cast),
        [circle_spec(cast, room)],
        access_token=device.access_token,
        cursors=MemoryCursors(),
    )
    services = NoCore()
    before = said_without_secrets(await adapter.diagnose(services), cast, device.access_token)
    assert before[2:] == [
        f"✓ circle council: the bot is invited to {room} and joins it on start "
        "(its members are checked once it is in)"
    ]

    await adapter.start(Ignored(), services)
    try:
        after = said_without_secrets(await adapter.diagnose(services), cast, device.access_token)
    finally:
        await adapter.stop()
    assert after[2:] == [
        f"✓ circle council: the bot is in {room}",
        "✓ circle council: all 4 members are in the room",
    ]


class Ignored:
    """An event sink for an adapter started only to see it join: drops what comes."""

    async def __call__(self, event: InboundEvent) -> None:
        pass

    async def accept(self, event: InboundEvent) -> None:
        pass


# -- the credentials ----------------------------------------------------------------------


@slow
async def test_a_refused_token_is_named_and_nothing_else_is_checked(
    synapse: SynapseServer, cast: Cast
) -> None:
    room = circle_room(synapse, cast)
    wrong = "syt_" + uuid.uuid4().hex
    lines = await check(synapse.url, cast, [circle_spec(cast, room)], access_token=wrong)
    assert lines == [
        answers(synapse.url),
        f"✗ Matrix token refused by {synapse.url} (M_UNKNOWN_TOKEN): put a current access "
        f"token of {cast.bot.user_id} in MATRIX_ACCESS_TOKEN (log in as {cast.bot.user_id} "
        "and copy the session's access token)",
    ]


@slow
async def test_a_token_of_another_user_is_refused(synapse: SynapseServer, cast: Cast) -> None:
    room = circle_room(synapse, cast)
    lines = await check(
        synapse.url, cast, [circle_spec(cast, room)], access_token=cast.eve.access_token
    )
    assert len(lines) == 2
    assert lines[1].startswith(
        f"✗ Matrix token belongs to {cast.eve.user_id}, not to matrix.user_id {cast.bot.user_id}: "
        f"put an access token of {cast.bot.user_id} in MATRIX_ACCESS_TOKEN"
    )


@slow
async def test_a_wrong_password_is_refused_and_leaves_no_device(
    synapse: SynapseServer, cast: Cast
) -> None:
    before = devices(synapse, cast.bot)
    lines = await check(synapse.url, cast, password="not-" + cast.bot.password)
    assert lines == [
        answers(synapse.url),
        f"✗ Matrix password refused for {cast.bot.user_id} (M_FORBIDDEN): set MATRIX_PASSWORD "
        f"to the password of {cast.bot.user_id} (and check matrix.user_id)",
    ]
    assert devices(synapse, cast.bot) == before


@slow
async def test_a_password_without_a_saved_session_logs_in_and_out_again(
    synapse: SynapseServer, cast: Cast
) -> None:
    room = circle_room(synapse, cast)
    before = devices(synapse, cast.bot)
    lines = await check(synapse.url, cast, [circle_spec(cast, room)], password=cast.bot.password)
    assert lines == [
        answers(synapse.url),
        f"✓ Matrix password: {cast.bot.user_id} on {synapse.url} (logged in and out again)",
        f"✓ circle council: the bot is in {room}",
        "✓ circle council: all 4 members are in the room",
    ]
    assert devices(synapse, cast.bot) == before


@slow
async def test_a_password_with_a_saved_session_uses_it_and_makes_no_device(
    synapse: SynapseServer, cast: Cast
) -> None:
    room = circle_room(synapse, cast)
    earlier = synapse.login(cast.bot)  # the bot's earlier password login
    cursors = MemoryCursors()
    await cursors.set(*session_of(earlier))
    before = devices(synapse, cast.bot)
    lines = await check(
        synapse.url, cast, [circle_spec(cast, room)], password=cast.bot.password, cursors=cursors
    )
    assert lines[1:] == [
        f"✓ Matrix password: {cast.bot.user_id} on {synapse.url} (the bot's saved session)",
        f"✓ circle council: the bot is in {room}",
        "✓ circle council: all 4 members are in the room",
    ]
    assert devices(synapse, cast.bot) == before
    assert earlier.device_id in devices(synapse, earlier)  # its session still works


@slow
async def test_an_ended_saved_session_keeps_its_device_and_the_password_is_checked(
    synapse: SynapseServer, cast: Cast
) -> None:
    kept = synapse.login(cast.bot)  # a live device, saved with a token that has ended
    cursors = MemoryCursors()
    await cursors.set(*session_of(replace(kept, access_token="syt_" + uuid.uuid4().hex)))
    before = devices(synapse, cast.bot)
    lines = await check(synapse.url, cast, password=cast.bot.password, cursors=cursors)
    assert lines == [
        answers(synapse.url),
        f"✓ Matrix password: {cast.bot.user_id} on {synapse.url} (its saved session has "
        "ended: the bot logs in again on start)",
    ]
    assert devices(synapse, cast.bot) == before  # the saved device was not logged out


# -- the rooms and their members ----------------------------------------------------------


@slow
async def test_a_room_the_bot_is_neither_in_nor_invited_to(
    synapse: SynapseServer, cast: Cast
) -> None:
    room = circle_room(synapse, cast, bot="absent")
    lines = await check(
        synapse.url, cast, [circle_spec(cast, room)], access_token=cast.bot.access_token
    )
    assert lines[2:] == [
        f"✗ circle council: the bot is not in {room} and not invited: invite "
        f"{cast.bot.user_id} to the room (it joins on start); check that {room} is the "
        "room's id"
    ]


@slow
async def test_an_unknown_alias(synapse: SynapseServer, cast: Cast) -> None:
    alias = f"#nowhere-{uuid.uuid4().hex[:8]}:localhost"
    lines = await check(
        synapse.url, cast, [circle_spec(cast, alias)], access_token=cast.bot.access_token
    )
    assert lines[2:] == [
        f"✗ circle council: room alias {alias} not found (HTTP 404 M_NOT_FOUND): publish the "
        f"address {alias} on the circle's room, or set the circle's matrix_room to the "
        "room's id (!…)"
    ]


@slow
async def test_each_member_not_in_the_room_is_named(synapse: SynapseServer, cast: Cast) -> None:
    room = circle_room(synapse, cast, members=("ben",), invited=("dee",))
    spec = circle_spec(cast, room)
    ghost = MemberSpec(
        "gus", "vera", handles={"matrix": f"@ghost-{uuid.uuid4().hex[:8]}:localhost"}
    )
    spec = replace(spec, members=(*spec.members, ghost))
    cy, dee, ghost_id = cast.cy.user_id, cast.dee.user_id, ghost.handles["matrix"]
    lines = await check(synapse.url, cast, [spec], access_token=cast.bot.access_token)
    assert lines[2:] == [
        f"✓ circle council: the bot is in {room}",
        f"✗ circle council: cy ({cy}) is not in the room: invite {cy} to it",
        f"✗ circle council: dee ({dee}) is invited but has not joined yet: ask dee to accept the "
        "invitation to the room",
        f"✗ circle council: gus ({ghost_id}) is not in the room, and the homeserver knows "
        "no profile of that id: check `matrix` of member gus in circle council; if it is "
        f"right, invite {ghost_id} to the room",
    ]


# -- homeservers that are not there, or not well ------------------------------------------


async def test_an_unreachable_homeserver_is_named_and_nothing_else_is_checked() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    checks = await diagnose(
        MatrixConfig(homeserver=url, user_id="@circlebot:localhost"),
        [],
        access_token="syt_secret",
        password=None,
        cursors=MemoryCursors(),
    )
    assert said_without_secrets(checks, None, "syt_secret") == [
        f"✗ Matrix homeserver {url} does not answer (ClientConnectorError): check that the "
        "homeserver is up and reachable from here; set matrix.homeserver to the homeserver's "
        "client API URL (e.g. https://matrix.example.org: what "
        "https://SERVER-NAME/.well-known/matrix/client names)"
    ]


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def fake_homeserver() -> AsyncIterator[Callable[[dict[str, Handler]], Awaitable[str]]]:
    """Serve some paths on loopback, each by its handler; returns the URL."""
    runners: list[web.AppRunner] = []

    async def serve(routes: dict[str, Handler]) -> str:
        app = web.Application()
        for path, handler in routes.items():
            app.router.add_route("*", path, handler)
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    yield serve
    for runner in runners:
        await runner.cleanup()


async def versions(request: web.Request) -> web.Response:
    return web.json_response({"versions": ["v1.11"]})


async def test_rate_limits_are_waited_out(
    fake_homeserver: Callable[[dict[str, Handler]], Awaitable[str]],
) -> None:
    asked = 0

    async def whoami(request: web.Request) -> web.Response:
        nonlocal asked
        asked += 1
        if asked < 3:
            limited = {"errcode": "M_LIMIT_EXCEEDED", "error": "Too many", "retry_after_ms": 20}
            return web.json_response(limited, status=429)
        return web.json_response({"user_id": "@circlebot:localhost", "device_id": "D"})

    url = await fake_homeserver(
        {"/_matrix/client/versions": versions, f"{CLIENT}/account/whoami": whoami}
    )
    checks = await diagnose(
        MatrixConfig(homeserver=url, user_id="@circlebot:localhost"),
        [],
        access_token="syt_secret",
        password=None,
        cursors=MemoryCursors(),
    )
    assert all_passed(checks)
    assert said_without_secrets(checks, None, "syt_secret")[1] == (
        f"✓ Matrix token: @circlebot:localhost on {url}"
    )
    assert asked == 3


async def test_something_else_than_a_homeserver_at_the_url(
    fake_homeserver: Callable[[dict[str, Handler]], Awaitable[str]],
) -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<html>welcome</html>", content_type="text/html")

    url = await fake_homeserver({"/_matrix/client/versions": page})
    checks = await diagnose(
        MatrixConfig(homeserver=url + "/", user_id="@circlebot:localhost"),
        [],
        access_token="syt_secret",
        password=None,
        cursors=MemoryCursors(),
    )
    [line] = said_without_secrets(checks, None, "syt_secret")
    assert line.startswith(f"✗ {url} answers, but not as a Matrix homeserver: ")


async def test_a_homeserver_that_never_answers_is_given_up_on() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the doctor gives up and hangs up
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    try:
        checks = await diagnose(
            MatrixConfig(homeserver=url, user_id="@circlebot:localhost"),
            [],
            access_token="syt_secret",
            password=None,
            cursors=MemoryCursors(),
            timeout=0.2,
        )
    finally:
        server.close()
        await server.wait_closed()
    [line] = said_without_secrets(checks, None, "syt_secret")
    assert line.startswith(f"✗ Matrix homeserver {url} does not answer (")
