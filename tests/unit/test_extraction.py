"""Every text the code marks reaches the catalogue: the extractor (pybabel) misses a
`_()` nested in another call's arguments or inside an f-string's braces, and a text
missed there is shown in English to every reader. Each call is found here by reading
the code itself, and must be among what the extractor found."""

from __future__ import annotations

import ast
from pathlib import Path

from test_catalogues import ROOT, marked_in_code

MARKERS = {"_", "n_"}


def marked_calls() -> list[tuple[str, int, str]]:
    """(file, line, text) of every `x._("…")` / `x.n_("…", …)` in bot/ and adapters/."""
    found = []
    for folder in ("bot", "adapters"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                first = node.args[0]
                if (
                    name in MARKERS
                    and isinstance(first, ast.Constant)
                    and isinstance(first.value, str)
                ):
                    found.append((str(Path(path).relative_to(ROOT)), node.lineno, first.value))
    return found


def test_every_marked_text_is_extracted() -> None:
    extracted = marked_in_code()
    missed = [
        f"{file}:{line}: {text!r}" for file, line, text in marked_calls() if text not in extracted
    ]
    assert not missed, "\n".join(missed)
