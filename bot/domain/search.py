"""Finding decisions by words: case- and accent-insensitive, so `politica` finds
"Política de visitas" and `VISITING` finds "visiting"."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence


def folded(text: str) -> str:
    """`text` as it is compared: case-folded, without accents or other combining marks."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def matches(words: Sequence[str], texts: Iterable[str | None]) -> bool:
    """Whether every word appears in at least one of `texts` (as part of a word too:
    `visit` finds "visiting")."""
    haystack = "\n".join(folded(text) for text in texts if text)
    return all(folded(word) in haystack for word in words)
