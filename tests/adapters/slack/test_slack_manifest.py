"""The app manifest asks for what the adapter uses, and no more."""

from __future__ import annotations

import re
from pathlib import Path

import adapters.slack

MANIFEST = Path(adapters.slack.__file__).with_name("manifest.yml").read_text()


def listed(after: str) -> list[str]:
    """The `- item` lines of the YAML list that follows the line `after:`."""
    lines = MANIFEST.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == after + ":")
    found = []
    for line in lines[start + 1 :]:
        item = re.match(r"\s+- ([\w:./-]+)", line)
        if item:
            found.append(item.group(1))
        elif line.strip() and not line.strip().startswith("#"):
            break
    return found


def test_least_privilege_scopes() -> None:
    assert listed("bot") == [
        "commands",
        "chat:write",
        "reactions:read",
        "im:write",
        "channels:history",
        "groups:history",
        "im:history",
        "users:read",
        "users:read.email",
        "channels:read",
        "groups:read",
    ]
    # Reading users and channels is for checking the setup (circlebot doctor) and finding
    # members by e-mail; posting stays limited to channels the bot was invited to.
    assert "chat:write.public" not in MANIFEST and "users:write" not in MANIFEST


def test_events_commands_interactivity_and_socket_mode() -> None:
    assert listed("bot_events") == [
        "reaction_added",
        "reaction_removed",
        "app_home_opened",
        "message.channels",
        "message.groups",
    ]
    assert re.findall(r"- command: (/\w+)", MANIFEST) == ["/propose", "/proponer", "/circle"]
    assert "interactivity:\n    is_enabled: true" in MANIFEST
    assert "socket_mode_enabled: true" in MANIFEST
    assert "home_tab_enabled: true" in MANIFEST
    assert MANIFEST.count("/slack/events") == 5  # the adapter's one HTTP endpoint


def command(name: str) -> dict[str, str]:
    """One slash command's settings, as the manifest gives them (`key: value` lines)."""
    lines = MANIFEST.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(f"- command: {name}"))
    found: dict[str, str] = {}
    for line in lines[start + 1 :]:
        if line.lstrip().startswith("#"):
            continue
        setting = re.match(r"\s+(\w+): (.*)", line)
        if setting is None or line.lstrip().startswith("- "):
            break
        found[setting.group(1)] = setting.group(2).strip().strip('"')
    return found


def test_proponer_is_propose_in_spanish() -> None:
    propose, proponer = command("/propose"), command("/proponer")
    assert proponer["url"] == propose["url"]  # the same endpoint, the same listener
    assert proponer["should_escape"] == propose["should_escape"] == "false"
    assert proponer["description"].startswith("Presenta una propuesta")
    assert proponer["usage_hint"] == "TEXTO [hasta 3d | hasta 2026-12-01 17:00] [revisar 6me]"
