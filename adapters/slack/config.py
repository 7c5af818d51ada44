"""What the Slack platform reads of the config: the `[slack]` section, a circle's
`slack_channel` and `slack_team`, a member's `slack` (a user id, or an e-mail address
looked up on start), and how a person is written in a command (`<@U…>`, `U…`)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from bot.config.errors import fail
from bot.config.platforms import MemberKeys, PlatformConfig
from bot.config.secrets import refuse_url_secrets
from bot.config.values import check_keys, integer, join_key, one_word, show, string
from bot.domain.circle import Channel, CircleSpec, MemberSpec, Placed
from bot.domain.identity import Handled
from bot.domain.redact import redact_url

PLATFORM = "slack"
INSTALL_PATH = "/slack/install"  # many workspaces: where an install begins
DEFAULT_REDIRECT_PATH = "/slack/oauth_redirect"
SLACK_KEYS = ("mode", "host", "port", "api_url", "client_id", "redirect_uri")
SECRET_HOME = "the SLACK_BOT_TOKEN, SLACK_APP_TOKEN and SLACK_SIGNING_SECRET environment variables"
_SLACK_TEAM = re.compile(r"^T[A-Z0-9]{2,}$")
# Slack user ids: U… or W… (enterprise), upper-case letters and digits.
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SLACK_MENTION = re.compile(r"<@([A-Za-z0-9]+)(?:\|[^>]*)?>")


def is_slack_id(text: str) -> bool:
    return bool(_SLACK_ID.match(text))


def person_in(token: str) -> str | None:
    """The Slack user a command names: a mention (`<@U1|Ana Li>`) or a bare user id."""
    mention = _SLACK_MENTION.fullmatch(token)
    if mention is not None:
        return mention.group(1)
    return token if is_slack_id(token) else None


@dataclass(frozen=True)
class SlackConfig:
    mode: str = "socket"  # "socket" (SLACK_APP_TOKEN) or "http" (SLACK_SIGNING_SECRET)
    host: str = "127.0.0.1"  # http mode
    port: int = 3000  # http mode
    api_url: str = "https://slack.com/api/"
    # Many workspaces: the app's client id (its secret in SLACK_CLIENT_SECRET); the app
    # is installed through /slack/install and each circle names its slack_team. None:
    # one workspace, with SLACK_BOT_TOKEN.
    client_id: str | None = None
    # The redirect URL as registered with the app (OAuth & Permissions), e.g.
    # "https://bot.example.org/slack/oauth_redirect"; its path is where the bot serves it.
    redirect_uri: str | None = None

    @property
    def workspaces(self) -> bool:
        """Whether the app serves several workspaces (installed through OAuth)."""
        return self.client_id is not None

    @property
    def redirect_path(self) -> str:
        """Where the bot serves Slack's OAuth redirect."""
        if self.redirect_uri is None:
            return DEFAULT_REDIRECT_PATH
        return urlsplit(self.redirect_uri).path or DEFAULT_REDIRECT_PATH

    @property
    def install_url(self) -> str | None:
        """The page that installs the app in a workspace, when the bot's public address
        is known (from redirect_uri)."""
        if self.redirect_uri is None:
            return None
        parts = urlsplit(self.redirect_uri)
        return f"{parts.scheme}://{parts.netloc}{INSTALL_PATH}"


# Enough to catch a typo (no local part, no domain, two @); the workspace decides the rest.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")


def email_address(key: str, value: str) -> str:
    """An e-mail address a member is found by (users.lookupByEmail)."""
    one_word(key, value, "an e-mail address")
    if len(value) > 254 or not _EMAIL.match(value):
        fail(key, f"{show(value)} is not an e-mail address (like ana@example.org) nor a Slack id")
    return value


def parse_slack(slack: Mapping[str, Any]) -> SlackConfig:
    """`[slack]`."""
    check_keys(slack, "slack", SLACK_KEYS)
    defaults = SlackConfig()
    mode = string(slack, "slack", "mode", default=defaults.mode)
    if mode not in ("socket", "http"):
        fail(
            "slack.mode",
            f'{show(mode)} is not a mode; use "socket" (Socket Mode, SLACK_APP_TOKEN) or '
            '"http" (Events API over HTTP, SLACK_SIGNING_SECRET)',
        )
    host = string(slack, "slack", "host", default=defaults.host)
    assert host is not None
    port = integer(slack, "slack", "port", defaults.port, 1, 65535)
    api_url = string(slack, "slack", "api_url", default=defaults.api_url)
    assert api_url is not None
    refuse_url_secrets("slack.api_url", api_url, SECRET_HOME)
    if not api_url.startswith(("http://", "https://")):
        fail("slack.api_url", f"{show(redact_url(api_url))} must start with http:// or https://")
    if not api_url.endswith("/"):
        api_url += "/"
    client_id = string(slack, "slack", "client_id")
    if client_id is not None:
        one_word("slack.client_id", client_id, "the app's client id")
    redirect_uri = string(slack, "slack", "redirect_uri")
    if redirect_uri is not None:
        refuse_url_secrets("slack.redirect_uri", redirect_uri, SECRET_HOME)
        if client_id is None:
            fail(
                "slack.redirect_uri",
                "is only used with slack.client_id (the app installed in many workspaces)",
            )
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            fail(
                "slack.redirect_uri",
                f"{show(redact_url(redirect_uri))} is not a redirect URL; use the one registered "
                'with the app, e.g. "https://bot.example.org/slack/oauth_redirect"',
            )
        if parts.path in ("", "/", INSTALL_PATH, "/slack/events"):
            fail(
                "slack.redirect_uri",
                f"{show(redact_url(redirect_uri))} needs a path of its own, e.g. "
                f'"{parts.scheme}://{parts.netloc}{DEFAULT_REDIRECT_PATH}"',
            )
    return SlackConfig(
        mode=mode,
        host=host,
        port=port,
        api_url=api_url,
        client_id=client_id,
        redirect_uri=redirect_uri,
    )


class SlackPlatformConfig(PlatformConfig):
    name = PLATFORM
    title = "Slack"
    circle_keys = ("slack_channel", "slack_team")
    member_keys = ("slack",)
    channel_key = "slack_channel"
    channel_word = "channel"
    secret_env: Mapping[str, str] = MappingProxyType(
        {
            "token": "SLACK_BOT_TOKEN",
            "bot_token": "SLACK_BOT_TOKEN",
            "app_token": "SLACK_APP_TOKEN",
            "signing_secret": "SLACK_SIGNING_SECRET",
            "secret": "SLACK_SIGNING_SECRET",
            "client_secret": "SLACK_CLIENT_SECRET",
        }
    )
    secret_home = SECRET_HOME

    def read_section(self, section: Mapping[str, Any]) -> SlackConfig:
        return parse_slack(section)

    def read_channel(self, circle: Mapping[str, Any], where: str) -> Channel | None:
        slack_channel = string(circle, where, "slack_channel")
        if slack_channel is not None:
            one_word(join_key(where, "slack_channel"), slack_channel, "a Slack channel id")
        slack_team = string(circle, where, "slack_team")
        if slack_team is not None and not _SLACK_TEAM.match(slack_team):
            fail(
                join_key(where, "slack_team"),
                f'{show(slack_team)} is not a Slack workspace id; it looks like "T0123ABCD" '
                "(in Slack: the workspace's About page, or the start of any app's install URL)",
            )
        if slack_channel is None:
            return None
        return Channel(slack_channel, slack_team)

    def read_member(self, member: Mapping[str, Any], where: str) -> MemberKeys | None:
        slack = string(member, where, "slack")
        if slack is None:
            return None
        key = join_key(where, "slack")
        if "@" in slack:  # an e-mail address, looked up in the workspace on start
            return MemberKeys("slack", to_resolve=email_address(key, slack))
        one_word(key, slack, "a Slack user id (or an e-mail address)")
        return MemberKeys("slack", handle=slack)

    def check(self, settings: object, circles: Sequence[CircleSpec]) -> None:
        """Many workspaces ([slack] client_id): each circle on Slack names its workspace.
        One workspace (SLACK_BOT_TOKEN): a channel is one circle's, whatever slack_team
        says."""
        assert isinstance(settings, SlackConfig)
        seen: dict[str, str] = {}
        for index, circle in enumerate(circles):
            channel = circle.channels.get(PLATFORM)
            if channel is None:
                continue
            if settings.workspaces and channel.workspace is None:
                fail(
                    f"circles[{index}].slack_team",
                    "missing; with slack.client_id the app serves many workspaces, so each "
                    "circle with a slack_channel names its workspace id, e.g. "
                    'slack_team = "T0123ABCD"',
                )
            if not settings.workspaces:
                other = seen.setdefault(channel.id, circle.name)
                if other != circle.name:
                    fail(
                        f"circles[{index}].slack_channel",
                        f"{show(channel.id)} is already the channel of circle {show(other)};"
                        " circles in several workspaces need slack.client_id (the app "
                        "installed through OAuth)",
                    )

    def describe(self, settings: object) -> str:
        assert isinstance(settings, SlackConfig)
        slack = settings
        where = (
            f"HTTP on {slack.host}:{slack.port}, POST /slack/events"
            if slack.mode == "http"
            else "Socket Mode"
        )
        if slack.workspaces:
            where += f", many workspaces (app {slack.client_id}, GET /slack/install)"
        return f"Slack ({where}; Web API {redact_url(slack.api_url)})"

    def describe_channel(self, channel: Channel) -> str:
        team = f" in workspace {channel.workspace}" if channel.workspace else ""
        return f"Slack channel {channel.id}{team}"


def slack_settings(settings: Mapping[str, object]) -> SlackConfig | None:
    """The `[slack]` settings of a config's platforms (None: the file has no [slack])."""
    found = settings.get(PLATFORM)
    assert found is None or isinstance(found, SlackConfig)
    return found


def channel_of(circle: Placed) -> str | None:
    """The circle's Slack channel id (None: not on Slack)."""
    found = circle.channels.get(PLATFORM)
    return found.id if found is not None else None


def team_of(circle: Placed) -> str | None:
    """The workspace of the circle's channel (None: the one workspace)."""
    found = circle.channels.get(PLATFORM)
    return found.workspace if found is not None else None


def handle_of(person: Handled) -> str | None:
    """A person's Slack user id (None: none known)."""
    return person.handles.get(PLATFORM)


def email_of(member: MemberSpec) -> str | None:
    """The address a member is looked up by in the workspace (None: not given so)."""
    return member.to_resolve.get(PLATFORM)
