"""Counts of an adapter's calls to its platform's API, by method and outcome, for
/metrics (circlebot_api_calls_total, circlebot_api_errors_total,
circlebot_api_rate_limits_total). Adapters count; the operators' server reads at scrape
time."""

from __future__ import annotations

import threading
from collections import Counter
from enum import StrEnum


class ApiOutcome(StrEnum):
    OK = "ok"  # the call returned what was asked
    ERROR = "error"  # it failed (after any retries): an error answer, a timeout, ...
    RATE_LIMITED = "rate_limited"  # one "slow down" answer (429); retries may follow


class ApiCalls:
    """A thread-safe tally of (method, outcome). A call counts once, with its final
    outcome (OK or ERROR); each rate-limit answer on the way counts as RATE_LIMITED."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, ApiOutcome]] = Counter()
        self._lock = threading.Lock()

    def add(self, method: str, outcome: ApiOutcome) -> None:
        with self._lock:
            self._counts[(method, outcome)] += 1

    def snapshot(self) -> dict[tuple[str, ApiOutcome], int]:
        with self._lock:
            return dict(self._counts)
