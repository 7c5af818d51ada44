"""Migrations carry existing rows forward: a check-in prompt queued before outbox rows
named their check-in gets its check-in id from the key it was queued under; marks and
history written before marks were typed read back as the same marks."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Connection, inspect, text

from bot.domain.events import ReactionEvent
from bot.domain.model import Mark, MarkSource, Sign, Stance
from bot.text.messages import Notice
from storage.db import make_engine
from storage.inbox import Inbox
from storage.migrate import alembic_config, upgrade
from storage.repository import Repository


def open_proposal(connection: Connection, at: datetime) -> None:
    """Circle 1 with proposal 1 open in round 1, in rows the tests below start from (0009,
    0012) read alike."""
    connection.execute(text("insert into circles (id, name, config_members) values (1, 'c', '[]')"))
    connection.execute(
        text(
            "insert into proposals (id, circle_id, author, text, status, round, created_at, "
            "deadline, reviewed) values (1, 1, 'ana', 'A', 'open', 1, :at, :at, false)"
        ),
        {"at": at},
    )


def test_0003_names_the_checkin_of_prompts_queued_before(db_url: str) -> None:
    engine = make_engine(db_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    now = datetime(2026, 1, 5, tzinfo=UTC)
    with engine.begin() as connection:
        for key, ref in (("checkin:7:console", "p7"), ("outcome:3:console", "o3")):
            connection.execute(
                text(
                    "insert into outbox (key, platform, channel, kind, payload, created_at, "
                    "message_ref) values (:key, 'console', 'council', 'channel', '{}', :at, :ref)"
                ),
                {"key": key, "at": now, "ref": ref},
            )
    upgrade(engine)
    with Repository(engine).transaction() as tx:
        assert tx.checkin_posted_as("console", "p7") == 7
        assert tx.checkin_posted_as("console", "o3") is None
        assert tx.checkin_posted_as("slack", "p7") is None
    engine.dispose()


# Rows as the code before 0010 wrote them: the kind of a mark as a prefix of its emoji,
# its source as "platform:event_id" (event ids hold ":" too).
OLD_MARKS = [
    ("ana", "slack", "+1", True, "slack:1700000000.000100"),
    ("ben", "slack", "stance:object", True, "slack:act:trig-1"),
    ("ana", "core", "proxy:ben", True, "core:proxy:1:1:ana"),
    ("cy", "matrix", "literal:stance:consent", True, "matrix:$ev:example.org"),
    ("cy", "matrix", "+1", False, "matrix:reconcile:$card:cy:+1:2026-01-05T00:00:00"),
]


def test_0010_carries_marks_history_and_waiting_presses_forward(db_url: str) -> None:
    engine = make_engine(db_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0009")
    at = datetime(2026, 1, 5, tzinfo=UTC)
    with engine.begin() as connection:
        open_proposal(connection, at)
        for i, (member, platform, emoji, added, order) in enumerate(OLD_MARKS):
            connection.execute(
                text(
                    "insert into marks (proposal_id, round, member, platform, emoji, added, at, "
                    '"order") values (1, 1, :member, :platform, :emoji, :added, :at, :order)'
                ),
                {
                    "member": member,
                    "platform": platform,
                    "emoji": emoji,
                    "added": added,
                    "at": at,
                    "order": order,
                },
            )
            kind = "proxy" if emoji.startswith("proxy:") else "reaction"
            connection.execute(
                text(
                    "insert into history (circle_id, proposal_id, round, kind, actor, member, "
                    "emoji, added, counted, at, platform, event_id) values (1, 1, 1, :kind, "
                    ":member, :member, :emoji, :added, true, :at, :platform, :event_id)"
                ),
                {
                    "kind": kind,
                    "member": member,
                    "emoji": emoji,
                    "added": added,
                    "at": at,
                    "platform": platform,
                    "event_id": order.partition(":")[2] + f"#{i}",
                },
            )
        press = {
            "platform": "slack",
            "event_id": "act:trig-2",
            "channel": "C1",
            "user": "U1",
            "emoji": "stance:consent",
            "added": True,
            "message_ref": "1.2",
            "pressed": True,
        }
        connection.execute(
            text(
                "insert into inbox (platform, event_id, kind, payload, received_at, attempts) "
                "values ('slack', 'act:trig-2', 'reaction', :payload, :at, 0)"
            ),
            {"payload": json.dumps(press), "at": at},
        )
    upgrade(engine)
    expected = [
        Mark("ana", Sign.reaction("+1"), True, at, MarkSource("slack", "1700000000.000100")),
        Mark("ben", Sign.stance(Stance.OBJECT), True, at, MarkSource("slack", "act:trig-1")),
        Mark("ana", Sign.proxy("ben"), True, at, MarkSource("core", "proxy:1:1:ana")),
        Mark(
            "cy", Sign.reaction("stance:consent"), True, at, MarkSource("matrix", "$ev:example.org")
        ),
        Mark(
            "cy",
            Sign.reaction("+1"),
            False,
            at,
            MarkSource("matrix", "reconcile:$card:cy:+1:2026-01-05T00:00:00"),
        ),
    ]
    key = repr
    with Repository(engine).transaction() as tx:
        assert sorted(tx.marks(1, 1), key=key) == sorted(expected, key=key)
        loaded = tx.proposal_with_marks(1)
        assert loaded is not None and sorted(loaded.marks, key=key) == sorted(expected, key=key)
        replayed = tx.counted_reactions(1, 1)
        assert [(m.member, m.sign, m.added) for m in replayed] == [
            (m.member, m.sign, m.added) for m in expected
        ]
        recorded = tx.reaction("slack", "act:trig-1#1")
        assert recorded is not None and recorded.sign == Sign.stance(Stance.OBJECT)
    (event,) = Inbox(engine).pending()
    assert isinstance(event, ReactionEvent) and event.stance is Stance.CONSENT
    engine.dispose()


def test_0010_downgrades_to_the_old_columns(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0009")
    with engine.begin() as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("marks")}
    assert "order" in columns and "kind" not in columns
    engine.dispose()


def test_0011_moves_every_platform_id_into_the_handles(db_url: str) -> None:
    """A database made by the release before 0011 (members with an id per platform
    column, the config's members and a queued notice's mentions in the old shape) keeps
    every id, now as each member's handles."""
    engine = make_engine(db_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0010")
    now = datetime(2026, 1, 5, tzinfo=UTC)
    old_config = [
        {"name": "ana", "side": "milpa", "role": "leader", "slack": "UANA", "matrix": None},
        {
            "name": "ben",
            "side": "milpa",
            "role": "leader",
            "slack": None,
            "matrix": "@ben:example.org",
            "slack_email": "ben@example.org",
        },
    ]
    old_notice = {
        "notice": [
            "Waiting on ",
            {"member": "ana", "slack": "UANA", "matrix": "@ana:example.org"},
        ]
    }
    people = [
        ("ana", "UANA", "@ana:example.org"),
        ("ben", None, "@ben:example.org"),
        ("cy", "UCY", None),
        ("dee", None, None),
    ]
    with engine.begin() as connection:
        connection.execute(
            text("insert into circles (name, config_members) values ('council', :members)"),
            {"members": json.dumps(old_config)},
        )
        circle_id = connection.execute(text("select id from circles")).scalar_one()
        for name, slack, matrix in people:
            connection.execute(
                text(
                    "insert into members (circle_id, name, side, role, slack_id, matrix_id, "
                    "active) values (:circle, :name, 'milpa', 'leader', :slack, :matrix, :on)"
                ),
                {"circle": circle_id, "name": name, "slack": slack, "matrix": matrix, "on": True},
            )
        connection.execute(
            text(
                "insert into outbox (key, platform, channel, kind, payload, created_at) "
                "values ('notice:1', 'slack', 'C1', 'channel', :payload, :at)"
            ),
            {"payload": json.dumps(old_notice), "at": now},
        )
    upgrade(engine)
    with Repository(engine).transaction() as tx:
        handles = {m.name: dict(m.handles) for m in tx.members(circle_id)}
        assert handles == {
            "ana": {"slack": "UANA", "matrix": "@ana:example.org"},
            "ben": {"matrix": "@ben:example.org"},
            "cy": {"slack": "UCY"},
            "dee": {},
        }
        assert tx.config_members(circle_id) == [
            {"name": "ana", "side": "milpa", "role": "leader", "handles": {"slack": "UANA"}},
            {
                "name": "ben",
                "side": "milpa",
                "role": "leader",
                "handles": {"matrix": "@ben:example.org"},
                "to_resolve": {"slack": "ben@example.org"},
            },
        ]
    with engine.connect() as connection:
        payload = connection.execute(text("select payload from outbox")).scalar_one()
        payload = json.loads(payload) if isinstance(payload, str) else payload
    assert Notice.from_json(payload).mentions[0].handles == {
        "slack": "UANA",
        "matrix": "@ana:example.org",
    }
    engine.dispose()


def test_0013_stores_no_detail_as_null_and_reads_a_rounds_reasons_alone(db_url: str) -> None:
    """Answers written before 0013 kept "no detail" as JSON null, which `detail IS NOT
    NULL` matched: drawing a card decoded the round's every reaction. They become NULL;
    a stance command's detail is kept, and new answers without one are NULL too."""
    engine = make_engine(db_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0012")
    at = datetime(2026, 1, 5, tzinfo=UTC)
    reason = {"stance": "object", "reason": "the budget"}
    with engine.begin() as connection:
        open_proposal(connection, at)
        for n, detail in enumerate(["null", "null", json.dumps(reason)]):
            connection.execute(
                text(
                    "insert into history (circle_id, proposal_id, round, kind, actor, member, "
                    "mark, emoji, added, counted, detail, at, platform, event_id) values "
                    "(1, 1, 1, 'reaction', 'ben', 'ben', :mark, :emoji, true, true, :detail, "
                    ":at, 'slack', :event_id)"
                ),
                {
                    "mark": "stance" if n == 2 else "reaction",
                    "emoji": "object" if n == 2 else "+1",
                    "detail": detail,
                    "at": at,
                    "event_id": f"e{n}",
                },
            )
    upgrade(engine)
    with Repository(engine).transaction() as tx:
        tx.record(
            circle_id=1,
            kind="reaction",
            actor="cy",
            at=at,
            platform="slack",
            event_id="e3",
            proposal_id=1,
            round=1,
            member="cy",
            sign=Sign.reaction("+1"),
            added=True,
        )
        assert tx.stance_commands(1, 1) == [("ben", "object", "the budget")]
    with engine.connect() as connection:
        nulls = connection.execute(
            text("select event_id from history where detail is null order by event_id")
        ).scalars()
        assert list(nulls) == ["e0", "e1", "e3"]
        if engine.dialect.name == "sqlite":
            plan = connection.execute(
                text(
                    "explain query plan select member, detail from history where "
                    "proposal_id = 1 and round = 1 and detail is not null"
                )
            ).all()
            assert "ix_history_detail" in str(plan), plan
    engine.dispose()
