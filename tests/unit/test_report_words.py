"""The report's sentences agree with their numbers in both languages: `1 of 1 proposal`,
`3 of 4 proposals`, `1 de 1 propuesta`."""

from __future__ import annotations

import pytest

from bot.domain.i18n import lang
from bot.domain.report import SHARED_FIGURES, Dominance
from bot.text.report import sentence


@pytest.mark.parametrize(
    ("language", "figure", "one", "four"),
    [
        ("en", "authored", "milpa authored 1 of 1 proposal.", "milpa authored 3 of 4 proposals."),
        ("en", "objections", "milpa raised 1 of 1 objection.", "milpa raised 3 of 4 objections."),
        ("es", "authored", "milpa presentó 1 de 1 propuesta.", "milpa presentó 3 de 4 propuestas."),
        ("es", "concerns", "milpa planteó 1 de 1 inquietud.", "milpa planteó 3 de 4 inquietudes."),
    ],
)
def test_the_noun_agrees_with_the_total(language: str, figure: str, one: str, four: str) -> None:
    say = lang(language)
    assert sentence(Dominance(figure, "milpa", 1, 1), say) == one
    assert sentence(Dominance(figure, "milpa", 3, 4), say) == four


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("figure", SHARED_FIGURES)
def test_every_sentence_has_a_singular_and_a_plural(language: str, figure: str) -> None:
    say = lang(language)
    single, several = (sentence(Dominance(figure, "milpa", n, n), say) for n in (1, 5))
    assert single != several.replace("5", "1")  # the noun changed, not only the number
