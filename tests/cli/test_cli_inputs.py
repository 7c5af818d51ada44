"""Every command meets bad input with a one-line message and exit status 2: no hang, no
traceback, no secret echoed. Each case runs the real CLI in a subprocess with a timeout,
so a regression that hangs fails instead of stalling the suite."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from bot.wiring import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "config.example.toml").read_text(encoding="utf-8")
SCENARIO = (ROOT / "examples" / "scenarios" / "council-passes.toml").read_text(encoding="utf-8")
TIMEOUT = 60  # seconds; the commands take about one


def circlebot(*args: str) -> subprocess.CompletedProcess[str]:
    command = shutil.which("circlebot", path=str(Path(sys.executable).parent))
    assert command is not None
    return subprocess.run(
        [command, *args], capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL
    )


def refused(done: subprocess.CompletedProcess[str], *expected: str) -> str:
    """Exit 2, nothing on stdout, one line on stderr containing each of `expected`."""
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("circlebot: ") and done.stderr.count("\n") == 1, done.stderr
    for text in expected:
        assert text in done.stderr, (text, done.stderr)
    return done.stderr


def example_with(old: str, new: str) -> str:
    assert old in EXAMPLE
    return EXAMPLE.replace(old, new, 1)


def scenario_with(old: str, new: str) -> str:
    assert old in SCENARIO
    return SCENARIO.replace(old, new, 1)


def commands(path: Path) -> list[list[str]]:
    """The three commands that read a config file."""
    return [
        ["check-config", str(path)],
        ["run", "--config", str(path)],
        ["export", "--config", str(path)],
    ]


# --------------------------------------------------------------------------- item 8: numbers


@pytest.mark.parametrize("quorum", ['"1e-999999999"', '"1e-99999"', '"1e999999999"'])
def test_a_huge_exponent_in_quorum_neither_hangs_nor_crashes(tmp_path: Path, quorum: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(example_with("quorum = 1.0 ", f"quorum = {quorum} "), encoding="utf-8")
    refused(circlebot("check-config", str(config)), str(config), "circles[0].rules.quorum")

    scenario = tmp_path / "scenario.toml"
    scenario.write_text(scenario_with("quorum = 1.0", f"quorum = {quorum}"), encoding="utf-8")
    refused(circlebot("simulate", str(scenario)), str(scenario), "circle.rules.quorum")


# --------------------------------------------------------------------------- item 9: files

DEEP = "x = " + "[" * 2000 + "]" * 2000 + "\n"


def test_deep_nesting_is_one_line_for_every_command(tmp_path: Path) -> None:
    config = tmp_path / "deep.toml"
    config.write_text(DEEP + EXAMPLE, encoding="utf-8")
    for args in [*commands(config), ["simulate", str(config)]]:
        refused(circlebot(*args), str(config), "nested too deeply")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'[storage]\nurl = "\xff"\n', "not valid UTF-8"),
        (b"x = " + b"9" * 5000 + b"\n", "line 1"),
        (b"\x00\x01\x02", "invalid TOML"),
    ],
    ids=["not-utf8", "huge-integer", "binary"],
)
def test_unreadable_files_are_one_line_for_every_command(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    for args in [*commands(path), ["simulate", str(path)]]:
        refused(circlebot(*args), str(path), expected)


def test_a_directory_given_as_a_file(tmp_path: Path) -> None:
    for args in [*commands(tmp_path), ["simulate", str(tmp_path)]]:
        refused(circlebot(*args), str(tmp_path), "is a directory")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_an_endless_file_is_refused_rather_than_read_forever() -> None:
    refused(circlebot("check-config", "/dev/zero"), "/dev/zero", "too large")
    refused(circlebot("simulate", "/dev/zero"), "/dev/zero", "too large")


# --------------------------------------------------------------------------- item 9: times


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (
            'deadline = "2026-01-08T10:00:00Z"',
            'deadline = "9999-12-31T23:00:00Z"',
            "proposal.deadline",
        ),
        (
            'deadline = "2026-01-08T10:00:00Z"',
            "deadline = 9999-12-31T23:59:59-05:00",
            "proposal.deadline",
        ),
        (
            # Both moved, so that the deadline still comes after the opening.
            "opened_at = 2026-01-05T10:00:00Z           # a TOML date-time, or a string ending "
            'in Z\ndeadline = "2026-01-08T10:00:00Z"',
            'opened_at = 9999-12-30T10:00:00Z\ndeadline = "9999-12-31T10:00:00Z"',
            "proposal.opened_at",
        ),
        (
            "opened_at = 2026-01-05T10:00:00Z",
            "opened_at = 0001-01-01T00:30:00+01:00",
            "proposal.opened_at",
        ),
        ('at = "2026-01-05T14:00:00Z"', 'at = "9999-12-31T00:00:00Z"', "events[4].at"),
    ],
    ids=["deadline-9999", "deadline-past-max", "opened-9999", "opened-before-min", "event-9999"],
)
def test_times_near_the_ends_of_the_calendar(tmp_path: Path, old: str, new: str, key: str) -> None:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(scenario_with(old, new), encoding="utf-8")
    refused(circlebot("simulate", str(scenario)), str(scenario), key)


def test_a_long_duration_in_a_proposal_text_is_just_text(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.toml"
    text = 'text = "Adopt the new visiting policy"'
    scenario.write_text(scenario_with(text, 'text = "Adopt it by 99999999d"'), encoding="utf-8")
    done = circlebot("simulate", str(scenario))
    assert done.returncode in (0, 2), done.stderr
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------- item 7: secrets


def test_check_config_never_prints_a_password_from_the_url(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    for url in (
        "postgresql+psycopg://bot@db/circlebot?password=s3cretpw",
        "postgresql+psycopg://bot:s3cretpw@db/circlebot",
    ):
        config.write_text(
            example_with('url = "sqlite:///circlebot.db"', f'url = "{url}"'), encoding="utf-8"
        )
        for args in commands(config):
            message = refused(circlebot(*args), "storage.url", "PGPASSWORD")
            assert "s3cretpw" not in message


def test_check_config_never_prints_a_token_from_the_slack_url(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        EXAMPLE + '\n[slack]\napi_url = "https://user:xoxb-9-s3cret@slack.example/api/"\n',
        encoding="utf-8",
    )
    message = refused(circlebot("check-config", str(config)), "slack.api_url", "SLACK_BOT_TOKEN")
    assert "xoxb-9-s3cret" not in message


def test_errors_raised_later_are_printed_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.wiring import app

    def unreachable(config: object) -> object:
        raise app.AppError(
            "storage.url: cannot open postgresql+psycopg://bot:s3cretpw@db/c?token=t0ken: "
            "OperationalError: connection refused"
        )

    monkeypatch.setattr(app, "build_runtime", unreachable)
    config = tmp_path / "config.toml"
    config.write_text(EXAMPLE, encoding="utf-8")
    assert cli.main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "connection refused" in err
    assert "s3cretpw" not in err and "t0ken" not in err


def test_log_lines_are_redacted() -> None:
    formatter = cli.RedactingFormatter("%(message)s")
    record = logging.LogRecord(
        "circlebot", logging.ERROR, __file__, 1, "cannot open %s", ("postgresql://u:pw@h/d",), None
    )
    assert formatter.format(record) == "cannot open postgresql://u:***@h/d"


# --------------------------------------------------------------------------- names


def test_scenario_names_are_matched_like_the_config_matches_them(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", "josé")
    text = scenario_with('name = "ana"', f'name = "{nfd}"').replace(
        'admins = ["ana"]', 'admins = ["Jos\u00e9"]'
    )
    text = text.replace('author = "ana"', 'author = "José"').replace(
        'user = "ana"', 'user = "JOSÉ"'
    )
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(text, encoding="utf-8")
    done = circlebot("simulate", str(scenario))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["proposal"]["author"] == "josé" == unicodedata.normalize("NFC", "josé")
    assert result["status"] == "passed"
