"""Real services the tests need (PostgreSQL, Synapse, Chromium, the e2e extra): on a
developer's machine a missing one skips its tests with the reason; in CI (CI=true) it
fails them, so a run can never pass by skipping what it was meant to test."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def unavailable(what: str, reason: str) -> NoReturn:
    """Skip (locally) or fail (in CI) the test that needs `what`, saying why."""
    if in_ci():
        pytest.fail(f"{what} is required in CI (CI=true): {reason}", pytrace=False)
    pytest.skip(reason)
