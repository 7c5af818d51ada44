"""Errors that cross layers: raised on one side of a port and handled on the other.
Standard library only, so every layer may import them."""

from __future__ import annotations

from pathlib import Path


class AppError(Exception):
    """The bot cannot start or go on as configured; the message says why (and names the
    config key when there is one)."""


class Duplicate(Exception):
    """This (platform, event_id) was applied before."""


class StorageUnavailable(Exception):
    """A transaction could not be written (disk full, read-only, connection lost):
    nothing of it was kept. `reason` is short and fit to show a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DatabaseReplaced(StorageUnavailable):
    """The SQLite file was deleted or replaced under the running bot. Writing on would
    go to a file nobody will ever read again: the bot must stop."""

    def __init__(self, reason: str, path: Path) -> None:
        super().__init__(reason)
        self.path = path

    def __str__(self) -> str:
        return f"{self.reason}: {self.path}"


class NotLeader(StorageUnavailable):
    """Scheduled work was about to be written by a replica that no longer leads (its
    fencing number is not the newest): nothing of the transaction was kept."""

    def __init__(self, held: int, newest: int | None) -> None:
        super().__init__(f"this replica no longer leads (fence {held}, newest {newest})")
        self.held = held
        self.newest = newest
