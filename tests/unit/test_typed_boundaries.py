"""No module parses what another built: marks carry a typed Sign and MarkSource, jobs a
JobKey, a form's errors their Field. A grep, so that the joined strings do not return."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What used to be built in one module and taken apart in another.
FORBIDDEN = {
    "a joined source split back": re.compile(r"""\.(split|partition|rsplit)\(\s*["']:["']"""),
    "a job id matched by prefix": re.compile(r"""startswith\(\(?\s*["'](proposal|checkin)"""),
    "a mark's kind as a prefix": re.compile(
        r"""["'](stance|literal):["']|STANCE_KEY_PREFIX|PROXY_KEY_PREFIX|LITERAL_KEY_PREFIX"""
    ),
    "an error placed by its message": re.compile(r"""in str\(exc\)"""),
}
# Where a colon is split for its own reason: a database URL's user and password, a
# Matrix user id's local part (the platform's own format).
ALLOWED = {
    ("bot/domain/redact.py", "a joined source split back"),
    ("adapters/matrix/render.py", "a joined source split back"),
}


def sources() -> list[Path]:
    found = []
    for package in ("bot", "adapters", "storage"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:  # a migration reads the old formats
                found.append(path)
    return found


def test_no_module_parses_what_another_built() -> None:
    offences = []
    for path in sources():
        name = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for what, pattern in FORBIDDEN.items():
                if pattern.search(line) and (name, what) not in ALLOWED:
                    offences.append(f"{name}:{number}: {what}: {line.strip()}")
    assert offences == []


def test_the_grep_finds_what_it_looks_for() -> None:
    """The patterns match the code this replaced (a test that cannot fail is none)."""
    old = [
        'return self.order.partition(":")[0]',
        'if job.id.startswith(("proposal:", "checkin")):',
        'STANCE_KEY_PREFIX = "stance:"',
        "if deadline and f'\"{by} {deadline}' in str(exc):",
    ]
    for line, pattern in zip(old, FORBIDDEN.values(), strict=True):
        assert pattern.search(line), line
