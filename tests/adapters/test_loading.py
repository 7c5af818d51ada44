"""Adapters are plug-ins: bot.wiring.app finds each platform's `build_adapter` by its entry
point (group circlebot.adapters), and names the platform when it cannot."""

from __future__ import annotations

from dataclasses import replace
from importlib.metadata import EntryPoint, EntryPoints

import pytest

from adapters.console import ConsoleAdapter
from adapters.matrix import MatrixAdapter
from bot.config import Config, MatrixConfig, StorageConfig
from bot.domain.errors import AppError
from bot.wiring import app
from bot.wiring.app import ADAPTER_GROUP, build_adapters
from tests.adapters.slack.conftest import council

CONFIG = Config(
    storage=StorageConfig(),
    slack=None,
    matrix=None,
    circles=(council(),),
    warnings=(),
    path="x.toml",
)
MATRIX = replace(CONFIG, matrix=MatrixConfig(homeserver="https://m.example.org", user_id="@b:m"))


def test_every_platform_is_installed_as_an_entry_point() -> None:
    assert {"console", "slack", "matrix"} <= {
        point.name for point in app.entry_points(group=ADAPTER_GROUP)
    }
    [console] = build_adapters(CONFIG, {})
    assert isinstance(console, ConsoleAdapter)
    [matrix] = build_adapters(MATRIX, {"MATRIX_ACCESS_TOKEN": "syt_x"})
    assert isinstance(matrix, MatrixAdapter)


def test_an_adapter_that_cannot_be_loaded_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = EntryPoint("matrix", "adapters.no_such_module:build_adapter", ADAPTER_GROUP)

    def only_broken(group: str, name: str) -> EntryPoints:
        assert group == ADAPTER_GROUP
        return EntryPoints([broken] if name == "matrix" else [])

    monkeypatch.setattr(app, "entry_points", only_broken)
    with pytest.raises(AppError, match=r"^\[matrix\]: the matrix adapter cannot be loaded: "):
        build_adapters(MATRIX, {"MATRIX_ACCESS_TOKEN": "syt_x"})
    with pytest.raises(AppError, match=r"^\[console\]: no console adapter is installed"):
        build_adapters(CONFIG, {})
