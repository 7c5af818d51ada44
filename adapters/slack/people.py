"""Finding people in the Slack workspace. A member configured by e-mail address
(`slack = "ana@example.org"`) is looked up once by that address; `circlebot doctor`
checks the same lookups."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.webapi import slack_error


@dataclass(frozen=True)
class EmailLookup:
    """Who an e-mail address is in the workspace: `user_id` when found; else `error`,
    Slack's error code (users_not_found, missing_scope, ratelimited, ...) or, when Slack
    could not be reached, the network error's name (ClientConnectorError, TimeoutError)."""

    user_id: str | None
    error: str | None

    @property
    def found(self) -> bool:
        return self.user_id is not None


async def find_by_email(client: AsyncWebClient, email: str) -> EmailLookup:
    """users.lookupByEmail (scope users:read.email). Never raises for a Slack error or a
    network error: callers decide what a failed lookup means for them."""
    try:
        response = await client.users_lookupByEmail(email=email)
    except SlackApiError as exc:
        status = getattr(exc.response, "status_code", None)
        return EmailLookup(None, slack_error(exc) or f"http_{status}")
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        return EmailLookup(None, type(exc).__name__)
    user = response.get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    if not isinstance(user_id, str) or not user_id:
        return EmailLookup(None, "invalid_response")  # ok, but no user in it
    return EmailLookup(user_id, None)
