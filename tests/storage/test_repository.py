"""The repository against SQLite and a real PostgreSQL server (db_url runs both)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, inspect, text

from bot.domain.errors import Duplicate
from bot.domain.model import Mark, MarkSource, Member, Sign, Stance
from bot.domain.redact import redact_url
from storage import open_repository
from storage.db import StorageError, make_engine
from storage.migrate import alembic_config, upgrade
from storage.models import Base
from storage.repository import Repository

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.fixture
def repo(db_url: str) -> Repository:
    return open_repository(db_url)


def _circle(repo: Repository) -> int:
    with repo.transaction() as tx:
        circle_id = tx.create_circle("council")
        tx.upsert_member(circle_id, Member("ana", "milpa", "leader", handles={"slack": "U1"}))
    return circle_id


def _proposal(repo: Repository, circle_id: int, deadline: datetime = T0) -> int:
    with repo.transaction() as tx:
        return tx.create_proposal(
            circle_id=circle_id,
            author="ana",
            text="Adopt it",
            status="open",
            created_at=T0,
            deadline=deadline,
            review=None,
        )


def test_migrations_create_every_table_and_are_idempotent(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    upgrade(engine)  # a second start changes nothing
    tables = set(inspect(engine).get_table_names())
    assert {"circles", "members", "proposals", "rounds", "marks", "history", "cards"} <= tables
    assert {"outbox", "inbox", "identities", "leadership", "alembic_version"} <= tables
    with engine.connect() as connection:
        assert connection.scalar(text("select version_num from alembic_version")) == (
            ScriptDirectory.from_config(alembic_config()).get_current_head()
        )


def test_the_migrations_make_the_tables_the_models_describe(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_an_event_is_recorded_once_and_the_transaction_stays_usable(repo: Repository) -> None:
    circle_id = _circle(repo)
    common = dict(circle_id=circle_id, kind="reaction", actor="ana", at=T0, platform="slack")
    with repo.transaction() as tx:
        tx.record(**common, event_id="Ev1")  # type: ignore[arg-type]
    with repo.transaction() as tx:
        with pytest.raises(Duplicate):
            tx.record(**common, event_id="Ev1")  # type: ignore[arg-type]
        # After a duplicate the same transaction can still write (no aborted state).
        tx.record(**common, event_id="Ev2")  # type: ignore[arg-type]
    with repo.transaction() as tx:
        ids = [row["event_id"] for row in tx.history(circle_id)]
    assert ids == ["Ev1", "Ev2"]
    with repo.transaction() as tx:
        tx.record(**{**common, "platform": "matrix"}, event_id="Ev1")  # type: ignore[arg-type]
        assert tx.seen("matrix", "Ev1") and not tx.seen("matrix", "Ev9")


def test_times_come_back_aware_in_utc(repo: Repository) -> None:
    circle_id = _circle(repo)
    berlin = datetime(2026, 3, 29, 3, 30, tzinfo=UTC) + timedelta(hours=0)
    pid = _proposal(repo, circle_id, deadline=berlin)
    with repo.transaction() as tx:
        proposal = tx.proposal(pid)
    assert proposal is not None
    assert proposal.deadline == berlin and proposal.deadline.tzinfo is not None
    assert proposal.created_at == T0


def test_marks_keep_the_latest_per_member_and_emoji(repo: Repository) -> None:
    pid = _proposal(repo, _circle(repo))
    first = Mark("ana", Sign.reaction("+1"), True, T0, MarkSource("slack", "1"))
    later = Mark(
        "ana", Sign.reaction("+1"), False, T0 + timedelta(seconds=5), MarkSource("slack", "2")
    )
    with repo.transaction() as tx:
        tx.put_mark(pid, 1, first, replace=False)
        tx.put_mark(pid, 1, later, replace=True)
        tx.put_mark(pid, 2, first, replace=False)  # another round is another register
    with repo.transaction() as tx:
        assert tx.marks(pid, 1) == [later]
        assert tx.marks(pid, 2) == [first]


def test_cards_track_versions_and_references(repo: Repository) -> None:
    pid = _proposal(repo, _circle(repo))
    with repo.transaction() as tx:
        tx.add_card(pid, "slack", "C1")
        tx.touch_cards(pid)
        (card,) = tx.stale_cards("slack")
        assert (card.version, card.rendered, card.message_ref) == (2, 0, None)
        tx.card_rendered(pid, "slack", 2, "1700000000.000100")
        assert tx.stale_cards("slack") == []
        found = tx.card_by_ref("slack", "1700000000.000100")
        assert found is not None and found.proposal_id == pid
        tx.card_rendered(pid, "slack", 1)  # an older render never goes backwards
        assert tx.cards(pid)[0].rendered == 2


def test_outbox_queues_each_key_once(repo: Repository) -> None:
    pid = _proposal(repo, _circle(repo))
    message = dict(platform="slack", channel="C1", kind="thread", created_at=T0, proposal_id=pid)
    with repo.transaction() as tx:
        assert tx.enqueue(key="outcome:1:slack", payload={"outcome": True}, **message)  # type: ignore[arg-type]
        assert not tx.enqueue(key="outcome:1:slack", payload={"outcome": True}, **message)  # type: ignore[arg-type]
        (pending,) = tx.pending_messages("slack")
        tx.message_sent(pending.id, T0, "ref")
        assert tx.pending_messages("slack") == []


def test_open_before_and_live_proposals(repo: Repository) -> None:
    circle_id = _circle(repo)
    with repo.transaction() as tx:
        assert tx.open_before(T0 + timedelta(days=9)) == []
    later = _proposal(repo, circle_id, deadline=T0 + timedelta(days=2))
    sooner = _proposal(repo, circle_id, deadline=T0 + timedelta(days=1))
    done = _proposal(repo, circle_id, deadline=T0 + timedelta(hours=1))
    with repo.transaction() as tx:
        tx.update_proposal(done, status="blocked")
        assert [p.id for p in tx.open_before(T0 + timedelta(days=1))] == [sooner]
        assert [p.id for p in tx.open_before(T0 + timedelta(days=3))] == [sooner, later]
        assert {p.id for p in tx.live_proposals()} == {sooner, later}
        tx.update_proposal(done, status="passed", review_at=T0 + timedelta(days=180))
        assert {p.id for p in tx.live_proposals()} == {sooner, later, done}


def test_sqlite_settings(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x.db")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_concurrent_writers_never_fail(db_url: str) -> None:
    """Write transactions begin immediately on SQLite, so writers wait their turn instead
    of failing with 'database is locked' when a read turns into a write."""
    repo = open_repository(db_url)
    circle_id = _circle(repo)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for n in range(60):
                with repo.transaction() as tx:
                    tx.seen("x", "y")  # read first, then write: the racy pattern
                    tx.record(
                        circle_id=circle_id,
                        kind="reaction",
                        actor=name,
                        at=T0,
                        platform="test",
                        event_id=f"{name}-{n}",
                    )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with repo.transaction() as tx:
        assert len(tx.history(circle_id)) == 240


def test_bad_urls_are_refused_with_the_key_named(tmp_path: object) -> None:
    with pytest.raises(StorageError, match=r"storage\.url"):
        make_engine("nonsense")
    with pytest.raises(StorageError, match=r"storage\.url: 'mysql' is not supported"):
        make_engine("mysql://u@h/db")
    with pytest.raises(StorageError, match="does not exist"):
        make_engine(f"sqlite:///{tmp_path}/missing/dir/x.db")
    assert "secret" not in redact_url("postgresql+psycopg://u:secret@h/db")


def test_a_locked_proposal_waits_for_the_transaction_that_holds_it(db_url: str) -> None:
    """What changes a proposal's answers or outcome takes turns on it: on PostgreSQL a
    second replica's transaction waits for the first; SQLite has one writer anyway."""
    repo = open_repository(db_url)
    circle_id = _circle(repo)
    now = datetime(2026, 1, 5, tzinfo=UTC)
    with repo.transaction() as tx:
        pid = tx.create_proposal(
            circle_id=circle_id,
            author="ana",
            text="t",
            status="open",
            created_at=now,
            deadline=now + timedelta(days=1),
            review=None,
        )
    if not repo.shared:
        with repo.transaction() as tx:
            assert tx.proposal(pid, lock=True) is not None
        return
    order: list[str] = []
    holding, done = threading.Event(), threading.Event()

    def first() -> None:
        with repo.transaction() as tx:
            tx.proposal(pid, lock=True)
            holding.set()
            done.wait(5)
            tx.update_proposal(pid, status="passed")
            order.append("first wrote")

    thread = threading.Thread(target=first)
    thread.start()
    assert holding.wait(5)
    second = open_repository(db_url)
    with second.transaction() as tx:
        threading.Timer(0.3, done.set).start()
        found = tx.proposal(pid, lock=True)  # waits for the first to commit
        order.append("second read")
        assert found is not None and found.status == "passed"  # sees what it wrote
    thread.join()
    assert order == ["first wrote", "second read"]
    second.engine.dispose()
    repo.engine.dispose()


def test_a_proposal_comes_with_its_current_rounds_marks_in_one_statement(
    repo: Repository,
) -> None:
    """An answer's whole load (bot.handlers.reactions): the proposal, by id or by its card, and
    the live marks of its current round only, times back aware, in one statement."""
    pid = _proposal(repo, _circle(repo))
    ana = Mark(
        "ana", Sign.reaction("+1"), True, T0 + timedelta(microseconds=250), MarkSource("slack", "1")
    )
    ben = Mark(
        "ben", Sign.stance(Stance.OBJECT), False, T0 + timedelta(hours=3), MarkSource("core", "2")
    )
    with repo.transaction() as tx:
        tx.open_round(pid, 1, "Adopt it", T0, {}, {"milpa": ["ana"]})
        tx.put_mark(
            pid,
            1,
            Mark("ana", Sign.reaction("-1"), True, T0, MarkSource("slack", "0")),
            replace=False,
        )
        tx.open_round(pid, 2, "Adopt it, amended", T0, {}, {"milpa": ["ana"]})
        tx.put_mark(pid, 2, ana, replace=False)
        tx.put_mark(pid, 2, ben, replace=False)
        tx.add_card(pid, "slack", "C1")
        tx.card_rendered(pid, "slack", 1, "1700000000.000100")
    statements: list[str] = []
    event.listen(repo.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with repo.transaction() as tx:
        statements.clear()
        by_id = tx.proposal_with_marks(pid, lock=True)
        assert len(statements) == 1
        on_card = tx.proposal_on_card("slack", "1700000000.000100", "C1", lock=True)
        anywhere = tx.proposal_on_card("slack", "1700000000.000100")
        assert len(statements) == 3
        assert tx.proposal_on_card("slack", "1700000000.000100", "C2") is None
        assert tx.proposal_with_marks(pid + 1) is None
        proposal = tx.proposal(pid)
    assert by_id is not None and proposal is not None and proposal.round == 2
    assert by_id == on_card == anywhere
    assert by_id.proposal == proposal
    assert sorted(by_id.marks, key=lambda mark: mark.source) == [ben, ana]
    assert all(mark.at.tzinfo is UTC for mark in by_id.marks)
    other = _proposal(repo, proposal.circle_id)
    with repo.transaction() as tx:
        fresh = tx.proposal_with_marks(other)
    assert fresh is not None and fresh.marks == ()
