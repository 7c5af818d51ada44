"""`circlebot doctor` for Matrix: what an operator can get wrong, checked against the
homeserver without syncing."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.matrix.cursors import CursorStore
from bot.circle import CircleSpec
from bot.config import MatrixConfig
from bot.diagnosis import Check


async def diagnose(
    config: MatrixConfig,
    circles: Sequence[CircleSpec],
    *,
    access_token: str | None,
    password: str | None,
    cursors: CursorStore,
    timeout: float = 30.0,
) -> list[Check]:
    raise NotImplementedError  # being written
