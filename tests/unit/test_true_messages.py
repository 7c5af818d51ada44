"""Messages that say exactly what happened, in both languages: the quorum rule in words,
a no-quorum close that names what was missing (from the tally), a draft that never opened
voting shown without a round, the outcome statement named one way (`Acuerdo`), and
counts of leaders through the catalogue's plural forms."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import pytest

from bot.domain.circle import CircleSpec, Rules
from bot.domain.clock import ManualClock
from bot.domain.events import CommandEvent
from bot.domain.i18n import Reader, lang
from bot.domain.model import Role
from bot.handlers.core import Core
from bot.queries import posts, views
from bot.queries.export import export_decisions
from bot.text.messages import Reply
from bot.text.render_text import card_text, outcome_text
from storage import open_repository
from tests.unit.test_render_languages import T0, ZONE, Circle, spanish_circle

SPANISH = Reader("es", ZONE)
ENGLISH = Reader("en", ZONE)


class Rig(Circle):
    """The Spanish circle of test_render_languages, under the rules and members given."""

    def __init__(self, tmp_path: Path, spec: CircleSpec | None = None, **rules: object) -> None:
        self.spec = spec or spanish_circle()
        if rules:
            self.spec = replace(self.spec, rules=replace(Rules(), **rules))
        self.clock = ManualClock(T0)
        self.repo = open_repository(f"sqlite:///{tmp_path}/bot.db")
        self.core = Core(self.repo, [self.spec], self.clock, ["console"])
        self.core.start()
        self.count = 0

    def say(self, user: str, text: str) -> Reply:
        (reply,) = self.core.handle(CommandEvent("console", self._id(), "consejo", user, text))
        return reply

    def close_at_deadline(self) -> None:
        self.clock.set(T0 + timedelta(days=4))
        self.core.advance()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    made = Rig(tmp_path)
    yield made
    made.repo.engine.dispose()


def rules_line(rig: Rig, reader: Reader) -> str:
    shown = views.circle(rig.core.ctx, rig.spec, rig.clock.now(), reader)
    (line,) = [line for line in shown.splitlines() if line.startswith(("Rules", "Reglas"))]
    return line


def test_a_quorum_of_one_says_every_leader_answers(rig: Rig) -> None:
    spanish = rules_line(rig, SPANISH)
    assert spanish.startswith(
        "Reglas: quórum: responde cada líder de cada parte; al menos 1 líder de cada parte "
        "consiente; ninguna objeción;"
    ), spanish
    assert "quórum de 1" not in spanish
    english = rules_line(rig, ENGLISH)
    assert english.startswith(
        "Rules: quorum: every leader of each side answers; at least 1 leader consents per "
        "side; no objection;"
    ), english


def test_a_quorum_below_one_is_a_share_of_each_sides_leaders(tmp_path: Path) -> None:
    rig = Rig(tmp_path, quorum=Fraction(1, 2), min_consent_per_side=2)
    try:
        assert "quórum: responde al menos el 50 % de líderes de cada parte; al menos 2 " in (
            rules_line(rig, SPANISH).replace("50%", "50 %")
        )
        english = rules_line(rig, ENGLISH)
        assert "quorum: at least 50% of each side's leaders answer; at least 2 leaders consent" in (
            english
        )
    finally:
        rig.repo.engine.dispose()


def test_a_close_where_only_quorum_was_missing_says_so(rig: Rig) -> None:
    pid = rig.propose("Adoptar la política")
    for name in ("ana", "ben", "cy"):  # every answer consents; dee never answers
        rig.react(name, "+1", pid)
    rig.close_at_deadline()
    spanish = outcome_text(posts.outcome(rig.core.ctx, pid))
    assert spanish.startswith("⌛ La propuesta #1 se cerró sin quórum (ronda 1)"), spanish
    assert spanish.endswith("Sin quórum: vera (1 de 2 líderes respondieron)."), spanish
    assert "consentimiento" not in spanish
    card = card_text(posts.card(rig.core.ctx, pid))
    from bot.text.messages import missing_at_close  # the note, as an English circle reads it

    outcome = posts.outcome(rig.core.ctx, pid)
    english = outcome_text(replace(outcome, reader=ENGLISH))
    assert english.startswith("⌛ Proposal #1 closed without quorum (round 1)"), english
    assert "consent" not in english.splitlines()[0]
    assert missing_at_close(outcome.sides, lang("en")) == (
        "Without quorum: vera (1 of 2 leaders answered)."
    )
    assert "Cerrada el" in card and "(ronda 1)" in card


def test_a_close_with_quorum_and_no_consent_says_so(rig: Rig) -> None:
    pid = rig.propose("Adoptar la política")
    rig.react("ana", "+1", pid)
    rig.react("ben", "+1", pid)
    rig.react("cy", "neutral_face", pid)
    rig.react("dee", "neutral_face", pid)  # vera answered in full and stood aside
    rig.close_at_deadline()
    spanish = outcome_text(posts.outcome(rig.core.ctx, pid))
    assert spanish.startswith("⌛ La propuesta #1 se cerró sin consentimiento (ronda 1)")
    assert spanish.endswith("Sin consentimiento: vera."), spanish
    assert "quórum" not in spanish


def test_a_withdrawn_draft_shows_no_round(tmp_path: Path) -> None:
    rig = Rig(tmp_path, require_cosponsor=True)
    try:
        pid = rig.propose("Adoptar la política")
        rig.command("ana", f"withdraw {pid}")
        outcome = outcome_text(posts.outcome(rig.core.ctx, pid))
        assert outcome.startswith("↩️ La propuesta #1 fue retirada\n"), outcome
        card = card_text(posts.card(rig.core.ctx, pid))
        status = views.status(rig.core.ctx, rig.spec, rig.core.state(pid).proposal, SPANISH)
        assert status.startswith("#1 de ana · retirada\n"), status
        exported = export_decisions(rig.repo, [rig.spec], "md", language="es")
        for text in (outcome, card, status, exported):
            assert "ronda 0" not in text, text
        assert "### ↩️ La propuesta #1 fue retirada\n" in exported
    finally:
        rig.repo.engine.dispose()


def test_a_draft_closed_at_its_deadline_says_voting_never_opened(tmp_path: Path) -> None:
    rig = Rig(tmp_path, require_cosponsor=True)
    try:
        pid = rig.propose("Adoptar la política")
        rig.close_at_deadline()
        outcome = outcome_text(posts.outcome(rig.core.ctx, pid))
        assert outcome.startswith("⌛ La propuesta #1 se cerró antes de abrirse la votación\n")
        assert "consentimiento" not in outcome and "ronda" not in outcome
    finally:
        rig.repo.engine.dispose()


def test_the_outcome_statement_is_an_acuerdo_and_waits_for_the_close(rig: Rig) -> None:
    pid = rig.propose("Adoptar la política")
    early = rig.say("ana", f"resultado {pid} Lo adoptamos")
    assert not early.ok
    assert early.text.startswith("La propuesta #1 todavía no está cerrada (abierta): el acuerdo"), (
        early.text
    )
    assert "sigue" not in early.text
    rig.command("ana", f"cerrar {pid}")
    assert rig.say("ana", f"resultado {pid} Lo adoptamos; cy escribe la carta").ok
    status = views.status(rig.core.ctx, rig.spec, rig.core.state(pid).proposal, SPANISH)
    assert "Acuerdo: Lo adoptamos; cy escribe la carta" in status
    assert "Resultado: Lo adoptamos" not in status
    assert "Acuerdo: Lo adoptamos" in card_text(posts.card(rig.core.ctx, pid))
    english = views.status(rig.core.ctx, rig.spec, rig.core.state(pid).proposal, ENGLISH)
    assert "Outcome statement: Lo adoptamos" in english


def test_a_side_of_one_leader_is_one_leader_in_the_html_export(tmp_path: Path) -> None:
    spec = spanish_circle()
    spec = replace(spec, members=tuple(m for m in spec.members if m.name in ("ana", "cy", "eve")))
    rig = Rig(tmp_path, spec)
    try:
        assert {m.role for m in rig.spec.members} == {Role.LEADER, Role.MEMBER}
        pid = rig.propose("Adoptar la política")
        rig.react("ana", "+1", pid)
        rig.react("cy", "+1", pid)
        spanish = export_decisions(rig.repo, [rig.spec], "html", language="es")
        assert "milpa: 1 líder; consiento: 1, inquietud: 0, me hago a un lado: 0" in spanish
        assert "1 líderes" not in spanish
        english = export_decisions(rig.repo, [rig.spec], "html")
        assert "milpa: 1 leader; consent: 1, concern: 0, stand aside: 0" in english
    finally:
        rig.repo.engine.dispose()
