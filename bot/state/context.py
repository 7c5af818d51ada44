"""What the handlers and queries work with: the ports (store, clock) and what is read
from them once and kept (the directory of circles and members, the frozen rounds).
A plain bundle, not an object with behaviour of its own: each handler module says what
it does with it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.clock import Clock
from bot.ports.store import Store
from bot.state.directory import Directory
from bot.state.rounds import RoundBook


@dataclass
class Context:
    store: Store
    clock: Clock
    directory: Directory
    rounds: RoundBook
    # What fell due before this process started was missed while it was down: "late".
    started_at: datetime
    # Proposals opened, amended or closed since the runtime last re-planned their jobs.
    changes: set[int] = field(default_factory=set)
    # A check-in was started since the runtime last re-planned the check-ins' wake-ups.
    checkin_started: bool = False
    # Redelivered events dropped (applied the first time they came), per platform.
    duplicates: Counter[str] = field(default_factory=Counter)
