"""The core names no platform: outside the wiring (which loads the platforms' plug-ins),
nothing in bot/ says Slack or Matrix, in code, comments, docstrings or the catalogues.
A platform is a package under adapters/ (or anywhere an entry point points)."""

from __future__ import annotations

import re
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
PLATFORM_NAMES = re.compile(r"slack|matrix", re.IGNORECASE)
TEXT_FILES = ("*.py", "*.po", "*.pot", "*.toml", "*.txt", "*.md")


def test_no_platform_is_named_in_the_core_outside_the_wiring() -> None:
    found = []
    for pattern in TEXT_FILES:
        for path in sorted(BOT.rglob(pattern)):
            if (BOT / "wiring") in path.parents:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if PLATFORM_NAMES.search(line):
                    found.append(f"{path.relative_to(BOT.parent)}:{number}: {line.strip()}")
    assert found == [], "\n".join(found)


def test_the_check_reads_the_core() -> None:
    checked = [p for p in BOT.rglob("*.py") if (BOT / "wiring") not in p.parents]
    assert len(checked) > 50  # the core's modules, not an empty folder
    assert any(p.suffix == ".po" for p in BOT.rglob("*.po"))
