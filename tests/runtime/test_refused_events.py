"""An event the database refuses (the server gone for a moment) is never lost: one from a
platform that sends it again (the Matrix sync) is raised back to the adapter, which
keeps its position and hands it over again; one stored in the inbox keeps its row for
another replica or the next start; a platform that does neither is as before (the
person who gave a command is told nothing changed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest

from bot.domain.errors import StorageUnavailable
from bot.domain.events import InboundEvent
from bot.handlers.core import Core
from bot.ports.platform import NotAccepted
from tests.runtime.test_inbox_replay import Bot, command
from tests.runtime.test_runtime import RecordingAdapter


class RedeliveringAdapter(RecordingAdapter):
    """A platform that sends an event again until it was applied (as the Matrix sync
    does, from its stored position)."""

    redelivers = True


class Outage:
    """The database refuses every write while on (the core's own handling of it runs:
    one log line, the person told, health counting what was refused)."""

    def __init__(self, bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
        core = cast(Core, bot.runtime.core)
        self.real = core._route
        self.on = False

        def route(event: InboundEvent) -> object:
            if self.on:
                raise StorageUnavailable("the database server cannot be reached")
            return self.real(event)

        monkeypatch.setattr(core, "_route", route)


@pytest.fixture
async def redelivering(tmp_path: Path) -> AsyncIterator[Bot]:
    made = Bot(tmp_path / "bot.db", RedeliveringAdapter())
    await made.runtime.start()
    yield made
    await made.runtime.stop()


@pytest.fixture
async def plain(tmp_path: Path) -> AsyncIterator[Bot]:
    made = Bot(tmp_path / "bot.db")
    await made.runtime.start()
    yield made
    await made.runtime.stop()


async def test_a_refused_event_goes_back_to_a_platform_that_sends_it_again(
    redelivering: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot, outage = redelivering, Outage(redelivering, monkeypatch)
    event = command("m1", "ana", "propose Adopt it by 3d")
    outage.on = True
    with pytest.raises(NotAccepted):
        await bot.runtime.sink(event)
    assert bot.proposals() == []
    assert bot.adapter.private == []  # not told "nothing changed": it comes again
    outage.on = False
    await bot.runtime.sink(event)  # the platform sends it again
    assert bot.proposals() == [(1, "Adopt it")]
    ((_, reply),) = bot.adapter.private
    assert reply.ok and "Proposal #1 is open" in reply.text
    await bot.runtime.sink(event)  # and once more: applied once, answered once
    assert bot.proposals() == [(1, "Adopt it")]
    assert len(bot.adapter.private) == 1


async def test_a_refused_event_of_another_platform_is_answered_as_before(
    plain: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot, outage = plain, Outage(plain, monkeypatch)
    outage.on = True
    await bot.runtime.sink(command("c1", "ana", "propose Adopt it by 3d"))  # raises nothing
    ((_, reply),) = bot.adapter.private
    assert not reply.ok and "Could not save" in reply.text
    assert bot.proposals() == []


async def test_a_refused_event_from_the_inbox_keeps_its_row_until_applied(
    plain: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot, outage = plain, Outage(plain, monkeypatch)
    event = command("s1", "ana", "propose Adopt it by 3d")
    await bot.runtime.sink.accept(event)
    outage.on = True
    await bot.runtime.sink(event)  # refused: nothing kept, the row stays
    outage.on = False
    assert bot.proposals() == []
    assert bot.inbox.pending() == [event]
    await bot.restart()  # the next start (or another replica) applies it
    assert bot.proposals() == [(1, "Adopt it")]
