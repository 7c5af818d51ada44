"""Slack in two languages, through the real Bolt app and the fake Slack: what the circle
sees (the card, its buttons, the outcome, the thread's reminder line) is in the circle's
language; what one person sees (their reminder, their Home tab, the proposal form and its
errors) is in theirs, with times in their own time zone; `/proponer` is `/propose`."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from bot.domain.circle import CircleSpec
from tests.adapters.slack.conftest import CHANNEL, Rig, RigFactory, council, texts
from tests.adapters.slack.fakeslack import (
    Message,
    event_envelope,
    eventually,
    home_opened,
    view_submission,
)


def buttons(blocks: list[dict[str, Any]] | None) -> list[str]:
    return [
        element["text"]["text"]
        for block in blocks or []
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def tally(card: Message, label: str) -> str:
    for block in card.blocks or []:
        text = (block.get("text") or {}).get("text", "")
        if text.startswith(f"*{label}*"):
            return str(text.removeprefix(f"*{label}*").strip())
    raise AssertionError(f"no {label} on the card")


def spanish_council() -> CircleSpec:
    return replace(council(), language="es")


def with_member(spec: CircleSpec, name: str, **changes: Any) -> CircleSpec:
    members = tuple(
        replace(member, **changes) if member.name == name else member for member in spec.members
    )
    return replace(spec, members=members)


async def remind(rig: Rig) -> None:
    """The 24-hour reminder of proposal #1 falls due now."""

    def enqueue() -> None:
        with rig.core.repo.transaction() as tx:
            tx.enqueue(
                key="reminder:1:24h:slack",
                platform="slack",
                channel=CHANNEL,
                kind="thread",
                payload={"reminder": True},
                created_at=rig.core.clock.now(),
                proposal_id=1,
            )

    await rig.runtime.call(enqueue)
    await rig.runtime.flush()


async def propose(rig: Rig, command: str, text: str) -> Message:
    await rig.command("ana", command, text)
    (card,) = await eventually(lambda: rig.fake.channel_messages(CHANNEL), what="the card")
    return card


async def test_a_spanish_circle_sees_its_card_outcome_and_reminders_in_spanish(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig("http", spanish_council())
    card = await propose(rig, "/proponer", "Adoptar la política de visitas hasta 3d")
    shown = texts(card.blocks)
    assert "Propuesta #1 de ana" in shown and "Adoptar la política de visitas" in shown
    assert card.text.startswith("── Propuesta #1 de ana · abierta ──")  # notifications
    # Slack shows the date in each viewer's zone; its fallback is the circle's, in Spanish.
    deadline = re.search(
        r"respondan antes del <!date\^\d+\^\{date_short\} \{time\}\|([^>]+)>", shown
    )
    assert deadline is not None, shown
    assert re.fullmatch(
        r"\w{3}, \d{1,2} de \w{3,4} de \d{4}, \d{1,2}:\d\d\u202f[ap]\.m\. P[SD]T", deadline.group(1)
    )
    assert "*🗳️ Abierta* · ronda 1" in shown
    assert ":+1: :white_check_mark: consiento" in shown  # the legend
    assert buttons(card.blocks) == [
        "👍 Consiento",
        "🤔 Inquietud",
        "😐 Me hago a un lado",
        "✋ Objeción",
    ]
    (actions,) = [block for block in card.blocks or [] if block["type"] == "actions"]
    objection = actions["elements"][3]
    assert objection["confirm"]["title"]["text"] == "¿Objetas?"
    assert "Una objeción bloquea la propuesta #1" in objection["confirm"]["text"]["text"]
    assert tally(card, "Recuento") == "*milpa* 0/2 … · *vera* 0/2 …"
    assert "Falta que respondan: ana, ben, cy, dee" in shown

    # The reminder: the thread's line in Spanish, by name; each person's message too.
    await rig.react("ana", "+1", card)
    await eventually(lambda: tally(card, "Recuento") == "*milpa* 1/2 … · *vera* 0/2 …")
    await remind(rig)
    (line,) = rig.fake.thread(CHANNEL, card.ts)
    assert line.text.startswith("⏰ La propuesta #1 cierra el <!date^")
    assert "Falta respuesta de milpa (1 de 2), vera (2 de 2): ben, cy, dee" in line.text
    (direct,) = rig.fake.messages["DBEN"]
    assert direct.text.startswith("⏰ La propuesta #1 cierra el <!date^")
    assert "y falta tu respuesta:\n>Adoptar la política de visitas" in direct.text
    assert "|Abre la propuesta y responde>" in direct.text

    # A stranger's click is refused in the circle's language.
    await rig.click("UZED", "consent", card)
    (note,) = await eventually(lambda: [e for e in rig.fake.ephemeral if e["user"] == "UZED"])
    assert "No eres miembro del círculo council" in note["text"]

    # The outcome, and the final card, in Spanish.
    await rig.click("ben", "concern", card)
    await rig.react("cy", "+1", card)
    await rig.react("dee", "white_check_mark", card)
    outcome = await eventually(
        lambda: rig.fake.thread(CHANNEL, card.ts)[1:], what="the outcome in the thread"
    )
    assert outcome[0].text.startswith("*✅ La propuesta #1 fue aprobada* (ronda 1)\n")
    assert "Consintió con una inquietud: ben" in outcome[0].text
    await eventually(lambda: "Aprobada" in texts(card.blocks), what="the final card")
    final = texts(card.blocks)
    assert "*✅ Aprobada* · cerrada el <!date^" in final and "(ronda 1)" in final
    assert "Tiene una inquietud: ben" in final
    assert buttons(card.blocks) == []


async def test_a_member_who_reads_spanish_in_an_english_circle(make_rig: RigFactory) -> None:
    spec = with_member(council(), "ben", language="es", timezone="Europe/Madrid")
    rig = await make_rig("http", spec)
    card = await rig.propose("Adopt the visiting policy by 3d")
    shown = texts(card.blocks)
    assert "Proposal #1 by ana" in shown and "answer by <!date^" in shown  # the circle's
    assert "{date_short_pretty} {time}" in shown  # English keeps Slack's "today"
    assert buttons(card.blocks)[0] == "👍 Consent"

    await remind(rig)
    (line,) = rig.fake.thread(CHANNEL, card.ts)
    assert "Waiting on milpa (2 of 2), vera (2 of 2): ana, ben, cy, dee" in line.text
    (ben,) = rig.fake.messages["DBEN"]
    assert ben.text.startswith("⏰ La propuesta #1 cierra el <!date^")
    assert re.search(
        r"\|\w{3}, \d{1,2} de \w{3,4} de \d{4}, \d{1,2}:\d\d\u202f[ap]\.m\. CES?T>", ben.text
    ), ben.text
    (cy,) = rig.fake.messages["DCY"]
    assert cy.text.startswith("⏰ Proposal #1 closes <!date^")
    assert re.search(r"\|\w{3}, \w{3} \d{1,2}, \d{4}, \d{1,2}:\d\d\u202f[AP]M P[SD]T>", cy.text), (
        cy.text
    )
    assert "and your answer is missing:" in cy.text

    # The Home tab: ben's in Spanish, ana's in English.
    await rig.deliver.event(event_envelope(home_opened("UBEN")))
    (published,) = await eventually(lambda: rig.fake.published, what="ben's Home")
    home = texts(published["view"]["blocks"])
    assert "Tus círculos" in home
    assert "*Espera tu respuesta (1)*" in home
    assert "• <" in home and "en *council* — responde antes del <!date^" in home
    assert "Eres líder de *milpa*" in home and "⏳ *Hace falta tu respuesta*" in home
    assert "CET>" in home or "CEST>" in home  # the fallback: ben's own time zone
    assert buttons(published["view"]["blocks"])[:2] == [
        "👍 Consiento",
        "🤔 Inquietud",
    ]
    await rig.deliver.event(event_envelope(home_opened("UANA")))
    await eventually(lambda: len(rig.fake.published) == 2, what="ana's Home")
    ana = texts(rig.fake.published[1]["view"]["blocks"])
    assert "Your circles" in ana and "You are a leader of *milpa*" in ana


async def test_proponer_is_propose(make_rig: RigFactory) -> None:
    rig = await make_rig("socket")
    card = await propose(rig, "/proponer", "Plantar frijoles junto a la cerca hasta 2d")
    assert "Proposal #1 by ana" in texts(card.blocks)  # an English circle: an English card
    state = await rig.runtime.call(rig.core.state, 1)
    assert state.proposal.text == "Plantar frijoles junto a la cerca"
    assert (state.proposal.deadline - state.proposal.created_at).days == 2


async def test_the_proposal_form_speaks_its_readers_language(make_rig: RigFactory) -> None:
    spec = with_member(council(), "cy", language="es")
    rig = await make_rig("http", spec)
    await rig.command("cy", "/proponer", "")
    (opened,) = await eventually(lambda: rig.fake.opened, what="views.open")
    view = opened["view"]
    assert view["private_metadata"] == CHANNEL
    assert (view["title"]["text"], view["submit"]["text"], view["close"]["text"]) == (
        "Nueva propuesta",
        "Proponer",
        "Cancelar",
    )
    labels = [block["label"]["text"] for block in view["blocks"]]
    assert labels == ["Título", "Propuesta", "Plazo", "Revisión"]
    deadline = view["blocks"][2]
    assert "en tu zona horaria, hora del Pacífico" in deadline["hint"]["text"]
    assert view["blocks"][3]["element"]["placeholder"]["text"] == "6me"

    # Its errors, in Spanish too (the form is known by the id views.open gave it).
    form = view_submission(
        "UCY", CHANNEL, {"title": "", "text": "", "deadline": ""}, view_id="V000001"
    )
    bad = await rig.deliver.interactive(form)
    assert bad.body == {"response_action": "errors", "errors": {"text": "Escribe lo que propones."}}
    form = view_submission(
        "UCY", CHANNEL, {"title": "", "text": "Plantar", "deadline": "pronto"}, view_id="V000001"
    )
    bad = await rig.deliver.interactive(form)
    assert bad.body["errors"] == {
        "deadline": "No pude leer «pronto» como fecha u hora; escríbela como «el viernes 17:00» "
        "o «15 de diciembre a las 5 p. m.», o un lapso como 3d o 2 semanas."
    }
    good = view_submission(
        "UCY",
        CHANNEL,
        {"title": "Frijoles", "text": "Plantar frijoles", "deadline": "1sem"},
        view_id="V000001",
    )
    assert (await rig.deliver.interactive(good)).status == 200
    (card,) = await eventually(lambda: rig.fake.channel_messages(CHANNEL), what="the card")
    assert "Proposal #1 by cy" in texts(card.blocks)  # the circle's language
    state = await rig.runtime.call(rig.core.state, 1)
    assert state.proposal.text == "Frijoles\nPlantar frijoles"
    assert (state.proposal.deadline - state.proposal.created_at).days == 7

    # An English reader of the same circle gets the English form.
    await rig.command("dee", "/propose", "")
    await eventually(lambda: len(rig.fake.opened) == 2, what="dee's form")
    assert rig.fake.opened[1]["view"]["title"]["text"] == "New proposal"

    # Outside any circle's channel: no form, and a word why, in cy's own language.
    await rig.command("cy", "/proponer", "", channel="CGENERAL")
    (note,) = await eventually(
        lambda: [e for e in rig.fake.ephemeral if e["channel"] == "CGENERAL"], what="the note"
    )
    assert note["user"] == "UCY" and note["text"] == (
        "⚠️ Usa /proponer en el canal de un círculo: este canal no pertenece a ningún círculo."
    )
    assert len(rig.fake.opened) == 2
