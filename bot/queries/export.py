"""`circlebot export`: the decision log (every closed proposal) as Markdown, CSV or JSON
here, and as one HTML page (bot/queries/export_html.py) or an iCalendar feed
(bot/queries/export_ics.py).
Markdown, HTML and the calendar are in the language asked for (`--language`, English by
default); CSV and JSON are the same in every language.

Exporting only reads (bot/queries/decision_log.py): each decision's tally is the core's, computed
from the round that was counted, and nothing is written to the database.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from bot.domain import i18n
from bot.domain.circle import CircleSpec
from bot.domain.durations import iso
from bot.domain.i18n import DEFAULT_LANGUAGE, LANGUAGES, Lang
from bot.domain.report import DEFAULT_PERIOD, CircleReport
from bot.domain.text_safety import clean_text
from bot.ports.store import Store

# Kept importable from here (they lived in this module before the log was split).
from bot.queries.decision_log import CLOSED as CLOSED
from bot.queries.decision_log import Decision as Decision
from bot.queries.decision_log import ExportError as ExportError
from bot.queries.decision_log import circle_headings, decisions
from bot.queries.export_html import to_html
from bot.queries.export_ics import to_ics
from bot.queries.report import circle_report
from bot.queries.report_html import ZonedReport
from bot.text.messages import (
    side_lines,
    stance_label,
    tally_line,
)

Format = Literal["md", "csv", "json", "html", "ics"]
FORMATS: tuple[str, ...] = ("md", "csv", "json", "html", "ics")

CSV_COLUMNS = (
    "id",
    "circle",
    "status",
    "round",
    "author",
    "cosponsor",
    "text",
    "opened_at",
    "deadline",
    "decided_at",
    "tally",
    "sides_consenting",
    "sides_not_consenting",
    "objectors",
    "standing_aside",
    "concerns",
    "review",
    "review_at",
    "review_of",
    "statement",
    "closed_by",
    "proxied",  # `ana:ben; cy:dee`: the away leader, then the proxy whose stance counted
    "reasons",  # `dee: it breaks the budget`: reasons given with the stances counted
)


# --------------------------------------------------------------------------- formats


def _names(names: Sequence[str]) -> str:
    return ", ".join(names)


def _side_json(decision: Decision) -> dict[str, Any]:
    sides: dict[str, Any] = {}
    for side in decision.result.sides:
        sides[side.side] = {
            **side.to_json(),
            "needed": side.needed,
            "names": {
                "leaders": list(side.leaders),
                "consent": list(side.consent),
                "concern": list(side.concern),
                "stand_aside": list(side.stand_aside),
                "object": list(side.objecting),
                "waiting": list(side.waiting),
            },
        }
    return sides


def _history_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "at": iso(row["at"]),
        "kind": row["kind"],
        "round": row["round"],
        "actor": row["actor"],
        "member": row["member"],
        "mark": row["mark"],  # reaction, stance or proxy (bot.domain.model.MarkKind)
        "emoji": row["emoji"],  # its value: the emoji, the stance or the proxy's name
        "added": row["added"],
        "counted": row["counted"],
        "note": row["note"],
        "detail": row["detail"],
        "source": {"platform": row["platform"], "event_id": row["event_id"]},
    }


def decision_json(decision: Decision) -> dict[str, Any]:
    p = decision.proposal
    return {
        "id": p.id,
        "circle": decision.circle,
        "status": p.status,
        "round": p.round,
        "author": p.author,
        "cosponsor": p.cosponsor,
        "text": p.text,
        "opened_at": iso(p.created_at),
        "deadline": iso(p.deadline),
        "decided_at": iso(p.decided_at),
        "tally": tally_line(side_lines(decision.result)),
        "sides": _side_json(decision),
        "objectors": list(decision.result.objectors),
        "standing_aside": list(decision.result.standing_aside),
        "concerns": list(decision.result.concerns),
        "voices": {name: stance.value for name, stance in decision.voices.items()},
        "withdrawn_by": decision.withdrawn_by,
        "review": p.review,
        "review_at": iso(p.review_at),
        "review_of": p.review_of,
        "history": [_history_json(row) for row in decision.history],
        "statement": decision.statement,
        "closed_by": decision.closed_by,
        "proxied": dict(sorted(decision.proxied.items())),
        "statements": [
            {"text": version.text, "at": iso(version.at), "by": version.by}
            for version in decision.statements
        ],
        "reasons": decision.reasons,
    }


_SURROGATE = re.compile("[\ud800-\udfff]")


def to_json(found: Sequence[Decision], reports: Sequence[CircleReport] = ()) -> str:
    """The record as it is: `decisions`, and each circle's own report (`report`, as
    `circlebot report --format json`). A lone surrogate (which only a string can hold) is
    written as its \\u escape: still the same JSON value, and the file stays valid UTF-8."""
    data = {
        "decisions": [decision_json(d) for d in found],
        "report": [r.to_json() for r in reports],
    }
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


# A spreadsheet reads a cell starting with one of these as a formula (OWASP, "CSV
# injection"); some trim leading spaces first, so those are looked through.
_FORMULA_START = ("=", "+", "-", "@")


def csv_cell(value: str | int) -> str | int:
    """A CSV cell that a spreadsheet shows as text: hidden characters removed, and a
    leading `'` when it would otherwise start a formula. The csv module quotes the cell
    when it holds a comma, a quote or a line break."""
    if isinstance(value, int):
        return value
    text = clean_text(value)
    if text.startswith(("\t", "\r")) or text.lstrip().startswith(_FORMULA_START):
        return "'" + text
    return text


def proxied_pairs(proxied: dict[str, str]) -> str:
    """`ana:ben; cy:dee`: each away leader, then the proxy whose stance counted for them."""
    return "; ".join(f"{away}:{proxy}" for away, proxy in sorted(proxied.items()))


def to_csv(found: Sequence[Decision]) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for d in found:
        p = d.proposal
        row: list[str | int] = [
            p.id,
            d.circle,
            p.status,
            p.round,
            p.author,
            p.cosponsor or "",
            p.text,
            iso(p.created_at) or "",
            iso(p.deadline) or "",
            iso(p.decided_at) or "",
            tally_line(side_lines(d.result)),
            _names([s.side for s in d.result.sides if s.consents]),
            _names([s.side for s in d.result.sides if not s.consents]),
            _names(d.result.objectors),
            _names(d.result.standing_aside),
            _names(d.result.concerns),
            p.review or "",
            iso(p.review_at) or "",
            "" if p.review_of is None else p.review_of,
            d.statement or "",
            d.closed_by or "",
            proxied_pairs(d.proxied),
            "; ".join(f"{name}: {reason}" for name, reason in d.reasons.items()),
        ]
        writer.writerow([csv_cell(cell) for cell in row])
    return buffer.getvalue()


# Markdown: a person's text is shown as text. HTML is written as entities (no tag, no
# autolink `<javascript:…>`); brackets, parentheses, backticks, emphasis and pipes are
# backslash-escaped, so no link, image, code span or table cell can be formed.
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MD_ESCAPED = re.compile(r"([\\`*_~\[\]()|])")
# What starts a block at the start of a line: heading, list item, setext underline,
# thematic break, ordered list item.
_MD_LINE_START = re.compile(r"^(\d{0,9})([#+=.)-])")


def _md_escape(text: str) -> str:
    text = _MD_ESCAPED.sub(r"\\\1", clean_text(text))
    return "".join(_MD_ENTITIES.get(char, char) for char in text)


def md_inline(text: str) -> str:
    """A person's text inside a line of Markdown (a name, a table cell): escaped, on one
    line."""
    return " ".join(_md_escape(text).split())


def _md_line(line: str) -> str:
    line = line.strip()  # four leading spaces would make it a code block
    return _MD_LINE_START.sub(r"\1\\\2", line)


def _quote(text: str) -> list[str]:
    return [f"> {_md_line(line)}".rstrip() for line in _md_escape(text).split("\n")]


def _decision_md(d: Decision, lang: Lang) -> list[str]:
    p = d.proposal
    tz = d.timezone
    heading = d.headline(lang)
    lines = [f"### {heading}", "", *_quote(p.text), ""]
    if p.cosponsor:
        lines.append(
            lang._(
                "- **Author:** {author}, co-sponsored by {cosponsor}",
                author=md_inline(p.author),
                cosponsor=md_inline(p.cosponsor),
            )
        )
    else:
        lines.append(lang._("- **Author:** {author}", author=md_inline(p.author)))
    lines.append(lang._("- **Opened:** {when}", when=lang.when(p.created_at, tz)))
    lines.append(lang._("- **Deadline:** {when}", when=lang.when(p.deadline, tz)))
    if p.decided_at is not None:
        lines.append(lang._("- **Decided:** {when}", when=lang.when(p.decided_at, tz)))
    if d.withdrawn_by:
        lines.append(lang._("- **Withdrawn by:** {name}", name=md_inline(d.withdrawn_by)))
    if d.closed_by:
        lines.append(lang._("- **Closed early by:** {name}", name=md_inline(d.closed_by)))
    tally = md_inline(tally_line(side_lines(d.result)))
    lines.append(lang._("- **Tally:** {tally}", tally=tally))
    if d.proxied:
        lines.append(
            lang._(
                "- **Answered by a proxy:** {names}",
                names=d.shown_names(sorted(d.proxied), lang, md_inline),
            )
        )
    if names := d.result.objectors:
        lines.append(
            lang.n_(
                "- **Objected:** {names}",
                "- **Objected:** {names}",
                len(names),
                names=d.shown_names(names, lang, md_inline),
            )
        )
    if names := d.result.standing_aside:
        lines.append(
            lang.n_(
                "- **Stood aside:** {names}",
                "- **Stood aside:** {names}",
                len(names),
                names=d.shown_names(names, lang, md_inline),
            )
        )
    if names := d.result.concerns:
        lines.append(
            lang.n_(
                "- **Consented with a concern:** {names}",
                "- **Consented with a concern:** {names}",
                len(names),
                names=d.shown_names(names, lang, md_inline),
            )
        )
    for name, reason in d.reasons.items():
        lines.append(
            lang._(
                "- **{name}'s reason** ({stance}): {reason}",
                name=md_inline(name),
                stance=stance_label(d.stances[name], lang).lower(),
                reason=md_inline(reason),
            )
        )
    if p.review:
        when = lang.when(p.review_at, tz) if p.review_at else lang._("not scheduled")
        lines.append(
            lang._("- **Review:** {review} ({when})", review=md_inline(p.review), when=when)
        )
    if p.review_of is not None:
        lines.append(lang._("- **Reviews decision:** #{number}", number=p.review_of))
    lines += _statement_md(d, lang)
    if p.round == 0:
        lines += ["", lang._("Voting never opened (it was a draft without a co-sponsor).")]
        return lines
    headers = [
        lang._("Side"),
        lang._("Leaders"),
        lang._("Answered"),
        lang._("Consent"),
        lang._("Concern"),
        lang._("Stand aside"),
        lang._("Object"),
        lang._("Side consented"),
    ]
    lines += [
        "",
        "| " + " | ".join(headers) + " |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    yes, no = lang._("yes"), lang._("no")
    for side in d.result.sides:
        lines.append(
            f"| {md_inline(side.side)} | {len(side.leaders)} | {side.responded} | "
            f"{len(side.consent)} | {len(side.concern)} | {len(side.stand_aside)} | "
            f"{len(side.objecting)} | {yes if side.consents else no} |"
        )
    return lines


def _statement_md(d: Decision, lang: Lang) -> list[str]:
    """The outcome statement, quoted, and the versions it replaced."""
    lines: list[str] = []
    if d.statement:
        latest = d.latest_statement
        if latest is None:
            lines += ["", lang._("**Outcome statement:**")]
        else:
            lines += [
                "",
                lang._(
                    "**Outcome statement** ({name}, {when}):",
                    name=md_inline(latest.by),
                    when=lang.when(latest.at, d.timezone),
                ),
            ]
        lines += ["", *_quote(d.statement)]
    if earlier := d.earlier_statements:
        lines += ["", lang._("Earlier versions of the outcome statement:"), ""]
        lines += [
            lang._(
                "- {when}, {name}: {text}",
                when=lang.when(version.at, d.timezone),
                name=md_inline(version.by),
                text=md_inline(version.text),
            )
            for version in earlier
        ]
    return lines


def to_markdown(
    found: Sequence[Decision], circles: Sequence[str], language: str = DEFAULT_LANGUAGE
) -> str:
    """The decision log for people, in `language`; times in each circle's time zone."""
    lang = i18n.lang(language)
    lines = [lang._("# Decision log")]
    by_circle: dict[str, list[Decision]] = {name: [] for name in circles}
    for d in found:
        by_circle.setdefault(d.circle, []).append(d)
    if not by_circle:
        lines += ["", lang._("No decisions recorded yet.")]
    for name, items in by_circle.items():
        lines += ["", lang._("## Circle {circle}", circle=md_inline(name)), ""]
        if not items:
            lines.append(lang._("No decisions yet."))
            continue
        lines.append(
            lang.n_(
                "{n} decision, oldest first. Times are in {timezone}.",
                "{n} decisions, oldest first. Times are in {timezone}.",
                len(items),
                timezone=items[0].timezone,
            )
        )
        for d in items:
            lines += ["", *_decision_md(d, lang)]
    return "\n".join(lines) + "\n"


def export_decisions(
    repo: Store,
    circles: Sequence[CircleSpec],
    fmt: Format | str,
    circle: str | None = None,
    language: str = DEFAULT_LANGUAGE,
    now: datetime | None = None,
) -> str:
    """The decision log of `circle` (or every circle) in `fmt`: "md", "csv", "json",
    "html" or "ics". Markdown, HTML and the calendar are written for people, in
    `language`; CSV and JSON are data, the same in every language (their keys, column
    names and values are identifiers). `now` is when the calendar's upcoming check-ins
    start from and the report's period ends (default: the current time)."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; use {', '.join(FORMATS)}")
    if language not in LANGUAGES:
        raise ExportError(f"unknown language {language!r}; use {', '.join(LANGUAGES)}")
    if fmt == "ics":
        return to_ics(repo, circles, circle, language, now)
    found = decisions(repo, circles, circle)
    if fmt == "csv":
        return to_csv(found)
    if fmt == "md":
        return to_markdown(found, circle_headings(repo, circles, circle), language)
    until = now or datetime.now(UTC)
    reports = [
        ZonedReport(circle_report(repo, spec, DEFAULT_PERIOD.before(until), until), spec.timezone)
        for spec in circles
        if circle is None or spec.name == circle
    ]
    if fmt == "json":
        return to_json(found, [zoned.report for zoned in reports])
    return to_html(found, circle_headings(repo, circles, circle), language, reports)
