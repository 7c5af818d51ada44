"""`circlebot doctor`: the config and database checks, and how the result is printed
(the platforms' own checks are tested with the fake Slack Web API and a real Synapse,
beside their adapters)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from bot.wiring.cli import main
from bot.wiring.doctor import diagnose
from storage import open_repository
from storage.db import make_engine
from storage.migrate import alembic_config

CIRCLE = """
[[circles]]
name = "council"
timezone = "UTC"
sides = ["milpa", "vera"]
slack_channel = "CCOUNCIL"
[[circles.members]]
name = "ana"
side = "milpa"
[[circles.members]]
name = "ben"
side = "vera"
"""


def write_config(folder: Path, url: str, extra: str = "") -> Path:
    path = folder / "config.toml"
    path.write_text(f'[storage]\nurl = "{url}"\n{extra}{CIRCLE}', encoding="utf-8")
    return path


# The newest migration: each new one moves it, and these tests need not change.
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()
assert HEAD is not None


def lines(config: Path, env: dict[str, str] | None = None) -> list[str]:
    return [check.line() for check in asyncio.run(diagnose(str(config), env or {}))]


def test_a_console_setup_passes_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/bot.db"
    open_repository(url).engine.dispose()
    config = write_config(tmp_path, url)
    assert main(["doctor", "--config", str(config)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"✓ config {config}: 1 circle(s), 2 member(s), platforms: console",
        f"✓ database: {url} answers",
        f"✓ database schema: up to date ({HEAD})",
        "✓ console: nothing to connect to (no [slack] or [matrix] in the config)",
        "4 checks, all passed",
    ]


def test_no_database_yet_is_fine_and_none_is_made(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/bot.db")
    assert (
        lines(config)[1] == f"✓ database: none yet at {tmp_path}/bot.db; the first start creates it"
    )
    assert not (tmp_path / "bot.db").exists()


def test_a_database_folder_that_does_not_exist(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/nowhere/bot.db")
    assert lines(config)[1] == (
        f"✗ database: the folder {tmp_path}/nowhere does not exist: create it, or fix storage.url"
    )


def test_a_config_that_cannot_be_read_is_one_line_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[[circles]]\nname = 3\n", encoding="utf-8")
    assert main(["doctor", "--config", str(config)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"✗ config {config}: not usable: {config}: circles[0].name")
    assert out[-1] == "1 checks, 1 failed"


def test_a_database_behind_the_migrations_is_named_and_left_alone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/bot.db"
    engine = make_engine(url)
    settings = alembic_config()
    with engine.begin() as connection:
        settings.attributes["connection"] = connection
        command.upgrade(settings, "0002")
    config = write_config(tmp_path, url)
    assert lines(config)[2] == (
        f"✗ database schema: {int(HEAD) - 2} migration(s) behind (0002 → {HEAD}): start the bot "
        "(`circlebot run`): it applies them on start"
    )
    with engine.connect() as connection:  # doctor migrated nothing
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "0002"
    engine.dispose()


def test_a_database_from_a_newer_circlebot(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/bot.db"
    repo = open_repository(url)
    with repo.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    repo.engine.dispose()
    assert lines(write_config(tmp_path, url))[2].startswith(
        f"✗ database schema: at 0099, newer than this circlebot ({HEAD})"
    )


def test_a_database_server_that_does_not_answer(tmp_path: Path) -> None:
    config = write_config(tmp_path, "postgresql+psycopg://circlebot@127.0.0.1:9/circlebot")
    line = lines(config)[1]
    assert line.startswith(
        "✗ database: postgresql+psycopg://circlebot@127.0.0.1:9/circlebot does not answer ("
    ), line
    assert "check that the database server runs" in line


def test_a_missing_platform_secret_is_named_and_the_rest_still_checked(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/bot.db", '[slack]\nmode = "http"\n')
    found = lines(config, {})
    assert found[-1].startswith("✗ slack: cannot be set up: SLACK_BOT_TOKEN is not set")
    assert found[1].startswith("✓ database")
