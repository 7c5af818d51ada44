"""The core's front door as its drivers see it: the runtime (events, deliveries, the
clock's wake-ups) and the simulation. bot.handlers.core.Core implements it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from bot.domain.circle import CircleSpec
from bot.domain.clock import Clock
from bot.domain.errors import DatabaseReplaced, StorageUnavailable
from bot.domain.events import InboundEvent
from bot.domain.model import Card
from bot.handlers.schedule import Job
from bot.ports.storage_health import StorageHealth
from bot.state.context import Context
from bot.state.rounds import RoundState
from bot.text.messages import Reply


class Engine(Protocol):
    clock: Clock
    ctx: Context  # what the handlers work with; deliveries and adapters' questions too
    health: StorageHealth

    @property
    def specs(self) -> dict[str, CircleSpec]: ...

    @property
    def fatal(self) -> DatabaseReplaced | None:
        """Set when the bot must stop: its database file is gone."""

    def start(self) -> list[str]:
        """Bring the database in line with the config; notes for the log."""

    def handle(self, event: InboundEvent) -> list[Reply]:
        """Apply one inbound event; the private replies to its sender."""

    def advance(self) -> list[int]:
        """Do what has fallen due."""

    def reconcile(
        self, platform: str, message_ref: str, present: Sequence[tuple[str, str, datetime | None]]
    ) -> int:
        """Apply the reactions a card shows that the event stream missed."""

    def open_cards(self, platform: str, due_only: bool) -> list[Card]: ...

    def jobs(self, proposal_ids: Iterable[int] | None = None) -> dict[int, Job | None]: ...

    def checkin_jobs(self) -> list[Job]: ...

    def checkins_changed(self) -> bool:
        """Whether the events handled since the last call may have changed a check-in's
        wake-ups."""

    def changed(self) -> set[int]:
        """Proposals whose wake-ups must be planned again."""

    def storage_failed(self, exc: StorageUnavailable, what: str) -> None: ...

    def state(self, proposal_id: int) -> RoundState: ...
