"""The Slack adapter (bot.ports.platform.Adapter): Bolt for Python (AsyncApp) over Socket Mode or
HTTP. It connects (auth.test, then the Socket Mode connection or our HTTP server) and
composes the parts:

- listeners.py: what comes in, stored before it is acknowledged;
- outbound.py: cards, posts, reminders, ephemeral replies, the Home tab, read-back;
- events_http.py: HTTP mode's server, which checks Slack's signature first;
- webapi.py: the Web API client, its retries and exactly-once posting;
- teams.py: the workspaces served, each with its token and its own sending;
- oauth.py: with [slack] client_id, installing the app in many workspaces (Bolt's OAuth
  flow on /slack/install and the redirect path, served in either mode), the
  installations kept in the bot's database (bot.ports.installations)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import cast

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError

from adapters.slack.config import SlackConfig, channel_of, email_of, team_of
from adapters.slack.doctor import diagnose
from adapters.slack.events_http import BODY_TIMEOUT, EventsServer
from adapters.slack.home_watch import HomeWatch
from adapters.slack.listeners import Listeners
from adapters.slack.oauth import not_installed_reply, oauth_settings
from adapters.slack.outbound import Outbound
from adapters.slack.people import find_by_email
from adapters.slack.teams import Team, TeamAuthorize, Teams, fixed_authorize
from adapters.slack.webapi import SlackWeb, redact_sdk_logs, slack_error
from adapters.slack.workspace import ResponseUrls, Workspace
from bot.domain.api_calls import ApiCalls
from bot.domain.circle import CircleSpec
from bot.domain.diagnosis import Check
from bot.domain.errors import AppError
from bot.ports.installations import Installations, unopened_fix, workspace_name
from bot.ports.platform import CoreServices, EventSink, Message, Sender
from bot.text.messages import ProposalCard, Reply

log = logging.getLogger(__name__)

PLATFORM = "slack"
Authorizer = Callable[..., Awaitable[AuthorizeResult]]
# Seconds stop() lets acknowledged events finish; what is cut off stays in the inbox
# and is applied on the next start.
DRAIN_TIMEOUT = 10.0
SOCKET_CONNECT_TIMEOUT = 60.0


class SlackAdapter:
    platform = PLATFORM
    # Ephemeral messages: the runtime may answer a reaction to its author alone.
    private_replies = True
    redelivers = False  # an event acknowledged is never sent again: the inbox keeps it
    # Slack allows about one chat.update per message every few seconds; the dispatcher
    # coalesces a card's edits to one per interval and the final state always lands.
    edit_interval = 3.0

    def __init__(
        self,
        config: SlackConfig,
        circles: Sequence[CircleSpec],
        *,
        bot_token: str | None = None,
        app_token: str | None = None,
        signing_secret: str | None = None,
        client_secret: str | None = None,
        timeout: float = 15.0,
        backoff: float = 0.5,
    ) -> None:
        self.config = config
        self.mode = config.mode
        self.circles = list(circles)
        self._bot_token = bot_token  # one workspace
        self._client_secret = client_secret  # many workspaces ([slack] client_id)
        self._app_token = app_token
        self._signing_secret = signing_secret
        self.timeout = timeout  # seconds per Web API request
        self.backoff = backoff  # first retry delay after a 5xx (doubles)
        self.body_timeout = BODY_TIMEOUT  # HTTP mode: seconds a request's body may take
        self.channels = {channel for c in self.circles if (channel := channel_of(c))}
        self.web: SlackWeb | None = None  # Bolt's client (and, with one workspace, ours)
        self.app: AsyncApp | None = None
        self.teams: Teams | None = None
        self.installations: Installations | None = None  # given by the wiring
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
        return sum(team.outbound.edits for team in self.teams.known()) if self.teams else 0

    @property
    def workspace(self) -> Workspace | None:
        """One workspace: who the bot is there (from auth.test at start)."""
        only = self.teams.only if self.teams is not None else None
        return only.workspace if only is not None else None

    @property
    def home_watch(self) -> HomeWatch:
        """One workspace: the open Home tabs kept current."""
        return self._only().home_watch

    def _only(self) -> Team:
        only = self.teams.only if self.teams is not None else None
        if only is None:
            raise RuntimeError("the Slack adapter serves one workspace once started")
        return only

    # -- many workspaces ---------------------------------------------------------------

    @property
    def needs_installations(self) -> bool:
        return self.config.workspaces

    def keep_installations_in(self, installations: Installations) -> None:
        self.installations = installations

    def in_workspace(self, workspace: str) -> Sender:
        """What goes out for a circle of `workspace`, with that workspace's token."""
        if not self.config.workspaces:
            return self  # one workspace: there is no other
        return TeamSender(self, workspace)

    async def team(self, workspace: str | None) -> Team:
        """The Team that sends for `workspace`; AppError when the app is not installed
        there (the delivery is tried again later: install it, it goes out)."""
        if self.teams is None:
            raise RuntimeError("the Slack adapter is not started")
        team = await self.teams.get(workspace)
        if team is None:
            where = self.config.install_url or "GET /slack/install on the bot's public address"
            raise AppError(
                f"slack: the app is not installed in workspace {workspace}; install it there "
                f"({where})"
            )
        return team

    async def _sending_team(self, channel: str) -> Team:
        """Who sends in `channel` when the caller did not say the workspace: the only
        one, or the workspace of the one circle with that channel."""
        if self.teams is not None and self.teams.only is not None:
            return self.teams.only
        teams = {team_of(c) for c in self.circles if channel_of(c) == channel}
        if len(teams) != 1:
            raise AppError(f"slack: cannot tell which workspace channel {channel} is in")
        return await self.team(teams.pop())

    @property
    def port(self) -> int | None:
        """HTTP mode: the port really listened on."""
        return self._server.port if self._server is not None else None

    # -- lifecycle -------------------------------------------------------------------

    def _make_web(self, token: str | None) -> SlackWeb:
        return SlackWeb(
            token,
            self.config.api_url,
            timeout=self.timeout,
            backoff=self.backoff,
            calls=self._api_calls,
        )

    def _team_maker(self, services: CoreServices) -> Callable[[SlackWeb, Workspace], Team]:
        def make(web: SlackWeb, workspace: Workspace) -> Team:
            scope = workspace.team_id if self.config.workspaces else None
            urls = ResponseUrls()
            outbound: Outbound

            async def publish(user: str) -> None:
                await outbound.publish_home(user)

            watch = HomeWatch(publish)  # open Home tabs kept current
            outbound = Outbound(
                web,
                workspace,
                services,
                watch,
                urls,
                lambda: self.edit_interval,  # tests and benchmarks change it after start
                scope,
            )
            return Team(workspace, web, outbound, watch, urls, scope)

        return make

    async def start(self, sink: EventSink, services: CoreServices) -> None:
        self._stopped.clear()
        redact_sdk_logs()  # the SDK's debug lines may hold a workspace's new token
        web = self.web = self._make_web(self._bot_token)
        make_team = self._team_maker(services)
        teams = self.teams = Teams(make_team, self._make_web, self.installations)
        try:
            if self.config.workspaces:
                if self.installations is None:
                    raise AppError("slack: no place to keep the installations was given")
                await self._find_members_in_workspaces(teams, services)
            else:
                teams.only = make_team(web, await self._whoami(web))
                # Before any event can come in: a member given by address is known by id.
                await self._find_members_by_email(web, services, self.circles)
            self._listeners = Listeners(teams, self.channels, sink, services, self.circles)
            self.app = self._build_app(web, teams, self._listeners)
            if self.mode == "http":
                self._server = EventsServer(
                    self.app,
                    self._signing_secret or "",
                    services.operator_page,
                    body_timeout=self.body_timeout,
                )
                await self._server.start(self.config.host, self.config.port)
            else:
                if self.config.workspaces:  # installs come back over HTTP
                    self._server = EventsServer(self.app, "", services.operator_page, events=False)
                    await self._server.start(self.config.host, self.config.port)
                await self._connect_socket(web, self.app)
        except BaseException:
            await self._close_transport()
            await teams.close()
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

    async def _find_members_in_workspaces(self, teams: Teams, services: CoreServices) -> None:
        """Many workspaces: members given by e-mail address, looked up in the workspace
        of their circle, for each workspace the app is installed in."""
        assert self.installations is not None
        installed = await self.installations.all()
        log.info("slack: installed in %d workspace(s)", len(installed.opened))
        for locked in installed.locked:  # said once here, then answered as not installed
            teams.locked.add(locked.team_id or "")
            log.warning("slack: %s", unopened_fix(workspace_name(locked)))
        for installation in installed.opened:
            circles = [c for c in self.circles if team_of(c) == installation.team_id]
            if not any(email_of(m) for c in circles for m in c.members):
                continue
            team = await teams.get(installation.team_id)
            if team is not None:
                await self._find_members_by_email(team.web, services, circles)

    async def _find_members_by_email(
        self, web: SlackWeb, services: CoreServices, circles: Sequence[CircleSpec]
    ) -> None:
        """Members the config gives by e-mail address, not looked up before: each found
        once (users.lookupByEmail) and kept by the core. One that cannot be found is
        said, and the bot starts for everyone else."""
        for address in await services.unresolved_emails(PLATFORM):
            who = ", ".join(
                f"{member.name} in circle {spec.name}"
                for spec in circles
                for member in spec.members
                if (email_of(member) or "").casefold() == address.casefold()
            )
            if not who:
                continue  # a member of another workspace's circle
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

    def _build_app(self, web: SlackWeb, teams: Teams, listeners: Listeners) -> AsyncApp:
        oauth = None
        if self.config.workspaces:
            assert self.installations is not None and self._client_secret is not None
            oauth = oauth_settings(self.config, self._client_secret, self.installations, teams)
        app = AsyncApp(
            name="circlebot",
            client=web.app_client,
            signing_secret=self._signing_secret or "",
            # Many workspaces: an AsyncAuthorize (Bolt takes one beside oauth_settings).
            authorize=cast(Authorizer, TeamAuthorize(teams))
            if oauth is not None
            else fixed_authorize(teams),
            oauth_settings=oauth,
            user_facing_authorize_error_message=not_installed_reply(),
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
        if oauth is not None:  # an uninstalled app's installation goes
            app.enable_token_revocation_listeners()
        return app

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
        if self.mode == "http" and self._server is not None:
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
        return await diagnose(
            self.config,
            self.circles,
            self._bot_token,
            timeout=self.timeout,
            installations=self.installations,
        )

    async def run(self) -> None:
        await self._stopped.wait()

    async def stop(self) -> None:
        self._stopped.set()
        if self.teams is not None:
            for team in self.teams.known():
                await team.home_watch.close()
        await self._close_transport()
        # Events already acknowledged are handled before the runtime shuts the core down
        # (those cut off by the timeout are still stored: the next start applies them).
        if self._listeners is not None:
            await self._listeners.drain(DRAIN_TIMEOUT)
        if self.teams is not None:
            await self.teams.close()
        if self.web is not None:
            await self.web.close()

    async def _close_transport(self) -> None:
        if self._server is not None:
            await self._server.close()
        if self._socket is not None:
            socket, self._socket = self._socket, None
            await socket.close_async()  # type: ignore[no-untyped-call]  # unannotated in slack_bolt

    # -- the Adapter protocol: output (many workspaces: see in_workspace) -------------

    async def publish_home(self, user: str) -> None:
        await self._only().outbound.publish_home(user)

    async def post_card(
        self, channel: str, card: ProposalCard, key: str, since: datetime | None = None
    ) -> str:
        return await (await self._sending_team(channel)).outbound.post_card(
            channel, card, key, since
        )

    async def update_card(
        self, channel: str, message_ref: str, card: ProposalCard, key: str, version: int
    ) -> None:
        team = await self._sending_team(channel)
        await team.outbound.update_card(channel, message_ref, card, version)

    async def post(
        self,
        channel: str,
        message: Message,
        thread_ref: str | None,
        key: str,
        since: datetime | None = None,
    ) -> str | None:
        team = await self._sending_team(channel)
        return await team.outbound.post(channel, message, thread_ref, key, since)

    async def reply_private(self, channel: str, user: str, reply: Reply) -> None:
        try:
            team = await self._sending_team(channel)
        except AppError as exc:  # a reply never raises
            log.warning("%s", exc)
            return
        await team.outbound.reply_private(channel, user, reply)

    async def read_reactions(
        self, channel: str, message_ref: str
    ) -> list[tuple[str, str, datetime | None]] | None:
        team = await self._sending_team(channel)
        return await team.outbound.read_reactions(channel, message_ref)


class TeamSender:
    """The Slack adapter's sending in one workspace (bot.ports.platform.Sender)."""

    def __init__(self, adapter: SlackAdapter, workspace: str) -> None:
        self.adapter = adapter
        self.workspace = workspace

    async def _outbound(self) -> Outbound:
        return (await self.adapter.team(self.workspace)).outbound

    async def post_card(
        self, channel: str, card: ProposalCard, key: str, since: datetime | None = None
    ) -> str:
        return await (await self._outbound()).post_card(channel, card, key, since)

    async def update_card(
        self, channel: str, message_ref: str, card: ProposalCard, key: str, version: int
    ) -> None:
        await (await self._outbound()).update_card(channel, message_ref, card, version)

    async def post(
        self,
        channel: str,
        message: Message,
        thread_ref: str | None,
        key: str,
        since: datetime | None = None,
    ) -> str | None:
        return await (await self._outbound()).post(channel, message, thread_ref, key, since)

    async def reply_private(self, channel: str, user: str, reply: Reply) -> None:
        try:
            outbound = await self._outbound()
        except AppError as exc:  # a reply never raises
            log.warning("%s", exc)
            return
        await outbound.reply_private(channel, user, reply)

    async def read_reactions(
        self, channel: str, message_ref: str
    ) -> list[tuple[str, str, datetime | None]] | None:
        return await (await self._outbound()).read_reactions(channel, message_ref)
