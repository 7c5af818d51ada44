"""Config for the Slack app in many workspaces: [slack] client_id and redirect_uri, each
circle's slack_team, and the secrets that belong in the environment instead."""

from __future__ import annotations

import tomllib

import pytest

from adapters.slack.config import SlackConfig
from bot.config import ConfigError, parse_config, summary

SLACK_OAUTH = """\
[slack]
mode = "http"
client_id = "1234567890.1234567890"
redirect_uri = "https://bot.example.org/slack/oauth_redirect"
"""


def circle(name: str, channel: str | None, team: str | None) -> str:
    text = f'[[circles]]\nname = "{name}"\nsides = ["milpa", "vera"]\n'
    if channel is not None:
        text += f'slack_channel = "{channel}"\n'
    if team is not None:
        text += f'slack_team = "{team}"\n'
    for member, side in (("ana", "milpa"), ("cy", "vera")):
        text += (
            f'[[circles.members]]\nname = "{member}"\nside = "{side}"\nrole = "leader"\n'
            f'slack = "U{member.upper()}"\n'
        )
    return text


def parse(text: str) -> object:
    return parse_config(tomllib.loads(text), "bot.toml")


def refused(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    return str(caught.value)


def test_two_workspaces_may_share_a_channel_id() -> None:
    config = parse_config(
        tomllib.loads(
            SLACK_OAUTH + circle("north", "C1", "T1NORTH") + circle("south", "C1", "T2SOUTH")
        ),
        "bot.toml",
    )
    assert config.platforms.get("slack") == SlackConfig(
        mode="http",
        client_id="1234567890.1234567890",
        redirect_uri="https://bot.example.org/slack/oauth_redirect",
    )
    assert config.platforms.get("slack").workspaces
    assert config.platforms.get("slack").redirect_path == "/slack/oauth_redirect"
    assert config.platforms.get("slack").install_url == "https://bot.example.org/slack/install"
    assert [(c.channels["slack"].workspace, c.channels["slack"].id) for c in config.circles] == [
        ("T1NORTH", "C1"),
        ("T2SOUTH", "C1"),
    ]
    said = summary(config)
    assert "many workspaces" in said and "Slack channel C1 in workspace T2SOUTH" in said


def test_without_redirect_uri_the_default_path() -> None:
    text = '[slack]\nclient_id = "1.2"\n' + circle("north", "C1", "T1NORTH")
    config = parse_config(tomllib.loads(text), "bot.toml")
    assert config.platforms.get("slack") is not None
    assert config.platforms.get("slack").redirect_path == "/slack/oauth_redirect"
    assert config.platforms.get("slack").install_url is None


def test_with_client_id_each_circle_on_slack_names_its_workspace() -> None:
    message = refused(SLACK_OAUTH + circle("north", "C1", "T1NORTH") + circle("south", "C2", None))
    assert message.startswith("bot.toml: circles[1].slack_team: missing;")
    assert "slack.client_id" in message
    # A circle without a Slack channel needs none.
    parse(SLACK_OAUTH + circle("north", "C1", "T1NORTH") + circle("console", None, None))


def test_one_channel_twice_in_one_workspace_is_refused() -> None:
    message = refused(
        SLACK_OAUTH + circle("north", "C1", "T1NORTH") + circle("dup", "C1", "T1NORTH")
    )
    assert "circles[1].slack_channel" in message and "already the channel" in message


def test_without_client_id_a_channel_is_one_circles() -> None:
    message = refused(
        '[slack]\nmode = "socket"\n'
        + circle("north", "C1", "T1NORTH")
        + circle("south", "C1", "T2S")
    )
    assert "circles[1].slack_channel" in message and "slack.client_id" in message
    # The one-workspace setup is as before: slack_team optional.
    parse('[slack]\nmode = "socket"\n' + circle("north", "C1", None) + circle("b", "C2", None))


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ('"C0123"', "is not a Slack workspace id"),
        ('"t1abc"', "is not a Slack workspace id"),
        ('"T1 ABC"', "is not a Slack workspace id"),
    ],
)
def test_bad_slack_team(value: str, problem: str) -> None:
    text = SLACK_OAUTH + circle("north", "C1", None).replace(
        'slack_channel = "C1"\n', f'slack_channel = "C1"\nslack_team = {value}\n'
    )
    message = refused(text)
    assert "circles[0].slack_team" in message and problem in message


@pytest.mark.parametrize(
    ("line", "key", "problem"),
    [
        ('client_id = "12 34"', "slack.client_id", "single word"),
        ('redirect_uri = "bot.example.org/cb"', "slack.redirect_uri", "not a redirect URL"),
        ('redirect_uri = "https://bot.example.org/"', "slack.redirect_uri", "a path of its own"),
        ('redirect_uri = "https://bot.example.org/slack/install"', "slack.redirect_uri", "path"),
        (
            'redirect_uri = "https://bot.example.org/cb?token=abc"',
            "slack.redirect_uri",
            "secrets do not belong",
        ),
    ],
)
def test_bad_slack_oauth_keys(line: str, key: str, problem: str) -> None:
    text = '[slack]\nclient_id = "1.2"\n'
    text = text.replace('client_id = "1.2"', line) if line.startswith("client_id") else text + line
    message = refused(text + "\n" + circle("north", "C1", "T1NORTH"))
    assert f"bot.toml: {key}:" in message and problem in message
    assert "abc" not in message.replace("example", "")


def test_redirect_uri_needs_client_id() -> None:
    message = refused(
        '[slack]\nredirect_uri = "https://bot.example.org/slack/oauth_redirect"\n'
        + circle("north", "C1", None)
    )
    assert "slack.redirect_uri" in message and "slack.client_id" in message


def test_the_client_secret_in_the_file_is_refused_with_its_variable() -> None:
    message = refused(
        '[slack]\nclient_id = "1.2"\nclient_secret = "x"\n' + circle("n", "C1", "T1AA")
    )
    assert "slack.client_secret" in message and "SLACK_CLIENT_SECRET" in message
