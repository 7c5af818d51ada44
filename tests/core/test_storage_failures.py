"""A database that cannot be written: the person is told and nothing changes; the
operator sees one clear line, not a traceback per event; a deleted or replaced
database file stops the bot."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

Harness = Any  # tests/core/conftest.py
HarnessFactory = Any


@pytest.fixture
def full_disk() -> Iterator[Any]:
    """Make a harness's database full: SQLite's own SQLITE_FULL path, reached by capping
    the file at the pages it has (PRAGMA max_page_count) on every connection."""
    capped: list[Any] = []

    def cap(h: Harness, on: bool = True) -> None:
        engine = h.repo.engine
        if on:

            def limit(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                pages = cursor.execute("PRAGMA page_count").fetchone()[0]
                cursor.execute(f"PRAGMA max_page_count={pages}")
                cursor.close()

            event.listen(engine, "connect", limit)
            capped.append((engine, limit))
        else:
            for engine_, limit in capped:
                event.remove(engine_, "connect", limit)
            capped.clear()
        engine.dispose()  # new connections take (or drop) the cap

    yield cap
    for engine_, limit in capped:
        event.remove(engine_, "connect", limit)


def test_a_full_disk_refuses_commands_clearly_and_changes_nothing(
    h: Harness, full_disk: Any, caplog: pytest.LogCaptureFixture
) -> None:
    h.propose("ana", "First")
    # Fill the file's pages so the next write needs a new one.
    for i in range(40):
        h.ok("ana", f"propose Filler {i} {'x' * 2500}")
    full_disk(h)
    before = h.snapshot()
    caplog.set_level(logging.INFO)
    replies = []
    for i in range(5):
        [reply] = h.cmd("ana", f"propose Big {i} {'y' * 2500}")
        replies.append(reply)
    assert all(not r.ok for r in replies)
    assert replies[0].text == "Could not save: the disk is full; nothing changed."
    full_disk(h, on=False)
    assert h.snapshot() == before
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert "the disk is full" in errors[0].getMessage()
    assert all(r.exc_info is None for r in caplog.records)
    # Space again: the next command works, and the log says so once.
    assert h.ok("ana", "propose After").startswith("Proposal #")
    assert any("writable again; 5 event(s)" in r.getMessage() for r in caplog.records)


def test_a_deleted_database_file_is_fatal(
    h: Harness, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    h.propose("ana", "First")
    database = Path(h.repo.engine.url.database)
    os.remove(database)
    [reply] = h.cmd("ana", "propose Second")
    assert reply.ok is False
    assert reply.text == "Could not save: the database file was deleted; nothing changed."
    assert h.core.fatal is not None
    h.react("ben", "+1", 1)  # a reaction is refused quietly: no reply, no traceback
    assert all(r.exc_info is None for r in caplog.records)
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(critical) == 1 and str(database) in critical[0].getMessage()


def test_a_replaced_database_file_is_fatal(h: Harness) -> None:
    h.propose("ana", "First")
    database = Path(h.repo.engine.url.database)
    copy = database.with_suffix(".copy")
    copy.write_bytes(database.read_bytes())
    os.replace(copy, database)  # same path, another file (a restore from backup, say)
    [reply] = h.cmd("ana", "status 1")
    assert reply.text == (
        "Could not save: the database file was replaced by another file; nothing changed."
    )
    assert h.core.fatal is not None
