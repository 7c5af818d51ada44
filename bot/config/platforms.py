"""The `[storage]`, `[slack]` and `[matrix]` sections → their settings. The secrets these
need (tokens, passwords) come from environment variables, never from here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config.errors import fail
from bot.config.secrets import URL_SECRET_HOME, refuse_url_secrets
from bot.config.values import (
    check_keys,
    integer,
    matrix_user_id,
    one_word,
    required_string,
    show,
    string,
    table,
)
from bot.domain.redact import redact_url

DEFAULT_STORAGE_URL = "sqlite:///circlebot.db"
INSTALL_PATH = "/slack/install"  # many workspaces: where an install begins
DEFAULT_REDIRECT_PATH = "/slack/oauth_redirect"
STORAGE_KEYS = ("url",)
SLACK_KEYS = ("mode", "host", "port", "api_url", "client_id", "redirect_uri")
MATRIX_KEYS = ("homeserver", "user_id", "command_prefix", "device_name", "store_path")


@dataclass(frozen=True)
class StorageConfig:
    url: str = DEFAULT_STORAGE_URL


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


@dataclass(frozen=True)
class MatrixConfig:
    homeserver: str
    user_id: str
    command_prefix: str = "!"
    device_name: str = "circlebot"
    store_path: str | None = None


def parse_storage(data: Mapping[str, Any]) -> StorageConfig:
    """`[storage]`; the defaults when absent."""
    storage = table(data, "", "storage")
    if storage is None:
        return StorageConfig()
    check_keys(storage, "storage", STORAGE_KEYS)
    url = string(storage, "storage", "url", default=DEFAULT_STORAGE_URL)
    assert url is not None
    refuse_url_secrets("storage.url", url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        fail(
            "storage.url",
            f'{show(redact_url(url))} is not a database URL; use e.g. "sqlite:///circlebot.db" '
            'or "postgresql+psycopg://circlebot@localhost/circlebot"',
        )
    if parsed.password:  # how the driver reads it, in case it differs from ours
        fail(
            "storage.url",
            "contains a password; secrets do not belong in the config file: leave it out of "
            f"the URL and use {URL_SECRET_HOME['storage']}",
        )
    return StorageConfig(url=url)


def parse_slack(data: Mapping[str, Any]) -> SlackConfig | None:
    """`[slack]`; None when absent (Slack is not used)."""
    slack = table(data, "", "slack")
    if slack is None:
        return None
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
    refuse_url_secrets("slack.api_url", api_url)
    if not api_url.startswith(("http://", "https://")):
        fail("slack.api_url", f"{show(redact_url(api_url))} must start with http:// or https://")
    if not api_url.endswith("/"):
        api_url += "/"
    client_id = string(slack, "slack", "client_id")
    if client_id is not None:
        one_word("slack.client_id", client_id, "the app's client id")
    redirect_uri = string(slack, "slack", "redirect_uri")
    if redirect_uri is not None:
        refuse_url_secrets("slack.redirect_uri", redirect_uri)
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


def parse_matrix(data: Mapping[str, Any]) -> MatrixConfig | None:
    """`[matrix]`; None when absent (Matrix is not used)."""
    matrix = table(data, "", "matrix")
    if matrix is None:
        return None
    check_keys(matrix, "matrix", MATRIX_KEYS)
    homeserver = required_string(
        matrix, "matrix", "homeserver", 'the homeserver URL, e.g. "https://matrix.example.org"'
    )
    refuse_url_secrets("matrix.homeserver", homeserver)
    if not homeserver.startswith(("http://", "https://")):
        fail(
            "matrix.homeserver",
            f"{show(redact_url(homeserver))} must start with http:// or https:// "
            '(e.g. "https://matrix.example.org")',
        )
    user_id = required_string(
        matrix, "matrix", "user_id", 'the bot\'s Matrix id, e.g. "@circlebot:example.org"'
    )
    matrix_user_id("matrix.user_id", user_id, "@circlebot:example.org")
    prefix = string(matrix, "matrix", "command_prefix", default="!")
    assert prefix is not None
    one_word("matrix.command_prefix", prefix, "the command prefix")
    device_name = string(matrix, "matrix", "device_name", default="circlebot")
    assert device_name is not None
    store_path = string(matrix, "matrix", "store_path")
    return MatrixConfig(
        homeserver=homeserver,
        user_id=user_id,
        command_prefix=prefix,
        device_name=device_name,
        store_path=store_path,
    )
