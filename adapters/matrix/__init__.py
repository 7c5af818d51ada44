"""The Matrix adapter (matrix-nio). `circlebot run` loads it when the config has a
[matrix] table; secrets come from the environment: MATRIX_ACCESS_TOKEN, or
MATRIX_PASSWORD (the bot then logs in once and keeps its device and token in the bot's
database, so restarts reuse the same device)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from adapters.matrix import config as matrix_config
from adapters.matrix.cursors import CoreCursors, CursorStore, MemoryCursors
from bot.config import Config
from bot.config.plugins import Platform
from bot.domain.errors import AppError
from bot.ports.platform import PlatformTraits

if TYPE_CHECKING:
    from adapters.matrix.adapter import MatrixAdapter
    from adapters.matrix.e2e import E2E_AVAILABLE
    from adapters.matrix.errors import FatalMatrixError, MatrixError

# What needs matrix-nio is imported when asked for: every circlebot command reads the
# config through this plug-in, and most never talk to a homeserver.
_LAZY = {
    "MatrixAdapter": "adapters.matrix.adapter",
    "E2E_AVAILABLE": "adapters.matrix.e2e",
    "FatalMatrixError": "adapters.matrix.errors",
    "MatrixError": "adapters.matrix.errors",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "E2E_AVAILABLE",
    "PLATFORM",
    "TRAITS",
    "CoreCursors",
    "CursorStore",
    "FatalMatrixError",
    "MatrixAdapter",
    "MatrixError",
    "MemoryCursors",
    "build_adapter",
]


def build_adapter(config: Config, env: Mapping[str, str]) -> MatrixAdapter:
    matrix = matrix_config.matrix_settings(config.platforms)
    if matrix is None:
        raise AppError("[matrix]: the Matrix adapter needs a [matrix] table in the config")
    token = env.get("MATRIX_ACCESS_TOKEN", "").strip()
    password = env.get("MATRIX_PASSWORD", "")
    if not token and not password:
        raise AppError(
            f"[matrix]: set MATRIX_ACCESS_TOKEN (an access token of {matrix.user_id}) or "
            f"MATRIX_PASSWORD (its password) in the environment; secrets never go in the "
            f"config file"
        )
    from adapters.matrix.adapter import MatrixAdapter  # matrix-nio: only for the bot that runs it

    return MatrixAdapter(
        matrix, config.circles, access_token=token or None, password=password or None
    )


TRAITS = PlatformTraits(matrix_config.PLATFORM, matrix_config.person_in, title="Matrix")
PLATFORM = Platform(matrix_config.MatrixPlatformConfig(), TRAITS, build_adapter)
