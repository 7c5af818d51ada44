"""`circlebot doctor` for Slack, against the fake Slack over real HTTP: a correct setup
passes every check, and each thing an operator can get wrong is one ✗ that says what to
do. No line ever shows the token."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.config import SlackConfig
from adapters.slack.doctor import diagnose, manifest_scopes
from adapters.slack.people import EmailLookup, find_by_email
from bot.domain.circle import Channel, CircleSpec, MemberSpec
from bot.domain.diagnosis import Check, all_passed
from bot.domain.model import Role
from tests.adapters.slack.fakeslack import BOT_TOKEN, FakeSlack

WRONG_TOKEN = "xoxb-not-the-right-token"
SECRETS = (BOT_TOKEN, WRONG_TOKEN)


def circles() -> list[CircleSpec]:
    """Two circles that share ana and cy; dee is configured by e-mail address."""
    council = CircleSpec(
        name="council",
        sides=("milpa", "vera"),
        members=(
            MemberSpec("ana", "milpa", Role.LEADER, handles={"slack": "UANA"}),
            MemberSpec("ben", "milpa", Role.LEADER, handles={"slack": "UBEN"}),
            MemberSpec("cy", "vera", Role.LEADER, handles={"slack": "UCY"}),
            MemberSpec("dee", "vera", Role.LEADER, to_resolve={"slack": "dee@example.org"}),
        ),
        channels={"slack": Channel("CCOUNCIL")},
    )
    garden = CircleSpec(
        name="garden",
        sides=("milpa", "vera"),
        members=(
            MemberSpec("ana", "milpa", Role.LEADER, handles={"slack": "UANA"}),
            MemberSpec("cy", "vera", Role.LEADER, handles={"slack": "UCY"}),
        ),
        channels={"slack": Channel("CGENERAL")},
    )
    return [council, garden]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    """The fake Slack with the workspace the circles above need."""
    server = await FakeSlack().start()
    server.add_user("UANA", "ana")
    server.add_user("UBEN", "ben")
    server.add_user("UCY", "cy")
    server.add_user("UDEE", "dee", email="dee@example.org")
    yield server
    await server.close()


async def doctor(
    fake: FakeSlack,
    specs: Sequence[CircleSpec] | None = None,
    token: str = BOT_TOKEN,
    api_url: str | None = None,
) -> list[str]:
    """The check lines as `circlebot doctor` prints them; none may show a secret."""
    config = SlackConfig(api_url=api_url or fake.api_url)
    checks = await diagnose(config, circles() if specs is None else specs, token, timeout=5.0)
    assert all(isinstance(check, Check) for check in checks)
    lines = [check.line() for check in checks]
    for line in lines:
        assert not any(secret in line for secret in SECRETS), line
    assert all_passed(checks) == all(line.startswith("✓") for line in lines)
    return lines


def failures(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("✗")]


def unused_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- a correct setup ---------------------------------------------------------------------


async def test_a_correct_setup_passes_every_check(fake: FakeSlack) -> None:
    lines = await doctor(fake)
    assert lines == [
        "✓ Slack token: bot UBOT in workspace Circle Test (T0TEAM)",
        f"✓ Slack scopes: all {len(manifest_scopes())} that the app manifest asks for",
        "✓ circle council: #council (CCOUNCIL), the bot is a member",
        "✓ circle council: all 3 Slack ids found",
        "✓ circle council: dee@example.org is UDEE",
        "✓ circle garden: #general (CGENERAL), the bot is a member",
        "✓ circle garden: all 2 Slack ids found",
    ]


async def test_each_person_is_looked_up_once(fake: FakeSlack) -> None:
    both = circles()
    both[1] = replace(both[1], members=(*both[1].members, both[0].members[3]))
    lines = await doctor(fake, both)
    assert "✓ circle garden: dee@example.org is UDEE" in lines
    asked = sorted(call.params["user"] for call in fake.calls_to("users.info"))
    assert asked == ["UANA", "UBEN", "UCY"]
    assert len(fake.calls_to("users.lookupByEmail")) == 1


async def test_the_manifest_asks_for_what_the_checks_need() -> None:
    assert {"users:read", "users:read.email", "channels:read", "groups:read"} <= set(
        manifest_scopes()
    )


async def test_a_rate_limit_is_waited_out(fake: FakeSlack) -> None:
    fake.fail("conversations.info", 429, retry_after=1)
    lines = await doctor(fake)
    assert not failures(lines)
    assert [call.status for call in fake.calls_to("conversations.info")] == [429, 200, 200]


# -- the token ---------------------------------------------------------------------------


async def test_a_wrong_token_stops_the_checks(fake: FakeSlack) -> None:
    lines = await doctor(fake, token=WRONG_TOKEN)
    assert lines == [
        "✗ Slack token: Slack refused it (invalid_auth): set SLACK_BOT_TOKEN to the Bot User "
        "OAuth Token (xoxb-…) under OAuth & Permissions in your Slack app's settings"
    ]
    assert [call.method for call in fake.calls] == ["auth.test"]


async def test_a_revoked_token_says_to_reinstall(fake: FakeSlack) -> None:
    fake.token_error = "token_revoked"
    [line] = await doctor(fake)
    assert line.startswith("✗ Slack token: Slack refused it (token_revoked): ")
    assert "reinstall the app to the workspace" in line
    assert "SLACK_BOT_TOKEN" in line


async def test_an_unreachable_api_url_is_named(fake: FakeSlack) -> None:
    url = f"http://127.0.0.1:{unused_port()}/api/"
    [line] = await doctor(fake, api_url=url)
    assert line.startswith(f"✗ Slack Web API: cannot reach {url} (ClientConnectorError): ")
    assert "check slack.api_url (Slack's is https://slack.com/api/)" in line


async def test_an_api_url_that_is_not_slack_is_named(fake: FakeSlack) -> None:
    url = f"http://127.0.0.1:{fake.port}/elsewhere/"
    [line] = await doctor(fake, api_url=url)
    assert line.startswith(f"✗ Slack Web API: {url} answered HTTP 404, not as Slack does: ")


# -- scopes ------------------------------------------------------------------------------


async def test_a_missing_scope_is_named_with_its_fix(fake: FakeSlack) -> None:
    fake.scopes = [scope for scope in fake.scopes if scope != "users:read.email"]
    lines = await doctor(fake)
    assert failures(lines) == [
        "✗ Slack scopes: missing users:read.email: add it under OAuth & Permissions → Bot Token "
        "Scopes (or update the app from circlebot's manifest.yml under App Manifest), then "
        "reinstall the app to the workspace (OAuth & Permissions → Reinstall to Workspace)",
        "✗ circle council: cannot look up its 1 e-mail address: missing scope "
        "users:read.email: add it under OAuth & Permissions → Bot Token Scopes, then reinstall "
        "the app to the workspace (OAuth & Permissions → Reinstall to Workspace)",
    ]
    assert "✓ circle council: all 3 Slack ids found" in lines


async def test_missing_read_scopes_name_only_what_the_manifest_asks_for(fake: FakeSlack) -> None:
    fake.scopes = ["commands", "chat:write", "users:read.email", "extra:scope"]
    lines = await doctor(fake)
    assert lines[1].startswith(
        "✗ Slack scopes: missing reactions:read, im:write, channels:history, groups:history, "
        "im:history, users:read, channels:read, groups:read: add them under"
    )
    assert (
        "✗ circle council: cannot see channel CCOUNCIL: missing scope channels:read, "
        "groups:read: add them under OAuth & Permissions → Bot Token Scopes" in lines[2]
    )
    assert lines[3].startswith(
        "✗ circle council: cannot look up its 3 Slack ids: missing scope users:read: add it"
    )
    assert lines[4] == "✓ circle council: dee@example.org is UDEE"


# -- channels ----------------------------------------------------------------------------


async def test_the_bot_not_in_a_circles_channel(fake: FakeSlack) -> None:
    fake.add_channel("CCOUNCIL", "council", is_member=False)
    lines = await doctor(fake)
    assert failures(lines) == [
        "✗ circle council: the bot is not a member of #council (CCOUNCIL): type /invite "
        "@circlebot in #council"
    ]


async def test_an_unknown_channel_id(fake: FakeSlack) -> None:
    specs = circles()
    specs[1] = replace(specs[1], channels={"slack": Channel("CNOPE")})
    lines = await doctor(fake, specs)
    [line] = failures(lines)
    assert line.startswith(
        "✗ circle garden: channel CNOPE not found: set the circle's slack_channel to the "
        "channel's ID: in Slack, click the channel's name; the ID (C…) is at the bottom of "
        "the About tab."
    )
    assert "/invite @circlebot" in line


async def test_a_private_channel_the_bot_is_not_in_is_not_found(fake: FakeSlack) -> None:
    fake.add_channel("CCOUNCIL", "council", is_private=True, is_member=False)
    [line] = failures(await doctor(fake))
    assert line.startswith("✗ circle council: channel CCOUNCIL not found: ")
    assert "A private channel shows only once the bot is in it" in line


async def test_an_archived_channel(fake: FakeSlack) -> None:
    fake.add_channel("CGENERAL", "general", is_archived=True, is_member=False)
    assert failures(await doctor(fake)) == [
        "✗ circle garden: #general (CGENERAL) is archived: unarchive it in Slack, or set the "
        "circle's slack_channel to the ID of the channel it uses now"
    ]


# -- members -----------------------------------------------------------------------------


async def test_an_unknown_member_id(fake: FakeSlack) -> None:
    del fake.users["UBEN"]
    lines = await doctor(fake)
    assert failures(lines) == [
        '✗ circle council: member ben (slack = "UBEN") not found in Slack: give their Slack '
        "member ID (in Slack: their profile → ⋮ More → Copy member ID), or the e-mail address "
        "they sign in to Slack with"
    ]
    assert "✓ circle garden: all 2 Slack ids found" in lines


async def test_a_deactivated_member_in_two_circles(fake: FakeSlack) -> None:
    fake.add_user("UCY", "cy", deleted=True)
    lines = await doctor(fake)
    assert failures(lines) == [
        f'✗ circle {name}: member cy (slack = "UCY") is deactivated in Slack: remove them from '
        "the circle in the config, or ask a workspace admin to reactivate their account"
        for name in ("council", "garden")
    ]
    assert len(fake.calls_to("users.info")) == 3


async def test_an_unknown_email(fake: FakeSlack) -> None:
    fake.add_user("UDEE", "dee", email="dee@elsewhere.org")
    assert failures(await doctor(fake)) == [
        '✗ circle council: member dee (slack = "dee@example.org") is not the address of anyone '
        "in the workspace: use the address they sign in to Slack with, or give their Slack "
        "member ID instead (their profile → ⋮ More → Copy member ID)"
    ]


async def test_slack_failing_on_one_lookup_is_said_as_such(fake: FakeSlack) -> None:
    fake.fail("users.info", 500, error="internal_error")
    lines = await doctor(fake)
    assert failures(lines) == [
        '✗ circle council: could not look up member ana (slack = "UANA") (internal_error): '
        "Slack did not answer as expected: run circlebot doctor again; if it persists, check "
        "the network and status.slack.com"
    ]
    assert "✓ circle garden: all 2 Slack ids found" in lines  # asked again, not remembered


# -- find_by_email -----------------------------------------------------------------------


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as opened:
        yield opened


def client_for(url: str, session: aiohttp.ClientSession) -> AsyncWebClient:
    return AsyncWebClient(token=BOT_TOKEN, base_url=url, session=session)


async def test_find_by_email_finds_the_person(
    fake: FakeSlack, session: aiohttp.ClientSession
) -> None:
    found = await find_by_email(client_for(fake.api_url, session), "DEE@example.org")
    assert found == EmailLookup("UDEE", None) and found.found
    [call] = fake.calls_to("users.lookupByEmail")
    assert call.params["email"] == "DEE@example.org"


async def test_find_by_email_says_slacks_error(
    fake: FakeSlack, session: aiohttp.ClientSession
) -> None:
    client = client_for(fake.api_url, session)
    assert await find_by_email(client, "nobody@example.org") == EmailLookup(None, "users_not_found")
    fake.scopes = [scope for scope in fake.scopes if scope != "users:read.email"]
    assert await find_by_email(client, "dee@example.org") == EmailLookup(None, "missing_scope")


async def test_find_by_email_does_not_raise_on_a_network_error(
    session: aiohttp.ClientSession,
) -> None:
    client = client_for(f"http://127.0.0.1:{unused_port()}/api/", session)
    found = await find_by_email(client, "dee@example.org")
    assert found == EmailLookup(None, "ClientConnectorError") and not found.found
