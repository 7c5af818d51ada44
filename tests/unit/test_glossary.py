"""The catalogues against the glossary (docs/glossary.md, docs/glossary.toml): each
concept is named with one word per language, the variants it lists never appear, and the
stance labels every screen shows are the glossary's."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.domain.i18n import lang
from bot.domain.model import Stance
from bot.text.messages import stance_label
from tests.unit.test_catalogues import catalogue

GLOSSARY = Path(__file__).resolve().parents[2] / "docs" / "glossary.toml"
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
CODE = re.compile(r"`[^`]*`")


def glossary() -> dict[str, Any]:
    with GLOSSARY.open("rb") as source:
        return tomllib.load(source)


def prose(text: str) -> str:
    """What a reader reads as words: without {placeholders} and `code`."""
    return CODE.sub(" ", PLACEHOLDER.sub(" ", text))


def pairs() -> Iterator[tuple[str, str]]:
    """(English text, Spanish text) for every form of every entry of the catalogue."""
    for message in catalogue("es"):
        if not message.id:
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for index, form in enumerate(forms):
            yield sources[min(index, len(sources) - 1)], form


def found(pattern: str, text: str) -> bool:
    return re.search(pattern, prose(text), re.IGNORECASE) is not None


TERMS = glossary()["term"]


@pytest.mark.parametrize("term", TERMS, ids=[t["concept"] for t in TERMS])
def test_every_text_names_the_concept_with_the_glossary_word(term: dict[str, Any]) -> None:
    wrong = []
    for english, spanish in pairs():
        if "en" in term and found(term["en"], english) and not found(term["es"], spanish):
            wrong.append((english, spanish))
        if term.get("both") and found(term["es"], spanish) and not found(term["en"], english):
            wrong.append((english, spanish))
    assert wrong == []


@pytest.mark.parametrize("term", TERMS, ids=[t["concept"] for t in TERMS])
def test_no_text_uses_a_variant_the_glossary_rules_out(term: dict[str, Any]) -> None:
    wrong = [
        (english, spanish)
        for english, spanish in pairs()
        for pattern in term.get("never_es", ())
        if found(pattern, spanish)
    ]
    wrong += [
        english
        for english, _ in pairs()
        for pattern in term.get("never_en", ())
        if found(pattern, english)
    ]
    assert wrong == []


@pytest.mark.parametrize("language", ["en", "es"])
def test_each_stance_shows_the_glossary_label(language: str) -> None:
    labels = glossary()["stances"][language]
    assert {s.value: stance_label(s, lang(language)) for s in Stance} == labels


def test_the_glossary_catches_what_it_rules_out() -> None:
    """The check itself: a rejected wording is caught, a placeholder is not read as one."""
    (side,) = [t for t in TERMS if t["concept"] == "side"]
    assert found(side["never_es"][0], "cada lado")
    assert not found(side["never_es"][0], "me hago a un lado")
    assert not found(side["en"], "{side} ({waiting} of {leaders})")
