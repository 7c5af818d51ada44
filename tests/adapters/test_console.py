"""The console adapter: in process with the real runtime, and as a real `circlebot run`."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.console import ConsoleAdapter
from bot.config import load_config
from bot.wiring.app import build_runtime
from storage import open_repository

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    text = (ROOT / "config.example.toml").read_text()
    text = text.replace('url = "sqlite:///circlebot.db"', f'url = "sqlite:///{tmp_path}/bot.db"')
    assert str(tmp_path) in text, "the example config's storage url changed"
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


async def run_console(config_file: Path, script: str) -> str:
    config = load_config(config_file)
    runtime = build_runtime(config)
    out = io.StringIO()
    console = runtime.adapters["console"]
    assert isinstance(console, ConsoleAdapter)
    console.stdin, console.stdout = io.StringIO(script), out
    await runtime.run()
    return out.getvalue()


async def test_a_whole_decision_on_the_console(config_file: Path) -> None:
    out = await run_console(
        config_file,
        "as ana: /propose Adopt the visiting policy by 3d\n"
        "as ana: react 1 +1\n"
        "as ben: react 1 👍🏽\n"
        "as cy: react 1 thinking_face\n"
        "as eve: react 1 raised_hand\n"  # a voice: shown, never counted
        "as dee: react 1 +1::skin-tone-3\n"
        "as dee: react 1 +1\n",  # after the close: recorded, changes nothing
    )
    assert "[council] ── Proposal #1 by ana · open ──" in out
    assert "[only ana sees] Proposal #1 is open until" in out
    assert "card #1 (open): milpa 2/2 ✓ · vera 1/2 …" in out
    assert "card #1 (passed): milpa 2/2 ✓ · vera 2/2 ✓" in out
    assert out.count("✅ Proposal #1 passed") == 1
    assert "Consented with a concern: cy" in out


async def test_bad_lines_get_clear_messages_and_change_nothing(config_file: Path) -> None:
    out = await run_console(
        config_file,
        "hello there\n"
        "as zed: /propose Something\n"
        "as ana: /propse Something\n"
        "as ana: /propose\n"
        "as ana: react x +1\n"
        "as ana: react 9 +1\n"
        "as ana in nowhere: /help\n"
        f"as ana: /propose {'x' * 100_000}\n"
        "as eve: /propose voices cannot propose\n"
        "as ana: /status 42\n"
        "as ana: /proposals\n",
    )
    assert "Start with who you are" in out
    assert "You are not a member of the circle council" in out
    assert 'did you mean "propose"' in out
    assert "Use: react ID EMOJI" in out
    assert 'There is no circle "nowhere"' in out
    assert "limit is 20,000" in out
    assert "Only leaders can open proposals" in out
    assert "There is no proposal #42" in out
    assert "No open proposals" in out
    assert "Traceback" not in out


async def test_a_pasted_control_character_is_removed_not_posted(config_file: Path) -> None:
    out = await run_console(config_file, "as ana: /propose Ring the \a\x1b[1mbell\x1b[0m\n")
    assert "[only ana sees] Proposal #1 is open until" in out
    assert "Ring the [1mbell[0m" in out
    assert not any(c in out for c in "\a\x1b")


def test_circlebot_run_with_piped_input_exits_at_its_end(config_file: Path) -> None:
    """The README's run command, as a real process, twice on the same database."""
    circlebot = shutil.which("circlebot", path=str(Path(sys.executable).parent))
    assert circlebot is not None
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    def run(script: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [circlebot, "run", "--config", str(config_file)],
            input=script,
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=config_file.parent,
        )

    first = run("as ana: /propose Adopt it by 2d\nas ben: react 1 +1\n")
    assert first.returncode == 0, first.stderr
    assert "Proposal #1 by ana · open" in first.stdout
    assert "Traceback" not in first.stderr
    second = run("as cy: /status 1\n")
    assert second.returncode == 0, second.stderr
    assert "Proposal #1 by ana" not in second.stdout  # the card is not posted again
    assert "milpa …  1/2 consent; 1 answered; waiting on: ana" in second.stdout


def test_a_bad_config_names_the_key_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[circles]]\nname = "c"\nsides = ["a", "b"]\n'
        '[[circles.members]]\nname = "x"\nside = "zz"\n'
    )
    circlebot = shutil.which("circlebot", path=str(Path(sys.executable).parent))
    assert circlebot is not None
    result = subprocess.run(
        [circlebot, "run", "--config", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "circles[0].members[0].side" in result.stderr
    assert "Traceback" not in result.stderr


async def test_a_second_session_on_the_same_database_loses_no_line(config_file: Path) -> None:
    """Event ids are unique across runs: the second session's first lines are not
    mistaken for the first session's (issue: the console counted c1, c2, … every run)."""
    await run_console(config_file, "as ana: /propose First by 2d\nas ben: react 1 +1\n")
    out = await run_console(
        config_file,
        "as ana: /propose Second by 2d\nas cy: react 1 raised_hand\nas ana: /status 1\n",
    )
    assert "Proposal #2 by ana · open" in out
    assert "[only ana sees] Proposal #2 is open until" in out
    assert "objects to proposal #1" in out
    assert "vera ✋  0/2 consent; 1 answered; objecting: cy; waiting on: dee" in out


async def test_a_checkin_reply_on_the_console_is_counted(config_file: Path) -> None:
    """`reply N` answers in check-in N's thread: the console names the prompt by its own
    reference, and the core finds the check-in from the posted prompt, not from a key."""
    out = await run_console(
        config_file, "as ana: /checkin\nas ben: reply 1 Arriving tired but glad\n"
    )
    assert '(check-in 1: answer with "as NAME: reply 1 TEXT")' in out
    assert "[council check-in 1 thread] ben: Arriving tired but glad" in out
    config = load_config(config_file)
    repo = open_repository(config.storage.url)
    try:
        with repo.transaction() as tx:
            assert tx.checkin_replies(1) == {"ben"}
    finally:
        repo.engine.dispose()


async def test_the_circle_report_on_the_console(config_file: Path) -> None:
    out = await run_console(
        config_file,
        "as ana: /propose Adopt the visiting policy by 3d\n"
        "as cy: react 1 raised_hand\n"
        "as ana: /circle report\n"
        "as dee: /circle report me\n",
    )
    report = out[out.index("[only ana sees] 📊 Circle report: council") :]
    for side in ("milpa", "vera"):
        assert f"\n{side}\n  Proposals authored    " in report
    assert "  Objections, concerns  ██████████  1 objection" in report  # vera's bar
    assert "milpa authored 1 of 1 proposal." in report  # over two thirds: said plainly
    assert "A mirror, not a score" in report
    mine = out[out.index("[only dee sees] 📊 Your own figures") :]
    assert "\ndee\n" in mine and "milpa" not in mine and "ana" not in mine  # no one else
