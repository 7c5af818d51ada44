"""The message catalogues against the code: every text the code marks is in every
catalogue, translated (not empty, not fuzzy), with the same {placeholders} as the
source; the compiled catalogues are the .po files as they are now."""

from __future__ import annotations

import gettext
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.domain.i18n import DOMAIN, LANGUAGES, LOCALE_DIR

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "n_": (1, 2)}
# English is the source language: its catalogue may leave a text as written.
SOURCE_LANGUAGE = "en"


def marked_in_code() -> dict[str, tuple[str, ...]]:
    """Every text the code marks, by its msgid: the message and its plural, if any."""
    found: dict[str, tuple[str, ...]] = {}
    for folder in ("bot", "adapters"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, [("**.py", "python")], keywords=KEYWORDS
        ):
            forms = message if isinstance(message, tuple) else (message,)
            found[forms[0]] = forms
    return found


def catalogue(language: str) -> Catalog:
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as source:
        return read_po(source, locale=language)


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_code_marks_texts() -> None:
    assert len(marked_in_code()) > 0


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_is_in_the_catalogue_and_translated(language: str) -> None:
    po = catalogue(language)
    missing, untranslated, fuzzy = [], [], []
    for msgid in marked_in_code():
        entry = po.get(msgid)
        if entry is None:
            missing.append(msgid)
            continue
        if entry.fuzzy:
            fuzzy.append(msgid)
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if language != SOURCE_LANGUAGE and not all(forms):
            untranslated.append(msgid)
    assert (missing, untranslated, fuzzy) == ([], [], []), (
        "run `make catalogues`, then translate what it lists"
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders(language: str) -> None:
    wrong = []
    for message in catalogue(language):
        if not message.id:
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        expected = set().union(*(fields(source) for source in sources))
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for form in forms:
            if form and fields(form) != expected:
                wrong.append((sources[0], form))
    assert wrong == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_is_the_po_file(language: str) -> None:
    mo = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    assert mo.exists(), "the catalogues are compiled when the package is installed"
    compiled = gettext.GNUTranslations(mo.open("rb"))
    for message in catalogue(language):
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple):
            forms = message.string if isinstance(message.string, tuple) else (message.string,)
            if forms[0]:
                assert compiled.ngettext(message.id[0], message.id[1], 1) == forms[0]
        elif message.string:
            assert compiled.gettext(message.id) == message.string
