"""`circlebot doctor` for Slack: what an operator can get wrong, checked against the
Web API without connecting the bot. In order: the bot token (auth.test: nothing else can
be checked without it), the scopes granted against those the app manifest asks for,
then for each circle its channel, its members' Slack ids and its members' e-mail
addresses. Each check is said without the token."""

from __future__ import annotations

import functools
import math
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import aiohttp
import yaml
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.config import SlackConfig, channel_of, email_of, handle_of, team_of
from adapters.slack.people import EmailLookup, find_by_email
from adapters.slack.webapi import slack_error
from bot.domain.circle import CircleSpec, MemberSpec
from bot.domain.diagnosis import Check, failed, passed
from bot.ports.installations import SECRET_KEY_ENV, Installations, workspace_name

RATE_LIMIT_RETRIES = 4  # 429s in a row per call, each waiting Retry-After
SCOPES_HEADER = "x-oauth-scopes"  # auth.test says the token's scopes here
SLACK_API_URL = "https://slack.com/api/"

# The fixes, in the words of the app's settings pages (api.slack.com/apps → your app).
REINSTALL = "then reinstall the app to the workspace (OAuth & Permissions → Reinstall to Workspace)"
BOT_TOKEN_PAGE = (
    "the Bot User OAuth Token (xoxb-…) under OAuth & Permissions in your Slack app's settings"
)
NEW_TOKEN = (
    "reinstall the app to the workspace (OAuth & Permissions → Install to Workspace) and set "
    "SLACK_BOT_TOKEN to the new Bot User OAuth Token"
)
TOKEN_FIXES = {
    "invalid_auth": f"set SLACK_BOT_TOKEN to {BOT_TOKEN_PAGE}",
    "not_authed": f"SLACK_BOT_TOKEN did not reach Slack: set it to {BOT_TOKEN_PAGE}",
    "account_inactive": f"the app was uninstalled or its bot user deactivated: {NEW_TOKEN}",
    "token_revoked": f"the token was revoked: {NEW_TOKEN}",
    "token_expired": (
        "the token expired (token rotation is on): turn token rotation off under OAuth & "
        f"Permissions, then {NEW_TOKEN}"
    ),
}
CHANNEL_ID = (
    "set the circle's slack_channel to the channel's ID: in Slack, click the channel's name; "
    "the ID (C…) is at the bottom of the About tab. A private channel shows only once the "
    "bot is in it: /invite @{bot} there first"
)
MEMBER_ID = (
    "give their Slack member ID (in Slack: their profile → ⋮ More → Copy member ID), or the "
    "e-mail address they sign in to Slack with"
)
MEMBER_EMAIL = (
    "use the address they sign in to Slack with, or give their Slack member ID instead (their "
    "profile → ⋮ More → Copy member ID)"
)
DEACTIVATED = (
    "remove them from the circle in the config, or ask a workspace admin to reactivate their "
    "account"
)
TRY_AGAIN = (
    "Slack did not answer as expected: run circlebot doctor again; if it persists, check the "
    "network and status.slack.com"
)
RATE_LIMITED = "Slack is limiting the bot's requests: run circlebot doctor again in a minute"

# Lookups whose answer holds for the whole run; anything else (a 5xx, a timeout) is asked
# again when the next circle names the same person.
DEFINITE = frozenset({"user_not_found", "users_not_found", "missing_scope"})


@functools.cache
def manifest_scopes() -> tuple[str, ...]:
    """The bot scopes adapters/slack/manifest.yml asks for, in its order."""
    text = files("adapters").joinpath("slack/manifest.yml").read_text(encoding="utf-8")
    manifest = yaml.safe_load(text)
    return tuple(str(scope) for scope in manifest["oauth_config"]["scopes"]["bot"])


def add_scopes(scopes: Sequence[str]) -> str:
    them = "it" if len(scopes) == 1 else "them"
    return f"add {them} under OAuth & Permissions → Bot Token Scopes, {REINSTALL}"


@dataclass(frozen=True)
class Refusal:
    """Why a Web API call brought no answer: Slack's error code (with `needed`, the scopes
    it wanted, for missing_scope), "HTTP <status>" from something that answered without
    one, or the name of the network error when Slack could not be reached."""

    code: str
    needed: tuple[str, ...] = ()
    status: int | None = None
    unreachable: bool = False

    def scopes(self, fallback: str) -> list[str]:
        """The scopes to add: those Slack needs that the manifest asks for (Slack lists
        every scope that would do, e.g. im:read for conversations.info)."""
        asked = [scope for scope in self.needed if scope in manifest_scopes()]
        return asked or list(self.needed) or [fallback]


async def ask(call: Awaitable[AsyncSlackResponse]) -> AsyncSlackResponse | Refusal:
    """The answer, or why there is none: a check reports a refusal, it never raises."""
    try:
        return await call
    except SlackApiError as exc:
        status = getattr(exc.response, "status_code", None)
        code = slack_error(exc)
        if code is None:
            return Refusal(f"HTTP {status}", status=status)
        data = getattr(exc.response, "data", None)
        needed = str(data.get("needed") or "") if isinstance(data, dict) else ""
        scopes = tuple(scope.strip() for scope in needed.split(",") if scope.strip())
        return Refusal(code, scopes, status)
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        return Refusal(type(exc).__name__, unreachable=True)


def header(headers: Mapping[str, Any], name: str) -> str | None:
    """A response header by name, in any case."""
    for key, value in headers.items():
        if str(key).lower() == name:
            return str(value)
    return None


def could_not(what: str, code: str) -> Check:
    return failed(f"{what} ({code})", RATE_LIMITED if code == "ratelimited" else TRY_AGAIN)


def counted(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def as_configured(member: MemberSpec, value: str) -> str:
    """The member as the config names them: `member ana (slack = "U…")`."""
    return f'member {member.name} (slack = "{value}")'


async def diagnose(
    config: SlackConfig,
    circles: Sequence[CircleSpec],
    bot_token: str | None,
    *,
    timeout: float = 15.0,
    installations: Installations | None = None,
) -> list[Check]:
    if config.workspaces:
        return await diagnose_workspaces(config, circles, installations, timeout)
    assert bot_token is not None
    return await _checks(config, circles, bot_token, timeout)


async def _checks(
    config: SlackConfig, circles: Sequence[CircleSpec], token: str, timeout: float
) -> list[Check]:
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))
    try:
        client = AsyncWebClient(
            token=token,
            base_url=config.api_url,
            session=session,
            timeout=max(1, math.ceil(timeout)),
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)],
        )
        return await Doctor(client, config.api_url).run(circles)
    finally:
        await session.close()


async def diagnose_workspaces(
    config: SlackConfig,
    circles: Sequence[CircleSpec],
    installations: Installations | None,
    timeout: float,
) -> list[Check]:
    """Many workspaces: how many have the app installed, each configured slack_team
    without it (and where to install it), then each installed workspace's own checks
    with its token, for its circles."""
    if installations is None:
        return [failed("Slack installations: not read", "no database was given")]
    try:
        everything = await installations.all()
    except Exception as exc:  # a database that does not answer
        return [failed("Slack installations: cannot be read", str(exc))]
    installed = {i.team_id: i for i in everything.opened}
    count = len(installed) + len(everything.locked)
    teams = sorted({team for c in circles if (team := team_of(c)) and channel_of(c)})
    checks = [passed(f"Slack installations: {counted(count, 'workspace', 'workspaces')}")]
    where = config.install_url or "GET /slack/install on the bot's public address"
    locked = {i.team_id for i in everything.locked}
    for lost in everything.locked:  # each said once, whether a circle names it or not
        names = ", ".join(c.name for c in circles if team_of(c) == lost.team_id)
        circle = f" (circle {names})" if names else ""
        checks.append(
            failed(
                f"Slack workspace {workspace_name(lost)}{circle}: its token cannot be opened "
                f"with the keys in {SECRET_KEY_ENV}; it is answered as not installed",
                f"put the old key back in {SECRET_KEY_ENV} (comma-separated, the new key "
                f"first), or install the app there again ({where})",
            )
        )
    for team in teams:
        if team in locked:
            continue
        names = ", ".join(c.name for c in circles if team_of(c) == team)
        found = installed.get(team)
        if found is None or found.tokens.bot is None:
            checks.append(
                failed(
                    f"Slack workspace {team} (circle {names}): the app is not installed there",
                    f"someone of that workspace visits {where} and allows the app",
                )
            )
            continue
        checks.append(passed(f"Slack workspace {team} (circle {names}): installed"))
        mine = [c for c in circles if team_of(c) == team]
        checks += await _checks(config, mine, found.tokens.bot, timeout)
    return checks


class Doctor:
    """One run of the checks. Each person is looked up once, however many circles they
    are in."""

    def __init__(self, client: AsyncWebClient, api_url: str) -> None:
        self.client = client
        self.api_url = api_url
        self.bot_name = "circlebot"  # learnt from auth.test
        self._users: dict[str, dict[str, Any] | Refusal] = {}
        self._emails: dict[str, EmailLookup] = {}

    async def run(self, circles: Sequence[CircleSpec]) -> list[Check]:
        auth = await ask(self.client.auth_test())
        if isinstance(auth, Refusal):
            return [self.token_refused(auth)]
        self.bot_name = str(auth.get("user") or self.bot_name)
        checks = [
            passed(
                f"Slack token: bot {auth.get('user_id')} in workspace {auth.get('team')} "
                f"({auth.get('team_id')})"
            ),
            self.scopes(header(auth.headers, SCOPES_HEADER)),
        ]
        for circle in circles:
            if (channel := channel_of(circle)) is not None:
                checks.append(await self.channel(circle.name, channel))
            checks.extend(await self.member_ids(circle))
            checks.extend(await self.member_emails(circle))
        return checks

    # -- the token and its scopes ----------------------------------------------------

    def token_refused(self, refusal: Refusal) -> Check:
        check_url = f"check slack.api_url (Slack's is {SLACK_API_URL})"
        if refusal.unreachable:
            return failed(
                f"Slack Web API: cannot reach {self.api_url} ({refusal.code})",
                f"{check_url} and that this machine can reach it (network, DNS, proxy, firewall)",
            )
        if refusal.code.startswith("HTTP "):
            if refusal.status is not None and refusal.status >= 500:
                return failed(f"Slack Web API: {self.api_url} answered {refusal.code}", TRY_AGAIN)
            return failed(
                f"Slack Web API: {self.api_url} answered {refusal.code}, not as Slack does",
                check_url,
            )
        if refusal.code == "ratelimited":
            return could_not("Slack token: not checked", refusal.code)
        return failed(
            f"Slack token: Slack refused it ({refusal.code})",
            TOKEN_FIXES.get(refusal.code, f"check that SLACK_BOT_TOKEN is {BOT_TOKEN_PAGE}"),
        )

    def scopes(self, granted_header: str | None) -> Check:
        wanted = manifest_scopes()
        if granted_header is None:
            return failed(
                "Slack scopes: Slack did not say which the token has",
                f"check that slack.api_url is Slack's Web API ({SLACK_API_URL})",
            )
        granted = {scope.strip() for scope in granted_header.split(",")}
        missing = [scope for scope in wanted if scope not in granted]
        if not missing:
            return passed(f"Slack scopes: all {len(wanted)} that the app manifest asks for")
        them = "it" if len(missing) == 1 else "them"
        return failed(
            f"Slack scopes: missing {', '.join(missing)}",
            f"add {them} under OAuth & Permissions → Bot Token Scopes (or update the app from "
            f"circlebot's manifest.yml under App Manifest), {REINSTALL}",
        )

    # -- each circle -----------------------------------------------------------------

    async def channel(self, circle: str, channel: str) -> Check:
        where = f"circle {circle}"
        found = await ask(self.client.conversations_info(channel=channel))
        if isinstance(found, Refusal):
            if found.code == "channel_not_found":
                return failed(
                    f"{where}: channel {channel} not found",
                    CHANNEL_ID.format(bot=self.bot_name),
                )
            if found.code == "missing_scope":
                scopes = found.scopes("channels:read")
                return failed(
                    f"{where}: cannot see channel {channel}: missing scope {', '.join(scopes)}",
                    add_scopes(scopes),
                )
            return could_not(f"{where}: could not check channel {channel}", found.code)
        info = found.get("channel") or {}
        name = str(info.get("name") or channel)
        shown = f"#{name} ({channel})"
        if info.get("is_archived"):
            return failed(
                f"{where}: {shown} is archived",
                "unarchive it in Slack, or set the circle's slack_channel to the ID of the "
                "channel it uses now",
            )
        if not info.get("is_member"):
            return failed(
                f"{where}: the bot is not a member of {shown}",
                f"type /invite @{self.bot_name} in #{name}",
            )
        return passed(f"{where}: {shown}, the bot is a member")

    async def member_ids(self, circle: CircleSpec) -> list[Check]:
        """One ✓ for the circle when every Slack id is a person in the workspace; else one
        ✗ for each that is not (or one for the circle when the bot may not look)."""
        members = [member for member in circle.members if handle_of(member)]
        where = f"circle {circle.name}"
        problems: list[Check] = []
        for member in members:
            user = handle_of(member)
            assert user is not None
            found = await self.user(user)
            named = as_configured(member, user)
            if isinstance(found, Refusal):
                if found.code == "missing_scope":
                    scopes = found.scopes("users:read")
                    return [
                        failed(
                            f"{where}: cannot look up its "
                            f"{counted(len(members), 'Slack id', 'Slack ids')}: missing scope "
                            f"{', '.join(scopes)}",
                            add_scopes(scopes),
                        )
                    ]
                if found.code == "user_not_found":
                    problems.append(failed(f"{where}: {named} not found in Slack", MEMBER_ID))
                else:
                    problems.append(could_not(f"{where}: could not look up {named}", found.code))
            elif found.get("deleted"):
                problems.append(failed(f"{where}: {named} is deactivated in Slack", DEACTIVATED))
        if problems or not members:
            return problems
        if len(members) == 1:
            return [passed(f"{where}: its 1 Slack id found")]
        return [passed(f"{where}: all {len(members)} Slack ids found")]

    async def member_emails(self, circle: CircleSpec) -> list[Check]:
        """One line per member given by e-mail address (one for the circle when the bot
        may not look addresses up)."""
        members = [member for member in circle.members if email_of(member)]
        where = f"circle {circle.name}"
        checks: list[Check] = []
        for member in members:
            email = email_of(member)
            assert email is not None
            found = await self.by_email(email)
            if found.user_id is not None:
                checks.append(passed(f"{where}: {email} is {found.user_id}"))
            elif found.error == "missing_scope":
                return [
                    failed(
                        f"{where}: cannot look up its "
                        f"{counted(len(members), 'e-mail address', 'e-mail addresses')}: "
                        "missing scope users:read.email",
                        add_scopes(["users:read.email"]),
                    )
                ]
            elif found.error == "users_not_found":
                checks.append(
                    failed(
                        f"{where}: {as_configured(member, email)} is not the address of anyone "
                        "in the workspace",
                        MEMBER_EMAIL,
                    )
                )
            else:
                named = as_configured(member, email)
                checks.append(could_not(f"{where}: could not look up {named}", str(found.error)))
        return checks

    # -- people, each looked up once -------------------------------------------------

    async def user(self, user_id: str) -> dict[str, Any] | Refusal:
        known = self._users.get(user_id)
        if known is not None:
            return known
        answer = await ask(self.client.users_info(user=user_id))
        if isinstance(answer, Refusal):
            if answer.code in DEFINITE:
                self._users[user_id] = answer
            return answer
        user = answer.get("user")
        found = self._users[user_id] = user if isinstance(user, dict) else {}
        return found

    async def by_email(self, email: str) -> EmailLookup:
        key = email.casefold()
        known = self._emails.get(key)
        if known is not None:
            return known
        found = await find_by_email(self.client, email)
        if found.found or found.error in DEFINITE:
            self._emails[key] = found
        return found
