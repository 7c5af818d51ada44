"""Fixtures for the Matrix adapter: a real Synapse homeserver on loopback for the whole
session (skipped locally when it cannot be installed or started, fatal in CI), the
people of a circle registered on it, and helpers to drive real users and a real bot."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from adapters.matrix import E2E_AVAILABLE
from tests.adapters.matrix.harness import Cast, Person, register_cast
from tests.ci import unavailable
from tests.synapse_server import SynapseServer, SynapseUnavailable


def start_synapse() -> SynapseServer:
    """A started server, or the test skips (locally) / fails (CI=true) saying why."""
    try:
        return SynapseServer().start()
    except (SynapseUnavailable, OSError, subprocess.SubprocessError) as exc:
        unavailable("Synapse", f"Synapse cannot be installed or started here: {exc}")


@pytest.fixture
def e2e() -> None:
    """Encryption support (the e2e extra, part of the dev install): the test skips
    without it locally, and fails in CI, where it must be installed."""
    if E2E_AVAILABLE:
        return
    unavailable(
        "The e2e extra", "needs the e2e extra (matrix-nio[e2e]), part of `pip install -e '.[dev]'`"
    )


@pytest.fixture(scope="session")
def synapse() -> Iterator[SynapseServer]:
    server = start_synapse()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def cast(synapse: SynapseServer) -> Cast:
    return register_cast(synapse)


@pytest.fixture
async def people(synapse: SynapseServer, cast: Cast) -> AsyncIterator[dict[str, Person]]:
    """ana and ben (milpa), cy and dee (vera), and eve (not a member), each with a
    client that keeps syncing and records what arrives."""
    started: dict[str, Person] = {}
    try:
        for name in ("ana", "ben", "cy", "dee", "eve"):
            person = Person(synapse.url, getattr(cast, name))
            await person.start()
            started[name] = person
        yield started
    finally:
        for person in started.values():
            await person.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "bot.db"
