"""Several replicas delivering from one database: each card edit and message is claimed
by one of them (SELECT … FOR UPDATE SKIP LOCKED, then a claim that runs out), so no two
send the same thing; what a replica did not send is free again when it lets go, or when
its claim runs out (it died)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from storage import open_repository
from storage.models import OutboxRow
from storage.repository import Repository
from tests.storage.test_repository import T0, _circle, _proposal

UNTIL = T0 + timedelta(minutes=2)


@pytest.fixture
def repo(db_url: str) -> Repository:
    return open_repository(db_url)


def queue(repo: Repository, pid: int, count: int) -> None:
    with repo.transaction() as tx:
        for n in range(count):
            tx.enqueue(
                key=f"notice:{n}",
                platform="slack",
                channel="C1",
                kind="channel",
                payload={"notice": [f"n{n}"]},
                created_at=T0,
                proposal_id=pid,
            )


def claim(repo: Repository, who: str, now: object = T0) -> list[str]:
    with repo.transaction() as tx:
        return [m.key for m in tx.claim_messages("slack", who, now, UNTIL)]  # type: ignore[arg-type]


def test_a_message_is_claimed_by_one_replica_until_sent_released_or_run_out(
    repo: Repository,
) -> None:
    pid = _proposal(repo, _circle(repo))
    queue(repo, pid, 3)
    assert claim(repo, "a") == ["notice:0", "notice:1", "notice:2"]
    assert claim(repo, "b") == []  # a is sending them
    assert claim(repo, "a") == ["notice:0", "notice:1", "notice:2"]  # still a's
    with repo.transaction() as tx:
        first = tx.claim_messages("slack", "a", T0, UNTIL)[0]
        tx.message_sent(first.id, T0, "ts1")
        tx.release_claims("slack", "a")  # a failed on the second: lets go of the rest
    assert claim(repo, "b") == ["notice:1", "notice:2"]
    assert claim(repo, "a") == []
    late = UNTIL + timedelta(seconds=1)  # b died: its claims ran out
    assert claim(repo, "a", late) == ["notice:1", "notice:2"]


def test_cards_are_claimed_the_same_way(repo: Repository) -> None:
    pid = _proposal(repo, _circle(repo))
    with repo.transaction() as tx:
        tx.add_card(pid, "slack", "C1")
    with repo.transaction() as tx:
        assert [c.proposal_id for c in tx.claim_stale_cards("slack", "a", T0, UNTIL)] == [pid]
    with repo.transaction() as tx:
        assert tx.claim_stale_cards("slack", "b", T0, UNTIL) == []


def test_a_claim_in_progress_is_skipped_not_waited_for(repo: Repository) -> None:
    if repo.engine.dialect.name != "postgresql":
        return  # one process per SQLite file: nothing to skip
    pid = _proposal(repo, _circle(repo))
    queue(repo, pid, 2)
    holding, done = threading.Event(), threading.Event()

    def slow_claim() -> None:  # replica a's claim transaction, caught in the middle
        with repo.engine.begin() as connection:
            connection.execute(
                select(OutboxRow.id).where(OutboxRow.key == "notice:0").with_for_update()
            )
            holding.set()
            done.wait(10)

    thread = threading.Thread(target=slow_claim)
    thread.start()
    try:
        assert holding.wait(10)
        assert claim(repo, "b") == ["notice:1"]  # at once, without notice:0
    finally:
        done.set()
        thread.join()
    assert claim(repo, "c") == ["notice:0"]  # free once the lock went; notice:1 is b's


def test_the_only_process_starting_frees_what_a_dead_one_claimed(repo: Repository) -> None:
    pid = _proposal(repo, _circle(repo))
    queue(repo, pid, 1)
    with repo.transaction() as tx:
        tx.add_card(pid, "slack", "C1")
        tx.claim_stale_cards("slack", "dead", T0, UNTIL)
    assert claim(repo, "dead") == ["notice:0"]
    with repo.transaction() as tx:
        tx.clear_claims()
        assert [c.proposal_id for c in tx.claim_stale_cards("slack", "new", T0, UNTIL)] == [pid]
    assert claim(repo, "new") == ["notice:0"]
