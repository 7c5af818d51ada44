"""Real `circlebot run` processes: a second bot on the same SQLite file exits at once
naming the file and the first one's pid; a bot whose database file is deleted tells the
person and stops with a clear error instead of confirming what it cannot keep."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.runtime.test_restart import CONFIG, Bot

pytestmark = pytest.mark.slow


def circlebot() -> str:
    found = shutil.which("circlebot", path=str(Path(sys.executable).parent))
    assert found is not None
    return found


def run_once(config: Path, script: str) -> subprocess.CompletedProcess[str]:
    """`circlebot run` with piped input: it stops at the input's end."""
    return subprocess.run(
        [circlebot(), "run", "--config", str(config)],
        input=script,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_second_process_on_one_sqlite_file_exits_at_once(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(db=tmp_path / "bot.db"))
    first = Bot(config)
    try:
        first.say("as ana: /propose Adopt it by 1h")
        first.wait_for(lambda line: "Proposal #1 by ana · open" in line)
        second = run_once(config, "as ana: /propose Twice by 1h\n")
        assert second.returncode == 2, second
        assert f"{tmp_path / 'bot.db'} is in use by another circlebot" in second.stderr
        assert f"process {first.process.pid}" in second.stderr
        assert "Traceback" not in second.stderr
        assert "Proposal #" not in second.stdout
    finally:
        first.stop()
    assert first.process.returncode == 0
    # The first one gone, the file serves a new bot.
    third = run_once(config, "as ana: /status 1\n")
    assert third.returncode == 0, third.stderr
    assert "#1 by ana · open" in third.stdout


def test_a_deleted_database_file_stops_the_bot_with_a_clear_error(tmp_path: Path) -> None:
    database = tmp_path / "bot.db"
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(db=database))
    bot = Bot(config)
    try:
        bot.say("as ana: /propose Adopt it by 1h")
        bot.wait_for(lambda line: "Proposal #1 by ana · open" in line)
        os.remove(database)
        bot.say("as ben: react 1 +1")
        bot.say("as ana: /propose Second by 1h")
        bot.process.wait(timeout=30)
        bot.drain()
    finally:
        if bot.process.poll() is None:
            bot.kill()
    output = "\n".join(bot.seen)
    assert bot.process.returncode == 2, output
    assert f"circlebot: the database file was deleted: {database}" in output
    assert "Proposal #2" not in output
    assert "Traceback" not in output
