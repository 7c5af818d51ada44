"""The schedule watch on PostgreSQL (bot.ports.schedule_watch): triggers on `proposals` and
`checkins` (migration 0009) send a NOTIFY on `circlebot_schedule` when a row changes in
a way the schedule depends on, delivered when its transaction commits, whichever process
wrote it. The leader LISTENs on a connection of its own and looks at it without a round
trip."""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

import psycopg
from sqlalchemy import Engine

from bot.ports.schedule_watch import NOTHING, ScheduleChanges

log = logging.getLogger(__name__)

CHANNEL = "circlebot_schedule"
# The payloads the triggers send (storage/migrations/versions/0009_schedule_notify.py).
PROPOSAL = "proposal:"
CHECKIN = "checkin:"


def read_payloads(payloads: list[str]) -> ScheduleChanges:
    """The typed changes the triggers' payloads name; an unknown one means: look at
    everything (a newer schema may send more)."""
    proposals: set[int] = set()
    checkins = False
    everything = False
    for payload in payloads:
        if payload.startswith(PROPOSAL) and payload[len(PROPOSAL) :].isdigit():
            proposals.add(int(payload[len(PROPOSAL) :]))
        elif payload.startswith(CHECKIN):
            checkins = True
        else:
            everything = True
    return ScheduleChanges(frozenset(proposals), checkins, everything)


class PostgresScheduleWatch:
    def __init__(self, engine: Engine) -> None:
        # The DSN psycopg needs, password included, without going through a pool: this
        # connection only listens.
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self._connection: psycopg.Connection[Any] | None = None
        self._lost_logged = False
        self._turn = threading.Lock()  # the runtime may close it while a look is under way

    def changes(self) -> ScheduleChanges:
        with self._turn:
            return self._look()

    def _look(self) -> ScheduleChanges:
        if self._connection is None or self._connection.closed:
            return self._listen()
        try:
            payloads = [n.payload for n in self._connection.notifies(timeout=0)]
        except psycopg.Error as exc:
            self._drop(exc)
            return NOTHING
        return read_payloads(payloads) if payloads else NOTHING

    def _listen(self) -> ScheduleChanges:
        """Open the connection and listen: what changed meanwhile was not heard, so the
        answer is `everything`. A database that does not answer: nothing (tried again at
        the next look; the sweep still plans)."""
        try:
            connection = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=3)
            connection.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            if not self._lost_logged:
                log.warning("schedule watch: cannot listen: %s", type(exc).__name__)
                self._lost_logged = True
            return NOTHING
        self._connection = connection
        self._lost_logged = False
        return ScheduleChanges(everything=True)

    def _drop(self, exc: Exception) -> None:
        log.warning("schedule watch: connection lost (%s); listening again", type(exc).__name__)
        self._close()

    def close(self) -> None:
        with self._turn:
            self._close()

    def _close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(psycopg.Error):
                self._connection.close()
            self._connection = None
