"""Engines: SQLite done right (WAL, busy timeout, BEGIN IMMEDIATE) or PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.domain.errors import DatabaseReplaced
from bot.domain.redact import redact_url

SQLITE_BUSY_TIMEOUT_MS = 10_000


class StorageError(Exception):
    """The database cannot be used; the message says why, without secrets."""


# SQLite's messages, as a person can act on them.
_REASONS = (
    ("database or disk is full", "the disk is full"),
    ("readonly database", "the database is read-only"),
    ("disk i/o error", "the disk reported an I/O error"),
    ("unable to open database file", "the database file cannot be opened"),
    ("database is locked", "the database is busy (locked by another program)"),
    ("connection", "the database server cannot be reached"),
    ("server closed", "the database server cannot be reached"),
)


def unavailable_reason(exc: BaseException) -> str:
    """A short reason for a failed write, without the SQL or its parameters."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    for needle, reason in _REASONS:
        if needle in text:
            return reason
    first = (str(getattr(exc, "orig", None) or exc).splitlines() or ["unknown error"])[0]
    return f"the database refused the write ({first[:120]})"


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StorageError(f"storage.url: {redact_url(url)!r} is not a database URL") from exc
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, sqlite_file(url))
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        # hide_parameters: a failed statement's error (logged) never carries the values
        # it was given, sealed tokens among them.
        return create_engine(parsed, pool_pre_ping=True, hide_parameters=True)
    raise StorageError(
        f"storage.url: {parsed.get_backend_name()!r} is not supported; "
        "use sqlite:///FILE or postgresql+psycopg://…"
    )


def sqlite_file(url: str) -> Path | None:
    """The database file behind a SQLite URL; None for other databases and :memory:."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser().resolve()


def _sqlite_engine(url: str, path: Path | None) -> Engine:
    if path is not None and not path.parent.is_dir():
        raise StorageError(f"storage.url: directory {path.parent} does not exist")
    engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
    identity: list[tuple[int, int]] = []  # (device, inode) of the file we opened

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" below emit BEGIN itself, so it can be IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=FULL")  # a decision log must survive power loss
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        if path is not None and not identity:
            found = os.stat(path)
            identity.append((found.st_dev, found.st_ino))

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if path is not None and identity:
            _check_same_file(path, identity[0])
        # Deferred transactions that later write fail under concurrent writers
        # (SQLITE_BUSY without waiting); take the write lock up front.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _check_same_file(path: Path, opened: tuple[int, int]) -> None:
    """SQLite keeps writing to a deleted file through its open handle, confirming
    every command while keeping nothing: check, before each transaction, that the file
    at the path is still the one we opened."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        raise DatabaseReplaced("the database file was deleted", path) from None
    if (found.st_dev, found.st_ino) != opened:
        raise DatabaseReplaced("the database file was replaced by another file", path)
