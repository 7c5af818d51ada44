"""A local fake of Slack for the adapter's tests and benchmark.

- The Web API (`/api/METHOD`) on an ephemeral loopback port: it keeps channels, messages
  (with threads and metadata), reactions, ephemeral messages, published views; records
  every call; and on demand answers 429 (with Retry-After), 5xx, slowly, or does the work
  and then fails (a post that landed but whose answer was lost).
- Who the token is and what it may see: `auth.test` (its granted scopes in the
  `x-oauth-scopes` header, the manifest's bot scopes unless a test grants others),
  `conversations.info`, `users.info` and `users.lookupByEmail`, answering `missing_scope`
  (with `needed` and `provided`) when the scope a method needs is not granted.
- A Socket Mode websocket (`/socket`), handed out by `apps.connections.open`: tests send
  envelopes through it and it records the acknowledgements.
- `response_url`s (`/respond/NAME`) for slash commands.
- Many workspaces: `add_team` makes another workspace with its own bot token (the
  default one is TEAM with BOT_TOKEN); `oauth.v2.access` exchanges a code that
  `approve(team)` hands out (as Slack's authorize page does) for that team's token, once,
  when the app's client id and secret are right. Every call records the team its token
  is of; messages, ephemerals and views are kept per team (one channel id may be in
  several).
- What Slack sends to an app: payload builders, request signing (v0, exactly as Slack
  signs), and two deliveries (HTTP and Socket Mode) with the same interface.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import yaml
from aiohttp import web

import adapters.slack

BOT_TOKEN = "xoxb-fake-bot-token"
APP_TOKEN = "xapp-fake-app-token"
SIGNING_SECRET = "fake-signing-secret"
TEAM = "T0TEAM"
BOT_USER = "UBOT"
BOT_ID = "BBOT"
WORKSPACE_URL = "https://circle-test.slack.com/"
TEAM_NAME = "Circle Test"
BOT_NAME = "circlebot"
CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "fake-client-secret"


@dataclass
class Team:
    """A workspace and the app's bot in it."""

    id: str
    name: str
    bot_token: str
    bot_user: str
    bot_id: str
    url: str


def manifest_bot_scopes() -> list[str]:
    """The bot scopes adapters/slack/manifest.yml asks for: what the fake grants unless a
    test says otherwise (read here on its own, not through the code under test)."""
    manifest = yaml.safe_load(Path(adapters.slack.__file__).with_name("manifest.yml").read_text())
    return [str(scope) for scope in manifest["oauth_config"]["scopes"]["bot"]]


# The scope each of these methods needs; Slack names every scope that would do.
NEEDED_SCOPES = {
    "users.info": "users:read",
    "users.lookupByEmail": "users:read.email",
}
# conversations.info: Slack names every conversation type's read scope.
CONVERSATIONS_READ = "channels:read,groups:read,mpim:read,im:read"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int
    at: float  # time.monotonic() when it arrived
    team: str | None = None  # the workspace of the token it carried

    @property
    def token(self) -> str | None:
        token = self.params.get("_token")
        return str(token) if token else None


@dataclass
class Fault:
    method: str
    status: int  # 429, 500, 503 ...; 200: a slow success (with `delay`)
    times: int = 1
    retry_after: int = 1
    delay: float = 0.0  # answer this late
    apply: bool = False  # do the work first, then answer (late, or with the error)
    error: str = "internal_error"


@dataclass
class Channel:
    """A channel as conversations.info shows it."""

    id: str
    name: str
    is_member: bool = True  # the bot is in it
    is_archived: bool = False
    is_private: bool = False

    def as_slack(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": False,
            "is_member": self.is_member,
            "created": 1700000000,
            "creator": "UADMIN",
        }


@dataclass
class User:
    """A person (or a deactivated account) in the workspace."""

    id: str
    name: str
    email: str | None = None
    deleted: bool = False

    def as_slack(self, with_email: bool) -> dict[str, Any]:
        profile: dict[str, Any] = {"real_name": self.name.title(), "display_name": self.name}
        if with_email and self.email is not None:
            profile["email"] = self.email
        return {
            "id": self.id,
            "team_id": TEAM,
            "name": self.name,
            "real_name": self.name.title(),
            "deleted": self.deleted,
            "is_bot": False,
            "profile": profile,
        }


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    metadata: dict[str, Any] | None
    user: str = BOT_USER
    edits: int = 0
    team: str = TEAM

    def as_slack(self, with_metadata: bool) -> dict[str, Any]:
        found: dict[str, Any] = {
            "type": "message",
            "ts": self.ts,
            "text": self.text,
            "user": self.user,
            "bot_id": BOT_ID,
        }
        if self.blocks is not None:
            found["blocks"] = self.blocks
        if self.thread_ts:
            found["thread_ts"] = self.thread_ts
        if with_metadata and self.metadata:
            found["metadata"] = self.metadata
        return found


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _jsonish(value: Any) -> Any:
    """Form fields arrive as strings; blocks and metadata are JSON in them."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class FakeSlack:
    def __init__(self, channels: tuple[str, ...] = ("CCOUNCIL", "CGENERAL")) -> None:
        self.channels = set(channels)
        # What conversations.info shows of each channel: "CCOUNCIL" is #council.
        self.channel_info = {
            channel: Channel(channel, channel.removeprefix("C").lower()) for channel in channels
        }
        self.users: dict[str, User] = {}  # users.info and users.lookupByEmail
        self.scopes = manifest_bot_scopes()  # granted to the bot token
        self.token_error: str | None = None  # e.g. "token_revoked": the bot token refused
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.messages: dict[str, list[Message]] = {}
        self.reactions: dict[tuple[str, str], dict[str, list[str]]] = {}
        self.ephemeral: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []  # posts to response_urls
        self.published: list[dict[str, Any]] = []  # views.publish
        self.opened: list[dict[str, Any]] = []  # views.open
        self.acks: dict[str, dict[str, Any]] = {}  # Socket Mode envelope id -> ack
        self.sockets: list[web.WebSocketResponse] = []
        self.connections = 0
        self._micros = 0
        self.teams = {TEAM: Team(TEAM, TEAM_NAME, BOT_TOKEN, BOT_USER, BOT_ID, WORKSPACE_URL)}
        self.codes: dict[str, str] = {}  # OAuth code -> the team that approved the install
        self.exchanged: list[str] = []  # codes oauth.v2.access took
        self._views = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.changed = asyncio.Event()

    # -- running -----------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/socket", self._socket)
        app.router.add_post("/respond/{name}", self._respond)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def close(self) -> None:
        for socket in list(self.sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/respond/{name}"

    # -- looking inside -----------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    @staticmethod
    def _where(channel: str, team: str) -> str:
        """Where the fake keeps a channel's messages: the default team's by channel id,
        another team's apart (one channel id may be in several workspaces)."""
        return channel if team == TEAM else f"{team}/{channel}"

    def channel_messages(self, channel: str, team: str = TEAM) -> list[Message]:
        """Top-level messages in a channel (not thread replies), oldest first."""
        return [m for m in self.messages.get(self._where(channel, team), []) if not m.thread_ts]

    def thread(self, channel: str, ts: str, team: str = TEAM) -> list[Message]:
        return [m for m in self.messages.get(self._where(channel, team), []) if m.thread_ts == ts]

    def message(self, channel: str, ts: str, team: str = TEAM) -> Message | None:
        where = self._where(channel, team)
        return next((m for m in self.messages.get(where, []) if m.ts == ts), None)

    def add_team(self, team_id: str, name: str) -> Team:
        """Another workspace, with the app's bot (once installed) and its own token."""
        short = team_id.lower()
        team = self.teams[team_id] = Team(
            team_id,
            name,
            f"xoxb-{short}-{uuid.uuid4().hex[:12]}",
            f"UBOT{team_id[1:]}",
            f"BBOT{team_id[1:]}",
            f"https://{short}.slack.com/",
        )
        return team

    def approve(self, team_id: str) -> str:
        """Someone of `team_id` allowed the app on Slack's page: the code Slack sends
        their browser back to the app with."""
        code = f"code-{team_id}-{uuid.uuid4().hex[:10]}"
        self.codes[code] = team_id
        return code

    def calls_in(self, team: str, method: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.team == team and method in (None, c.method)]

    def fail(self, method: str, status: int, **how: Any) -> Fault:
        fault = Fault(method, status, **how)
        self.faults.append(fault)
        return fault

    def add_channel(
        self,
        channel: str,
        name: str,
        *,
        is_member: bool = True,
        is_archived: bool = False,
        is_private: bool = False,
    ) -> Channel:
        self.channels.add(channel)
        info = self.channel_info[channel] = Channel(
            channel, name, is_member, is_archived, is_private
        )
        return info

    def add_user(
        self, user: str, name: str, *, email: str | None = None, deleted: bool = False
    ) -> User:
        person = self.users[user] = User(user, name, email, deleted)
        return person

    def react(self, channel: str, ts: str, user: str, name: str) -> None:
        """A reaction Slack shows (without sending its event): for read-back tests."""
        self.reactions.setdefault((channel, ts), {}).setdefault(name, []).append(user)

    # -- the Web API ----------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    params.update(body)
            else:
                form = await request.post()
                params.update({k: _jsonish(v) for k, v in form.items()})
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):  # oauth.v2.access: the app's client id and secret
            client = base64.b64decode(auth.removeprefix("Basic ")).decode()
            params["_client"] = client
            auth = ""
        params["_token"] = auth.removeprefix("Bearer ").strip() or params.get("token")
        return params

    def _team_of(self, token: object) -> Team | None:
        return next((team for team in self.teams.values() if team.bot_token == token), None)

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await self._params(request)
        fault = next((f for f in self.faults if f.method == method and f.times > 0), None)
        if fault is not None:
            fault.times -= 1
            answer = self._answer(method, params) if fault.apply else None
            self._record(method, params, fault.status)
            if fault.delay:
                await asyncio.sleep(fault.delay)  # the fake server being slow
            if fault.status == 200:  # slow, but it answers
                return web.json_response(answer or self._answer(method, params))
            if fault.status == 429:
                return web.json_response(
                    {"ok": False, "error": "ratelimited"},
                    status=429,
                    headers={"Retry-After": str(fault.retry_after)},
                )
            return web.json_response({"ok": False, "error": fault.error}, status=fault.status)
        answer = self._answer(method, params)
        self._record(method, params, 200)
        return web.json_response(answer, headers=self._headers(params))

    def _headers(self, params: dict[str, Any]) -> dict[str, str]:
        """Slack tells a known token its scopes on every answer (auth.test is where
        apps look)."""
        if self._team_of(params.get("_token")) is not None and self.token_error is None:
            return {"x-oauth-scopes": ",".join(self.scopes)}
        return {}

    def _record(self, method: str, params: dict[str, Any], status: int) -> None:
        team = self._team_of(params.get("_token"))
        self.calls.append(
            Call(method, params, status, time.monotonic(), team.id if team is not None else None)
        )
        self.changed.set()

    def _ts(self) -> str:
        self._micros = max(self._micros + 1, int(time.time() * 1_000_000))
        return f"{self._micros // 1_000_000}.{self._micros % 1_000_000:06d}"

    def _answer(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        token = p.get("_token")
        if method == "apps.connections.open":
            if token != APP_TOKEN:
                return {"ok": False, "error": "invalid_auth"}
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket?ticket={uuid.uuid4()}"}
        if method == "oauth.v2.access":
            return self._oauth_access(p)
        team = self._team_of(token)
        if team is None:
            return {"ok": False, "error": "invalid_auth"}
        if self.token_error is not None:
            return {"ok": False, "error": self.token_error}
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        needed = NEEDED_SCOPES.get(method)
        if needed is not None and needed not in self.scopes:
            return self._missing_scope(needed)
        result: dict[str, Any] = handler({**p, "_team": team.id})
        return result

    def _oauth_access(self, p: dict[str, Any]) -> dict[str, Any]:
        client = str(p.get("_client") or f"{p.get('client_id')}:{p.get('client_secret')}")
        if client != f"{CLIENT_ID}:{CLIENT_SECRET}":
            return {"ok": False, "error": "invalid_client_id"}
        team_id = self.codes.pop(str(p.get("code", "")), None)  # a code works once
        if team_id is None:
            return {"ok": False, "error": "invalid_code"}
        self.exchanged.append(str(p.get("code")))
        team = self.teams[team_id]
        return {
            "ok": True,
            "app_id": "A0APP",
            "authed_user": {"id": "UINSTALLER"},
            "scope": ",".join(self.scopes),
            "token_type": "bot",
            "access_token": team.bot_token,
            "bot_user_id": team.bot_user,
            "team": {"id": team.id, "name": team.name},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def _missing_scope(self, needed: str) -> dict[str, Any]:
        return {
            "ok": False,
            "error": "missing_scope",
            "needed": needed,
            "provided": ",".join(self.scopes),
        }

    def _m_auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        team = self.teams[p["_team"]]
        return {
            "ok": True,
            "url": team.url,
            "team": team.name,
            "user": BOT_NAME,
            "team_id": team.id,
            "user_id": team.bot_user,
            "bot_id": team.bot_id,
        }

    def _channel(self, p: dict[str, Any]) -> str | None:
        channel = str(p.get("channel", ""))
        if channel in self.channels or channel.startswith("D"):
            return channel
        return None

    def _m_chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        team = self.teams[p["_team"]]
        thread = p.get("thread_ts") or None
        if thread and self.message(channel, str(thread), team.id) is None:
            return {"ok": False, "error": "thread_not_found"}
        message = Message(
            channel,
            self._ts(),
            str(p.get("text", "")),
            p.get("blocks"),
            thread,
            p.get("metadata"),
            user=team.bot_user,
            team=team.id,
        )
        self.messages.setdefault(self._where(channel, team.id), []).append(message)
        return {
            "ok": True,
            "channel": channel,
            "ts": message.ts,
            "message": message.as_slack(False),
        }

    def _m_chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        message = self.message(channel, str(p.get("ts")), p["_team"]) if channel else None
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.text = str(p.get("text", ""))
        message.blocks = p.get("blocks")
        message.edits += 1
        return {"ok": True, "channel": channel, "ts": message.ts}

    def _m_chat_postEphemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        self.ephemeral.append(
            {
                "channel": channel,
                "user": p.get("user"),
                "text": p.get("text"),
                "blocks": p.get("blocks"),
                "team": p["_team"],
            }
        )
        return {"ok": True, "message_ts": self._ts()}

    def _m_conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        users = str(p.get("users", ""))
        if not users.startswith("U") or "," in users:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "channel": {"id": "D" + users[1:]}}

    def _m_conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(p.get("oldest") or 0)
        found = [m for m in self.channel_messages(channel, p["_team"]) if float(m.ts) > oldest]
        with_metadata = _truthy(p.get("include_all_metadata"))
        return {"ok": True, "messages": [m.as_slack(with_metadata) for m in reversed(found)]}

    def _m_conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        team = p["_team"]
        parent = self.message(channel, str(p.get("ts")), team) if channel else None
        if channel is None or parent is None:
            return {"ok": False, "error": "thread_not_found"}
        oldest = float(p.get("oldest") or 0)
        with_metadata = _truthy(p.get("include_all_metadata"))
        replies = [m for m in self.thread(channel, parent.ts, team) if float(m.ts) > oldest]
        return {"ok": True, "messages": [m.as_slack(with_metadata) for m in [parent, *replies]]}

    def _m_reactions_get(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        message = self.message(channel, str(p.get("timestamp")), p["_team"]) if channel else None
        if channel is None or message is None:
            return {"ok": False, "error": "message_not_found"}
        shown = self.reactions.get((channel, message.ts), {})
        reactions = [
            {"name": name, "users": list(users), "count": len(users)}
            for name, users in shown.items()
            if users
        ]
        return {
            "ok": True,
            "type": "message",
            "channel": channel,
            "message": {**message.as_slack(False), "reactions": reactions},
        }

    def _m_conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        info = self.channel_info.get(str(p.get("channel", "")))
        # A private channel the bot is not in is invisible to it, as on Slack.
        if info is None or (info.is_private and not info.is_member):
            return {"ok": False, "error": "channel_not_found"}
        if ("groups:read" if info.is_private else "channels:read") not in self.scopes:
            return self._missing_scope(CONVERSATIONS_READ)  # any of them would do
        return {"ok": True, "channel": info.as_slack()}

    def _m_users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(p.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user.as_slack("users:read.email" in self.scopes)}

    def _m_users_lookupByEmail(self, p: dict[str, Any]) -> dict[str, Any]:
        email = str(p.get("email", "")).casefold()
        user = next((u for u in self.users.values() if (u.email or "").casefold() == email), None)
        if user is None:
            return {"ok": False, "error": "users_not_found"}
        return {"ok": True, "user": user.as_slack(True)}

    def _m_views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        self.opened.append(p)
        return {"ok": True, "view": {"id": f"V{next(self._views):06d}"}}

    def _m_views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        self.published.append(p)
        return {"ok": True, "view": {"id": f"V{next(self._views):06d}"}}

    async def _respond(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.responses.append({"name": request.match_info["name"], **body})
        self.changed.set()
        return web.Response(text="ok")

    # -- Socket Mode ------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self.sockets.append(socket)
        self.connections += 1
        await socket.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0APP"}}
        )
        try:
            async for frame in socket:
                if frame.type == aiohttp.WSMsgType.TEXT:
                    data = json.loads(frame.data)
                    if "envelope_id" in data:
                        self.acks[str(data["envelope_id"])] = data
                        self.changed.set()
        finally:
            if socket in self.sockets:
                self.sockets.remove(socket)
        return socket

    async def send_envelope(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        envelope_id: str | None = None,
        retry_attempt: int = 0,
    ) -> str:
        envelope_id = envelope_id or str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        self.acks.pop(envelope_id, None)
        await self.sockets[-1].send_json(envelope)
        return envelope_id


# --------------------------------------------------------------------------- waiting


async def eventually(
    predicate: Callable[[], Any], timeout: float = 10.0, what: str = "the condition"
) -> Any:
    """Wait until `predicate()` (sync or async) is truthy; its value. Fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}")
        await asyncio.sleep(0.005)


# --------------------------------------------------------------------------- what Slack sends


def sign(secret: str, timestamp: str, body: str) -> str:
    """Slack's v0 request signature."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


_event_ids = itertools.count(1)


def new_event_id() -> str:
    return f"Ev{next(_event_ids):08d}{uuid.uuid4().hex[:6].upper()}"


def slack_now(offset: float = 0.0) -> str:
    return f"{time.time() + offset:.6f}"


def event_envelope(
    event: dict[str, Any], event_id: str | None = None, team: str = TEAM
) -> dict[str, Any]:
    bot_user = BOT_USER if team == TEAM else f"UBOT{team[1:]}"
    return {
        "token": "legacy-verification-token",
        "team_id": team,
        "api_app_id": "A0APP",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": team, "user_id": bot_user, "is_bot": True, "is_enterprise_install": False}
        ],
    }


def reaction_event(
    user: str,
    name: str,
    ts: str,
    channel: str = "CCOUNCIL",
    added: bool = True,
    event_ts: str | None = None,
    user_team: str | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "reaction_added" if added else "reaction_removed",
        "user": user,
        "reaction": name,
        "item_user": BOT_USER,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": event_ts or slack_now(),
    }
    if user_team is not None:
        event["user_team"] = user_team
    return event


def command_payload(
    command: str,
    text: str,
    user: str,
    channel: str = "CCOUNCIL",
    response_url: str = "",
    team: str = TEAM,
) -> dict[str, str]:
    return {
        "token": "legacy-verification-token",
        "team_id": team,
        "team_domain": "circle-test",
        "channel_id": channel,
        "channel_name": "council",
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A0APP",
        "response_url": response_url,
        "trigger_id": f"{uuid.uuid4().int % 10**13}.{uuid.uuid4().hex[:16]}",
    }


def block_action(
    user: str, action_id: str, value: str, ts: str, channel: str = "CCOUNCIL", team: str = TEAM
) -> dict[str, Any]:
    action_ts = slack_now()
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": team},
        "api_app_id": "A0APP",
        "token": "legacy-verification-token",
        "container": {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": f"{uuid.uuid4().int % 10**13}.{uuid.uuid4().hex[:16]}",
        "team": {"id": team, "domain": "circle-test"},
        "channel": {"id": channel, "name": "council"},
        "message": {"type": "message", "ts": ts, "user": BOT_USER},
        "response_url": "",
        "actions": [
            {
                "action_id": action_id,
                "block_id": "stances",
                "value": value,
                "type": "button",
                "action_ts": action_ts,
            }
        ],
    }


def home_action(user: str, action_id: str, value: str, team: str = TEAM) -> dict[str, Any]:
    """A button pressed on the App Home tab: no channel, no message; the view instead."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": team},
        "api_app_id": "A0APP",
        "token": "legacy-verification-token",
        "container": {"type": "view", "view_id": "V0HOME"},
        "trigger_id": f"{uuid.uuid4().int % 10**13}.{uuid.uuid4().hex[:16]}",
        "team": {"id": team, "domain": "circle-test"},
        "view": {"id": "V0HOME", "type": "home", "blocks": []},
        "actions": [
            {
                "action_id": action_id,
                "block_id": "home_stances:1",
                "value": value,
                "type": "button",
                "action_ts": slack_now(),
            }
        ],
    }


def view_submission(
    user: str, channel: str, values: dict[str, str], view_id: str = "V0FORM"
) -> dict[str, Any]:
    state = {
        block: {"value": {"type": "plain_text_input", "value": value or None}}
        for block, value in values.items()
    }
    return {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "circle-test"},
        "user": {"id": user, "username": user.lower(), "team_id": TEAM},
        "api_app_id": "A0APP",
        "token": "legacy-verification-token",
        "trigger_id": f"{uuid.uuid4().int % 10**13}.{uuid.uuid4().hex[:16]}",
        "view": {
            "id": view_id,
            "team_id": TEAM,
            "type": "modal",
            "callback_id": "circlebot_propose",
            "private_metadata": channel,
            "state": {"values": state},
            "hash": uuid.uuid4().hex,
        },
    }


def home_opened(user: str) -> dict[str, Any]:
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": "D" + user[1:],
        "tab": "home",
        "event_ts": slack_now(),
    }


# --------------------------------------------------------------------------- deliveries


@dataclass
class Answer:
    status: int
    body: Any  # parsed JSON, or text


class Delivery(Protocol):
    async def event(
        self, envelope: dict[str, Any], retry: int = 0, envelope_id: str | None = None
    ) -> Answer: ...

    async def command(self, payload: dict[str, str]) -> Answer: ...

    async def interactive(self, payload: dict[str, Any]) -> Answer: ...


@dataclass
class HttpDelivery:
    """Sends what Slack sends over HTTP, signed with the signing secret."""

    url: str
    secret: str = SIGNING_SECRET
    session: aiohttp.ClientSession = field(default_factory=aiohttp.ClientSession)
    clock_offset: float = 0.0  # seconds added to the signed timestamp (stale requests)

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        retry: int = 0,
        signature: str | None = None,
        timestamp: str | None = None,
        signed: bool = True,
    ) -> Answer:
        stamp = timestamp or str(int(time.time() + self.clock_offset))
        headers = {"Content-Type": content_type}
        if signed:
            headers["X-Slack-Request-Timestamp"] = stamp
            headers["X-Slack-Signature"] = signature or sign(self.secret, stamp, body)
        if retry:
            headers["X-Slack-Retry-Num"] = str(retry)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        async with self.session.post(self.url, data=body.encode(), headers=headers) as response:
            text = await response.text()
            try:
                parsed: Any = json.loads(text) if text else None
            except ValueError:
                parsed = text
            return Answer(response.status, parsed)

    async def event(
        self, envelope: dict[str, Any], retry: int = 0, envelope_id: str | None = None
    ) -> Answer:
        return await self.post(json.dumps(envelope), "application/json", retry=retry)

    async def command(self, payload: dict[str, str]) -> Answer:
        body = urllib.parse.urlencode(payload)
        return await self.post(body, "application/x-www-form-urlencoded")

    async def interactive(self, payload: dict[str, Any]) -> Answer:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded")

    async def close(self) -> None:
        await self.session.close()


@dataclass
class SocketDelivery:
    """Sends envelopes through the fake's websocket and waits for the app's ack."""

    fake: FakeSlack

    async def _send(
        self, kind: str, payload: dict[str, Any], retry: int = 0, envelope_id: str | None = None
    ) -> Answer:
        sent = await self.fake.send_envelope(
            kind, payload, envelope_id=envelope_id, retry_attempt=retry
        )
        ack = await eventually(lambda: self.fake.acks.get(sent), 5.0, f"the ack of {sent}")
        return Answer(200, ack.get("payload"))

    async def event(
        self, envelope: dict[str, Any], retry: int = 0, envelope_id: str | None = None
    ) -> Answer:
        return await self._send("events_api", envelope, retry, envelope_id)

    async def command(self, payload: dict[str, str]) -> Answer:
        return await self._send("slash_commands", dict(payload))

    async def interactive(self, payload: dict[str, Any]) -> Answer:
        return await self._send("interactive", payload)

    async def close(self) -> None:
        return None
