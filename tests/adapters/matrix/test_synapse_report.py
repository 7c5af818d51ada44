"""The circle's own report on Matrix, against a real Synapse: asked in the room, asked
for oneself, and posted in the room on the circle's schedule, once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.circle import ReportSpec
from storage import open_repository
from tests.adapters.matrix.harness import (
    Cast,
    InProcessBot,
    Person,
    circle_spec,
    content,
    fresh_bot,
    is_card,
    reply_to,
)
from tests.adapters.matrix.test_synapse_flows import room_with_bot
from tests.synapse_server import SynapseServer

pytestmark = pytest.mark.slow


async def test_circle_report_is_answered_with_text_bars_and_me_privately(
    synapse: SynapseServer, cast: Cast, people: dict[str, Person], db_path: Path
) -> None:
    ana, ben = people["ana"], people["ben"]
    room = await room_with_bot(people, cast)
    bot = fresh_bot(synapse, cast, room, db_path)
    await bot.start()
    try:
        await ana.say(room, "!propose Adopt the visiting policy by 2h")
        card = await ben.wait_for(room, is_card(cast.bot.user_id, 1), "the card")
        await ben.react(room, str(card["event_id"]), "👍")
        await ben.wait_for(
            room,
            lambda e: "milpa 1/2" in str(content(e).get("body", "")),
            "the tally",
        )
        asked = await ana.say(room, "!circle report")
        answer = content(await ana.wait_for(room, reply_to(cast.bot.user_id, asked), "report"))
        body = answer["body"]
        assert "📊 Circle report: council" in body
        assert "Proposals authored" in body and "██████████" in body and "░" in body
        assert "milpa authored 1 of 1 proposal." in body
        assert "<pre><code>" in answer["formatted_body"]  # the bars line up
        assert answer["m.mentions"] == {"user_ids": [cast.ana.user_id]}

        mine = await ben.say(room, "!circle report me")
        own = content(await ben.wait_for(room, reply_to(cast.bot.user_id, mine), "own figures"))
        assert "Your own figures" in own["body"] and "only you see this" in own["body"]
        assert own["msgtype"] == "m.notice"
        assert own["m.mentions"] == {"user_ids": [cast.ben.user_id]}  # ben alone
    finally:
        await bot.stop()


def reports_in(person: Person, room: str) -> list[str]:
    return [
        str(e["event_id"])
        for e in person.events(room)
        if "📊 Circle report: council" in str(content(e).get("body", ""))
    ]


async def test_the_scheduled_report_is_posted_in_the_room_once(
    synapse: SynapseServer, cast: Cast, people: dict[str, Person], db_path: Path
) -> None:
    ana = people["ana"]
    room = await room_with_bot(people, cast)
    # A yearly schedule whose time came a minute ago, while the bot was down: the bot
    # posts it when it starts, and never again for that time.
    fire = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    schedule = f"{fire.minute} {fire.hour} {fire.day} {fire.month} *"
    spec = replace(circle_spec(cast, room), report=ReportSpec(schedule=schedule))
    repo = open_repository(f"sqlite:///{db_path}")
    with repo.transaction() as tx:  # the schedule started before that time
        tx.set_cursor("report:council:since", (fire - timedelta(minutes=5)).isoformat())
    repo.engine.dispose()
    bot = InProcessBot(synapse, synapse.login(cast.bot), [spec], db_path)
    await bot.start()
    try:
        posted = await ana.wait_for(
            room,
            lambda e: (
                e.get("sender") == cast.bot.user_id
                and "📊 Circle report: council" in str(content(e).get("body", ""))
            ),
            "the scheduled report",
        )
        assert content(posted)["msgtype"] == "m.notice"
        assert "Proposals authored" in content(posted)["body"]
    finally:
        await bot.stop()
    # A restart on the same database posts nothing more.
    again = InProcessBot(synapse, synapse.login(cast.bot), [spec], db_path)
    await again.start()
    try:
        # Answered after what the start-up queued was sent: a report would be in by now.
        asked = await ana.say(room, "!help")
        await ana.wait_for(room, reply_to(cast.bot.user_id, asked), "the help")
    finally:
        await again.stop()
    assert reports_in(ana, room) == [str(posted["event_id"])]
