"""The app in many workspaces ([slack] client_id): installed into two workspaces through
Bolt's real OAuth flow (GET /slack/install, then the redirect with the code) against the
fake's oauth.v2.access; then two circles, one per workspace, with the same channel id
and the same member ids, kept apart: every event signed and sent to the real HTTP
server, and every Web API call checked for the token (the workspace) it used. The
database never holds a token in clear, and CIRCLEBOT_SECRET_KEY can be rotated."""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import inspect, text

from adapters.slack import SlackAdapter
from adapters.slack.config import SlackConfig
from adapters.slack.oauth import not_installed_reply
from bot.config import Config, StorageConfig
from bot.domain.circle import Channel, CircleSpec, MemberSpec
from bot.domain.model import Role, Status
from bot.ports.installations import SECRET_KEY_ENV
from bot.runtime.runner import Runtime
from bot.wiring.app import build_runtime
from bot.wiring.doctor import diagnose
from tests.adapters.slack.fakeslack import (
    APP_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    SIGNING_SECRET,
    Delivery,
    FakeSlack,
    HttpDelivery,
    Message,
    SocketDelivery,
    command_payload,
    event_envelope,
    eventually,
    reaction_event,
)

NORTH, SOUTH = "T1NORTH", "T2SOUTH"
CHANNEL = "CSHARED"  # the same channel id in both workspaces
COOKIE = "slack-app-oauth-state"
KEY = Fernet.generate_key().decode()


def circle(name: str, team: str) -> CircleSpec:
    # The same Slack ids in both circles: only the workspace tells them apart.
    return CircleSpec(
        name=name,
        sides=("milpa", "vera"),
        members=(
            MemberSpec(f"{name}-ana", "milpa", Role.LEADER, handles={"slack": "UANA"}),
            MemberSpec(f"{name}-cy", "vera", Role.LEADER, handles={"slack": "UCY"}),
        ),
        channels={"slack": Channel(CHANNEL, team)},
    )


class Bot:
    """The bot as `circlebot run` builds it (bot.wiring.app.build_runtime), over HTTP."""

    def __init__(self, fake: FakeSlack, path: Path, key: str = KEY, mode: str = "http") -> None:
        self.fake = fake
        self.mode = mode
        self.config = Config(
            storage=StorageConfig(f"sqlite:///{path}"),
            platforms={
                "slack": SlackConfig(mode=mode, port=0, api_url=fake.api_url, client_id=CLIENT_ID)
            },
            circles=(circle("north", NORTH), circle("south", SOUTH)),
            warnings=(),
            path="test.toml",
        )
        self.env = {
            "SLACK_CLIENT_SECRET": CLIENT_SECRET,
            SECRET_KEY_ENV: key,
            **(
                {"SLACK_SIGNING_SECRET": SIGNING_SECRET}
                if mode == "http"
                else {"SLACK_APP_TOKEN": APP_TOKEN}
            ),
        }
        self.runtime: Runtime = build_runtime(self.config, self.env)
        adapter = self.runtime.adapters["slack"]
        assert isinstance(adapter, SlackAdapter)
        self.adapter = adapter
        adapter.edit_interval = 0.1
        self.session = aiohttp.ClientSession()
        self.http: HttpDelivery | None = None
        self.deliver: Delivery = SocketDelivery(fake)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.adapter.port}"

    async def start(self) -> None:
        await self.runtime.start()
        self.http = HttpDelivery(f"{self.base}/slack/events")
        if self.mode == "http":
            self.deliver = self.http

    async def stop(self) -> None:
        await self.runtime.stop()
        self.runtime.core.repo.engine.dispose()
        await self.session.close()
        if self.http is not None:
            await self.http.close()

    # -- installing --------------------------------------------------------------------

    async def begin_install(self) -> str:
        """GET /slack/install: the redirect to Slack with a state, and its cookie."""
        async with self.session.get(f"{self.base}/slack/install", allow_redirects=False) as got:
            assert got.status == 302
            location = urllib.parse.urlsplit(got.headers["Location"])
            cookies = got.headers.getall("Set-Cookie")
        query = urllib.parse.parse_qs(location.query)
        assert location.netloc == "slack.com" and location.path == "/oauth/v2/authorize"
        assert query["client_id"] == [CLIENT_ID]
        assert "chat:write" in query["scope"][0].split(",")
        state = query["state"][0]
        assert any(c.startswith(f"{COOKIE}={state};") for c in cookies), cookies
        return state

    async def come_back(self, code: str, state: str, cookie: str | None = None) -> tuple[int, str]:
        """Slack sends the installer's browser back to the redirect path."""
        query = urllib.parse.urlencode({"code": code, "state": state})
        headers = {"Cookie": f"{COOKIE}={cookie if cookie is not None else state}"}
        url = f"{self.base}/slack/oauth_redirect?{query}"
        async with self.session.get(url, headers=headers, allow_redirects=False) as got:
            return got.status, await got.text()

    async def install(self, team: str) -> None:
        state = await self.begin_install()
        status, page = await self.come_back(self.fake.approve(team), state)
        assert status == 200
        # The installer reads where it went and what to do next, in both languages.
        assert "circlebot is now installed in" in page and "/invite @circlebot" in page
        assert "circlebot ya está instalado en" in page

    # -- driving -----------------------------------------------------------------------

    async def command(self, team: str, user: str, text: str, command: str = "/propose") -> None:
        respond = self.fake.response_url(f"{team}-{user}")
        payload = command_payload(command, text, user, CHANNEL, respond, team=team)
        answer = await self.deliver.command(payload)
        assert answer.status == 200, answer

    async def react(self, team: str, user: str, name: str, ts: str) -> None:
        event = reaction_event(user, name, ts, CHANNEL)
        answer = await self.deliver.event(event_envelope(event, team=team))
        assert answer.status == 200, answer

    async def card(self, team: str, count: int = 1) -> Message:
        await eventually(
            lambda: len(self.fake.channel_messages(CHANNEL, team)) >= count,
            what=f"card {count} in {team}",
        )
        return self.fake.channel_messages(CHANNEL, team)[count - 1]

    async def status(self, pid: int) -> Status:
        state = await self.runtime.call(self.runtime.core.state, pid)
        return Status(state.proposal.status)

    def rows(self) -> list[str]:
        """Every value of every row of every table of the bot's database."""
        found = []
        with self.runtime.core.repo.engine.connect() as connection:
            for table in inspect(connection).get_table_names():
                for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                    found.extend(str(value) for value in row)
        return found


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack(channels=(CHANNEL,)).start()
    server.add_team(NORTH, "North")
    server.add_team(SOUTH, "South")
    yield server
    await server.close()


@pytest.fixture
async def bot(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[Bot]:
    running = Bot(fake, tmp_path / "bot.db")
    await running.start()
    yield running
    await running.stop()


def installed(bot: Bot) -> list[str]:
    with bot.runtime.core.repo.engine.connect() as connection:
        rows = connection.execute(text("SELECT team_id FROM slack_installations ORDER BY 1"))
        return [row[0] for row in rows]


async def test_installs_into_two_workspaces_through_oauth(
    bot: Bot, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await bot.install(NORTH)
    await bot.install(SOUTH)
    assert installed(bot) == [NORTH, SOUTH]
    # Bolt checked each token (auth.test) with the token the code was exchanged for.
    checked = {c.team for c in fake.calls_to("auth.test")}
    assert checked == {NORTH, SOUTH}
    # Nothing of an install is in clear in the database: no token, no state.
    values = bot.rows()
    for team in (NORTH, SOUTH):
        assert not any(fake.teams[team].bot_token in value for value in values)
    # Nor in the log, even at debug level: no token, no client secret, no key.
    for secret in (fake.teams[NORTH].bot_token, fake.teams[SOUTH].bot_token, CLIENT_SECRET, KEY):
        assert secret not in caplog.text


async def test_a_made_up_failure_reason_is_neither_shown_nor_logged(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    forged = "<b>call 555</b>\nslack: installed in every workspace"
    query = urllib.parse.urlencode({"error": forged})
    async with bot.session.get(f"{bot.base}/slack/oauth_redirect?{query}") as got:
        page = await got.text()
    assert "The installation did not complete (unknown)" in page
    assert "555" not in page and "555" not in caplog.text
    query = urllib.parse.urlencode({"error": "access_denied"})
    async with bot.session.get(f"{bot.base}/slack/oauth_redirect?{query}") as got:
        assert "(access_denied)" in await got.text()


async def test_a_bad_or_reused_state_is_refused_and_stores_nothing(
    bot: Bot, fake: FakeSlack
) -> None:
    # A state the bot never issued (with a cookie to match): refused.
    made_up = fake.approve(NORTH)
    status, page = await bot.come_back(made_up, "not-a-state")
    assert status == 401
    assert "The installation did not complete" in page and "La instalación no se completó" in page
    # A state without the browser's cookie: refused.
    state = await bot.begin_install()
    no_cookie = fake.approve(NORTH)
    status, _ = await bot.come_back(no_cookie, state, cookie="other")
    assert status == 400
    # The right one installs; the same state again is refused.
    good = fake.approve(NORTH)
    assert (await bot.come_back(good, state))[0] == 200
    again = fake.approve(SOUTH)
    status, _ = await bot.come_back(again, state)
    assert status == 401
    assert installed(bot) == [NORTH]
    # The refused codes were never exchanged.
    assert fake.exchanged == [good]
    assert {made_up, no_cookie, again} <= set(fake.codes)


async def test_two_workspaces_with_one_channel_id_and_the_same_people_stay_apart(
    bot: Bot, fake: FakeSlack
) -> None:
    await bot.install(NORTH)
    await bot.install(SOUTH)
    north_token, south_token = fake.teams[NORTH].bot_token, fake.teams[SOUTH].bot_token

    await bot.command(NORTH, "UANA", "Paint the shed by 3d")
    north = await bot.card(NORTH)
    await bot.command(SOUTH, "UANA", "Plant beans by 3d")
    south = await bot.card(SOUTH)
    assert "Paint the shed" in north.text and "Plant beans" in south.text
    assert fake.channel_messages(CHANNEL, NORTH) == [north]  # each card in its workspace
    posts = fake.calls_to("chat.postMessage")
    assert [(c.team, c.token) for c in posts] == [(NORTH, north_token), (SOUTH, south_token)]

    # UANA of the south consents on the south's card: the south's proposal alone.
    await bot.react(SOUTH, "UANA", "white_check_mark", south.ts)
    # A south event naming the north's card (same channel id): never applied there.
    await bot.react(SOUTH, "UCY", "white_check_mark", north.ts)
    # UCY of the south consents too: the south's proposal passes, the north's is open.
    await bot.react(SOUTH, "UCY", "white_check_mark", south.ts)
    await eventually(
        lambda: fake.thread(CHANNEL, south.ts, SOUTH), what="the south's outcome in its thread"
    )
    assert await bot.status(2) == Status.PASSED
    assert await bot.status(1) == Status.OPEN
    assert fake.thread(CHANNEL, north.ts, NORTH) == []
    # Every call about the south's card (its edits, its outcome) used the south's token.
    for call in fake.calls:
        if call.params.get("ts") == south.ts or call.params.get("thread_ts") == south.ts:
            assert call.team == SOUTH and call.token == south_token, call.method
        if call.params.get("ts") == north.ts or call.params.get("thread_ts") == north.ts:
            assert call.team == NORTH, call.method

    # Each private reply goes out in the workspace it answers: the two proposals', then
    # the south's status.
    await bot.command(SOUTH, "UCY", "status 2", command="/circle")
    await eventually(lambda: len(fake.ephemeral) == 3, what="three private replies")
    assert [e["team"] for e in fake.ephemeral] == [NORTH, SOUTH, SOUTH]
    replies = fake.calls_to("chat.postEphemeral")
    assert [(c.team, c.token) for c in replies] == [
        (NORTH, north_token),
        (SOUTH, south_token),
        (SOUTH, south_token),
    ]

    # No token, client secret or signing secret in any row.
    values = bot.rows()
    for secret in (north_token, south_token, CLIENT_SECRET, SIGNING_SECRET, KEY):
        assert not any(secret in value for value in values)


async def test_an_uninstalled_workspace_is_not_served(bot: Bot, fake: FakeSlack) -> None:
    await bot.install(NORTH)
    await bot.command(SOUTH, "UANA", "Plant beans by 3d")  # no installation in the south
    await bot.command(NORTH, "UANA", "Paint the shed by 3d")
    await bot.card(NORTH)
    assert fake.channel_messages(CHANNEL, SOUTH) == []
    assert {c.team for c in fake.calls_to("chat.postMessage")} == {NORTH}
    # Bolt told the person, at the command's response_url, that the app is not there.
    assert [r["name"] for r in fake.responses] == [f"{SOUTH}-UANA"]
    told = fake.responses[0]["text"]  # in both languages: nobody there has a circle yet
    assert told.startswith("circlebot is not installed in this workspace yet")
    assert "circlebot todavía no está instalado en este espacio de trabajo" in told


async def test_key_rotation_keeps_the_workspaces(fake: FakeSlack, tmp_path: Path) -> None:
    first = Bot(fake, tmp_path / "bot.db", key=KEY)
    await first.start()
    await first.install(NORTH)
    await first.stop()
    new = Fernet.generate_key().decode()
    # The new key first, the old one after it: the old installation still opens...
    second = Bot(fake, tmp_path / "bot.db", key=f"{new},{KEY}")
    await second.start()
    try:
        await second.command(NORTH, "UANA", "Paint the shed by 3d")
        card = await second.card(NORTH)
        assert "Paint the shed" in card.text
        # ... and was sealed again with the new key when read.
        with second.runtime.core.repo.engine.connect() as connection:
            sealed = connection.execute(text("SELECT sealed FROM slack_installations")).scalar()
        assert isinstance(sealed, str)
        assert Fernet(new.encode()).decrypt(sealed.encode())
    finally:
        await second.stop()


def doctor_config(bot: Bot, fake: FakeSlack, tmp_path: Path) -> str:
    """The bot's config as a file for `circlebot doctor`, its members known to Slack."""
    config = tmp_path / "bot.toml"
    members = "".join(
        f'[[circles.members]]\nname = "{name}"\nside = "{side}"\nrole = "leader"\n'
        f'slack = "{user}"\n'
        for name, side, user in (("ana", "milpa", "UANA"), ("cy", "vera", "UCY"))
    )
    circles = "".join(
        f'[[circles]]\nname = "{name}"\nsides = ["milpa", "vera"]\nslack_channel = "{CHANNEL}"\n'
        f'slack_team = "{team}"\n' + members
        for name, team in (("north", NORTH), ("south", SOUTH))
    )
    config.write_text(
        f'[storage]\nurl = "{bot.config.storage.url}"\n'
        f'[slack]\nmode = "http"\napi_url = "{fake.api_url}"\nclient_id = "{CLIENT_ID}"\n'
        'redirect_uri = "https://bot.example.org/slack/oauth_redirect"\n' + circles,
        encoding="utf-8",
    )
    fake.add_user("UANA", "ana")
    fake.add_user("UCY", "cy")
    return str(config)


async def test_doctor_counts_installations_and_names_the_missing(
    bot: Bot, fake: FakeSlack, tmp_path: Path
) -> None:
    await bot.install(NORTH)
    config = doctor_config(bot, fake, tmp_path)
    checks = await diagnose(config, bot.env)
    text_ = "\n".join(check.line() for check in checks)
    assert "Slack installations: 1 workspace" in text_
    assert f"Slack workspace {NORTH} (circle north): installed" in text_
    assert f"Slack workspace {SOUTH} (circle south): the app is not installed there" in text_
    assert "https://bot.example.org/slack/install" in text_
    for team in (NORTH, SOUTH):
        assert fake.teams[team].bot_token not in text_
    missing = await diagnose(config, {**bot.env, SECRET_KEY_ENV: ""})
    assert any(not c.ok and SECRET_KEY_ENV in c.line() for c in missing)


async def test_a_workspace_sealed_with_a_lost_key_is_named_and_answered_as_not_installed(
    fake: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The north was installed under KEY, which is gone; the south under the key the bot
    now has. The north is said at start and by doctor, and answered as not installed;
    the south is served."""
    path = tmp_path / "bot.db"
    first = Bot(fake, path, key=KEY)
    await first.start()
    await first.install(NORTH)
    await first.stop()
    new = Fernet.generate_key().decode()
    second = Bot(fake, path, key=new)  # the old key lost, not kept after the new one
    await second.start()
    await second.install(SOUTH)
    await second.stop()

    caplog.set_level(logging.DEBUG)
    caplog.clear()
    calls = len(fake.calls)
    bot = Bot(fake, path, key=new)
    await bot.start()
    try:
        said = [r for r in caplog.records if NORTH in r.getMessage()]
        assert len(said) == 1 and said[0].levelno == logging.WARNING, said
        assert SECRET_KEY_ENV in said[0].getMessage()
        assert not any(SOUTH in r.getMessage() for r in caplog.records if r.levelno >= 30)

        # The north: answered as not installed, in both languages, with no traceback.
        await bot.command(NORTH, "UANA", "Paint the shed by 3d")
        await bot.react(NORTH, "UANA", "+1", "1700000000.000100")
        await eventually(lambda: fake.responses, what="the not-installed answer")
        (told,) = fake.responses
        assert told["name"] == f"{NORTH}-UANA"
        assert told["text"] == not_installed_reply()
        # The south: served.
        await bot.command(SOUTH, "UANA", "Plant beans by 3d")
        south = await bot.card(SOUTH)
        assert "Plant beans" in south.text
        assert fake.channel_messages(CHANNEL, NORTH) == []
        assert not [c for c in fake.calls[calls:] if c.team == NORTH]  # no north token used

        for record in caplog.records:
            assert record.exc_info is None, record.getMessage()
            assert "Traceback" not in record.getMessage()
        for secret in (KEY, new, fake.teams[NORTH].bot_token, fake.teams[SOUTH].bot_token):
            assert secret not in caplog.text
        # Said once, not once per request.
        assert len([r for r in caplog.records if SECRET_KEY_ENV in r.getMessage()]) == 1

        # doctor names the north, with the fix, and checks the south as usual.
        checks = await diagnose(doctor_config(bot, fake, tmp_path), bot.env)
        lines = [check.line() for check in checks]
        (north,) = [line for line in lines if NORTH in line]
        assert north.startswith("✗") and "cannot be opened" in north
        assert SECRET_KEY_ENV in north and "new key first" in north and "install" in north
        assert f"✓ Slack workspace {SOUTH} (circle south): installed" in lines
        assert "✓ Slack installations: 2 workspaces" in lines
        assert not any(secret in "\n".join(lines) for secret in (KEY, new))
    finally:
        await bot.stop()

    # The old key back, after the new one: the north is served again.
    restored = Bot(fake, path, key=f"{new},{KEY}")
    await restored.start()
    try:
        await restored.command(NORTH, "UANA", "Paint the shed by 3d")
        north_card = await restored.card(NORTH)
        assert "Paint the shed" in north_card.text
    finally:
        await restored.stop()


async def test_reminders_reach_each_person_in_the_circles_workspace(
    bot: Bot, fake: FakeSlack
) -> None:
    await bot.install(NORTH)
    await bot.install(SOUTH)
    await bot.command(NORTH, "UANA", "Paint the shed by 3d")
    await bot.card(NORTH)
    await bot.command(SOUTH, "UANA", "Plant beans by 3d")
    south = await bot.card(SOUTH)

    def enqueue() -> None:
        with bot.runtime.core.repo.transaction() as tx:
            tx.enqueue(
                key="reminder:2:24h:slack",
                platform="slack",
                channel=CHANNEL,
                kind="thread",
                payload={"reminder": True},
                created_at=bot.runtime.core.clock.now(),
                proposal_id=2,
            )

    await bot.runtime.call(enqueue)
    await bot.runtime.flush()
    (thread,) = fake.thread(CHANNEL, south.ts, SOUTH)
    assert "Waiting on" in thread.text
    opened = fake.calls_to("conversations.open")
    assert sorted(c.params["users"] for c in opened) == ["UANA", "UCY"]
    assert {c.team for c in opened} == {SOUTH}
    for user in ("ANA", "CY"):  # each direct message in the south, linking the south's card
        (direct,) = fake.messages[f"{SOUTH}/D{user}"]
        assert direct.team == SOUTH and "t2south.slack.com" in direct.text
    assert not any(key.startswith("D") for key in fake.messages)  # none in the north


async def test_socket_mode_installs_over_http_and_keeps_workspaces_apart(
    fake: FakeSlack, tmp_path: Path
) -> None:
    bot = Bot(fake, tmp_path / "bot.db", mode="socket")
    await bot.start()
    try:
        await eventually(lambda: fake.sockets, 5.0, "the socket mode connection")
        await bot.install(NORTH)
        await bot.install(SOUTH)
        await bot.command(SOUTH, "UCY", "Plant beans by 3d")  # over the socket
        south = await bot.card(SOUTH)
        assert "Plant beans" in south.text
        assert fake.channel_messages(CHANNEL, NORTH) == []
        (post,) = fake.calls_to("chat.postMessage")
        assert post.team == SOUTH and post.token == fake.teams[SOUTH].bot_token
        # Events still come over the socket only: no /slack/events over HTTP.
        assert bot.http is not None
        answer = await bot.http.event(event_envelope(reaction_event("UCY", "+1", south.ts)))
        assert answer.status == 404
    finally:
        await bot.stop()


@pytest.mark.parametrize("failure", ["server error", "refused code"])
async def test_a_failed_code_exchange_never_logs_the_code(
    bot: Bot, fake: FakeSlack, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("circlebot.slack.bolt", "slack_bolt", "slack_sdk", "aiohttp"):
        caplog.set_level(logging.DEBUG, logger=name)
    state = await bot.begin_install()
    if failure == "server error":
        code = fake.approve(NORTH)
        fake.fail("oauth.v2.access", 500, times=5)
    else:
        code = "code-nobody-approved-4c1d"  # Slack answers invalid_code
    caplog.clear()
    status, page = await bot.come_back(code, state)
    assert status >= 400
    assert "The installation did not complete" in page
    assert installed(bot) == []
    assert fake.calls_to("oauth.v2.access")  # the exchange was tried
    lines = [record.getMessage() for record in caplog.records]
    assert lines, "the failure is logged"
    for line in lines:
        assert code not in line, line
    assert code not in caplog.text  # nor in a traceback
