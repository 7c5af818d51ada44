"""What `circlebot doctor` reports: one check a line, passed or failed, with the fix.
Adapters produce these for their platform (bot.ports.platform.Adapter.diagnose); the wiring adds
the config and the database, and prints them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """One thing checked. `what` says what was found in a few words (never a secret);
    `fix`, for a failed check, what the operator should do."""

    ok: bool
    what: str
    fix: str | None = None

    def line(self) -> str:
        mark = "✓" if self.ok else "✗"
        if self.ok or not self.fix:
            return f"{mark} {self.what}"
        return f"{mark} {self.what}: {self.fix}"


def passed(what: str) -> Check:
    return Check(True, what)


def failed(what: str, fix: str) -> Check:
    return Check(False, what, fix)


def all_passed(checks: Sequence[Check]) -> bool:
    return all(check.ok for check in checks)
