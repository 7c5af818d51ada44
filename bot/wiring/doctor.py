"""`circlebot doctor --config FILE`: what an operator can get wrong, each checked and
said in one line with ✓ or ✗ and the fix: the config, the database and its migrations,
then each platform's own checks (its token, permissions, channels or rooms, members).
It changes nothing: no database is created or migrated, nothing is posted."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping

from bot.config import ConfigError, load_config
from bot.domain.diagnosis import Check, failed, passed
from bot.domain.errors import AppError
from bot.ports.platform import OperatorPage
from bot.text.home import Home
from bot.wiring.app import (
    database_checks,
    keep_installations,
    platforms,
    stored_cursor,
    used_platforms,
)


class _NotRunning:
    """What a platform's checks may ask of the core while the bot is not running: the
    values adapters keep in the database (a Matrix password login's session), read
    only. The bot has no circles in hand, no Home to show, and writes nothing."""

    def __init__(self, url: str) -> None:
        self._url = url

    async def circle_at(
        self, platform: str, channel: str, workspace: str | None = None
    ) -> str | None:
        return None

    async def is_member(
        self, platform: str, channel: str, user: str, workspace: str | None = None
    ) -> bool:
        return False

    async def home(self, platform: str, user: str, workspace: str | None = None) -> Home:
        raise RuntimeError("doctor shows no Home tab")

    async def cursor(self, name: str) -> str | None:
        return await asyncio.to_thread(stored_cursor, self._url, name)

    async def set_cursor(self, name: str, value: str) -> None:
        return None  # doctor changes nothing

    async def unresolved_emails(self, platform: str) -> list[str]:
        return []

    async def email_resolved(self, platform: str, address: str, user_id: str) -> list[str]:
        return []

    async def operator_page(self, path: str) -> OperatorPage | None:
        return None


async def diagnose(config_path: str, env: Mapping[str, str] | None = None) -> list[Check]:
    """Every check, in order; a config that cannot be read ends the list."""
    env = os.environ if env is None else env
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        return [failed(f"config {config_path}: not usable", str(exc))]
    members = sum(len(circle.members) for circle in config.circles)
    checks = [
        passed(
            f"config {config_path}: {len(config.circles)} circle(s), {members} member(s), "
            f"platforms: {', '.join(platforms(config))}"
        )
    ]
    checks += await asyncio.to_thread(database_checks, config.storage.url)
    services = _NotRunning(config.storage.url)
    for platform in used_platforms(config):
        try:
            adapter = platform.build_adapter(config, env)
            keep_installations(adapter, config.storage.url, env)  # read only
        except AppError as exc:
            checks.append(failed(f"{platform.name}: cannot be set up", str(exc)))
            continue
        checks += await adapter.diagnose(services)
    return checks
