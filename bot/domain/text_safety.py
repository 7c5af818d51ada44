"""Neutralise characters that hide or disguise text, before it is stored or shown.

People's text reaches other people through the bot: proposals, amendments, check-in
replies, names. Invisible characters let two names that look the same be different
(`ana` and `a​na`), and bidirectional overrides make text display in another order than
it reads (`‮txt.exe` shows as `exe.txt`). `clean_text` removes them and NFC-normalises,
keeping everything a script or an emoji needs:

- control characters (C0 and C1) other than newline and tab are removed; CR, CRLF,
  vertical tab and form feed (a line break in text pasted from a word processor), next
  line and the Unicode line and paragraph separators become a newline;
- bidirectional embeddings, overrides, isolates and marks are removed: the bidi
  algorithm orders Arabic and Hebrew letters on its own, and a removed mark can only
  change how mixed text is laid out, never hide what it says;
- zero-width and other invisible format characters are removed, except
  - the zero-width joiner between emoji (👩‍👩‍👧 is one family, not three people) and
  - the zero-width joiner and non-joiner between letters of the scripts that need them
    (Persian می‌خواهم, Devanagari क्‍ष), where they change how letters join;
- tag characters are kept only inside an emoji flag sequence (🏴󠁧󠁢󠁳󠁣󠁴󠁿);
- lone surrogates (which cannot be stored as UTF-8) are removed.

Pure and standard library only.
"""

from __future__ import annotations

import re
import unicodedata

ZWNJ = "\u200c"
ZWJ = "\u200d"
_BLACK_FLAG = "\U0001f3f4"
_CANCEL_TAG = "\U000e007f"

# Bidirectional formatting: ALM, LRM, RLM, LRE/RLE/PDF/LRO/RLO, LRI/RLI/FSI/PDI.
BIDI_CONTROLS = frozenset(
    chr(code) for code in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
)
# Invisible characters with no job in chat text. Soft hyphen and the Hangul fillers show
# nothing and are the usual way to make a blank or look-alike name.
INVISIBLE = frozenset(
    chr(code)
    for code in (
        0x00AD,  # soft hyphen
        0x115F,  # Hangul choseong filler
        0x1160,  # Hangul jungseong filler
        0x17B4,  # Khmer inherent vowels (Unicode advises against their use)
        0x17B5,
        0x180E,  # Mongolian vowel separator
        0x200B,  # zero-width space
        *range(0x2060, 0x2065),  # word joiner, invisible math operators
        *range(0x206A, 0x2070),  # deprecated format characters
        0x3164,  # Hangul filler
        0xFEFF,  # zero-width no-break space (byte order mark)
        0xFFA0,  # halfwidth Hangul filler
        *range(0xFFF9, 0xFFFC),  # interlinear annotation
        *range(0x1D173, 0x1D17B),  # musical symbol format characters
    )
)
_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\u0085\u2028\u2029]")
# Blocks of the scripts in which ZWJ/ZWNJ change how letters join or form conjuncts:
# Arabic, Syriac, Thaana, N'Ko and their extensions; the Indic scripts; Tibetan;
# Myanmar; Khmer and Mongolian; Arabic presentation forms.
_JOINING_SCRIPTS = (
    (0x0600, 0x08FF),
    (0x0900, 0x0DFF),
    (0x0F00, 0x0FFF),
    (0x1000, 0x109F),
    (0x1780, 0x18AF),
    (0xA8E0, 0xA8FF),
    (0xFB50, 0xFDFF),
    (0xFE70, 0xFEFE),
)


def _is_tag(char: str) -> bool:
    return 0xE0000 <= ord(char) <= 0xE007F


def _removed(char: str) -> bool:
    """Removed wherever it stands (joiners and tags are decided by their context)."""
    if char in "\n\t":
        return False
    if char in BIDI_CONTROLS or char in INVISIBLE or _is_tag(char):
        return True
    return unicodedata.category(char) in ("Cc", "Cs")


def _emoji_before(char: str) -> bool:
    # An emoji, a skin tone, the emoji-style selector, or the end of a flag's tags.
    code = ord(char)
    return (
        unicodedata.category(char) == "So"
        or 0x1F3FB <= code <= 0x1F3FF
        or char in ("\ufe0f", _CANCEL_TAG)
    )


def _joining_letter(char: str) -> bool:
    code = ord(char)
    return unicodedata.category(char)[0] in "LM" and any(
        low <= code <= high for low, high in _JOINING_SCRIPTS
    )


# A flag's tags spell a region code (`gbsct`): tag digits and lowercase tag letters, a
# few of them. Anything longer could carry hidden text.
_MAX_FLAG_TAGS = 7


def _flag_tag(char: str) -> bool:
    code = ord(char)
    return 0xE0030 <= code <= 0xE0039 or 0xE0061 <= code <= 0xE007A


def _flag_tags(text: str, start: int) -> int:
    """End of the tag run of an emoji flag sequence that starts at `start` (a black
    flag), or `start` when there is none."""
    end = start + 1
    while end < len(text) and end - start <= _MAX_FLAG_TAGS and _flag_tag(text[end]):
        end += 1
    if end > start + 1 and end < len(text) and text[end] == _CANCEL_TAG:
        return end + 1
    return start


def clean_text(text: str) -> str:
    """`text` without hidden or disguising characters, NFC-normalised (see the module)."""
    text = _LINE_BREAKS.sub("\n", text)
    kept: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == _BLACK_FLAG:
            end = _flag_tags(text, index)
            if end > index:
                kept.append(text[index:end])
                index = end
                continue
        if not _removed(char):
            kept.append(char)
        index += 1
    stripped = "".join(kept)
    out: list[str] = []
    for index, char in enumerate(stripped):
        if char in (ZWJ, ZWNJ):
            before = out[-1] if out else ""
            after = stripped[index + 1 : index + 2]
            between_emoji = (
                char == ZWJ
                and before != ""
                and after != ""
                and _emoji_before(before)
                and unicodedata.category(after) == "So"
            )
            between_letters = (
                before != "" and after != "" and _joining_letter(before) and _joining_letter(after)
            )
            if not (between_emoji or between_letters):
                continue
        out.append(char)
    return unicodedata.normalize("NFC", "".join(out))


def clean_line(text: str) -> str:
    """`clean_text` for one-line values such as names: every run of whitespace (line
    breaks and tabs included) becomes one space, and the ends are trimmed."""
    return " ".join(clean_text(text).split())
