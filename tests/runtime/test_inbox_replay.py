"""The runtime's inbox: an accepted event is durable before accept() returns, leaves the
inbox once applied, and what a crash left there is applied on the next start, in
arrival order, before anything else, and once."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.domain.clock import ManualClock
from bot.domain.events import CommandEvent, InboundEvent, ReactionEvent
from bot.handlers.core import Core
from bot.ports.platform import CoreServices, EventSink, NotAccepted
from bot.runtime.runner import Runtime
from storage import open_repository
from storage.inbox import Inbox
from tests.adapters.slack.fakeslack import eventually
from tests.runtime.test_runtime import CIRCLE, T0, RecordingAdapter


def command(event_id: str, user: str, text: str) -> CommandEvent:
    return CommandEvent("fake", event_id, "council", user, text)


class Bot:
    """A runtime on one SQLite file, restartable, with its inbox at hand."""

    def __init__(self, path: Path, adapter: RecordingAdapter | None = None) -> None:
        self.url = f"sqlite:///{path}"
        self.adapter = adapter or RecordingAdapter()
        self.clock = ManualClock(T0)
        self.runtime = self._runtime()

    def _runtime(self) -> Runtime:
        core = Core(open_repository(self.url), [CIRCLE], self.clock, ["fake"])
        return Runtime(core, [self.adapter])

    @property
    def inbox(self) -> Inbox:
        return self.runtime.inbox.inbox

    async def restart(self, stop: bool = True) -> None:
        if stop:
            await self.runtime.stop()
        self.runtime = self._runtime()
        await self.runtime.start()

    def proposals(self) -> list[tuple[int, str]]:
        with self.runtime.core.repo.engine.begin() as connection:
            rows = connection.execute(text("SELECT id, text FROM proposals ORDER BY id"))
            return [(row.id, row.text) for row in rows]

    def forget_taken(self, event_id: str) -> None:
        """Put the inbox as a crash leaves it: an event taken, applied, and its row not
        removed (written again below, its record of being taken would make it a repeat)."""
        with self.runtime.core.repo.engine.begin() as connection:
            connection.execute(text("DELETE FROM inbox_taken WHERE event_id = :e"), {"e": event_id})

    def history_ids(self) -> list[str]:
        with self.runtime.core.repo.transaction() as tx:
            return [row["event_id"] for row in tx.history()]


@pytest.fixture
async def bot(tmp_path: Path):  # type: ignore[no-untyped-def]
    made = Bot(tmp_path / "bot.db")
    await made.runtime.start()
    yield made
    await made.runtime.stop()


async def test_an_accepted_event_is_stored_then_applied_then_removed(bot: Bot) -> None:
    event = command("e1", "ana", "propose Adopt it by 3d")
    await bot.runtime.sink.accept(event)
    assert bot.inbox.pending() == [event]  # durable before the platform hears back
    await bot.runtime.sink(event)
    assert bot.proposals() == [(1, "Adopt it")]
    assert bot.adapter.private[-1][1].ok
    await eventually(lambda: bot.inbox.count() == 0, what="the applied event removed")


async def test_what_a_crash_left_is_applied_on_start_in_order_and_once(bot: Bot) -> None:
    applied = command("e1", "ana", "propose First by 3d")
    await bot.runtime.sink.accept(applied)
    await bot.runtime.sink(applied)
    await bot.runtime.stop()
    # As a crash leaves it: the first event applied but still stored (the process died
    # before removing it), three more acknowledged and stored but never applied.
    stored: list[InboundEvent] = [
        applied,
        command("e2", "ben", "propose Second by 3d"),
        ReactionEvent("fake", "e3", "council", "cy", "+1", True, message_ref="card1"),
        command("e4", "dee", "propose Third by 3d"),
    ]
    bot.forget_taken("e1")  # its row stays as the crash left it, though it was taken
    bot.inbox.write(stored)
    await bot.restart()

    assert bot.proposals() == [(1, "First"), (2, "Second"), (3, "Third")]
    assert sorted(bot.history_ids()).count("e1") == 1
    state = await bot.runtime.call(bot.runtime.core.state, 1)
    assert state.stances["cy"].value == "consent"  # the reaction, counted once
    # The replayed commands are answered; the one applied before the crash is answered
    # that it was done (the crash may have taken its first answer), and changes nothing.
    assert [reply.text.split(" is open")[0] for _, reply in bot.adapter.private] == [
        "Proposal #1",
        'Done before: "propose First by 3d". Nothing more changed.',
        "Proposal #2",
        "Proposal #3",
    ]
    await eventually(lambda: bot.inbox.count() == 0, what="the inbox emptied")
    await bot.restart()  # nothing left for the next start
    assert bot.proposals() == [(1, "First"), (2, "Second"), (3, "Third")]
    assert len(bot.adapter.private) == 4


class LiveAdapter(RecordingAdapter):
    """A platform whose first event arrives while the runtime is still starting."""

    armed = False
    live: asyncio.Future[None]

    async def start(self, sink: EventSink, services: CoreServices) -> None:
        await super().start(sink, services)
        if self.armed:
            self.live = asyncio.ensure_future(self._arrive(sink))

    async def _arrive(self, sink: EventSink) -> None:
        event = command("live", "ana", "propose Live by 3d")
        await sink.accept(event)
        await sink(event)


async def test_an_event_arriving_during_the_replay_comes_after_it(tmp_path: Path) -> None:
    adapter = LiveAdapter()
    bot = Bot(tmp_path / "bot.db", adapter)
    await bot.runtime.start()
    await bot.runtime.stop()
    bot.inbox.write([command(f"s{n}", "ben", f"propose Stored {n} by 3d") for n in range(20)])
    adapter.armed = True
    await bot.restart(stop=False)
    try:
        await adapter.live
        texts = [text for _, text in bot.proposals()]
        assert texts == [f"Stored {n}" for n in range(20)] + ["Live"]
    finally:
        await bot.runtime.stop()


async def test_an_event_whose_handling_failed_stays_for_the_next_start(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    core = bot.runtime.core
    real = core.handle

    def broken(event: InboundEvent) -> list[object]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(core, "handle", broken)
    event = command("e1", "ana", "propose Adopt it by 3d")
    await bot.runtime.sink.accept(event)
    await bot.runtime.sink(event)  # logged; the row stays
    monkeypatch.setattr(core, "handle", real)
    assert bot.proposals() == []
    assert bot.inbox.pending() == [event]
    await bot.restart()
    assert bot.proposals() == [(1, "Adopt it")]


async def test_an_event_that_cannot_be_stored_is_not_accepted(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    with bot.inbox.engine.begin() as connection:
        connection.execute(text("DROP TABLE inbox"))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(NotAccepted):
        await bot.runtime.sink.accept(command("e1", "ana", "propose Adopt it by 3d"))
    with pytest.raises(NotAccepted):  # an outage is logged once, not per event
        await bot.runtime.sink.accept(command("e2", "ana", "propose Adopt it by 3d"))
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.exc_info is None and "refused" in record.getMessage()
    assert bot.proposals() == []
