"""deploy/circlebot.service: the essentials, and `systemd-analyze verify` when it exists."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "circlebot.service"

Unit = dict[str, list[tuple[str, str]]]


def read_unit(text: str) -> Unit:
    """Sections to their (key, value) pairs in order; repeated keys are all kept.

    systemd's own syntax: `#`/`;` comment lines, `[Section]` headers, `Key=Value`,
    a trailing backslash continues the line.
    """
    unit: Unit = {}
    section: str | None = None
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip() if pending else raw.strip()
        pending = ""
        if not line or line[0] in "#;":
            continue
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if line.startswith("["):
            assert line.endswith("]"), f"bad section header: {line!r}"
            section = line[1:-1]
            unit.setdefault(section, [])
            continue
        assert section is not None, f"key outside a section: {line!r}"
        key, sep, value = line.partition("=")
        assert sep, f"not Key=Value: {line!r}"
        unit[section].append((key.strip(), value.strip()))
    return unit


def values(unit: Unit, section: str, key: str) -> list[str]:
    """Every value of KEY in SECTION, space-separated lists split out."""
    return [v for k, value in unit.get(section, []) if k == key for v in value.split()]


def one(unit: Unit, section: str, key: str) -> str:
    found = [value for k, value in unit.get(section, []) if k == key]
    assert len(found) == 1, f"[{section}] {key}= should be set once, found {found}"
    return found[0]


@pytest.fixture(scope="module")
def unit() -> Unit:
    return read_unit(UNIT.read_text(encoding="utf-8"))


def test_sections(unit: Unit) -> None:
    assert {"Unit", "Service", "Install"} <= set(unit)


def test_runs_as_a_system_user_not_root(unit: Unit) -> None:
    user = one(unit, "Service", "User")
    assert user not in {"root", "0", ""}
    assert one(unit, "Service", "Group") not in {"root", "0", ""}
    assert one(unit, "Service", "NoNewPrivileges") == "yes"


def test_secrets_come_from_an_environment_file(unit: Unit) -> None:
    path = one(unit, "Service", "EnvironmentFile")
    # No leading "-": a missing secrets file must fail the start, not run without tokens.
    assert path.startswith("/"), path
    assert path == "/etc/circlebot/secrets.env"


def test_exec_start_runs_the_bot_with_a_config(unit: Unit) -> None:
    argv = shlex.split(one(unit, "Service", "ExecStart"))
    assert argv[0].startswith("/") and Path(argv[0]).name == "circlebot", argv
    assert argv[1:3] == ["run", "--config"], argv
    assert len(argv) == 4 and argv[3].startswith("/"), argv


def test_restarts_on_failure_and_stops_gracefully(unit: Unit) -> None:
    assert one(unit, "Service", "Restart") == "on-failure"
    assert int(one(unit, "Service", "RestartSec")) > 0
    assert one(unit, "Service", "KillSignal") == "SIGTERM"
    # The bot flushes pending deliveries for up to 10 s after SIGTERM.
    assert int(one(unit, "Service", "TimeoutStopSec")) > 10


def test_state_directory_is_writable_under_strict_protection(unit: Unit) -> None:
    workdir = one(unit, "Service", "WorkingDirectory")
    assert one(unit, "Service", "ProtectSystem") == "strict"
    assert workdir in values(unit, "Service", "ReadWritePaths")


def test_waits_for_the_network_and_starts_at_boot(unit: Unit) -> None:
    assert "network-online.target" in values(unit, "Unit", "After")
    assert "network-online.target" in values(unit, "Unit", "Wants")
    assert "multi-user.target" in values(unit, "Install", "WantedBy")


# Complaints that only say this machine is not the production host.
_ENVIRONMENT_ONLY = re.compile(
    r"user|group|no such file or directory|not executable|permission denied", re.IGNORECASE
)


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (Debian package: systemd)")
    # The real ExecStart does not exist here, and verify refuses a missing binary.
    text = re.sub(
        r"^ExecStart=.*$",
        f"ExecStart={shutil.which('true') or '/bin/true'}",
        UNIT.read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    copy = tmp_path / UNIT.name
    copy.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [tool, "verify", "--man=no", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": ""},
        check=False,
    )
    output = (result.stdout + result.stderr).strip()
    # Parse problems name the file and line ("…/circlebot.service:42: Unknown key …");
    # a unit that cannot load at all says "Unit circlebot.service failed to load".
    syntax = [
        line
        for line in output.splitlines()
        if line.startswith(f"{copy}:")
        or (UNIT.name in line and "failed to load" in line)
        or (UNIT.name in line and not _ENVIRONMENT_ONLY.search(line))
    ]
    assert not syntax, f"systemd-analyze verify (exit {result.returncode}):\n{output}"
