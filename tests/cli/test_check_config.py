"""`circlebot check-config FILE` and the CLI's handling of bad usage."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def circlebot(*args: str) -> subprocess.CompletedProcess[str]:
    command = shutil.which("circlebot", path=str(Path(sys.executable).parent))
    assert command is not None
    return subprocess.run([command, *args], capture_output=True, text=True, timeout=60)


def test_check_config_summarises_the_example() -> None:
    result = circlebot("check-config", str(ROOT / "config.example.toml"))
    assert result.returncode == 0, result.stderr
    assert "council" in result.stdout
    assert "milpa" in result.stdout and "vera" in result.stdout
    assert "0 17 * * MON" in result.stdout


def test_check_config_names_the_bad_key_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        (ROOT / "config.example.toml").read_text().replace("quorum = 1.0", "quorum = 1.5")
    )
    assert "quorum = 1.5" in bad.read_text()
    result = circlebot("check-config", str(bad))
    assert result.returncode == 2
    assert "circles[0].rules.quorum" in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_secrets_in_the_file_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "secret.toml"
    bad.write_text((ROOT / "config.example.toml").read_text() + '\n[slack]\nbot_token = "xoxb-1"\n')
    result = circlebot("check-config", str(bad))
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr and "xoxb-1" not in result.stderr


def test_usage_errors_and_version() -> None:
    assert circlebot("--version").stdout.startswith("circlebot ")
    result = circlebot("run")
    assert result.returncode == 2 and "--config" in result.stderr
    missing = circlebot("check-config", "/nonexistent/config.toml")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
