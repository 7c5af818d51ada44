"""The inbox table and its writer, on SQLite and a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text, update

from bot.domain.events import CommandEvent, InboundEvent, ReactionEvent, ThreadReplyEvent
from bot.domain.identity import Handle
from bot.domain.intents import CircleAdd, Cosponsor, Decisions, Propose, SetStance
from bot.domain.model import Role, Stance
from storage import open_repository
from storage.inbox import INBOX, REMEMBER_TAKEN, TAKEN, Inbox, InboxWriter, decode, encode

T0 = datetime(2026, 1, 5, 10, 0, 0, 123456, tzinfo=UTC)

EVENTS: list[InboundEvent] = [
    CommandEvent("slack", "cmd:1", "C1", "U1", "propose Adopt it by 3d\nwith a 🌱", T0),
    CommandEvent("slack", "cmd:2", "C1", "U1", "status 1"),
    ReactionEvent("slack", "Ev1", "C1", "U2", "+1::skin-tone-3", True, "1.000100", None, T0),
    ReactionEvent("matrix", "$r", "!room", "@u:x", "👍🏽", False, removes="$earlier"),
    ReactionEvent("fake", "e1", "council", "ana", "+1", True, proposal_id=7),
    ThreadReplyEvent(
        "slack", "Ev2", "C1", "U3", "1.000200", T0.astimezone(timezone(timedelta(hours=-8)))
    ),
]


@pytest.fixture
def inbox(db_url: str) -> Inbox:
    return Inbox(open_repository(db_url).engine)


def test_every_event_kind_comes_back_equal() -> None:
    for event in EVENTS:
        kind, payload = encode(event)
        assert decode(kind, payload) == event
    # A field a later version added is ignored; one a later version dropped takes its
    # default.
    kind, payload = encode(EVENTS[1])
    payload["later"] = 1
    del payload["at"]
    assert decode(kind, payload) == EVENTS[1]


def test_an_event_the_table_cannot_hold_is_refused_alone() -> None:
    with pytest.raises(ValueError, match="event_id"):
        encode(CommandEvent("slack", "x" * 256, "C1", "U1", "help"))
    with pytest.raises(ValueError, match="event_id"):
        encode(CommandEvent("slack", "", "C1", "U1", "help"))


def test_stored_in_arrival_order_once_each_and_removed_when_done(inbox: Inbox) -> None:
    inbox.write(EVENTS[:3])
    inbox.write([EVENTS[0], *EVENTS[3:]])  # EVENTS[0] again: a platform's retry
    assert inbox.pending() == EVENTS
    inbox.write([], done=[("slack", "cmd:2"), ("slack", "Ev1"), ("slack", "unknown")])
    assert inbox.pending() == [e for e in EVENTS if e.event_id not in ("cmd:2", "Ev1")]
    assert inbox.count() == len(EVENTS) - 2


def test_replay_counts_attempts_and_gives_up_on_what_keeps_failing(inbox: Inbox) -> None:
    inbox.write(EVENTS[:3])
    with inbox.engine.begin() as connection:
        connection.execute(update(INBOX).where(INBOX.c.event_id == "cmd:2").values(attempts=2))
        connection.execute(update(INBOX).where(INBOX.c.event_id == "Ev1").values(kind="later"))
    first = inbox.replay(max_attempts=3)
    assert first.events == [EVENTS[0], EVENTS[1]]
    assert [(p, e) for p, e, _ in first.dropped] == [("slack", "Ev1")]  # unreadable
    second = inbox.replay(max_attempts=3)
    assert second.events == [EVENTS[0]]
    assert second.dropped == [("slack", "cmd:2", "not applied in 3 attempts")]
    assert inbox.pending() == [EVENTS[0]]


async def test_the_writer_commits_what_waits_together(inbox: Inbox) -> None:
    writer = InboxWriter(inbox)
    events = [CommandEvent("slack", f"cmd:{n}", "C1", "U1", f"propose {n}") for n in range(300)]
    await asyncio.gather(*(writer.store(event) for event in events))
    assert inbox.pending() == events  # in the order they were handed over
    assert writer.stored == 300
    assert writer.transactions < 300 / 10, writer.transactions  # group commit
    for event in events[:100]:
        writer.done(event.platform, event.event_id)
    await writer.close()  # writes what is queued
    assert inbox.pending() == events[100:]


async def test_a_failed_write_reaches_every_waiting_caller(inbox: Inbox) -> None:
    writer = InboxWriter(inbox)
    await writer.store(EVENTS[0])
    with inbox.engine.begin() as connection:
        connection.execute(text("DROP TABLE inbox"))
    results = await asyncio.gather(
        *(writer.store(event) for event in EVENTS[1:]), return_exceptions=True
    )
    assert all(isinstance(result, Exception) for result in results), results
    with pytest.raises(ValueError):  # refused before it joins a batch
        await writer.store(CommandEvent("slack", "", "C1", "U1", "help"))
    await writer.close()


def test_an_intent_a_form_or_button_handed_over_comes_back_equal(inbox: Inbox) -> None:
    handed = [
        Propose("Adopt it", by="3d", review="6mo"),
        Cosponsor(7),
        SetStance(7, Stance.STAND_ASIDE, reason="not my call"),
        CircleAdd(Handle("slack", "U0FAY"), "vera", Role.MEMBER),
        CircleAdd("fay", "vera"),
        Decisions(5, ("budget", "política")),
    ]
    events = [
        CommandEvent("slack", f"view:{n}", "C1", "U1", "propose Adopt it", intent=intent)
        for n, intent in enumerate(handed)
    ]
    for event in events:
        kind, payload = encode(event)
        assert decode(kind, json.loads(json.dumps(payload))) == event  # as the row keeps it
    inbox.write(events)
    assert inbox.replay(3).events == events


def test_an_event_taken_before_is_a_repeat_after_it_was_applied(db_url: str) -> None:
    """Two replicas on one database (or a restart): an event applied and removed, sent
    again, is known as taken; after REMEMBER_TAKEN its id is forgotten."""
    engine = open_repository(db_url).engine
    one, two = Inbox(engine), Inbox(engine)
    event = EVENTS[0]
    assert one.write([event]) == {(event.platform, event.event_id)}
    one.write([], done=[(event.platform, event.event_id)])
    assert one.pending() == []
    assert two.write([event, EVENTS[1]]) == {(EVENTS[1].platform, EVENTS[1].event_id)}
    assert two.pending() == [EVENTS[1]]
    with engine.begin() as connection:  # a day and more later
        connection.execute(
            update(TAKEN).values(taken_at=datetime.now(UTC) - REMEMBER_TAKEN - timedelta(1))
        )
    two.write([EVENTS[2]], forget=True)
    assert one.write([event]) == {(event.platform, event.event_id)}


async def test_two_copies_in_one_batch_are_taken_once(inbox: Inbox) -> None:
    writer = InboxWriter(inbox)
    taken = await asyncio.gather(writer.store(EVENTS[0]), writer.store(EVENTS[0]))
    await writer.close()
    assert sorted(taken) == [False, True]
