"""What a person is told when the database refuses a write: SQLite's real errors,
mapped to a short reason without SQL or parameters."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from storage.db import unavailable_reason


def test_a_read_only_database(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE t (x TEXT)")
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(OperationalError) as refused, engine.begin() as c:
        c.execute(text("INSERT INTO t VALUES (:x)"), {"x": "secret text"})
    reason = unavailable_reason(refused.value)
    assert reason == "the database is read-only"
    engine.dispose()


def test_an_unknown_error_keeps_only_its_first_line_and_no_parameters(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(OperationalError) as refused, engine.begin() as c:
        c.execute(text("INSERT INTO missing VALUES (:x)"), {"x": "secret text"})
    reason = unavailable_reason(refused.value)
    assert reason == "the database refused the write (no such table: missing)"
    assert "secret" not in reason and "INSERT" not in reason
    engine.dispose()
