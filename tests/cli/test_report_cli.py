"""`circlebot report`: the circle's own report from the command line, as text or as the
SPEC's JSON, and under "report" in the JSON export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.wiring.cli import main
from tests.unit.test_report_figures import SPEC_FIGURES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    text = (ROOT / "config.example.toml").read_text()
    text = text.replace('url = "sqlite:///circlebot.db"', f'url = "sqlite:///{tmp_path}/bot.db"')
    path = tmp_path / "config.toml"
    path.write_text(text)
    script = "as ana: /propose Adopt the visiting policy by 3d\nas cy: react 1 raised_hand\n"
    _run_console(path, script)
    return path


def _run_console(path: Path, script: str) -> None:
    binary = Path(sys.executable).parent / "circlebot"
    subprocess.run(
        [str(binary), "run", "--config", str(path)],
        input=script,
        text=True,
        capture_output=True,
        check=True,
    )


def test_report_json_is_the_spec_s_shape(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["report", "--config", str(config_file), "--circle", "council", "--format", "json"])
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["circle", "since", "until", "sides"]
    assert data["circle"] == "council" and data["since"].endswith("Z")
    assert list(data["sides"]) == ["milpa", "vera"]
    assert list(data["sides"]["milpa"]) == SPEC_FIGURES
    assert data["sides"]["milpa"]["authored"] == 1 and data["sides"]["vera"]["objections"] == 1


def test_report_text_and_the_export_agree(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--config", str(config_file), "--since", "7d"]) == 0
    out = capsys.readouterr().out
    assert "📊 Circle report: council" in out and "milpa authored 1 of 1 proposal." in out
    assert main(["export", "--config", str(config_file), "--format", "json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["report"][0]["sides"]["vera"]["objections"] == 1


def test_report_errors_exit_2_and_say_why(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--config", str(config_file), "--circle", "nope"]) == 2
    assert "no circle named 'nope'" in capsys.readouterr().err
    assert main(["report", "--config", str(config_file), "--since", "whenever"]) == 2
    assert 'could not read "whenever"' in capsys.readouterr().err
