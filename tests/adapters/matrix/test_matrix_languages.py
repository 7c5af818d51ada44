"""The Matrix renderings in the reader's language: a Spanish circle's card (HTML and plain
body), outcome and reminder carry no English word and show times in the circle's zone;
the answer to an unreadable encrypted message is in its sender's language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.matrix import render
from adapters.matrix.e2e import reader_of, unreadable_text
from bot.domain.circle import Channel, CircleSpec, MemberSpec
from bot.domain.i18n import Reader
from bot.domain.model import Role, Stance, Status
from bot.text.messages import Mention, Outcome, ProposalCard, Reminder, SideLine
from tests.adapters.matrix.harness import english_words

SPANISH = Reader("es", "America/Mexico_City")
DEADLINE = datetime(2026, 1, 8, 10, 0, tzinfo=UTC)  # 04:00 in Mexico City
REVIEW = datetime(2026, 7, 1, 15, 30, tzinfo=UTC)


def side(
    name: str,
    consenting: int,
    waiting: tuple[str, ...] = (),
    objecting: tuple[str, ...] = (),
) -> SideLine:
    return SideLine(
        side=name,
        leaders=2,
        responded=2 - len(waiting),
        consenting=consenting,
        consents=consenting == 2 and not objecting,
        quorum=not waiting,
        objecting=objecting,
        standing_aside=(),
        concerns=(),
        waiting=waiting,
    )


def card(status: Status = Status.OPEN, text: str = "Adoptar la política") -> ProposalCard:
    return ProposalCard(
        proposal_id=3,
        circle="consejo",
        text=text,
        author="ana",
        status=status,
        round=2,
        deadline=DEADLINE,
        timezone=SPANISH.timezone,
        sides=(side("milpa", 2), side("vera", 1, ("dee",))),
        voices=(("eve", Stance.CONCERN),),
        decided_at=DEADLINE if status.is_closed else None,
        review_at=REVIEW,
        cosponsor="cy",
        reader=SPANISH,
    )


def test_a_spanish_card_is_all_spanish_in_html_and_body() -> None:
    content = render.card_content(card())
    html, body = content["formatted_body"], content["body"]
    for shown in (html, body):
        assert english_words(shown) == [], shown
        assert "Propuesta #3 de ana" in shown
        assert "abierta" in shown
        assert "Ronda 2" in shown
        assert "jue, 8 de ene de 2026, 4:00\u202fa.m. CST" in shown  # the circle's zone, in Spanish
        assert "Recuento:" in shown
        assert "Voces:" in shown and "eve (" in shown
        assert "cy" in shown
        assert "Revisión" in shown and "mié, 1 de jul de 2026, 9:30\u202fa.m. CST" in shown
    assert "<strong>jue, 8 de ene de 2026, 4:00\u202fa.m. CST</strong>" in html
    assert "milpa 2/2 ✓ · vera 1/2 …" in body


@pytest.mark.parametrize("status", [Status.DRAFT, Status.PASSED, Status.NO_QUORUM])
def test_a_spanish_card_in_every_state_is_all_spanish(status: Status) -> None:
    content = render.card_content(card(status))
    assert english_words(content["formatted_body"]) == []
    assert english_words(content["body"]) == []


def test_a_shortened_spanish_card_says_so_in_spanish() -> None:
    content = render.card_content(card(text="x" * 50_000))
    assert "acortada" in content["body"] and "acortada" in content["formatted_body"]
    assert english_words(content["formatted_body"]) == []


def test_a_spanish_outcome_is_all_spanish() -> None:
    outcome = Outcome(
        proposal_id=3,
        text="Adoptar la política",
        status=Status.BLOCKED,
        round=2,
        sides=(side("milpa", 2), side("vera", 1, objecting=("dee",))),
        decided_at=DEADLINE,
        objectors=("dee",),
        standing_aside=("ben", "cy"),
        concerns=("eve",),
        reader=SPANISH,
    )
    content = render.outcome_content(outcome)
    html, body = content["formatted_body"], content["body"]
    for shown in (html, body):
        assert english_words(shown) == [], shown
        assert "La propuesta #3 está bloqueada" in shown
        assert "(ronda 2)" in shown
    assert "Objetó: dee" in html  # one person: the singular
    assert "Se hicieron a un lado: ben, cy" in html
    assert "Consintió con una inquietud: eve" in html
    assert 'title="con objeción"' in html
    assert content["m.mentions"] == {}


def test_a_spanish_reminder_mentions_the_waiting_people_in_spanish() -> None:
    reminder = Reminder(
        proposal_id=3,
        text="Adoptar la política",
        deadline=DEADLINE,
        timezone=SPANISH.timezone,
        waiting=(
            Mention("ben", handles={"matrix": "@ben:x.org"}),
            Mention("dee", handles={"matrix": "@dee:x.org"}),
        ),
        sides=(side("milpa", 1, ("ben",)), side("vera", 1, ("dee",))),
        late=True,
        reader=SPANISH,
    )
    content = render.reminder_content(reminder)
    html, body = content["formatted_body"], content["body"]
    for shown in (html, body):
        assert english_words(shown) == [], shown
        assert "La propuesta #3 cierra el" in shown
        assert "milpa (1 de 2), vera (1 de 2)" in shown
        assert "con retraso" in shown
    assert "<strong>jue, 8 de ene de 2026, 4:00\u202fa.m. CST</strong>" in html
    assert 'href="https://matrix.to/#/@ben:x.org"' in html
    assert content["m.mentions"] == {"user_ids": ["@ben:x.org", "@dee:x.org"]}


def test_english_stays_as_it_was() -> None:
    english = Reader("en", "UTC")
    html = render.card_html(
        ProposalCard(
            proposal_id=1,
            circle="council",
            text="Adopt it",
            author="ana",
            status=Status.OPEN,
            round=1,
            deadline=DEADLINE,
            timezone="UTC",
            sides=(side("milpa", 2), side("vera", 1, ("dee",))),
            reader=english,
        )
    )
    assert "<strong>Proposal #1 by ana</strong> · <em>open</em>" in html
    assert "Round 1 · answer by <strong>Thu, Jan 8, 2026, 10:00\u202fAM UTC</strong>" in html
    assert "Waiting on: dee" in html and 'title="waiting"' in html


def test_the_unreadable_message_answer_is_in_its_senders_language() -> None:
    circles = [
        CircleSpec(
            name="consejo",
            sides=("milpa", "vera"),
            members=(
                MemberSpec("ana", "milpa", Role.LEADER, handles={"matrix": "@ana:x.org"}),
                MemberSpec(
                    "cy", "vera", Role.LEADER, handles={"matrix": "@cy:x.org"}, language="en"
                ),
            ),
            channels={"matrix": Channel("!room:x.org")},
            language="es",
        )
    ]
    spanish = unreadable_text(reader_of(circles, "!room:x.org", "@ana:x.org"))
    assert spanish.startswith("No pude leer tu mensaje cifrado")
    english = unreadable_text(reader_of(circles, "!room:x.org", "@cy:x.org"))
    assert english.startswith("I could not read your encrypted message")
    # Someone not in the config hears it in the circle's language.
    stranger = unreadable_text(reader_of(circles, "!room:x.org", "@zed:x.org"))
    assert stranger == spanish
