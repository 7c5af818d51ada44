"""What the leader hears of changes to the schedule made by any replica.

The schedule is a view of the database: a proposal's deadline, reminders and review, and
a check-in's nudge and close, are read from their rows each time the leader plans. What
this port adds is *when* to read again: a change written by another replica (or by this
one) wakes the leader within moments instead of at its next sweep. Hearing nothing is
never wrong, only slower: the runtime's periodic sweep reads everything again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ScheduleChanges:
    """What changed since the last look. `everything`: changes may have been missed
    (the watch was opened again after a lost connection), so plan it all."""

    proposals: frozenset[int] = frozenset()
    checkins: bool = False
    everything: bool = False

    def __bool__(self) -> bool:
        return bool(self.proposals) or self.checkins or self.everything


NOTHING = ScheduleChanges()


class ScheduleWatch(Protocol):
    def changes(self) -> ScheduleChanges:
        """What changed since the last call. Blocking but quick (no round trip to the
        database when nothing came); never raises."""

    def close(self) -> None: ...


class OwnChangesOnly:
    """One process on its database (SQLite): it plans what it changes itself."""

    def changes(self) -> ScheduleChanges:
        return NOTHING

    def close(self) -> None:
        return None
