"""Suite-wide fixtures: a throw-away PostgreSQL server and a per-test database URL.

Keep this file generic; feature-specific fixtures belong in the conftest.py of
their own test directory.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import pgserver
from tests.ci import unavailable


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[pgserver.PostgresServer]:
    """One PostgreSQL server for the whole session (skipped locally, fatal in CI)."""
    reason = pgserver.available()
    if reason is not None:
        unavailable("PostgreSQL", reason)
    with pgserver.PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url(postgres_server: pgserver.PostgresServer) -> str:
    """SQLAlchemy URL of the session's shared ``circlebot_test`` database."""
    return postgres_server.url


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    ids=["sqlite", "postgres"],
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLAlchemy URL of an empty database, fresh for every test, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/test.db"
        return
    server: pgserver.PostgresServer = request.getfixturevalue("postgres_server")
    name = f"circlebot_t_{uuid.uuid4().hex[:12]}"
    url = server.create_database(name)
    try:
        yield url
    finally:
        server.drop_database(name)
