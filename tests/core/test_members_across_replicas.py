"""Two cores on one PostgreSQL database, as two replicas: a membership change taken by one
(`circle add`, `away`, `back`) is what the other acts on at its next event, without a
restart. On SQLite there is only ever one process, and nothing is re-read."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bot.domain.model import Stance

Harness = Any  # tests/core/conftest.py
HarnessFactory = Any

pytestmark = pytest.mark.postgres


def replicas(make_harness: HarnessFactory, url: str, **rules: Any) -> tuple[Harness, Harness]:
    """Two cores on one database, numbering their events apart (as platforms do)."""
    one = make_harness(url=url, **rules)
    two = make_harness(url=url, **rules)
    two._ids = itertools.count(1_000_000)
    two.clock = two.core.clock = two.core.ctx.clock = one.clock  # one wall clock
    return one, two


@pytest.fixture
def shared_url(postgres_server: Any) -> Iterator[str]:
    name = f"circlebot_t_{uuid.uuid4().hex[:12]}"
    url = postgres_server.create_database(name)
    try:
        yield str(url)
    finally:
        postgres_server.drop_database(name)


def test_a_member_added_on_one_replica_counts_on_the_other(
    make_harness: HarnessFactory, shared_url: str
) -> None:
    one, two = replicas(make_harness, shared_url)
    one.ok("ana", "circle add fay vera member")
    pid = two.propose("ana")
    two.react("fay", "+1", pid)  # on the other replica: she is a member there too
    state = two.state(pid)
    assert state.stances.get("fay") is Stance.CONSENT  # a voice, shown
    [row] = two.history(kind="reaction", member="fay")
    assert row["counted"] is True


def test_away_on_one_replica_is_known_to_the_other(
    make_harness: HarnessFactory, shared_url: str
) -> None:
    one, two = replicas(make_harness, shared_url, allow_proxy=True)
    assert "ben answers for you" in one.ok("ana", "away 1w proxy ben")
    assert "ben answers for them" in two.ok("cy", "circle")
    pid = two.propose("cy")  # opened on the other replica: ana's proxy joins its round
    two.react("ben", "+1", pid)
    assert two.state(pid).proxied == {"ana": "ben"}
    one.ok("ana", "back")
    assert "away until" not in two.ok("cy", "circle").split("milpa:")[1].split("\n")[0]


def test_a_replica_reads_the_members_again_only_when_they_changed(
    make_harness: HarnessFactory, shared_url: str
) -> None:
    one, two = replicas(make_harness, shared_url)
    with two.repo.transaction() as tx:
        assert two.core.directory.refresh(tx) is False  # nothing changed since it started
    one.ok("ana", "circle add fay vera member")
    with two.repo.transaction() as tx:
        assert two.core.directory.refresh(tx) is True
        assert two.core.directory.refresh(tx) is False
    one.tick(minutes=1)
    assert [m.name for m in two.core.directory.members("council")][-1] == "fay"


def test_on_sqlite_nothing_is_read_again(make_harness: HarnessFactory) -> None:
    h = make_harness()
    assert h.repo.shared is False
    before = h.core.directory.members("council")
    h.core.refresh_members()
    assert h.core.directory.members("council") is before


def test_a_membership_change_whose_transaction_failed_is_not_kept_in_memory(
    make_harness: HarnessFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.domain.errors import StorageUnavailable
    from bot.state.directory import Directory

    h = make_harness()  # SQLite: one process, yet its own cache must not lie either
    reload = Directory.reload

    def reload_then_fail(self: Directory, tx: Any, spec: Any) -> None:
        reload(self, tx, spec)  # the cache now says ana is away…
        raise StorageUnavailable("disk full")  # …and the transaction is undone

    monkeypatch.setattr(Directory, "reload", reload_then_fail)
    assert "Could not save: disk full" in h.refused("ana", "away 1w")
    monkeypatch.setattr(Directory, "reload", reload)
    assert "away until" not in h.ok("cy", "circle")
