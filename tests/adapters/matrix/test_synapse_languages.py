"""A Spanish circle on a real Synapse homeserver: its card, its reminder and its outcome
arrive in Spanish, with times in the circle's time zone."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.adapters.matrix.harness import (
    Cast,
    InProcessBot,
    Person,
    circle_spec,
    content,
    english_words,
    in_thread_of,
    is_edit_of,
    shown,
)
from tests.synapse_server import SynapseServer

pytestmark = pytest.mark.slow


async def test_a_spanish_circle_sees_its_card_reminder_and_outcome_in_spanish(
    synapse: SynapseServer, cast: Cast, people: dict[str, Person], db_path: Path
) -> None:
    ana, ben, cy, dee = (people[n] for n in ("ana", "ben", "cy", "dee"))
    room = await ana.create_room(invite=[p.user_id for p in (cast.ben, cast.cy, cast.dee)])
    for person in (ben, cy, dee):
        await person.join(room)
    await ana.invite(room, cast.bot.user_id)
    spec = replace(circle_spec(cast, room), language="es", timezone="America/Mexico_City")
    bot = InProcessBot(synapse, synapse.login(cast.bot), [spec], db_path)
    await bot.start()
    me = cast.bot.user_id
    try:
        await ana.say(room, "!propose Adoptar la política de visitas by 2h")
        card_event = await cy.wait_for(
            room,
            lambda e: (
                e.get("sender") == me
                and "m.new_content" not in content(e)
                and str(content(e).get("body", "")).startswith("── Propuesta #1 de ana")
            ),
            "the card, in Spanish",
        )
        card = card_event["event_id"]
        body, html = content(card_event)["body"], content(card_event)["formatted_body"]
        for text in (body, html):
            assert english_words(text) == [], text
            assert "Ronda 1" in text and "CST" in text  # the circle's zone (UTC-6 in winter)
            assert "Recuento:" in text
        assert "<em>abierta</em>" in html
        assert content(card_event)["m.mentions"] == {}

        await ana.react(room, card, "👍")
        await cy.react(room, card, "✅")
        await ben.wait_for(room, is_edit_of(me, card, "vera 1/2"), "the tally")
        with bot.core.repo.transaction() as tx:  # a reminder, as the core's jobs queue it
            tx.enqueue(
                key="reminder:1:1h:matrix",
                platform="matrix",
                channel=room,
                kind="thread",
                payload={"reminder": True},
                created_at=bot.core.clock.now(),
                proposal_id=1,
            )
        assert bot.runtime is not None
        await bot.runtime.flush()
        reminder = await ben.wait_for(
            room, in_thread_of(me, card, "⏰ La propuesta #1 cierra el"), "the reminder"
        )
        assert "milpa (1 de 2), vera (1 de 2)" in content(reminder)["body"]
        assert english_words(content(reminder)["formatted_body"]) == []
        assert content(reminder)["m.mentions"] == {
            "user_ids": sorted([cast.ben.user_id, cast.dee.user_id])
        }

        await ben.react(room, card, "👍")
        await dee.react(room, card, "🤔")  # consent with a concern: it passes
        outcome = await ana.wait_for(
            room, in_thread_of(me, card, "La propuesta #1 fue aprobada"), "the outcome"
        )
        for text in (content(outcome)["body"], content(outcome)["formatted_body"]):
            assert english_words(text) == [], text
            assert "(ronda 1)" in text
        assert "Consintió con una inquietud: dee" in content(outcome)["formatted_body"]
        final = await ana.wait_for(room, is_edit_of(me, card, "· aprobada ──"), "the final card")
        assert english_words(shown(final)["body"]) == []
        assert english_words(shown(final)["formatted_body"]) == []
    finally:
        await bot.stop()
