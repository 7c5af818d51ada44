"""Installing the app in many workspaces ([slack] client_id): Bolt's OAuth flow on
GET /slack/install (a one-time state, in a cookie and in the URL to Slack) and on the
redirect path (the state checked and consumed, the code exchanged with oauth.v2.access,
the installation saved). Bolt's stores are the bot's own, over the core's port
(bot.ports.installations): installations with their tokens sealed, states kept by digest.
What Bolt logs never carries a token."""

from __future__ import annotations

import html
import logging
import re
from datetime import UTC, datetime
from typing import Any

from slack_bolt.error import BoltError
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store import Bot as SlackBot
from slack_sdk.oauth.installation_store import Installation as SlackInstallation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from adapters.slack.config import INSTALL_PATH, SlackConfig
from adapters.slack.doctor import manifest_scopes
from adapters.slack.teams import Teams
from bot.domain.i18n import LANGUAGES, lang
from bot.domain.text_safety import clean_text
from bot.ports.installations import (
    STATE_TTL,
    Installation,
    Installations,
    LockedInstallation,
    Tokens,
)

log = logging.getLogger(__name__)


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(value), UTC)


def _scopes(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(scope for scope in value.split(",") if scope)
    return tuple(str(scope) for scope in value or ())


def ours(installation: SlackInstallation) -> Installation:
    """slack_sdk's installation as the core's port keeps it."""
    return Installation(
        team_id=installation.team_id,
        enterprise_id=installation.enterprise_id,
        team_name=installation.team_name,
        app_id=installation.app_id,
        bot_id=installation.bot_id,
        bot_user_id=installation.bot_user_id,
        bot_scopes=_scopes(installation.bot_scopes),
        user_id=installation.user_id,
        user_scopes=_scopes(installation.user_scopes),
        bot_token_expires_at=_moment(installation.bot_token_expires_at),
        user_token_expires_at=_moment(installation.user_token_expires_at),
        is_enterprise_install=bool(installation.is_enterprise_install),
        installed_at=_moment(installation.installed_at) or datetime.now(UTC),
        tokens=Tokens(
            installation.bot_token,
            installation.bot_refresh_token,
            installation.user_token,
            installation.user_refresh_token,
        ),
    )


def theirs(installation: Installation) -> SlackInstallation:
    """The port's installation as Bolt wants it."""
    return SlackInstallation(
        app_id=installation.app_id,
        enterprise_id=installation.enterprise_id,
        team_id=installation.team_id,
        team_name=installation.team_name,
        bot_token=installation.tokens.bot,
        bot_id=installation.bot_id,
        bot_user_id=installation.bot_user_id,
        bot_scopes=list(installation.bot_scopes),
        bot_refresh_token=installation.tokens.bot_refresh,
        bot_token_expires_at=installation.bot_token_expires_at,
        user_id=installation.user_id or "",
        user_token=installation.tokens.user,
        user_scopes=list(installation.user_scopes),
        user_refresh_token=installation.tokens.user_refresh,
        user_token_expires_at=installation.user_token_expires_at,
        is_enterprise_install=installation.is_enterprise_install,
        installed_at=installation.installed_at,
    )


class InstallationStore(AsyncInstallationStore):
    """Bolt's installation store: the bot's database, through the core's port. A new
    installation is served at once (Teams reads it again)."""

    def __init__(self, installations: Installations, teams: Teams) -> None:
        self.installations = installations
        self.teams = teams

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: SlackInstallation) -> None:
        try:
            await self.installations.save(ours(installation))
        except Exception as exc:  # Bolt shows its failure page for a BoltError
            log.error("slack: could not save the installation in %s: %s", installation.team_id, exc)
            raise BoltError("the installation could not be saved") from exc
        self.teams.forget(installation.team_id)
        log.info(
            "slack: installed in workspace %s (%s)", installation.team_id, installation.team_name
        )

    async def async_save_bot(self, bot: SlackBot) -> None:
        raise BoltError("only whole installations are saved")

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> SlackInstallation | None:
        try:
            found = await self.installations.find(
                None if is_enterprise_install else team_id, enterprise_id
            )
        except LockedInstallation:  # no key given opens it: as if not installed
            return None
        return theirs(found) if found is not None else None

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> SlackBot | None:
        found = await self.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return found.to_bot() if found is not None and found.bot_token else None

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """The app was uninstalled (or its tokens revoked): the installation goes."""
        await self.installations.delete(team_id, enterprise_id)
        self.teams.forget(team_id)
        log.info("slack: uninstalled from workspace %s", team_id)


class StateStore(AsyncOAuthStateStore):
    """Bolt's state store: one-time states in the bot's database (any replica may take
    the redirect), consumed once, expiring after STATE_TTL."""

    def __init__(self, installations: Installations) -> None:
        self.installations = installations

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await self.installations.issue_state()

    async def async_consume(self, state: str) -> bool:
        consumed = await self.installations.consume_state(state or "")
        if not consumed:
            log.warning("slack: an install came back with an unknown, used or expired state")
        return consumed


def not_installed_reply() -> str:
    """What someone hears from a workspace the app is not installed in: nobody there has
    a circle to read it in, so it says it in every language."""
    return " / ".join(
        lang(code)._(
            "circlebot is not installed in this workspace yet: ask whoever runs it for "
            "the install link."
        )
        for code in LANGUAGES
    )


def _page(status: int, headers: dict[str, Any], paragraphs: list[str]) -> BoltResponse:
    """A small page in every language, with Bolt's headers (its cookie is cleared)."""
    body = "".join(f"<p>{html.escape(text)}</p>" for text in paragraphs)
    page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>circlebot</title></head><body>{body}</body></html>"
    )
    headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    headers["Content-Type"] = "text/html; charset=utf-8"
    return BoltResponse(status=status, body=page, headers=headers)


async def _installed(args: AsyncSuccessArgs) -> BoltResponse:
    default = await args.default.success(args)  # Bolt's answer: its cookie cleared
    found = args.installation
    workspace = clean_text(str(found.team_name or found.team_id or "Slack"))
    return _page(
        default.status,
        dict(default.headers),
        [
            lang(code)._(
                "circlebot is now installed in {workspace}. Invite it to each circle's "
                "channel there: /invite @circlebot",
                workspace=workspace,
            )
            for code in LANGUAGES
        ],
    )


_REASON = re.compile(r"[a-z_]{1,40}")


async def _failed(args: AsyncFailureArgs) -> BoltResponse:
    default = await args.default.failure(args)
    # Slack's reasons are short codes (access_denied, invalid_state); anything else came
    # from whoever wrote the URL and is neither shown nor logged as it is.
    reason = args.reason if _REASON.fullmatch(args.reason or "") else "unknown"
    log.warning("slack: an install failed: %s", reason)
    return _page(
        default.status,
        dict(default.headers),
        [
            lang(code)._(
                "The installation did not complete ({reason}). Please start again from "
                "the install link.",
                reason=reason,
            )
            for code in LANGUAGES
        ],
    )


def oauth_settings(
    config: SlackConfig, client_secret: str, installations: Installations, teams: Teams
) -> AsyncOAuthSettings:
    assert config.client_id is not None
    return AsyncOAuthSettings(
        client_id=config.client_id,
        client_secret=client_secret,
        scopes=list(manifest_scopes()),
        redirect_uri=config.redirect_uri,
        install_path=INSTALL_PATH,
        # Straight to Slack's page: the bot shows no page of its own.
        install_page_rendering_enabled=False,
        redirect_uri_path=config.redirect_path,
        installation_store=InstallationStore(installations, teams),
        state_store=StateStore(installations),
        state_expiration_seconds=int(STATE_TTL.total_seconds()),
        callback_options=AsyncCallbackOptions(success=_installed, failure=_failed),
        logger=logging.getLogger("circlebot.slack.bolt"),
    )
