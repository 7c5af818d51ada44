"""One running bot per SQLite file. Two processes on one file would both run the
scheduler and post every outcome twice; the second must stop at once and say why.

The lock is an advisory `flock` on a file beside the database (`circlebot.db.lock`),
held for the life of the process: the kernel releases it when the process ends, even
by SIGKILL, so a crash never leaves a stale lock behind. The holder writes its pid into
the file, so the message can name it."""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from storage.db import StorageError, sqlite_file


class ProcessLock:
    """Held until release() (or the end of the process)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def lock_file(database: Path) -> Path:
    """The lock file beside a SQLite database: `circlebot.db` -> `circlebot.db.lock`."""
    return database.with_name(database.name + ".lock")


def lock_single_process(url: str) -> ProcessLock | None:
    """Take the one-process lock of a SQLite database (None for PostgreSQL, which takes
    several replicas). Raises StorageError naming the file and the holder's pid."""
    database = sqlite_file(url)
    if database is None:
        return None
    path = lock_file(database)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StorageError(
            f"storage.url: cannot create the lock file {path}: {exc.strerror}"
        ) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = _read_pid(fd)
        os.close(fd)
        if exc.errno not in (errno.EWOULDBLOCK, errno.EACCES):
            raise StorageError(f"storage.url: cannot lock {path}: {exc.strerror}") from exc
        who = f"process {holder}" if holder else "another process"
        raise StorageError(
            f"storage.url: {database} is in use by another circlebot ({who}). "
            "One SQLite database serves one bot: stop the other one first, or use "
            "PostgreSQL to run several replicas."
        ) from exc
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return ProcessLock(path, fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
