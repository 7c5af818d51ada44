"""SIGTERM is a graceful stop: a real `circlebot run` exits 0 at once (not waiting for
the next typed line), says so in its log, and keeps everything it confirmed."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.runtime.test_restart import CONFIG, Bot
from tests.runtime.test_storage_guards import run_once

pytestmark = pytest.mark.slow


def test_sigterm_stops_gracefully_and_keeps_what_was_confirmed(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(db=tmp_path / "bot.db"))
    bot = Bot(config)
    try:
        bot.say("as ana: /propose Adopt it by 1h")
        bot.wait_for(lambda line: "Proposal #1 by ana · open" in line)
        bot.process.send_signal(signal.SIGTERM)  # standard input stays open
        assert bot.process.wait(timeout=30) == 0
        bot.drain()
    finally:
        if bot.process.poll() is None:
            bot.kill()
    output = "\n".join(bot.seen)
    assert "Traceback" not in output
    again = run_once(config, "as cy: /status 1\n")
    assert again.returncode == 0, again.stderr
    assert "#1 by ana · open" in again.stdout
