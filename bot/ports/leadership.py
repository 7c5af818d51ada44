"""Which replica runs the scheduled work (deadlines, reminders, check-ins, a platform's
sync): the leader. Several `circlebot run` processes may share one PostgreSQL database;
exactly one leads at a time (a PostgreSQL advisory lock, storage.leadership). Each new
leader takes a fencing number, one higher than any before; every transaction of the
scheduled work checks, inside itself, that its number is still the newest, so a leader
that was paused past its loss of the lock (and woke up believing it still leads) writes
nothing.

The runtime marks scheduled work with `fenced(number)`; the store checks the mark on
every transaction begun inside it (the mark travels with the context onto the core's
thread)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

# The fencing number of the scheduled work in hand; None outside scheduled work.
_FENCE: ContextVar[int | None] = ContextVar("circlebot_fence", default=None)


@contextmanager
def fenced(number: int | None) -> Iterator[None]:
    """Mark the work done inside as scheduled work of the leader holding `number`
    (None: a single process, nothing to check)."""
    token = _FENCE.set(number)
    try:
        yield
    finally:
        _FENCE.reset(token)


def current_fence() -> int | None:
    return _FENCE.get()


@dataclass(frozen=True)
class Lead:
    """This replica leads. `fence`: its fencing number (None: one process, nothing to
    check)."""

    fence: int | None


class Leadership(Protocol):
    """One replica's claim to lead. Every method is blocking (run it on a thread)."""

    def acquire(self) -> Lead | None:
        """Try to become the leader; None while another replica leads."""

    def still_held(self) -> bool:
        """Whether the claim still holds (the lock's connection answers); False means
        step down now."""

    def signalled(self) -> bool:
        """Without asking the database: whether the lock's idle connection has something
        to read (the server ending it sends a last word). True means: ask still_held now.
        Never called while another method runs."""

    def release(self) -> None: ...


class SingleProcess:
    """SQLite: one process per database (a file lock sees to it), always the leader."""

    def acquire(self) -> Lead | None:
        return Lead(fence=None)

    def still_held(self) -> bool:
        return True

    def signalled(self) -> bool:
        return False

    def release(self) -> None:
        return None
