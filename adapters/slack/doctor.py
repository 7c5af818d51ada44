"""`circlebot doctor` for Slack: what an operator can get wrong, checked against the
Web API without connecting the bot."""

from __future__ import annotations

from collections.abc import Sequence

from bot.circle import CircleSpec
from bot.config import SlackConfig
from bot.diagnosis import Check


async def diagnose(
    config: SlackConfig,
    circles: Sequence[CircleSpec],
    bot_token: str,
    *,
    timeout: float = 15.0,
) -> list[Check]:
    raise NotImplementedError  # being written
