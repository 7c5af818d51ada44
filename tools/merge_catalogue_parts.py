"""While several people translate at once: each keeps the Spanish of the texts they
marked in bot/locale/parts/NAME.es.po (only their entries); this fills the translations
that are still empty in bot/locale/es/LC_MESSAGES/circlebot.po from those parts. Run by
`make catalogues` after the catalogues are updated from the code."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PARTS = ROOT / "bot" / "locale" / "parts"


def main() -> int:
    target = ROOT / "bot" / "locale" / "es" / "LC_MESSAGES" / "circlebot.po"
    with target.open("rb") as source:
        catalogue = read_po(source, locale="es")
    filled = 0
    for part in sorted(PARTS.glob("*.es.po")):
        with part.open("rb") as source:
            translations = read_po(source, locale="es")
        for message in translations:
            if not message.id or not message.string:
                continue
            entry = catalogue.get(message.id)
            if entry is None:
                continue  # no longer in the code
            empty = not any(entry.string) if isinstance(entry.string, tuple) else not entry.string
            if empty or entry.fuzzy:
                entry.string = message.string
                entry.flags.discard("fuzzy")
                filled += 1
    with target.open("wb") as out:
        write_po(out, catalogue, width=100, omit_header=False, sort_output=True)
    print(f"filled {filled} translation(s) from {PARTS.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
