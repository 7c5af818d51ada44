"""The Slack platform package. Its plug-in (`PLATFORM`, the `circlebot.adapters` entry
point) reads its own part of the config (adapters.slack.config), says how a person is
written in a command, and builds the adapter.

Every circlebot command reads the config through the plug-ins of all installed
platforms, so the plug-in imports only what reading the config needs: the adapter (and
Bolt with it) is imported when it is built, or asked for by name."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from adapters.slack import config as slack_config
from bot.config import Config
from bot.config.plugins import Platform
from bot.domain.errors import AppError
from bot.ports.platform import PlatformTraits

if TYPE_CHECKING:
    from adapters.slack.adapter import SlackAdapter

__all__ = ["PLATFORM", "TRAITS", "SlackAdapter", "build_adapter"]


def __getattr__(name: str) -> Any:
    if name == "SlackAdapter":  # imported when asked for (see the module's note)
        return importlib.import_module("adapters.slack.adapter").SlackAdapter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _secret(env: Mapping[str, str], name: str, needed_for: str, prefix: str) -> str:
    value = (env.get(name) or "").strip()
    if not value:
        raise AppError(f"{name} is not set: {needed_for}")
    if prefix and not value.startswith(prefix):
        raise AppError(f"{name} does not look right: it should start with {prefix!r}")
    return value


def build_adapter(config: Config, env: Mapping[str, str]) -> SlackAdapter:
    """The Slack adapter for the config's `[slack]`, with its secrets from `env`. Raises
    AppError naming the missing environment variable."""
    slack = slack_config.slack_settings(config.platforms)
    if slack is None:
        raise AppError("[slack]: the config has no [slack] table")
    bot_token = client_secret = None
    if slack.workspaces:  # many workspaces: each one's token comes from its installation
        client_secret = _secret(
            env,
            "SLACK_CLIENT_SECRET",
            "with slack.client_id the app is installed in many workspaces through OAuth, "
            "which needs its client secret (Basic Information → App Credentials)",
            "",
        )
    else:
        bot_token = _secret(
            env,
            "SLACK_BOT_TOKEN",
            "the Slack adapter needs your app's bot token (xoxb-…)",
            "xoxb-",
        )
    app_token = signing_secret = None
    if slack.mode == "http":
        signing_secret = _secret(
            env,
            "SLACK_SIGNING_SECRET",
            'HTTP mode (slack.mode = "http") needs the app signing secret to check that '
            "requests come from Slack",
            "",
        )
    else:
        app_token = _secret(
            env,
            "SLACK_APP_TOKEN",
            'Socket Mode (slack.mode = "socket") needs an app-level token (xapp-…) with the '
            "connections:write scope",
            "xapp-",
        )
    from adapters.slack.adapter import SlackAdapter  # Bolt: only for the bot that runs it

    return SlackAdapter(
        slack,
        config.circles,
        bot_token=bot_token,
        app_token=app_token,
        signing_secret=signing_secret,
        client_secret=client_secret,
    )


TRAITS = PlatformTraits(slack_config.PLATFORM, slack_config.person_in, title="Slack")
PLATFORM = Platform(slack_config.SlackPlatformConfig(), TRAITS, build_adapter)
