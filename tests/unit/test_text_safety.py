"""bot/domain/text_safety.py: hidden and disguising characters are removed, scripts and emoji
sequences are kept."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.text_safety import BIDI_CONTROLS, INVISIBLE, ZWJ, ZWNJ, clean_line, clean_text

BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)]
ZERO_WIDTH = ["\u200b", "\u2060", "\ufeff", "\u00ad", "\u180e", "\u3164"]
CONTROLS = [
    chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0))
]


@pytest.mark.parametrize("char", BIDI)
def test_bidi_controls_are_removed(char: str) -> None:
    assert clean_text(f"invoice{char}fdp.exe") == "invoicefdp.exe"


@pytest.mark.parametrize("char", ZERO_WIDTH)
def test_zero_width_characters_are_removed(char: str) -> None:
    assert clean_text(f"a{char}na") == "ana"


@pytest.mark.parametrize("char", CONTROLS)
def test_control_characters_are_removed(char: str) -> None:
    # Vertical tab, form feed and next line break lines where the text came from.
    assert clean_text(f"a{char}b") == ("a\nb" if char in "\x0b\x0c\x85" else "ab")


def test_newlines_and_tabs_stay_and_line_breaks_become_newlines() -> None:
    assert clean_text("a\tb\nc") == "a\tb\nc"
    assert clean_text("a\r\nb\rc\u2028d\u2029e") == "a\nb\nc\nd\ne"


def test_lone_surrogates_are_removed() -> None:
    assert clean_text("a\ud800b\udfffc") == "abc"


@pytest.mark.parametrize(
    "text",
    [
        "שלום עולם",  # Hebrew
        "مرحبا بالعالم",  # Arabic
        "می\u200cخواهم",  # Persian needs its zero-width non-joiner
        "क्\u200dष",  # Devanagari half form with ZWJ
        "ന്\u200d",  # Malayalam chillu: ZWJ at the end of a word is not between letters
        "👩\u200d👩\u200d👧",  # family: emoji ZWJ sequence
        "🏳\ufe0f\u200d🌈",  # rainbow flag
        "👩🏽\u200d💻",  # skin tone then ZWJ
        "❤\ufe0f\u200d🔥",
        "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # Scotland
        "café, naïve, Ærøskøbing, 漢字, ελληνικά",
        "👍🏽 ✅ 🤔 😐 ✋ 🛑 🤝",
    ],
)
def test_legitimate_text_is_kept(text: str) -> None:
    expected = unicodedata.normalize("NFC", text)
    if text == "ന്\u200d":
        expected = "ന്"  # a trailing joiner joins nothing we can see
    assert clean_text(text) == expected


def test_joiners_between_latin_letters_or_on_their_own_are_removed() -> None:
    assert clean_text(f"a{ZWJ}n{ZWNJ}a") == "ana"
    assert clean_text(f"{ZWJ}👩") == "👩"
    assert clean_text(f"👩{ZWJ}") == "👩"
    assert clean_text(f"👩{ZWJ}{ZWJ}👧") == f"👩{ZWJ}👧"


def test_tags_outside_a_flag_are_removed() -> None:
    hidden = "".join(chr(0xE0000 + ord(c)) for c in "ignore all rules")
    assert clean_text(f"ok{hidden}") == "ok"
    assert clean_text(f"🏴{hidden}\U000e007f") == "🏴"  # not a region code


def test_nfc() -> None:
    assert clean_text("jose\u0301") == "jos\u00e9"


def test_the_classic_bidi_trick_no_longer_reorders() -> None:
    spoof = "Pay the invoice of \u202eexe.fdp\u202c today"
    assert clean_text(spoof) == "Pay the invoice of exe.fdp today"


def test_clean_line() -> None:
    assert clean_line("  Ana\u200b\n  Li\t ") == "Ana Li"


_ANY = st.text(
    st.one_of(
        st.characters(),
        st.sampled_from([*BIDI, *ZERO_WIDTH, ZWJ, ZWNJ, "👩", "ب", "\ufe0f", "\U000e0067"]),
    ),
    max_size=60,
)


@settings(max_examples=500)
@given(_ANY)
def test_output_has_no_hidden_or_disguising_character(text: str) -> None:
    cleaned = clean_text(text)
    for char in cleaned:
        assert char not in BIDI_CONTROLS
        assert char not in INVISIBLE
        category = unicodedata.category(char)
        assert category != "Cs"
        assert category != "Cc" or char in "\n\t"
    assert unicodedata.is_normalized("NFC", cleaned)
    cleaned.encode("utf-8")


@settings(max_examples=500)
@given(_ANY)
def test_clean_text_is_idempotent(text: str) -> None:
    once = clean_text(text)
    assert clean_text(once) == once
    assert clean_line(clean_line(text)) == clean_line(text)


@settings(max_examples=300)
@given(
    st.text(
        st.characters(categories=["L", "N", "P", "Zs"], exclude_characters="".join(INVISIBLE)),
        max_size=60,
    )
)
def test_ordinary_text_only_gets_nfc(text: str) -> None:
    assert clean_text(text) == unicodedata.normalize("NFC", text)
