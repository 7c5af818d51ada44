"""Start and stop of a real `circlebot run`, at every moment of its start-up: a SIGTERM
ends it with exit 0 (its SQLite lock released, its database fit for the next start);
/readyz answers 200 only after the log's "ready:" line, and names what is missing before;
a PostgreSQL that does not answer during start-up is waited out (503 naming the
database), not a crash."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from tests import pgserver
from tests.ci import unavailable
from tests.runtime.test_storage_guards import circlebot, run_once

pytestmark = pytest.mark.slow

CONFIG = """
[storage]
url = "{url}"

[server]
host = "127.0.0.1"
port = {port}

[logging]
level = "info"

[[circles]]
name = "council"
sides = ["milpa", "vera"]
admins = ["ana"]
[[circles.members]]
name = "ana"
side = "milpa"
[[circles.members]]
name = "cy"
side = "vera"
"""

# SIGTERM sent this long after the process first catches it (the first moment circlebot's
# own code runs): from before the config is read to after start-up has finished.
DELAYS_MS = (0, 25, 50, 100, 200, 300, 500, 800, 1200, 2000, 3000)
STOP_LIMIT = 10.0  # seconds from SIGTERM to exit, as the spec says


def catches_sigterm(pid: int) -> bool:
    """Whether the process has a handler for SIGTERM (the kernel's view of it)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    except FileNotFoundError:
        pass
    return False


class Bot:
    """A `circlebot run` whose standard input stays open and whose output (standard
    output and error) goes to a file, read at any moment: what the process wrote before it
    answered a request is there when the answer arrives."""

    def __init__(self, folder: Path, url: str) -> None:
        self.port = pgserver.free_port()
        self.config = folder / "config.toml"
        self.config.write_text(CONFIG.format(url=url, port=self.port))
        self.log = folder / "output.log"
        self._out: IO[str] = self.log.open("w")
        self.process = subprocess.Popen(
            [circlebot(), "run", "--config", str(self.config)],
            stdin=subprocess.PIPE,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def output(self) -> str:
        return self.log.read_text()

    def get(self, path: str) -> tuple[int, str] | None:
        """Status and body; None while nothing listens on the port yet."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except (urllib.error.URLError, ConnectionError):
            return None

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float = 30) -> Any:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            found = check()
            if found:
                return found
            assert self.process.poll() is None, f"exited while waiting for {what}:\n" + (
                self.output()
            )
            time.sleep(0.05)
        raise AssertionError(f"not seen within {timeout} s: {what}\n{self.output()}")

    def terminate(self) -> float:
        """SIGTERM; the seconds until the process exited."""
        sent = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        return time.monotonic() - sent

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.process.stdin is not None:
            self.process.stdin.close()
        self._out.close()


def not_ready(body: str) -> dict[str, str]:
    found: dict[str, str] = json.loads(body)["not_ready"]
    return found


def test_a_sigterm_at_any_moment_of_start_up_exits_0_and_leaves_the_database_usable(
    tmp_path: Path,
) -> None:
    tries: list[tuple[int, int | None, float, bool]] = []  # delay, exit, seconds, started
    for delay in DELAYS_MS:
        folder = tmp_path / f"after-{delay}ms"
        folder.mkdir()
        database = folder / "bot.db"
        lock = folder / "bot.db.lock"
        bot = Bot(folder, f"sqlite:///{database}")
        try:
            while not catches_sigterm(bot.process.pid):
                assert bot.process.poll() is None, bot.output()
                time.sleep(0.0005)
            # Caught before the store is opened (its lock file is the first thing made).
            assert not lock.exists(), f"SIGTERM caught only after the store was opened ({delay})"
            time.sleep(delay / 1000)
            took = bot.terminate()
        finally:
            bot.close()
        output = bot.output()
        tries.append((delay, bot.process.returncode, took, "ready:" in output))
        assert bot.process.returncode == 0, (delay, output)
        assert took < STOP_LIMIT, (delay, took)
        assert "Traceback" not in output, output
        # The lock is free and what the start-up did (or not) leaves a database that
        # serves the next start.
        again = run_once(bot.config, "as ana: /propose Adopt it by 1h\n")
        assert again.returncode == 0, (delay, again.stderr)
        assert "Proposal #1 by ana · open" in again.stdout, (delay, again.stdout)
    during_start_up = [delay for delay, _, _, started in tries if not started]
    print("SIGTERM after (ms), exit, seconds to exit, start-up finished:", tries)
    assert len(during_start_up) >= 5, tries  # most tries did stop a start-up midway


def test_readyz_is_503_naming_what_is_missing_until_the_ready_line(tmp_path: Path) -> None:
    database = tmp_path / "bot.db"
    # Another program holds the database for a moment: start-up waits in its first step.
    blocker = sqlite3.connect(database, timeout=1, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    bot = Bot(tmp_path, f"sqlite:///{database}")
    seen: list[tuple[int, dict[str, str]]] = []
    try:
        first = bot.wait_for("the port", lambda: bot.get("/readyz"))
        release_at = time.monotonic() + 1.5
        answer: tuple[int, str] | None = first
        while answer is None or answer[0] != 200:
            if blocker is not None and time.monotonic() > release_at:
                blocker.rollback()
                blocker.close()
                blocker = None
            assert answer is not None and answer[0] == 503, answer
            said_ready = "ready:" in bot.output()
            missing = not_ready(answer[1])
            assert missing, answer  # a 503 names what is not ready
            if not said_ready:
                assert missing.get("startup") == "starting", answer
            seen.append((answer[0], missing))
            assert bot.process.poll() is None, bot.output()
            time.sleep(0.05)
            answer = bot.get("/readyz")
        # The 200 came after the process said start-up had finished, never before.
        assert "ready:" in bot.output(), (seen, bot.output())
        assert bot.get("/healthz") == (200, '{"status": "ok"}')
        assert bot.terminate() < STOP_LIMIT
    finally:
        if blocker is not None:
            blocker.close()
        bot.close()
    assert any(missing.get("startup") == "starting" for _, missing in seen), seen
    assert bot.process.returncode == 0
    assert "Traceback" not in bot.output()


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[pgserver.PostgresServer]:
    """A PostgreSQL of these tests' own: they stop and start it."""
    reason = pgserver.available()
    if reason is not None:
        unavailable("PostgreSQL", reason)
    with pgserver.PostgresServer() as server:
        yield server


class Halted:
    """The server stopped as a crash would, until `resume` (or the end of the test)."""

    def __init__(self, server: pgserver.PostgresServer) -> None:
        self.server = server
        self.down = False

    def __enter__(self) -> Halted:
        self.server.halt()
        self.down = True
        return self

    def resume(self) -> None:
        if self.down:
            self.server.resume()
            self.down = False

    def __exit__(self, *exc: object) -> None:
        self.resume()


def waiting_for_the_database(bot: Bot) -> dict[str, str]:
    """/healthz 200 and /readyz 503 naming the database (and start-up) while it is down."""
    bot.wait_for("/healthz", lambda: bot.get("/healthz") == (200, '{"status": "ok"}'))

    def names_the_database() -> dict[str, str] | None:
        answer = bot.get("/readyz")
        if answer is None or answer[0] != 503:
            return None
        missing = not_ready(answer[1])
        return missing if "database" in missing else None

    missing: dict[str, str] = bot.wait_for("503 naming the database", names_the_database)
    assert missing["startup"] == "starting"
    assert "cannot be reached" in missing["database"]
    return missing


@pytest.mark.postgres
def test_a_database_down_at_start_up_is_waited_out_then_it_starts(
    tmp_path: Path, own_postgres: pgserver.PostgresServer
) -> None:
    with Halted(own_postgres) as down:
        bot = Bot(tmp_path, own_postgres.url)
        try:
            started_when_back(bot, down)
            took = bot.terminate()
        finally:
            bot.close()
    output = bot.output()
    assert bot.process.returncode == 0, output
    assert took < STOP_LIMIT
    assert "database: answers again" in output
    assert "Traceback" not in output


def started_when_back(bot: Bot, down: Halted) -> None:
    """Waits while the database is down (one log line, however many tries), then
    finishes starting once it is back."""
    waiting_for_the_database(bot)
    time.sleep(4)  # several tries (0.5 s, 1 s, 2 s apart)
    assert bot.output().count("database: no answer") == 1, bot.output()
    assert "Traceback" not in bot.output()
    assert "ready:" not in bot.output()
    assert (bot.get("/readyz") or (0, ""))[0] == 503
    down.resume()
    bot.wait_for("ready:", lambda: "ready:" in bot.output())
    bot.wait_for("/readyz 200", lambda: (bot.get("/readyz") or (0, ""))[0] == 200)


@pytest.mark.postgres
def test_a_sigterm_while_waiting_for_the_database_exits_0(
    tmp_path: Path, own_postgres: pgserver.PostgresServer
) -> None:
    with Halted(own_postgres):
        bot = Bot(tmp_path, own_postgres.url)
        try:
            waiting_for_the_database(bot)
            took = bot.terminate()
        finally:
            bot.close()
    output = bot.output()
    assert bot.process.returncode == 0, output
    assert took < STOP_LIMIT
    assert "stopping on SIGTERM during start-up" in output
    assert "Traceback" not in output
