"""A real `circlebot run` (console adapter, SQLite file) killed with SIGKILL before a
reminder and a deadline fall due: after a restart each fires exactly once, and nothing
recorded before the kill is lost."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CONFIG = """
[storage]
url = "sqlite:///{db}"

[[circles]]
name = "council"
sides = ["milpa", "vera"]
admins = ["ana"]
[circles.rules]
reminders = ["8s"]
[[circles.members]]
name = "ana"
side = "milpa"
[[circles.members]]
name = "ben"
side = "milpa"
[[circles.members]]
name = "cy"
side = "vera"
[[circles.members]]
name = "dee"
side = "vera"
"""


class Bot:
    """A circlebot process whose standard input stays open (so it keeps running)."""

    def __init__(self, config: Path) -> None:
        circlebot = shutil.which("circlebot", path=str(Path(sys.executable).parent))
        assert circlebot is not None
        self.process = subprocess.Popen(
            [circlebot, "run", "--config", str(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def say(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 30) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if predicate(line):
                return line
        raise AssertionError(f"not seen within {timeout}s; output so far:\n" + "\n".join(self.seen))

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.drain()

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()  # end of input: the console stops
        self.process.wait(timeout=30)
        self.drain()

    def drain(self) -> None:
        time_limit = time.monotonic() + 2
        while time.monotonic() < time_limit:
            try:
                self.seen.append(self.lines.get(timeout=0.2))
            except queue.Empty:
                if self.process.poll() is not None:
                    break


def test_sigkill_then_restart_fires_each_due_thing_once(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(db=tmp_path / "bot.db"))
    first = Bot(config)
    first.say("as ana: /propose Adopt the visiting policy by 12s")
    first.wait_for(lambda line: "Proposal #1 by ana · open" in line)
    opened = time.monotonic()
    first.say("as ana: react 1 +1")
    first.say("as cy: react 1 thinking_face")
    first.wait_for(lambda line: "milpa 1/2 … · vera 1/2 …" in line)
    first.kill()  # before the reminder (due 4 s after opening) and the deadline (12 s)

    # Stay down past the reminder's time, then come back before the deadline.
    while time.monotonic() - opened < 5.5:
        time.sleep(0.1)
    second = Bot(config)
    second.say("as ben: /status 1")
    second.wait_for(lambda line: "closes" in line and "⏰" in line)
    second.wait_for(lambda line: "Proposal #1 closed without quorum" in line, timeout=30)
    second.stop()

    output = first.seen + second.seen
    reminders = [line for line in output if line.startswith("[council #1 thread] ⏰")]
    assert len(reminders) == 1, output
    assert "late" in reminders[0]
    assert reminders[0].endswith(
        "Waiting on milpa (1 of 2), vera (1 of 2): @ben, @dee "
        "(late: the bot was offline when it was due)"
    )
    direct = sorted(line.split("]")[0] for line in output if line.startswith("[direct to"))
    assert direct == ["[direct to ben", "[direct to dee"]
    assert sum("closed without quorum" in line for line in output) == 1
    # What was recorded before the kill survived it: ana's and cy's answers.
    status = "\n".join(second.seen)
    assert "milpa …  1/2 consent; 1 answered; waiting on: ben" in status
    assert "concerns: cy; waiting on: dee" in status
