"""A platform that is not in the package: `tests/platform_plugin/chatter.py`, registered
as a `circlebot.adapters` entry point only for this test (an `entry_points.txt` in a
`.dist-info` folder put on the path of a real `circlebot run`), runs a whole proposal
through the real runtime: its own config section and keys, its own way of writing a
person, and nothing of it in bot/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """\
[storage]
url = "sqlite:///{folder}/bot.db"

[chatter]
banner = "chatter is on"

[[circles]]
name = "council"
chatter_room = "#council"
sides = ["milpa", "vera"]
admins = ["ana"]

[[circles.members]]
name = "ana"
side = "milpa"
chatter = "~ana"

[[circles.members]]
name = "ben"
side = "milpa"
chatter = "~ben"

[[circles.members]]
name = "cy"
side = "vera"
chatter = "~cy"

[[circles.members]]
name = "dee"
side = "vera"
chatter = "~dee"
"""

SCRIPT = """\
~ana: propose Adopt the visiting policy by 2d
~ana: circle add ~fay vera member
~ben: react 1 +1
~cy: react 1 +1
~dee: react 1 ✅
~ana: react 1 👍
~eve: status 1
"""


def registered(folder: Path) -> dict[str, str]:
    """An environment whose Python finds the test platform as an installed plug-in."""
    info = folder / "circlebot_test_chatter-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: circlebot-test-chatter\n")
    (info / "entry_points.txt").write_text(
        "[circlebot.adapters]\nchatter = tests.platform_plugin.chatter:PLATFORM\n"
    )
    path = os.pathsep.join([str(folder), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1"}


def run(folder: Path, *command: str, script: str = "") -> subprocess.CompletedProcess[str]:
    circlebot = shutil.which("circlebot", path=str(Path(sys.executable).parent))
    assert circlebot is not None
    return subprocess.run(
        [circlebot, *command],
        input=script,
        capture_output=True,
        text=True,
        timeout=60,
        env=registered(folder),
        cwd=folder,
    )


@pytest.mark.slow
def test_a_platform_from_outside_the_package_runs_a_whole_proposal(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(CONFIG.format(folder=tmp_path))
    result = run(tmp_path, "run", "--config", str(tmp_path / "config.toml"), script=SCRIPT)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "BANNER chatter is on" in out  # its own section, read by its own plug-in
    assert "CARD #council" in out and "Adopt the visiting policy" in out
    # A person written its own way (~fay) is a handle of this platform.
    assert "PRIVATE ~ana ok ~fay is added as a member of vera" in out
    assert "UPDATE #council card-1 passed" in out
    outcome = [line for line in out.splitlines() if line.startswith("POST #council card-1")]
    assert outcome and "passed" in outcome[0].lower(), out
    # Someone the config does not know on this platform is told so, not counted.
    assert "PRIVATE ~eve" in out


def test_its_config_is_checked_by_its_plug_in(tmp_path: Path) -> None:
    bad = CONFIG.replace('chatter = "~dee"', 'chatter = "dee"')
    (tmp_path / "config.toml").write_text(bad.format(folder=tmp_path))
    result = run(tmp_path, "check-config", str(tmp_path / "config.toml"))
    assert result.returncode != 0
    assert "circles[0].members[3].chatter" in result.stderr + result.stdout
    assert "is not a chatter handle" in result.stderr + result.stdout
