"""Stances as people write them (SPEC, "How people write"): every word a screen shows
for a stance is a command for it, in its language, with the synonyms people use; case,
accents and the marks around a command say nothing; a reason may follow the id."""

from __future__ import annotations

import pytest

from bot.domain.i18n import lang
from bot.domain.intents import Help, SetStance
from bot.domain.model import Stance
from bot.text.grammar import GRAMMARS
from bot.text.help import help_text
from bot.text.messages import stance_label
from bot.text.parsing import CommandError, parse_command

C, K, A, X = Stance.CONSENT, Stance.CONCERN, Stance.STAND_ASIDE, Stance.OBJECT

# SPEC's table, and the spellings people type around it.
SPOKEN = [
    *[(w, C) for w in ("consent", "agree", "yes", "Yes", "AGREE")],
    *[(w, K) for w in ("concern", "consent with concern", "consent with a concern")],
    *[(w, A) for w in ("stand_aside", "stand aside", "Stand-aside", "abstain")],
    *[(w, X) for w in ("object", "objection", "block", "Block")],
    *[(w, C) for w in ("consiento", "de acuerdo", "De Acuerdo", "acepto", "sí", "si", "Sí")],
    *[(w, K) for w in ("inquietud", "consiento con inquietud", "preocupación", "preocupacion")],
    *[(w, A) for w in ("me hago a un lado", "hacerse a un lado", "aparte", "me abstengo")],
    *[(w, X) for w in ("objeto", "objeción", "objecion", "OBJECIÓN", "me opongo", "bloqueo")],
]


@pytest.mark.parametrize(("words", "stance"), SPOKEN)
def test_every_word_for_a_stance_is_a_command(words: str, stance: Stance) -> None:
    for typed in (f"{words} 7", f"{words} #7", f"¿{words} 7?", f"¡{words} #7!", f"/{words} 7."):
        assert parse_command(typed) == SetStance(7, stance), typed


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("stance", list(Stance))
def test_every_label_a_screen_shows_parses_as_that_stance(language: str, stance: Stance) -> None:
    say = lang(language)
    label = stance_label(stance, say)
    shown = {
        label,  # the card, the outcome, status, the exports
        label.lower(),  # inside a sentence
        GRAMMARS[language].names[stance.value],  # help and the usage lines
    }
    for words in shown:
        assert parse_command(f"{words} 3", say) == SetStance(3, stance), words
    # The help lists the command by the same words.
    assert f"`{GRAMMARS[language].usage[stance.value]}`" in help_text(None, say, language)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("object 7 it breaks the budget", SetStance(7, X, "it breaks the budget")),
        ("inquietud 21 me preocupa el costo", SetStance(21, K, "me preocupa el costo")),
        ("me opongo #4 ¿y el presupuesto?", SetStance(4, X, "¿y el presupuesto?")),
        ("consent with concern 2   watch   the cost", SetStance(2, K, "watch the cost")),
        ("de acuerdo 9", SetStance(9, C)),
    ],
)
def test_a_reason_after_the_id_is_kept_as_typed(typed: str, expected: SetStance) -> None:
    assert parse_command(typed) == expected


def test_a_stance_without_an_id_is_refused_in_the_readers_language() -> None:
    with pytest.raises(CommandError, match="objeción necesita el número de una propuesta"):
        parse_command("¡objeción!", lang("es"))
    with pytest.raises(CommandError, match="is not a proposal id"):
        parse_command("object budget 7")


def test_help_with_marks_around_it_is_understood() -> None:
    assert parse_command("¿ayuda?") == Help(names="es")
    assert parse_command("¡Ayuda!") == Help(names="es")
    assert parse_command("help?") == Help()
    assert parse_command("ayuda me hago a un lado") == Help(topic="stand_aside", names="es")
