"""Whether the database takes writes, as an operator needs to hear it: one line when
writes start failing, one when they work again, never a traceback per event; and a
deleted or replaced database file is fatal."""

from __future__ import annotations

import logging

from bot.domain.errors import DatabaseReplaced, StorageUnavailable

log = logging.getLogger("bot.handlers.core")


class StorageHealth:
    def __init__(self) -> None:
        self.refused = 0  # events refused since the database last took a write
        # Set when the bot must stop: its database file is gone.
        self.fatal: DatabaseReplaced | None = None

    def failed(self, exc: StorageUnavailable, what: str) -> None:
        self.refused += 1
        if isinstance(exc, DatabaseReplaced):
            if self.fatal is None:
                log.critical("database: %s; stopping (nothing more can be saved)", exc)
            self.fatal = exc
        elif self.refused == 1:
            log.error(
                "database: cannot write (%s); %s and whatever follows is refused, "
                "changing nothing, until it can",
                exc.reason,
                what,
            )

    def worked(self) -> None:
        if self.refused:
            log.warning("database: writable again; %d event(s) were refused", self.refused)
            self.refused = 0
