"""The workspaces the Slack adapter serves, each with its own token: one (SLACK_BOT_TOKEN,
known from auth.test at start) or, with [slack] client_id, each workspace the app was
installed in through OAuth (bot.ports.installations, tokens sealed in the bot's database).

A `Team` is what the adapter needs to act in one workspace: who the bot is there, a Web
API client with that workspace's token (and its own exactly-once posting), the sending
(Outbound), the open Home tabs and the response URLs of its people. `Teams` finds a
workspace's Team when a request or a delivery needs it: from the installation, loaded
once and looked at again after a while (another replica may have installed it again,
with a new token)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError

from adapters.slack.home_watch import HomeWatch
from adapters.slack.outbound import Outbound
from adapters.slack.webapi import SlackWeb, slack_error
from adapters.slack.workspace import ResponseUrls, Workspace
from bot.ports.installations import Installation, Installations, LockedInstallation

log = logging.getLogger(__name__)

RECHECK = 60.0  # seconds a workspace's installation is used before it is read again


@dataclass
class Team:
    workspace: Workspace
    web: SlackWeb
    outbound: Outbound
    home_watch: HomeWatch
    response_urls: ResponseUrls
    # What events from here carry for the core: the team id with many workspaces, None
    # with one (the core then routes by channel alone, as it always did).
    event_workspace: str | None
    loaded: float = 0.0  # monotonic time its installation was read

    async def close(self) -> None:
        await self.home_watch.close()
        await self.web.close()


# Builds the Team of a workspace from its web client and who the bot is there.
MakeTeam = Callable[[SlackWeb, Workspace], Team]
MakeWeb = Callable[[str], SlackWeb]


class Teams:
    """One workspace (`only`), or each installed one (`installations`)."""

    def __init__(
        self,
        make_team: MakeTeam,
        make_web: MakeWeb,
        installations: Installations | None = None,
        recheck: float = RECHECK,
    ) -> None:
        self._make_team = make_team
        self._make_web = make_web
        self.installations = installations
        self.recheck = recheck
        self.only: Team | None = None  # one workspace: SLACK_BOT_TOKEN's
        self._teams: dict[str, Team] = {}
        self._tokens: dict[str, str] = {}  # team id -> the token its Team was made with
        self._locks: dict[str, asyncio.Lock] = {}
        # Workspaces whose installation no key opens (said once each, served as not
        # installed until it opens again).
        self.locked: set[str] = set()

    @property
    def many(self) -> bool:
        return self.only is None

    def known(self) -> list[Team]:
        return [self.only] if self.only is not None else list(self._teams.values())

    async def get(self, team_id: str | None) -> Team | None:
        """The Team of `team_id`; with one workspace, that one whatever is asked (the
        listeners turn away what is foreign). None: the app is not installed there."""
        if self.only is not None:
            return self.only
        if not team_id:
            return None
        team = self._teams.get(team_id)
        if team is not None and time.monotonic() - team.loaded < self.recheck:
            return team
        lock = self._locks.setdefault(team_id, asyncio.Lock())
        async with lock:
            return await self._load(team_id)

    def forget(self, team_id: str | None) -> None:
        """Read the installation again when next needed (installed again, or removed)."""
        team = self._teams.get(team_id or "")
        if team is not None:
            team.loaded = 0.0

    async def _load(self, team_id: str) -> Team | None:
        team = self._teams.get(team_id)
        if team is not None and time.monotonic() - team.loaded < self.recheck:
            return team  # loaded by whoever held the lock before us
        assert self.installations is not None
        try:
            installation = await self.installations.find(team_id)
        except LockedInstallation as exc:  # a key that is not given: as not installed
            if team_id not in self.locked:
                self.locked.add(team_id)
                log.warning("slack: %s", exc)
            installation = None
        else:
            self.locked.discard(team_id)  # the old key is back, or installed again
        token = installation.tokens.bot if installation is not None else None
        if installation is None or token is None:
            if team is not None:
                log.warning("slack: the app is no longer installed in workspace %s", team_id)
                del self._teams[team_id]
                self._tokens.pop(team_id, None)
                await team.close()
            return None
        if team is not None and self._tokens.get(team_id) == token:
            team.loaded = time.monotonic()
            return team
        web = self._make_web(token)
        workspace = await _whoami(web, installation)
        fresh = self._make_team(web, workspace)
        fresh.loaded = time.monotonic()
        self._teams[team_id] = fresh
        self._tokens[team_id] = token
        if team is not None:  # installed again: a new token
            await team.close()
        log.info("slack: serving workspace %s as %s", team_id, workspace.bot_user_id)
        return fresh

    async def close(self) -> None:
        for team in self.known():
            await team.close()
        self._teams.clear()


async def _whoami(web: SlackWeb, installation: Installation) -> Workspace:
    """Who the bot is in the workspace: from the installation, and its address (for
    links to messages) from auth.test when Slack answers it."""
    url = None
    try:
        auth = await web.client.auth_test()
        url = auth.get("url")
    except (SlackApiError, TimeoutError, aiohttp.ClientError, OSError) as exc:
        problem = slack_error(exc) or type(exc).__name__
        log.warning("slack: auth.test in workspace %s: %s", installation.team_id, problem)
    return Workspace(
        team_id=installation.team_id,
        bot_user_id=installation.bot_user_id,
        bot_id=installation.bot_id,
        url=url if isinstance(url, str) else None,
    )


class TeamAuthorize(AsyncAuthorize):
    """Bolt's authorize for many workspaces: the installation's token, from Teams (no
    auth.test per request); None for a workspace the app is not installed in."""

    def __init__(self, teams: Teams) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # unannotated in slack_bolt
        self.teams = teams

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **more: Any,
    ) -> AuthorizeResult | None:
        team = await self.teams.get(team_id)
        if team is None:
            log.warning(
                "slack: a request from workspace %s, where the app is not installed", team_id
            )
            return None
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team.workspace.team_id,
            bot_user_id=team.workspace.bot_user_id,
            bot_id=team.workspace.bot_id,
            bot_token=team.web.token,
            user_id=user_id,
        )


def fixed_authorize(teams: Teams) -> Callable[..., Awaitable[AuthorizeResult]]:
    """One workspace: auth.test already told us who we are, so Bolt needs no call of its
    own; requests from other workspaces are turned away by the listeners. (A plain
    function: Bolt passes arguments by their names, `self` is not one.)"""

    async def authorize(enterprise_id: str | None, user_id: str | None) -> AuthorizeResult:
        team = teams.only
        assert team is not None
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team.workspace.team_id,
            bot_user_id=team.workspace.bot_user_id,
            bot_id=team.workspace.bot_id,
            bot_token=team.web.token,
            user_id=user_id,
        )

    return authorize
