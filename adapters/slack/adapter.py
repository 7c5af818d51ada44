"""The Slack adapter (bot.ports.Adapter): Bolt for Python (AsyncApp) over Socket Mode or
HTTP. It connects (auth.test, then the Socket Mode connection or our HTTP server) and
composes the parts:

- listeners.py: what comes in, stored before it is acknowledged;
- outbound.py: cards, posts, reminders, ephemeral replies, the Home tab, read-back;
- events_http.py: HTTP mode's server, which checks Slack's signature first;
- webapi.py: the Web API client, its retries and exactly-once posting."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError

from adapters.slack.doctor import diagnose
from adapters.slack.events_http import EventsServer
from adapters.slack.home_watch import HomeWatch
from adapters.slack.listeners import Listeners
from adapters.slack.outbound import Outbound
from adapters.slack.people import find_by_email
from adapters.slack.webapi import SlackWeb, slack_error
from adapters.slack.workspace import ResponseUrls, Workspace
from bot.api_calls import ApiCalls
from bot.circle import CircleSpec
from bot.config import SlackConfig
from bot.diagnosis import Check
from bot.errors import AppError
from bot.messages import ProposalCard, Reply
from bot.ports import CoreServices, EventSink, Message

log = logging.getLogger(__name__)

PLATFORM = "slack"
# Seconds stop() lets acknowledged events finish; what is cut off stays in the inbox
# and is applied on the next start.
DRAIN_TIMEOUT = 10.0
SOCKET_CONNECT_TIMEOUT = 60.0


class SlackAdapter:
    platform = PLATFORM
    # Slack allows about one chat.update per message every few seconds; the dispatcher
    # coalesces a card's edits to one per interval and the final state always lands.
    edit_interval = 3.0

    def __init__(
        self,
        config: SlackConfig,
        circles: Sequence[CircleSpec],
        *,
        bot_token: str,
        app_token: str | None = None,
        signing_secret: str | None = None,
        timeout: float = 15.0,
        backoff: float = 0.5,
    ) -> None:
        self.config = config
        self.mode = config.mode
        self.circles = list(circles)
        self._bot_token = bot_token
        self._app_token = app_token
        self._signing_secret = signing_secret
        self.timeout = timeout  # seconds per Web API request
        self.backoff = backoff  # first retry delay after a 5xx (doubles)
        self.channels = {c.slack_channel for c in self.circles if c.slack_channel}
        self.workspace: Workspace | None = None  # learnt from auth.test at start
        self.web: SlackWeb | None = None
        self.app: AsyncApp | None = None
        self.home_watch = HomeWatch(self.publish_home)  # open Home tabs kept current
        self.response_urls = ResponseUrls()
        self._outbound: Outbound | None = None
        self._listeners: Listeners | None = None
        self._server: EventsServer | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._stopped = asyncio.Event()
        self._api_calls = ApiCalls()  # every Web API call, for /metrics

    # -- counters, for logs, tests and benchmarks --------------------------------------

    @property
    def busy(self) -> int:
        """Acknowledged events (and other work) not finished yet."""
        return self._listeners.busy if self._listeners is not None else 0

    @property
    def inbound(self) -> int:
        """Events handed to the core."""
        return self._listeners.inbound if self._listeners is not None else 0

    @property
    def edits(self) -> int:
        """chat.update calls that went out."""
        return self._outbound.edits if self._outbound is not None else 0

    @property
    def port(self) -> int | None:
        """HTTP mode: the port really listened on."""
        return self._server.port if self._server is not None else None

    # -- lifecycle -------------------------------------------------------------------

    async def start(self, sink: EventSink, services: CoreServices) -> None:
        self._stopped.clear()
        web = self.web = SlackWeb(
            self._bot_token,
            self.config.api_url,
            timeout=self.timeout,
            backoff=self.backoff,
            calls=self._api_calls,
        )
        try:
            workspace = self.workspace = await self._whoami(web)
            # Before any event can come in: a member given by address is known by id.
            await self._find_members_by_email(web, services)
            self._outbound = Outbound(
                web,
                workspace,
                services,
                self.home_watch,
                self.response_urls,
                lambda: self.edit_interval,  # tests and benchmarks change it after start
            )
            self._listeners = Listeners(
                workspace,
                self.channels,
                sink,
                services,
                web,
                self._outbound,
                self.home_watch,
                self.response_urls,
                self.circles,
            )
            self.app = self._build_app(web, workspace, self._listeners)
            if self.mode == "http":
                self._server = EventsServer(
                    self.app, self._signing_secret or "", services.operator_page
                )
                await self._server.start(self.config.host, self.config.port)
            else:
                await self._connect_socket(web, self.app)
        except BaseException:
            await self._close_transport()
            await web.close()
            raise

    async def _whoami(self, web: SlackWeb) -> Workspace:
        try:
            auth = await web.client.auth_test()
        except SlackApiError as exc:
            raise AppError(
                f"Slack refused SLACK_BOT_TOKEN ({slack_error(exc) or exc}); check the bot token "
                "of your Slack app (OAuth & Permissions)"
            ) from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise AppError(
                f"slack.api_url: cannot reach the Slack Web API at {self.config.api_url} "
                f"({type(exc).__name__}: {exc})"
            ) from exc
        workspace = Workspace(
            team_id=auth.get("team_id"),
            bot_user_id=auth.get("user_id"),
            bot_id=auth.get("bot_id"),
            url=auth.get("url"),
        )
        log.info("slack: connected as %s in team %s", workspace.bot_user_id, workspace.team_id)
        return workspace

    async def _find_members_by_email(self, web: SlackWeb, services: CoreServices) -> None:
        """Members the config gives by e-mail address, not looked up before: each found
        once (users.lookupByEmail) and kept by the core. One that cannot be found is
        said, and the bot starts for everyone else."""
        for address in await services.unresolved_emails(PLATFORM):
            who = ", ".join(
                f"{member.name} in circle {spec.name}"
                for spec in self.circles
                for member in spec.members
                if member.slack_email and member.slack_email.casefold() == address.casefold()
            )
            found = await find_by_email(web.client, address)
            if found.user_id is None:
                log.warning(
                    "slack: cannot find %s (%s) in the workspace: %s; they cannot answer from "
                    "Slack until the address is one they sign in with, or their Slack id is "
                    "in the config (`circlebot doctor` checks it)",
                    address,
                    who,
                    found.error,
                )
                continue
            log.info("slack: %s (%s) is %s", address, who, found.user_id)
            for warning in await services.email_resolved(PLATFORM, address, found.user_id):
                log.warning("slack: %s", warning)

    def _build_app(self, web: SlackWeb, workspace: Workspace, listeners: Listeners) -> AsyncApp:
        app = AsyncApp(
            name="circlebot",
            client=web.app_client,
            signing_secret=self._signing_secret or "",
            authorize=self._authorizer(workspace),
            # The answer goes out when the listener returns: listeners store the event
            # (milliseconds, many requests per transaction) and leave the work to a task,
            # so Slack hears back well within its 3 s, and only about stored events.
            process_before_response=True,
            # Over HTTP, EventsServer checks the signature before the body is parsed (and
            # without logging the body of a forged request, which Bolt does at INFO).
            request_verification_enabled=False,
            logger=logging.getLogger("circlebot.slack.bolt"),
        )
        listeners.register(app)
        return app

    def _authorizer(self, workspace: Workspace) -> Callable[..., Awaitable[AuthorizeResult]]:
        # A single workspace: auth.test already told us who we are, so Bolt needs no call
        # of its own; requests from other workspaces are turned away by the listeners.
        # (A plain function: Bolt passes arguments by their names, `self` is not one.)
        async def authorize(enterprise_id: str | None, user_id: str | None) -> AuthorizeResult:
            return AuthorizeResult(
                enterprise_id=enterprise_id,
                team_id=workspace.team_id,
                bot_user_id=workspace.bot_user_id,
                bot_id=workspace.bot_id,
                bot_token=self._bot_token,
                user_id=user_id,
            )

        return authorize

    async def _connect_socket(self, web: SlackWeb, app: AsyncApp) -> None:
        assert self._app_token is not None
        web_client = web.app_client
        # The SDK retries a failed connection forever; ask for the first URL ourselves so
        # a wrong app token is a clear error at start instead of a silent loop.
        try:
            opened = await web_client.apps_connections_open(app_token=self._app_token)
        except SlackApiError as exc:
            raise AppError(
                f"Slack refused SLACK_APP_TOKEN ({slack_error(exc) or exc}); Socket Mode needs "
                "an app-level token (xapp-…) with the connections:write scope"
            ) from exc
        self._socket = AsyncSocketModeHandler(app, app_token=self._app_token, web_client=web_client)
        self._socket.client.wss_uri = str(opened["url"])
        try:
            await asyncio.wait_for(
                # slack_bolt leaves this method unannotated
                self._socket.connect_async(),  # type: ignore[no-untyped-call]
                SOCKET_CONNECT_TIMEOUT,
            )
        except TimeoutError as exc:
            raise AppError(
                f"could not open the Socket Mode connection within {SOCKET_CONNECT_TIMEOUT:.0f} s"
            ) from exc
        log.info("slack: connected over Socket Mode")

    def readiness(self) -> str | None:
        if self._server is not None:
            return None  # HTTP mode: Slack comes to us
        if self._socket is None:
            return "not connected to Slack"
        session = self._socket.client.current_session
        if session is None or session.closed:
            return "the Socket Mode connection is down (reconnecting)"
        return None

    def api_calls(self) -> ApiCalls:
        return self._api_calls

    async def set_leading(self, leading: bool) -> None:
        return None  # every replica may take Slack's requests and events

    async def diagnose(self, services: CoreServices) -> list[Check]:
        return await diagnose(self.config, self.circles, self._bot_token, timeout=self.timeout)

    async def run(self) -> None:
        await self._stopped.wait()

    async def stop(self) -> None:
        self._stopped.set()
        await self.home_watch.close()
        await self._close_transport()
        # Events already acknowledged are handled before the runtime shuts the core down
        # (those cut off by the timeout are still stored: the next start applies them).
        if self._listeners is not None:
            await self._listeners.drain(DRAIN_TIMEOUT)
        if self.web is not None:
            await self.web.close()

    async def _close_transport(self) -> None:
        if self._server is not None:
            await self._server.close()
        if self._socket is not None:
            socket, self._socket = self._socket, None
            await socket.close_async()  # type: ignore[no-untyped-call]  # unannotated in slack_bolt

    # -- the Adapter protocol: output --------------------------------------------------

    def _out(self) -> Outbound:
        if self._outbound is None:
            raise RuntimeError("the Slack adapter is not started")
        return self._outbound

    async def publish_home(self, user: str) -> None:
        await self._out().publish_home(user)

    async def post_card(
        self, channel: str, card: ProposalCard, key: str, since: datetime | None = None
    ) -> str:
        return await self._out().post_card(channel, card, key, since)

    async def update_card(
        self, channel: str, message_ref: str, card: ProposalCard, key: str, version: int
    ) -> None:
        await self._out().update_card(channel, message_ref, card, version)

    async def post(
        self,
        channel: str,
        message: Message,
        thread_ref: str | None,
        key: str,
        since: datetime | None = None,
    ) -> str | None:
        return await self._out().post(channel, message, thread_ref, key, since)

    async def reply_private(self, channel: str, user: str, reply: Reply) -> None:
        await self._out().reply_private(channel, user, reply)

    async def read_reactions(
        self, channel: str, message_ref: str
    ) -> list[tuple[str, str, datetime | None]] | None:
        return await self._out().read_reactions(channel, message_ref)
