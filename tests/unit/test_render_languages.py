"""The core's renderings in the reader's language: a card, every outcome, a reminder (its
thread line and one person's direct text), the read-only answers and the Markdown
export, in Spanish, say what they should and keep no word of their English rendering;
dates and times are in the reader's language and time zone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.circle import CircleSpec, MemberSpec
from bot.domain.clock import ManualClock
from bot.domain.events import CommandEvent, ReactionEvent
from bot.domain.i18n import Reader, lang
from bot.domain.model import Role, Stance, Status
from bot.handlers.core import Core
from bot.queries import posts, views
from bot.queries.export import export_decisions
from bot.text.messages import (
    Mention,
    Outcome,
    ProposalCard,
    Reminder,
    SideLine,
    role_label,
    stance_label,
    status_label,
)
from bot.text.render_text import card_text, outcome_text, reminder_direct_text, reminder_text
from storage import open_repository

ZONE = "America/Los_Angeles"
SPANISH = Reader("es", ZONE)
ENGLISH = Reader("en", ZONE)
DEADLINE = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)  # Monday 10:00 in Los Angeles
REVIEW = datetime(2026, 7, 6, 17, 0, tzinfo=UTC)  # Monday 10:00 PDT

# Words both languages write (or that are no one's): names, sides, the circle, zone
# abbreviations, the proposals' text, `admin` and `bot`, the article `a`, the word `no`.
SHARED = {"ana", "ben", "cy", "dee", "eve", "milpa", "vera", "PST", "PDT", "CET", "UTC"}
SHARED |= {"admin", "bot", "a", "no", "consejo"}
SHARED |= {"Adoptar", "la", "política", "Otra", "cosa"}  # the proposals' own words


def words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-zÁÉÍÓÚÑáéíóúñü]+", text))


def english_left(english: str, spanish: str, *extra: str) -> set[str]:
    """The words of the English rendering that the Spanish one still has."""
    return (words(english) & words(spanish)) - SHARED - set(extra)


def side(
    name: str,
    consenting: int,
    waiting: tuple[str, ...] = (),
    objecting: tuple[str, ...] = (),
    aside: tuple[str, ...] = (),
    concerns: tuple[str, ...] = (),
) -> SideLine:
    return SideLine(
        side=name,
        leaders=2,
        responded=2 - len(waiting),
        consenting=consenting,
        consents=consenting == 2 and not objecting,
        quorum=not waiting,
        objecting=objecting,
        standing_aside=aside,
        concerns=concerns,
        waiting=waiting,
    )


SIDES = (side("milpa", 2, concerns=("ben",)), side("vera", 1, waiting=("dee",)))


def card(reader: Reader, status: Status = Status.OPEN) -> ProposalCard:
    return ProposalCard(
        proposal_id=3,
        circle="consejo",
        text="Adoptar la política",
        author="ana",
        status=status,
        round=2 if status is not Status.DRAFT else 0,
        deadline=DEADLINE,
        timezone=reader.timezone,
        sides=SIDES,
        voices=(("eve", Stance.CONCERN),),
        decided_at=DEADLINE if status.is_closed else None,
        review_at=REVIEW,
        cosponsor="cy",
        reader=reader,
    )


# --------------------------------------------------------------------------- dates


def test_a_date_is_in_the_readers_language_and_zone() -> None:
    assert lang("es").when(DEADLINE, ZONE) == "lun, 5 de ene de 2026, 10:00\u202fa.m. PST"
    assert lang("en").when(DEADLINE, ZONE) == "Mon, Jan 5, 2026, 10:00\u202fAM PST"
    assert lang("es").when(DEADLINE, "Europe/Madrid") == "lun, 5 de ene de 2026, 7:00\u202fp.m. CET"


# --------------------------------------------------------------------------- labels


def test_labels_in_spanish() -> None:
    es = lang("es")
    assert [status_label(s, es) for s in Status] == [
        "borrador",
        "abierta",
        "aprobada",
        "bloqueada",
        "sin quórum",
        "retirada",
    ]
    assert [stance_label(s, es) for s in Stance] == [
        "Consiento",
        "Inquietud",
        "Me hago a un lado",
        "Objeción",
    ]
    assert [role_label(r, es) for r in Role] == ["líder", "miembro"]


def test_labels_in_english_are_as_they_were() -> None:
    en = lang("en")
    assert [status_label(s, en) for s in Status] == [s.value.replace("_", " ") for s in Status]
    assert [stance_label(s, en) for s in Stance] == [s.label for s in Stance]
    assert [role_label(r, en) for r in Role] == [r.value for r in Role]


# --------------------------------------------------------------------------- the card


def test_an_open_card_in_spanish() -> None:
    text = card_text(card(SPANISH))
    assert text.startswith("── Propuesta #3 de ana · abierta ──")
    assert "Ronda 2 · respondan antes del lun, 5 de ene de 2026, 10:00\u202fa.m. PST" in text
    assert "🤔 inquietud" in text
    assert "Recuento: milpa 2/2 ✓ · vera 1/2 …" in text
    assert "Falta que respondan: dee" in text
    assert "Voces: eve (inquietud)" in text
    assert "Copatrocina: cy" in text
    assert "Revisión: lun, 6 de jul de 2026, 10:00\u202fa.m. PDT" in text
    assert card(SPANISH).title == "Propuesta #3 de ana"


@pytest.mark.parametrize("status", list(Status))
def test_a_card_in_every_state_has_no_english_left(status: Status) -> None:
    english, spanish = card_text(card(ENGLISH, status)), card_text(card(SPANISH, status))
    assert english != spanish
    # The card's own text is the proposal's, in whatever language it was written.
    assert english_left(english, spanish) == set(), spanish


def test_a_closed_and_a_draft_card_in_spanish() -> None:
    closed = card_text(card(SPANISH, Status.PASSED))
    assert "· aprobada ──" in closed
    assert "Cerrada el lun, 5 de ene de 2026, 10:00\u202fa.m. PST (ronda 2)" in closed
    draft = card_text(card(SPANISH, Status.DRAFT))
    assert "Borrador: necesita que alguien de otra parte la copatrocine (🤝)" in draft


def test_the_english_card_is_unchanged_but_for_the_date() -> None:
    text = card_text(card(ENGLISH))
    assert text.startswith("── Proposal #3 by ana · open ──")
    assert "Round 2 · answer by Mon, Jan 5, 2026, 10:00\u202fAM PST" in text
    assert "Tally: milpa 2/2 ✓ · vera 1/2 …" in text
    assert "Voices: eve (concern)" in text


# --------------------------------------------------------------------------- outcomes


def outcome(reader: Reader, status: Status, note: str = "") -> Outcome:
    return Outcome(
        proposal_id=3,
        text="Adoptar la política",
        status=status,
        round=2,
        sides=(side("milpa", 2), side("vera", 1, objecting=("dee",))),
        decided_at=DEADLINE,
        objectors=("dee",),
        standing_aside=("ben", "cy"),
        concerns=("eve",),
        note=note,
        reader=reader,
    )


HEADLINES = {
    Status.PASSED: "✅ La propuesta #3 fue aprobada (ronda 2)",
    Status.BLOCKED: "✋ La propuesta #3 está bloqueada (ronda 2)",
    Status.NO_QUORUM: "⌛ La propuesta #3 se cerró sin consentimiento (ronda 2)",
    Status.WITHDRAWN: "↩️ La propuesta #3 fue retirada (ronda 2)",
}


@pytest.mark.parametrize("status", list(HEADLINES))
def test_every_outcome_in_spanish(status: Status) -> None:
    spanish = outcome_text(outcome(SPANISH, status))
    english = outcome_text(outcome(ENGLISH, status))
    assert spanish.splitlines()[0] == HEADLINES[status]
    assert "Objetó: dee" in spanish  # one person: the singular
    assert "Se hicieron a un lado: ben, cy" in spanish
    assert "Consintió con una inquietud: eve" in spanish
    assert english_left(english, spanish) == set(), spanish


def test_an_outcome_in_english_is_unchanged() -> None:
    text = outcome_text(outcome(ENGLISH, Status.BLOCKED))
    assert text.splitlines()[0] == "✋ Proposal #3 is blocked (round 2)"
    assert "Objected: dee" in text and "Stood aside: ben, cy" in text


# --------------------------------------------------------------------------- reminders


def reminder(reader: Reader, late: bool = False) -> Reminder:
    return Reminder(
        proposal_id=3,
        text="Adoptar la política",
        deadline=DEADLINE,
        timezone=reader.timezone,
        waiting=(
            Mention("ben", reader=Reader("en", "Europe/London")),
            Mention("dee", reader=Reader("es", "Europe/Madrid")),
        ),
        sides=(side("milpa", 1, ("ben",)), side("vera", 1, ("dee",))),
        late=late,
        reader=reader,
    )


def test_a_reminders_thread_line_in_spanish() -> None:
    spanish = reminder_text(reminder(SPANISH, late=True))
    english = reminder_text(reminder(ENGLISH, late=True))
    assert spanish == (
        "⏰ La propuesta #3 cierra el lun, 5 de ene de 2026, 10:00\u202fa.m. PST. "
        "Falta respuesta de milpa (1 de 2), vera (1 de 2): @ben, @dee"
        " (con retraso: el bot estaba desconectado a la hora prevista)"
    )
    assert english_left(english, spanish) == set(), spanish
    assert reminder(SPANISH).incomplete() == "Falta respuesta de milpa (1 de 2), vera (1 de 2)"


def test_a_reminders_direct_text_is_in_its_readers_language_and_zone() -> None:
    circle = reminder(ENGLISH)  # an English circle…
    ben, dee = circle.waiting
    spanish = reminder_direct_text(circle, dee)  # …and dee reads Spanish, in Madrid
    english = reminder_direct_text(circle, ben)  # ben reads English, in London
    assert spanish == (
        "⏰ La propuesta #3 cierra el lun, 5 de ene de 2026, "
        "7:00\u202fp.m. CET y falta tu respuesta: "
        "Adoptar la política"
    )
    assert english == (
        "⏰ Proposal #3 closes Mon, Jan 5, 2026, 6:00\u202fPM GMT and your answer is missing: "
        "Adoptar la política"
    )
    assert english_left(english, spanish, "GMT") == set()


# --------------------------------------------------------------------------- on a database

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def spanish_circle() -> CircleSpec:
    return CircleSpec(
        name="consejo",
        sides=("milpa", "vera"),
        members=(
            MemberSpec("ana", "milpa", Role.LEADER),
            MemberSpec("ben", "milpa", Role.LEADER, language="en", timezone="Europe/London"),
            MemberSpec("cy", "vera", Role.LEADER),
            MemberSpec("dee", "vera", Role.LEADER),
            MemberSpec("eve", "milpa", Role.MEMBER),
        ),
        timezone=ZONE,
        admins=("ana",),
        language="es",
    )


class Circle:
    """A Spanish circle on a fresh database, driven through the core."""

    def __init__(self, tmp_path: Path) -> None:
        self.spec = spanish_circle()
        self.clock = ManualClock(T0)
        self.repo = open_repository(f"sqlite:///{tmp_path}/bot.db")
        self.core = Core(self.repo, [self.spec], self.clock, ["console"])
        self.core.start()
        self.count = 0

    def _id(self) -> str:
        self.count += 1
        return f"e{self.count}"

    def command(self, user: str, text: str) -> None:
        self.core.handle(CommandEvent("console", self._id(), "consejo", user, text))

    def react(self, user: str, emoji: str, pid: int) -> None:
        self.clock.advance(timedelta(minutes=1))
        self.core.handle(
            ReactionEvent("console", self._id(), "consejo", user, emoji, True, proposal_id=pid)
        )

    def newest(self) -> int:
        with self.repo.transaction() as tx:
            return max(p.id for p in tx.proposals())

    def propose(self, text: str) -> int:
        self.command("ana", f"propose {text} by 3d review 6mo")
        return self.newest()


@pytest.fixture
def circle(tmp_path: Path) -> Iterator[Circle]:
    made = Circle(tmp_path)
    yield made
    made.repo.engine.dispose()


def test_the_read_only_answers_in_the_askers_language(circle: Circle) -> None:
    ctx, spec = circle.core.ctx, circle.spec
    assert views.open_proposals(ctx, spec) == (
        "No hay propuestas abiertas. Abre una con `proponer TEXTO [hasta CUÁNDO]`."
    )
    assert views.decisions(ctx, spec, 5) == "Todavía no hay decisiones."
    pid = circle.propose("Adoptar la política")
    circle.react("ana", "+1", pid)
    circle.react("cy", "raised_hand", pid)
    circle.react("eve", "thinking_face", pid)

    listing = views.open_proposals(ctx, spec, spec.reader_of("ana"))
    assert listing.startswith("Propuestas abiertas en consejo:\n#1 Adoptar la política — ")
    assert "hasta el jue, 8 de ene de 2026, 2:00\u202fa.m. PST" in listing
    english = views.open_proposals(ctx, spec, spec.reader_of("ben"))  # ben reads English
    assert english.startswith("Open proposals in consejo:")
    assert "until Thu, Jan 8, 2026, 10:00\u202fAM GMT" in english  # and lives in London
    assert english_left(english, listing) == set(), listing

    status = views.status(ctx, spec, circle.core.state(pid).proposal, SPANISH)
    assert status.startswith("#1 de ana · abierta · ronda 1\nAdoptar la política\n")
    assert "Plazo: jue, 8 de ene de 2026, 2:00\u202fa.m. PST" in status
    assert "Revisión: 6mo" in status  # not scheduled until it is decided
    assert "milpa …  1/2 consiente; 1 respondió; falta que responda: ben" in status
    assert "vera ✋  0/2 consienten; 1 respondió; objeta: cy; falta que responda: dee" in status
    assert "Voces (no cuentan): eve (inquietud)" in status
    english = views.status(ctx, spec, circle.core.state(pid).proposal, ENGLISH)
    assert "milpa …  1/2 consent; 1 answered; waiting on: ben" in english
    assert english_left(english, status, "mo") == set(), status

    shown = views.circle(ctx, spec, circle.clock.now(), SPANISH)
    assert shown.startswith("Círculo consejo (America/Los_Angeles)")
    assert "milpa: ana (líder, admin), ben (líder), eve (miembro)" in shown
    assert "Reglas: quórum: responde cada líder de cada parte; al menos 1 líder de cada" in shown
    english = views.circle(ctx, spec, circle.clock.now(), ENGLISH)
    assert english_left(english, shown, "America", "Los", "Angeles", "d", "h") == set(), shown

    circle.command("ana", f"withdraw {pid}")
    decided = views.decisions(ctx, spec, 5, SPANISH)
    assert decided.startswith(
        "1 decisión reciente en consejo:\n#1 retirada lun, 5 de ene de 2026, "
    )
    english = views.decisions(ctx, spec, 5, ENGLISH)
    assert english.startswith("Last 1 decision in consejo:\n#1 withdrawn Mon, Jan 5, 2026, ")
    assert english_left(english, decided) == set(), decided


def test_the_cards_outcome_notes_and_reminders_of_a_spanish_circle(circle: Circle) -> None:
    ctx = circle.core.ctx
    pid = circle.propose("Adoptar la política")
    shown = posts.card(ctx, pid)
    assert shown.reader == circle.spec.reader
    assert card_text(shown).startswith("── Propuesta #1 de ana · abierta ──")
    due = posts.reminder(ctx, pid)
    assert due is not None
    assert reminder_text(due).startswith(
        "⏰ La propuesta #1 cierra el jue, 8 de ene de 2026, 2:00\u202fa.m. PST."
    )
    ben = next(person for person in due.waiting if person.member == "ben")
    assert reminder_direct_text(due, ben).startswith(
        "⏰ Proposal #1 closes Thu, Jan 8, 2026, 10:00\u202fAM GMT and your answer is missing"
    )
    circle.command("ana", f"withdraw {pid}")
    withdrawn = outcome_text(posts.outcome(ctx, pid))
    assert withdrawn.startswith("↩️ La propuesta #1 fue retirada (ronda 1)")
    assert withdrawn.endswith("La retiró ana.")

    lacking = circle.propose("Otra cosa")
    circle.react("ana", "+1", lacking)
    circle.clock.set(T0 + timedelta(days=4))
    circle.core.advance()
    closed = outcome_text(posts.outcome(ctx, lacking))
    assert closed.startswith("⌛ La propuesta #2 se cerró sin quórum (ronda 1)")
    assert closed.endswith(
        "Sin quórum: milpa (1 de 2 líderes respondieron), vera (0 de 2 líderes respondieron)."
    )


def test_the_markdown_export_in_spanish(circle: Circle) -> None:
    passed = circle.propose("Adoptar la política")
    circle.react("ana", "+1", passed)
    circle.react("ben", "thinking_face", passed)
    circle.react("cy", "+1", passed)
    circle.react("dee", "neutral_face", passed)
    withdrawn = circle.propose("Otra cosa")
    circle.command("ana", f"withdraw {withdrawn}")
    spanish = export_decisions(circle.repo, [circle.spec], "md", language="es")
    english = export_decisions(circle.repo, [circle.spec], "md")
    assert spanish.startswith("# Registro de decisiones\n\n## Círculo consejo\n")
    assert (
        "2 decisiones, de la más antigua a la más reciente. Las horas están en America/Los_Angeles."
    ) in spanish
    assert "### ✅ La propuesta #1 fue aprobada (ronda 1)" in spanish
    assert "### ↩️ La propuesta #2 fue retirada (ronda 1)" in spanish
    assert "- **Presentada por:** ana" in spanish
    assert "- **Abierta:** lun, 5 de ene de 2026, 2:00\u202fa.m. PST" in spanish
    assert "- **Plazo:** jue, 8 de ene de 2026, 2:00\u202fa.m. PST" in spanish
    assert "- **Consintió con una inquietud:** ben" in spanish
    assert "- **Se hizo a un lado:** dee" in spanish
    assert "- **Retirada por:** ana" in spanish
    assert "- **Revisión:** 6mo (" in spanish
    headers = "| Parte | Líderes | Respondieron | Consiento | Inquietud | Me hago a un lado |"
    assert headers in spanish
    assert "| vera | 2 | 2 | 1 | 0 | 1 | 0 | sí |" in spanish
    assert english.startswith("# Decision log\n\n## Circle consejo\n")
    left = english_left(english, spanish, "mo")
    assert left - {"America", "Los", "Angeles"} == set(), spanish
    # The data formats are the same in every language.
    for fmt in ("csv", "json"):
        assert export_decisions(circle.repo, [circle.spec], fmt, language="es") == (
            export_decisions(circle.repo, [circle.spec], fmt)
        )


def test_an_english_reader_in_a_spanish_circle_reads_english(circle: Circle) -> None:
    pid = circle.propose("Adoptar la política")
    english_card = replace(posts.card(circle.core.ctx, pid), reader=ENGLISH)
    assert card_text(english_card).startswith("── Proposal #1 by ana · open ──")


# --------------------------------------------------------------------------- the console


async def test_the_consoles_own_words_are_in_its_circles_language() -> None:
    import io

    from adapters.console import ConsoleAdapter
    from bot.domain.events import InboundEvent
    from bot.text.messages import Reply

    got: list[InboundEvent] = []

    async def sink(event: InboundEvent) -> None:
        got.append(event)

    async def session(spec: CircleSpec) -> str:
        console = ConsoleAdapter([spec], stdin=io.StringIO(""), stdout=io.StringIO())
        console._sink = sink  # what start() does; the console needs nothing else here
        for line in ("ayuda", "hola", "como ana en nada: x", "x" * 20_001):
            await console.handle_line(line)
        await console.handle_line("como ana: reaccionar 1")
        await console.post_card("consejo", card(spec.reader), "k1")
        await console.update_card("consejo", "1", card(spec.reader, Status.PASSED), "k1", 2)
        await console.post("consejo", reminder(spec.reader), "1", "k2")
        await console.reply_private("consejo", "ana", Reply("Hecho.", ok=False))
        assert isinstance(console.stdout, io.StringIO)
        return console.stdout.getvalue()

    spanish = await session(spanish_circle())
    assert "consola de circlebot — actúa como cualquier persona de un círculo:" in spanish
    assert "circle consejo" not in spanish and "círculo consejo: ana (milpa, líder)" in spanish
    assert '! Empieza diciendo quién eres, p. ej. "como ana: /proponer' in spanish
    assert '! No hay ningún círculo "nada"; círculos: consejo.' in spanish
    assert "! Esa línea tiene 20.001 caracteres; el límite es 20.000." in spanish
    assert "! Usa: reaccionar ID EMOJI, p. ej. reaccionar 1 +1" in spanish
    assert "[consejo] tarjeta #3 (aprobada): milpa 2/2 ✓ · vera 1/2 …" in spanish
    assert (
        "[mensaje directo a dee] ⏰ La propuesta #3 cierra el lun, 5 de ene de 2026, "
        "7:00\u202fp.m. CET" in spanish
    )
    assert "[mensaje directo a ben] ⏰ Proposal #3 closes" in spanish  # ben reads English
    assert "[consejo hilo #1] ⏰ La propuesta #3 cierra el" in spanish
    assert "[solo lo ve ana] ! Hecho." in spanish
    english = await session(replace(spanish_circle(), language="en"))
    assert "[only ana sees] ! Hecho." in english
    # Direct texts are in each person's own language (ben: English, dee: Spanish) in both.
    direct = "[direct to", "[mensaje directo a"
    english = "\n".join(line for line in english.splitlines() if not line.startswith(direct))
    spanish = "\n".join(line for line in spanish.splitlines() if not line.startswith(direct))
    ours = {"Hecho", "nada", "x", "d", "raised", "hand"}  # what was typed or replied
    names = {"circlebot", "ID", "EMOJI", "N", "check", "in"}  # the same in both usages
    left = english_left(english, spanish, *ours, *names)
    assert left == set(), left

    # The console understands its Spanish words too.
    console = ConsoleAdapter([spanish_circle()], stdin=io.StringIO(""), stdout=io.StringIO())
    console._sink = sink
    got.clear()
    for line in ("como ana: reaccionar 1 +1", "COMO ana EN consejo: quitar 1 +1"):
        await console.handle_line(line)
    await console.handle_line("como ben: responder 2 Bien, gracias")
    assert [type(event).__name__ for event in got] == [
        "ReactionEvent",
        "ReactionEvent",
        "ThreadReplyEvent",
    ]
    assert [getattr(event, "added", None) for event in got] == [True, False, None]
    assert await console.handle_line("salir") is False
