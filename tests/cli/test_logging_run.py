"""`[logging]` in a real `circlebot run` on the console adapter: JSON lines with the
event's ids, and no secret from the environment in anything printed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MARKER = "xoxb-marker-5d1c0e9a"  # a secret value no output may contain
SCRIPT = "as ana: /propose Adopt it by 2d\nas ben: react 1 +1\nas cy: /status 1\n"


def write_config(folder: Path, logging_section: str, url: str | None = None) -> Path:
    text = (ROOT / "config.example.toml").read_text()
    url = url or f"sqlite:///{folder}/bot.db"
    text = text.replace('url = "sqlite:///circlebot.db"', f'url = "{url}"')
    assert url in text, "the example config's storage url changed"
    path = folder / "config.toml"
    # First in the file: the example's own [logging] is commented out.
    path.write_text(logging_section + "\n" + text)
    return path


def run(
    config: Path, *flags: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    circlebot = shutil.which("circlebot", path=str(Path(sys.executable).parent))
    assert circlebot is not None
    return subprocess.run(
        [circlebot, "run", "--config", str(config), *flags],
        input=SCRIPT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        cwd=config.parent,
    )


@pytest.mark.slow
def test_json_logs_are_all_json_and_events_carry_their_ids(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[logging]\nformat = "json"\nlevel = "debug"\n')
    result = run(config)
    assert result.returncode == 0, result.stderr
    assert "Proposal #1 by ana · open" in result.stdout  # the console itself is unchanged
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert records, "debug level logs something"
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys()
    handling = [r for r in records if str(r["message"]).startswith("handling event console:")]
    assert len(handling) == 3  # one per input line
    for record in handling:
        assert record["platform"] == "console"
        assert record["message"] == f"handling event console:{record['event_id']}"
    # Lines logged outside any event (start-up) carry no ids.
    assert "platform" not in records[0]


@pytest.mark.slow
def test_the_level_from_the_config_and_v(tmp_path: Path) -> None:
    quiet = run(write_config(tmp_path, '[logging]\nformat = "json"\nlevel = "error"\n'))
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    verbose = run(tmp_path / "config.toml", "-v")  # -v: at least info
    assert verbose.returncode == 0, verbose.stderr
    levels = {json.loads(line)["level"] for line in verbose.stderr.splitlines()}
    assert "INFO" in levels and "DEBUG" not in levels


@pytest.mark.slow
def test_v_alone_keeps_the_text_format(tmp_path: Path) -> None:
    result = run(write_config(tmp_path, ""), "-v")
    assert result.returncode == 0, result.stderr
    assert " INFO bot.runtime.runner: circle council: member add ana" in result.stderr
    assert not result.stderr.lstrip().startswith("{")


@pytest.mark.slow
def test_no_secret_from_the_environment_reaches_the_output(tmp_path: Path) -> None:
    env = {"SLACK_BOT_TOKEN": MARKER, "SLACK_APP_TOKEN": MARKER, "PGPASSWORD": MARKER}
    # A config that does not use Slack, logging everything there is.
    for fmt in ("json", "text"):
        folder = tmp_path / fmt
        folder.mkdir()
        config = write_config(folder, f'[logging]\nformat = "{fmt}"\nlevel = "debug"\n')
        result = run(config, "-v", env=env)
        assert result.returncode == 0, result.stderr
        assert MARKER not in result.stdout + result.stderr
    # A storage URL with a password in it is refused, and the password never shown.
    folder = tmp_path / "refused"
    folder.mkdir()
    config = write_config(
        folder,
        '[logging]\nformat = "json"\nlevel = "debug"\n',
        url=f"postgresql+psycopg://bot:{MARKER}@127.0.0.1:9/circle",
    )
    result = run(config, "-v", env=env)
    assert result.returncode == 2
    assert "storage.url" in result.stderr
    assert MARKER not in result.stdout + result.stderr
