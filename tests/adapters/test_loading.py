"""Adapters are plug-ins: bot.config.plugins finds each platform's plug-in (and with it
its `build_adapter`) by its entry point (group circlebot.adapters), and names the
platform when it cannot."""

from __future__ import annotations

from dataclasses import replace
from importlib.metadata import EntryPoint, EntryPoints

import pytest

from adapters.console import ConsoleAdapter
from adapters.matrix import MatrixAdapter
from adapters.matrix.config import MatrixConfig
from bot.config import Config, StorageConfig, plugins
from bot.config.plugins import ADAPTER_GROUP
from bot.domain.errors import AppError
from bot.wiring.app import build_adapters
from tests.adapters.slack.conftest import council

CONFIG = Config(
    storage=StorageConfig(),
    platforms={},
    circles=(council(),),
    warnings=(),
    path="x.toml",
)
MATRIX = replace(
    CONFIG, platforms={"matrix": MatrixConfig(homeserver="https://m.example.org", user_id="@b:m")}
)


def test_every_platform_is_installed_as_an_entry_point() -> None:
    assert {"console", "slack", "matrix"} <= {
        point.name for point in plugins.entry_points(group=ADAPTER_GROUP)
    }
    [console] = build_adapters(CONFIG, {})
    assert isinstance(console, ConsoleAdapter)
    [matrix] = build_adapters(MATRIX, {"MATRIX_ACCESS_TOKEN": "syt_x"})
    assert isinstance(matrix, MatrixAdapter)


def test_an_adapter_that_cannot_be_loaded_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = EntryPoint("matrix", "adapters.no_such_module:PLATFORM", ADAPTER_GROUP)

    def only_broken(group: str, name: str | None = None) -> EntryPoints:
        assert group == ADAPTER_GROUP
        return EntryPoints([broken] if name in (None, "matrix") else [])

    monkeypatch.setattr(plugins, "entry_points", only_broken)
    plugins.installed.cache_clear()  # what was found before the entry points changed
    monkeypatch.setattr(plugins, "installed", plugins.installed.__wrapped__)
    with pytest.raises(AppError, match=r"^\[matrix\]: the matrix adapter cannot be loaded: "):
        build_adapters(MATRIX, {"MATRIX_ACCESS_TOKEN": "syt_x"})
    with pytest.raises(AppError, match=r"^\[console\]: no console adapter is installed"):
        build_adapters(CONFIG, {})
