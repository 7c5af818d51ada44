"""`circlebot backup`: a consistent copy of a SQLite database while the bot runs.

SQLite's online backup API copies the pages inside one read transaction, so the copy is
a snapshot of committed data; in WAL mode the bot keeps writing meanwhile. The copy is
written beside OUT, checked (integrity_check, proposals counted), and only then takes
OUT's name, so a failed backup never leaves a half-written OUT or replaces a good one.
PostgreSQL has pg_dump for this: we only say how to call it."""

from __future__ import annotations

import os
import shlex
import sqlite3
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from storage.db import SQLITE_BUSY_TIMEOUT_MS, sqlite_file
from storage.process_lock import lock_file


class BackupError(Exception):
    """The backup could not be made; the message is one line saying why."""


@dataclass(frozen=True)
class BackupResult:
    source: Path
    path: Path
    size: int  # bytes
    proposals: int


def pg_dump_command(url: str, out: str) -> str | None:
    """The pg_dump command line for a PostgreSQL URL (None for other databases). Never
    the password: pg_dump reads PGPASSWORD or ~/.pgpass itself."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "postgresql":
        return None
    command = ["pg_dump", "--format=custom"]
    host = parsed.host or parsed.query.get("host")
    if isinstance(host, str) and host:
        command.append(f"--host={host}")
    if parsed.port:
        command.append(f"--port={parsed.port}")
    if parsed.username:
        command.append(f"--username={parsed.username}")
    if parsed.database:
        command.append(f"--dbname={parsed.database}")
    command.append(f"--file={out}")
    return shlex.join(command)


def backup_sqlite(url: str, out: Path, force: bool = False) -> BackupResult:
    """Copy the SQLite database of `url` to `out` and check the copy. Raises BackupError."""
    source = sqlite_file(url)
    if source is None:
        raise BackupError("storage.url: only a SQLite database file can be copied")
    if not source.is_file():
        raise BackupError(f"storage.url: there is no database at {source}")
    out = Path(os.path.abspath(out.expanduser()))
    _refuse_out(out, source, force)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    except OSError as exc:
        raise BackupError(f"cannot write {out}: {exc.strerror or exc}") from exc
    os.close(fd)
    part = Path(name)
    try:
        _copy(source, part)
        proposals = _check(source, part)
        _refuse_out(out, source, force)  # again: the copy took time, files come and go
        os.replace(part, out)
    except OSError as exc:
        raise BackupError(f"cannot write {out}: {exc.strerror or exc}") from exc
    finally:
        part.unlink(missing_ok=True)
    _sync_directory(out.parent)  # the rename itself survives a power loss
    return BackupResult(source, out, out.stat().st_size, proposals)


def _database_files(source: Path) -> dict[Path, str]:
    """The database and the files SQLite and the bot keep beside it, each with what it
    is: replacing one would corrupt the database or let a second bot run on it."""
    return {
        source: "the database itself",
        source.with_name(source.name + "-wal"): "the database's write-ahead log",
        source.with_name(source.name + "-shm"): "the database's shared-memory index",
        source.with_name(source.name + "-journal"): "the database's rollback journal",
        lock_file(source): "the database's lock file",
    }


def _refuse_out(out: Path, source: Path, force: bool) -> None:
    """Raise BackupError unless `out` may be written, `--force` or not: never the
    database or a file beside it that it depends on, by any spelling (a symlink, `..`,
    a hard link), and never anything but a regular file."""
    database_files = _database_files(source)
    resolved = Path(os.path.realpath(out))
    for path, what in database_files.items():
        if resolved == path:
            if out == path:
                raise BackupError(f"{out} is {what}; choose another file")
            raise BackupError(f"{out} leads to {what} ({path}); choose another file")
    try:
        found = os.stat(out)  # through symlinks: what a write would reach
    except FileNotFoundError:
        return
    except OSError as exc:
        raise BackupError(f"cannot write {out}: {exc.strerror or exc}") from exc
    for path, what in database_files.items():
        try:
            same = os.stat(path)
        except OSError:
            continue
        if (same.st_dev, same.st_ino) == (found.st_dev, found.st_ino):
            raise BackupError(f"{out} is a hard link to {what} ({path}); choose another file")
    if stat.S_ISDIR(found.st_mode):
        raise BackupError(f"{out} is a directory; name the file to write")
    if not stat.S_ISREG(found.st_mode):
        raise BackupError(
            f"{out} is not a regular file (it is {_kind(found.st_mode)}); "
            "a backup is written to a regular file"
        )
    if not force:
        raise BackupError(f"{out} exists; use --force to replace it")


def _kind(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "neither a file nor a directory"


def _copy(source: Path, part: Path) -> None:
    try:
        # Not read-only: a WAL database may need its -shm file created to be read.
        src = sqlite3.connect(source, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open {source}: {exc}") from exc
    try:
        dest = sqlite3.connect(part)
        try:
            src.backup(dest)  # all pages in one step: one read transaction, one snapshot
            # One self-contained file: no -wal beside the copy to lose when it is moved.
            dest.execute("PRAGMA journal_mode=DELETE")
            dest.commit()
        finally:
            dest.close()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy {source}: {exc}") from exc
    finally:
        src.close()
    with open(part, "rb") as written:
        os.fsync(written.fileno())


def _check(source: Path, part: Path) -> int:
    """integrity_check on the copy; its number of proposals."""
    try:
        copy = sqlite3.connect(f"{part.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open the copy: {exc}") from exc
    try:
        result = [row[0] for row in copy.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            raise BackupError(f"the copy failed its integrity check: {result[0]}")
        try:
            (count,) = copy.execute("SELECT count(*) FROM proposals").fetchone()
        except sqlite3.OperationalError as exc:
            raise BackupError(f"{source} is not a circlebot database ({exc})") from exc
        return int(count)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"cannot check the copy: {exc}") from exc
    finally:
        copy.close()


def _sync_directory(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory; the copy is written already
    finally:
        os.close(fd)
