"""Commands, replies and refusals in two languages: a Spanish circle (commands in Spanish
and in English, answers in Spanish), a Spanish-speaking member in an English circle
(their answers in Spanish, the circle's notices in English), and dates typed in the
author's own time zone."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.circle import CheckinSpec, CircleSpec, MemberSpec
from bot.domain.durations import parse_duration
from bot.domain.model import Role, Stance
from tests.core.conftest import CIRCLE, MEMBERS, T0, Harness, HarnessFactory, make_spec

C, K, A, X = Stance.CONSENT, Stance.CONCERN, Stance.STAND_ASIDE, Stance.OBJECT


def spanish_circle(**changes: Any) -> CircleSpec:
    return dataclasses.replace(make_spec(), language="es", **changes)


def with_members(spec: CircleSpec, **own: dict[str, Any]) -> CircleSpec:
    """The circle with some members given their own language or time zone."""
    members = tuple(dataclasses.replace(m, **own.get(m.name, {})) for m in MEMBERS)
    return dataclasses.replace(spec, members=members)


def checkin_posts(h: Harness) -> list[str]:
    texts = []
    for m in h.pending():
        if m.key.startswith("checkin") and "notice" in m.payload:
            texts.append(
                "".join(p if isinstance(p, str) else f"@{p['member']}" for p in m.payload["notice"])
            )
    return texts


@pytest.fixture
def es(make_harness: HarnessFactory) -> Harness:
    """The default circle, in Spanish."""
    return make_harness(specs=[spanish_circle()])


# --- a Spanish circle -----------------------------------------------------------------


def test_proponer_with_hasta_opens_a_proposal_and_answers_in_spanish(es: Harness) -> None:
    reply = es.ok("ana", "proponer Adoptar la política de visitas hasta 3d")
    assert reply == (
        "La propuesta #1 está abierta hasta el jue, 8 de ene de 2026, "
        "2:00\u202fa.m. PST (hora del Pacífico)."
    )
    p = es.proposal(1)
    assert (p.text, p.deadline) == ("Adoptar la política de visitas", T0 + timedelta(days=3))


def test_spanish_durations_and_review(es: Harness) -> None:
    es.ok("ana", "proponer Pintar la oficina hasta 1sem revisar 6me")
    p = es.proposal(1)
    assert (p.deadline, p.review) == (T0 + timedelta(weeks=1), "6me")


def test_english_commands_work_in_a_spanish_circle_and_are_answered_in_spanish(
    es: Harness,
) -> None:
    assert es.ok("ana", "propose Paint the office by 3d").startswith("La propuesta #1 está abierta")
    assert es.proposal(1).deadline == T0 + timedelta(days=3)
    assert es.ok("ben", "consent 1") == "Registré tu respuesta a la #1: consiento."


def test_the_spanish_stance_commands(es: Harness) -> None:
    es.ok("ana", "proponer Adoptar la política")
    pid = 1
    assert es.ok("ana", f"consiento {pid}") == "Registré tu respuesta a la #1: consiento."
    es.ok("ben", f"inquietud #{pid}")
    es.ok("cy", f"aparte {pid}")
    es.ok("dee", f"objeto {pid}")
    assert es.state(pid).stances == {"ana": C, "ben": K, "cy": A, "dee": X}
    # A voice is told their answer is not counted, in Spanish.
    assert "como miembro con voz" in es.ok("eve", f"consiento {pid}")


def test_the_objection_prompt_in_a_spanish_circle_is_in_spanish(es: Harness) -> None:
    es.ok("ana", "proponer Adoptar la política")
    es.ok("dee", "objeto 1")
    (notice,) = es.notices(1)
    assert notice == (
        "@dee objeta la propuesta #1. ¿Cuál es tu motivo? @ana, como la propusiste, "
        "puedes responder aquí o enmendarla."
    )


def test_an_amendment_is_announced_in_spanish(es: Harness) -> None:
    es.ok("ana", "proponer Adoptar la política")
    es.clock.set(T0 + timedelta(hours=1))
    reply = es.ok("ana", "enmendar 1 Adoptar la política, revisada hasta 5d")
    assert reply == (
        "Propuesta #1 enmendada; la ronda 2 está abierta hasta el sáb, 10 de ene de 2026, "
        "3:00\u202fa.m. PST "
        "(hora del Pacífico)."
    )
    assert any(n.startswith("✏️ La propuesta #1 fue enmendada: ronda 2.") for n in es.notices(1))
    assert es.ok("ana", "retirar 1") == "Propuesta #1 retirada."


def test_ayuda_lists_the_spanish_names_and_help_the_english_ones(es: Harness) -> None:
    ayuda = es.ok("ben", "ayuda")
    assert ayuda.startswith("Lo que entiendo")
    for usage in (
        "`proponer TEXTO [hasta CUÁNDO] [revisar CUÁNDO]`",
        "`enmendar ID TEXTO [hasta CUÁNDO]`",
        "`consiento ID [MOTIVO]` · `inquietud ID [MOTIVO]` · "
        "`me hago a un lado ID [MOTIVO]` · `objeción ID [MOTIVO]`",
        "`propuestas`",
        "`estado ID`",
        "`decisiones [N] [PALABRAS]`",
        "`ausente CUÁNDO [suplente USUARIO]`",
        "`cerrar ID`",
        "`resultado ID TEXTO`",
        "`vuelvo`",
        "`círculo agregar USUARIO PARTE [líder|miembro]`",
        "`ayuda [COMANDO]`",
    ):
        assert usage in ayuda, usage
    assert "`propose" not in ayuda
    help_ = es.ok("ben", "help")
    assert help_.startswith("Lo que entiendo")  # ben reads Spanish: the circle's language
    assert "`propose TEXT [by WHEN] [review WHEN]` — líderes:" in help_
    assert (
        "`consent ID [REASON]` · `concern ID [REASON]` · `stand aside ID [REASON]` · "
        "`object ID [REASON]`"
    ) in help_
    assert "`proponer" not in help_
    assert es.ok("ben", "ayuda enmendar").startswith("`enmendar ID TEXTO [hasta CUÁNDO]` — ")
    assert es.ok("ben", "help amend").startswith("`amend ID TEXT [by WHEN]` — ")


@pytest.mark.parametrize(
    ("user", "text", "expected"),
    [
        ("eve", "proponer Algo", "Solo quienes son líderes pueden abrir propuestas"),
        ("ana", "estado 9", "No hay ninguna propuesta #9 en este círculo."),
        ("ana", "retirar 9", "No hay ninguna propuesta #9 en este círculo."),
        ("zed", "proponer Algo", "No eres miembro del círculo council"),
        (
            "ana",
            "proponer",
            "proponer necesita el texto de la propuesta: "
            "proponer TEXTO [hasta CUÁNDO] [revisar CUÁNDO]",
        ),
        ("ana", "propose", "propose necesita el texto de la propuesta: propose TEXT"),
        ("ana", "proponer Algo hasta 2025-01-01 10:00", "El plazo debe estar en el futuro"),
        ("ana", "proponr Algo", '¿quisiste decir "proponer"? Prueba con "ayuda".'),
        ("ben", "círculo agregar fay vera", "Solo quienes tienen rol de admin en el círculo (ana)"),
    ],
)
def test_refusals_in_spanish(es: Harness, user: str, text: str, expected: str) -> None:
    before = es.snapshot()
    assert expected in es.refused(user, text)
    assert es.snapshot() == before


def test_a_spanish_time_sets_the_deadline_and_the_reply_names_it(es: Harness) -> None:
    reply = es.ok("ana", "proponer Pintar la oficina hasta el viernes a las 5 p. m.")
    assert reply.startswith(
        "La propuesta #1 está abierta hasta el vie, 9 de ene de 2026, 5:00\u202fp.m. PST"
    )
    assert es.proposal(1).text == "Pintar la oficina"
    refused = es.refused("ana", "proponer Pintar la cocina hasta el viernez")
    assert "No pude leer «viernez» como fecha u hora" in refused
    assert "«el viernes 17:00»" in refused


def test_membership_answers_in_spanish(es: Harness) -> None:
    assert es.ok("ben", "ausente 1sem").startswith("Estás ausente hasta el lun, 12 de ene de 2026")
    assert es.ok("ben", "vuelvo").startswith("¡Qué bueno tenerte de vuelta!")
    assert es.ok("ana", "círculo agregar fay vera").startswith(
        "Se agregó a fay como líder de vera."
    )
    assert es.ok("ana", "circulo quitar fay").startswith("Se quitó a fay del círculo council")
    es.ok("ana", "círculo quitar dee")
    assert es.refused("ana", "círculo quitar cy") == (
        "Eso rompería la paridad: la parte vera se quedaría sin líder"
    )


def test_a_review_comes_back_in_the_circles_language(es: Harness) -> None:
    es.ok("ana", "proponer Comprar una camioneta revisar 1me")
    for name in ("ana", "ben", "cy", "dee"):
        es.ok(name, "consiento 1")
    assert es.proposal(1).status == "passed"
    es.advance_to(T0 + timedelta(days=32))
    review = es.proposal(2)
    assert review.text == (
        "Revisión de la decisión #1: ¿mantenerla, cambiarla o retirarla? — Comprar una camioneta"
    )


def test_checkin_prompt_nudge_and_summary_in_spanish_with_the_question_as_configured(
    make_harness: HarnessFactory,
) -> None:
    spec = spanish_circle(
        checkins=CheckinSpec(
            schedule="0 17 1 1 *",  # not within this test
            questions=("How are you arriving today?",),  # the circle's own words
            open_for=parse_duration("24h"),
            remind_after=parse_duration("20h"),
        )
    )
    h = make_harness(specs=[spec])
    h.core.advance()
    assert h.ok("ana", "checkin") == (
        "Check-in iniciado; está abierto hasta el mar, 6 de ene de 2026, 2:00\u202fa.m. PST."
    )
    assert h.refused("ana", "checkin") == "Ya hay un check-in abierto; responde en su hilo."
    (prompt,) = checkin_posts(h)
    assert prompt.startswith("☀️ Check-in: How are you arriving today?\nFacilita: @")
    assert prompt.endswith(
        "Respondan en este hilo antes del mar, 6 de ene de 2026, 2:00\u202fa.m. PST."
    )
    h.advance_to(T0 + timedelta(hours=20))
    assert (
        "⏰ El check-in cierra el mar, 6 de ene de 2026, "
        "2:00\u202fa.m. PST. Falta que respondan @ana" in (checkin_posts(h)[1])
    )
    h.advance_to(T0 + timedelta(hours=24))
    assert checkin_posts(h)[2] == "Check-in cerrado: respondieron milpa 0/3 · vera 0/2."
    refused = [reply.text for name in ("cy", "dee") for reply in h.cmd(name, "checkin")]
    expected = "Solo quienes tienen rol de admin o quien facilita el próximo check-in ("
    assert any(text.startswith(expected) for text in refused), refused


# --- a Spanish-speaking member in an English circle ------------------------------------


@pytest.fixture
def mixed(make_harness: HarnessFactory) -> Harness:
    """The default (English) circle, where ben reads Spanish."""
    return make_harness(specs=[with_members(make_spec(), ben={"language": "es"})])


def test_a_spanish_member_gets_spanish_replies_while_the_circle_reads_english(
    mixed: Harness,
) -> None:
    h = mixed
    assert h.ok("ben", "propose Adopt the visiting policy").startswith(
        "La propuesta #1 está abierta hasta el jue, 8 de ene de 2026"
    )
    assert h.ok("ana", "consent 1") == "Recorded your answer on #1: consent."
    assert h.ok("ben", "objeto 1") == "Registré tu respuesta a la #1: objeción."
    # The prompt in the thread is for the whole circle: English.
    (notice,) = h.notices(1)
    assert notice.startswith("@ben objects to proposal #1. What is your reason? @ben")
    h.clock.set(T0 + timedelta(hours=1))
    h.ok("ben", "amend 1 Adopt the visiting policy, revised")
    assert any(n.startswith("✏️ Proposal #1 was amended: round 2.") for n in h.notices(1))
    assert "No hay ninguna propuesta #7" in h.refused("ben", "status 7")
    assert "There is no proposal #7" in h.refused("ana", "status 7")


def test_a_spanish_members_parse_errors_and_help_are_in_spanish(mixed: Harness) -> None:
    h = mixed
    assert h.refused("ben", "status") == "status necesita el número de una propuesta: status ID"
    assert h.refused("ana", "status") == "status needs a proposal id: status ID"
    assert h.ok("ben", "help").startswith("Lo que entiendo (escribe /COMMAND")
    assert h.ok("ana", "ayuda").startswith("What I understand (type /COMANDO")


def test_outside_any_circle_a_known_person_is_answered_in_their_language(
    mixed: Harness,
) -> None:
    (reply,) = mixed.cmd("ben", "propose Somewhere else", channel="general")
    assert (
        reply.text == "Este canal no pertenece a ningún círculo, así que aquí no puedo hacer nada."
    )
    (reply,) = mixed.cmd("ana", "propose Somewhere else", channel="general")
    assert reply.text == "This channel is not part of any circle, so I can't act here."


# --- dates typed in the author's own time zone ----------------------------------------


@pytest.fixture
def madrid(make_harness: HarnessFactory) -> Harness:
    """The default circle (Los Angeles), where ana lives in Madrid."""
    return make_harness(specs=[with_members(make_spec(), ana={"timezone": "Europe/Madrid"})])


def test_a_typed_date_is_read_in_the_authors_time_zone_and_the_reply_names_it(
    madrid: Harness,
) -> None:
    h = madrid
    reply = h.ok("ana", "propose Adopt the policy by 2026-03-30 17:00")
    # 17:00 in Madrid (summer time since 29 March), not in Los Angeles.
    assert h.proposal(1).deadline == datetime(2026, 3, 30, 15, 0, tzinfo=UTC)
    assert reply == (
        "Proposal #1 is open until Mon, Mar 30, 2026, 5:00\u202fPM CEST (Central European Time)."
    )
    # Someone without a zone of their own types the circle's time.
    reply = h.ok("ben", "propose Adopt another policy by 2026-03-30 17:00")
    assert h.proposal(2).deadline == datetime(2026, 3, 31, 0, 0, tzinfo=UTC)
    assert reply == "Proposal #2 is open until Mon, Mar 30, 2026, 5:00\u202fPM PDT (Pacific Time)."


def test_amend_and_away_read_dates_in_the_authors_time_zone(madrid: Harness) -> None:
    h = madrid
    h.propose("ben")
    h.ok("ana", "amend 1 Adopt it, revised by 2026-01-09 09:00")  # ana is an admin
    assert h.proposal(1).deadline == datetime(2026, 1, 9, 8, 0, tzinfo=UTC)
    reply = h.ok("ana", "away 2026-02-01 08:00")
    assert reply.startswith(
        "You are away until Sun, Feb 1, 2026, 8:00\u202fAM CET (Central European Time)"
    )
    ana = next(m for m in h.core.directory.members(CIRCLE) if m.name == "ana")
    assert ana.away_until == datetime(2026, 2, 1, 7, 0, tzinfo=UTC)


def test_a_review_date_is_read_in_the_authors_time_zone(madrid: Harness) -> None:
    h = madrid
    h.ok("ana", "propose Buy a van review 2026-06-01 09:00")
    for name in ("ana", "ben", "cy", "dee"):
        h.ok(name, "consent 1")
    assert h.proposal(1).review_at == datetime(2026, 6, 1, 7, 0, tzinfo=UTC)


def test_a_member_with_their_own_zone_and_language(make_harness: HarnessFactory) -> None:
    spec = with_members(make_spec(), cy={"language": "es", "timezone": "America/Mexico_City"})
    h = make_harness(specs=[spec])
    reply = h.ok("cy", "propose Abrir el huerto by 2026-01-09 12:00")
    assert h.proposal(1).deadline == datetime(2026, 1, 9, 18, 0, tzinfo=UTC)
    assert (
        reply == "La propuesta #1 está abierta hasta el vie, 9 de ene de 2026, "
        "12:00\u202fp.m. CST (hora central)."
    )


def test_members_with_no_language_of_their_own_read_the_circles(
    make_harness: HarnessFactory,
) -> None:
    spec = with_members(spanish_circle(), ana={"language": "en"})
    h = make_harness(specs=[spec])
    assert h.ok("ana", "proponer Algo").startswith("Proposal #1 is open until")
    assert h.ok("ben", "propose Something").startswith("La propuesta #2 está abierta")
    assert MemberSpec("x", "milpa", Role.LEADER).language is None
