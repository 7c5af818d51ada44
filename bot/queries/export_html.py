"""`circlebot export --format html`: the decision log as one self-contained page.

Everything is in the file: the CSS is inline, the tallies are drawn with CSS and each
circle's own report as inline SVG (bot/queries/report_html.py; no image, font, script
or style is fetched from anywhere), and every text from the database is
HTML-escaped. Each side's bar has the same length, whatever its number of leaders: each
side weighs the same, and the page shows it so. The bars have a legend, and each one a
text equivalent for screen readers.

The page reads without JavaScript. A small inline script adds a search box that hides the
decisions not matching every word typed (the words can also be given in the address:
`log.html#q=visiting+policy`); without it, every decision is shown.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain import i18n
from bot.domain.durations import iso
from bot.domain.i18n import DEFAULT_LANGUAGE, Lang
from bot.domain.model import MarkKind, Stance, Status
from bot.domain.stances import UNICODE_BY_NAME
from bot.domain.tally import SideTally
from bot.domain.text_safety import clean_text
from bot.queries.decision_log import Decision, RoundInfo
from bot.queries.report_html import CSS as REPORT_CSS
from bot.queries.report_html import ZonedReport, report_section
from bot.text.messages import (
    side_lines,
    stance_label,
    status_label,
    tally_line,
)


def e(text: object) -> str:
    """Any text as HTML text or attribute value: hidden characters removed, then
    escaped (quotes too)."""
    return html.escape(clean_text(str(text)), quote=True)


def fold(text: str) -> str:
    """Text as the search compares it: lower case, accents removed (the script folds
    what is typed the same way)."""
    decomposed = unicodedata.normalize("NFD", clean_text(text))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


# One segment of a side's bar per stance, and one for leaders who did not answer.
@dataclass(frozen=True)
class Segment:
    css: str
    names: tuple[str, ...]


def _segments(side: SideTally) -> list[Segment]:
    return [
        Segment("consent", side.consent),
        Segment("concern", side.concern),
        Segment("aside", side.stand_aside),
        Segment("object", side.objecting),
        Segment("waiting", side.waiting),
    ]


def _labels(lang: Lang) -> dict[str, str]:
    return {
        "consent": stance_label(Stance.CONSENT, lang),
        "concern": stance_label(Stance.CONCERN, lang),
        "aside": stance_label(Stance.STAND_ASIDE, lang),
        "object": stance_label(Stance.OBJECT, lang),
        "waiting": lang._("Not answered"),
    }


CSS = """
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1d2125;background:#f6f5f2}
header,main{max-width:60rem;margin:0 auto;padding:0 1rem}
header{padding-top:1rem}
h1{font-size:1.6rem;margin:.5rem 0}
h2{font-size:1.3rem;margin:2rem 0 .25rem;border-bottom:2px solid #d8d4cc}
h3{font-size:1.1rem;margin:0 0 .5rem}
h4{font-size:1rem;margin:1rem 0 .25rem}
p,li,dd,dt,blockquote,h2,h3,h4{overflow-wrap:anywhere}
[hidden]{display:none!important}
.search{display:flex;flex-wrap:wrap;gap:.25rem .75rem;align-items:center;margin:.5rem 0}
.search input{flex:1 1 12rem;min-width:0;font:inherit;padding:.4rem .6rem;
border:1px solid #8a8578;border-radius:.4rem;background:#fff}
.shown{margin:0;color:#4d4a42;font-size:.9rem;min-height:1.35em}
.legend{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;padding:0;margin:.5rem 0;
font-size:.9rem}
.legend li{display:flex;align-items:center;gap:.35rem}
.swatch{display:inline-block;width:1rem;height:1rem;border-radius:.2rem;
border:1px solid #0003}
.decision{background:#fff;border:1px solid #ddd8ce;border-left:.4rem solid #8a8578;
border-radius:.5rem;padding:1rem;margin:1rem 0}
.decision.passed{border-left-color:#2e7d32}
.decision.blocked{border-left-color:#c62828}
.decision.no_quorum{border-left-color:#b26a00}
.decision.withdrawn{border-left-color:#78909c}
.quote{margin:.25rem 0 .75rem;padding:.25rem .75rem;border-left:3px solid #d8d4cc;
white-space:pre-wrap}
.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.1rem .75rem;
margin:.5rem 0;font-size:.95rem}
.facts dt{font-weight:600;color:#4d4a42}
.facts dd{margin:0}
.sides{display:grid;gap:.75rem;margin:.75rem 0}
.side-head{display:flex;flex-wrap:wrap;justify-content:space-between;gap:0 .75rem;
font-weight:600}
.verdict{font-weight:400}
.verdict.yes{color:#1b5e20}
.verdict.no{color:#8e1c1c}
.bar{display:flex;width:100%;height:1.25rem;border-radius:.3rem;overflow:hidden;
border:1px solid #8a8578;background:#fff}
.seg{display:block;height:100%}
.seg+.seg{border-left:1px solid #fff}
.consent{background:#2e7d32}
.concern{background:#9ccc65}
.aside{background:#90a4ae}
.object{background:#c62828}
.waiting{background:repeating-linear-gradient(45deg,#fff 0 4px,#d8d4cc 4px 8px)}
.names{margin:.25rem 0 0;font-size:.9rem;color:#33302a}
.statement{background:#f3f7ee;border-radius:.4rem;padding:.5rem .75rem;margin:.75rem 0}
.statement h4{margin-top:0}
.by{margin:0;font-size:.9rem;color:#4d4a42}
details{margin:.5rem 0}
summary{cursor:pointer;font-weight:600}
.history{margin:.25rem 0;padding-left:1.25rem;font-size:.9rem}
.history li{margin:.15rem 0}
.history time{color:#4d4a42}
.muted{color:#4d4a42}
.visually-hidden{position:absolute;width:1px;height:1px;margin:-1px;padding:0;
overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
@media (max-width:30rem){.facts{grid-template-columns:minmax(0,1fr)}.facts dd{margin-bottom:.3rem}}
@media print{.search,.shown{display:none}details>*{display:block}}
"""

# The search box: shown only when this runs, so without scripts the page has none and
# every decision stays visible. Words come from the box or from `#q=...` in the address.
SCRIPT = """
(function () {
  var form = document.getElementById("search");
  var box = document.getElementById("q");
  var said = document.getElementById("shown");
  if (!form || !box || !said || !"".normalize) { return; }
  var items = Array.prototype.slice.call(document.querySelectorAll("article.decision"));
  var circles = Array.prototype.slice.call(document.querySelectorAll("section.circle"));
  function fold(text) {
    return text.normalize("NFD").replace(/[\\u0300-\\u036f]/g, "").toLowerCase();
  }
  function apply() {
    var words = fold(box.value).split(/\\s+/).filter(Boolean);
    var shown = 0;
    items.forEach(function (item) {
      var text = item.getAttribute("data-search") || "";
      var match = words.every(function (word) { return text.indexOf(word) !== -1; });
      item.hidden = !match;
      if (match) { shown += 1; }
    });
    circles.forEach(function (circle) {
      var inside = circle.querySelectorAll("article.decision");
      var open = circle.querySelectorAll("article.decision:not([hidden])");
      circle.hidden = words.length > 0 && inside.length > 0 && open.length === 0;
    });
    if (!words.length) { said.textContent = ""; }
    else if (!shown) { said.textContent = said.getAttribute("data-none"); }
    else {
      said.textContent = said.getAttribute("data-some")
        .replace("{shown}", String(shown)).replace("{total}", String(items.length));
    }
  }
  function fromAddress() {
    var found = /(?:^#|&)q=([^&]*)/.exec(window.location.hash);
    if (!found) { return; }
    try { box.value = decodeURIComponent(found[1].replace(/\\+/g, " ")); }
    catch (error) { box.value = found[1]; }
  }
  form.hidden = false;
  fromAddress();
  apply();
  box.addEventListener("input", function () {
    try {
      var here = window.location.pathname + window.location.search;
      var there = box.value ? "#q=" + encodeURIComponent(box.value) : here;
      window.history.replaceState(null, "", there);
    } catch (error) { /* a page opened from a file may refuse it: the filter still works */ }
    apply();
  });
  window.addEventListener("hashchange", function () { fromAddress(); apply(); });
  form.addEventListener("submit", function (event) { event.preventDefault(); apply(); });
})();
"""


# --------------------------------------------------------------------------- parts


def _time(moment: datetime, timezone: str, lang: Lang) -> str:
    return f'<time datetime="{e(iso(moment))}">{e(lang.when(moment, timezone))}</time>'


def _quote(text: str, css: str = "quote") -> str:
    return f'<blockquote class="{css}">{e(text.strip())}</blockquote>'


def _names(d: Decision, names: Sequence[str], lang: Lang) -> str:
    return d.shown_names(names, lang, e)


def _side(d: Decision, side: SideTally, lang: Lang) -> str:
    labels = _labels(lang)
    total = max(len(side.leaders), 1)
    segments = _segments(side)
    bars = "".join(
        f'<span class="seg {seg.css}" style="width:{100 * len(seg.names) / total:.4g}%"'
        f' title="{e(labels[seg.css])}: {len(seg.names)}"></span>'
        for seg in segments
        if seg.names
    )
    counts = {seg.css: len(seg.names) for seg in segments}
    verdict = lang._("consented") if side.consents else lang._("did not consent")
    spoken = lang.n_(
        "{side}: {n} leader; consent: {consent}, concern: {concern}, stand aside: "
        "{stand_aside}, object: {object}, not answered: {waiting}; the side {verdict}.",
        "{side}: {n} leaders; consent: {consent}, concern: {concern}, stand aside: "
        "{stand_aside}, object: {object}, not answered: {waiting}; the side {verdict}.",
        len(side.leaders),
        side=side.side,
        consent=counts["consent"],
        concern=counts["concern"],
        stand_aside=counts["aside"],
        object=counts["object"],
        waiting=counts["waiting"],
        verdict=verdict,
    )
    listed = " · ".join(
        f"{e(labels[seg.css])}: {_names(d, seg.names, lang)}" for seg in segments if seg.names
    )
    answered = lang._(
        "{responded} of {leaders} answered",
        responded=side.responded,
        leaders=len(side.leaders),
    )
    mark = "✓" if side.consents else "✗"
    css = "yes" if side.consents else "no"
    return (
        '<div class="side">'
        f'<div class="side-head"><span>{e(side.side)}</span>'
        f'<span class="verdict {css}"><span aria-hidden="true">{mark}</span> {e(verdict)}'
        f" · {e(answered)}</span></div>"
        f'<div class="bar" role="img" aria-label="{e(spoken)}">{bars}</div>'
        f'<p class="names">{listed}</p>'
        "</div>"
    )


def legend(lang: Lang) -> str:
    items = "".join(
        f'<li><span class="swatch {css}" aria-hidden="true"></span>{e(label)}</li>'
        for css, label in _labels(lang).items()
    )
    label = lang._("Legend of the tally bars")  # marked outside the f-string: extracted
    return f'<ul class="legend" aria-label="{e(label)}">{items}</ul>'


def _facts(d: Decision, lang: Lang) -> str:
    p, tz = d.proposal, d.timezone
    rows: list[tuple[str, str]] = [(lang._("Author"), e(p.author))]
    if p.cosponsor:
        rows.append((lang._("Co-sponsor"), e(p.cosponsor)))
    rows.append((lang._("Opened"), _time(p.created_at, tz, lang)))
    rows.append((lang._("Deadline"), _time(p.deadline, tz, lang)))
    if p.decided_at is not None:
        rows.append((lang._("Decided"), _time(p.decided_at, tz, lang)))
    if d.closed_by:
        rows.append((lang._("Closed early by"), e(d.closed_by)))
    if d.withdrawn_by:
        rows.append((lang._("Withdrawn by"), e(d.withdrawn_by)))
    rows.append((lang._("Tally"), e(_tally_text(d))))
    if d.proxied:
        rows.append((lang._("Answered by a proxy"), _names(d, sorted(d.proxied), lang)))
    if voices := d.voices:
        rows.append(
            (
                lang._("Voices (no vote)"),
                ", ".join(f"{e(n)} ({e(stance_label(s, lang))})" for n, s in voices.items()),
            )
        )
    if p.review:
        when = _time(p.review_at, tz, lang) if p.review_at else e(lang._("not scheduled"))
        rows.append((lang._("Review"), f"{e(p.review)} ({when})"))
    if p.review_of is not None:
        rows.append(
            (lang._("Reviews decision"), f'<a href="#decision-{p.review_of}">#{p.review_of}</a>')
        )
    body = "".join(f"<dt>{e(term)}</dt><dd>{value}</dd>" for term, value in rows)
    return f'<dl class="facts">{body}</dl>'


def _tally_text(d: Decision) -> str:
    return tally_line(side_lines(d.result))


def _statement(d: Decision, lang: Lang) -> str:
    parts: list[str] = []
    if d.statement:
        heading = lang._("Outcome statement")
        parts.append(f"<h4>{e(heading)}</h4>")
        if (latest := d.latest_statement) is not None:
            parts.append(
                '<p class="by">'
                + lang._(
                    "{name}, {when}", name=e(latest.by), when=_time(latest.at, d.timezone, lang)
                )
                + "</p>"
            )
        parts.append(_quote(d.statement))
    if earlier := d.earlier_statements:
        items = "".join(
            "<li>"
            + lang._("{name}, {when}", name=e(version.by), when=_time(version.at, d.timezone, lang))
            + _quote(version.text)
            + "</li>"
            for version in reversed(earlier)
        )
        summary = lang.n_(
            "Earlier version of the outcome statement ({n})",
            "Earlier versions of the outcome statement ({n})",
            len(earlier),
        )
        parts.append(f"<details><summary>{e(summary)}</summary><ol>{items}</ol></details>")
    if not parts:
        return ""
    return f'<section class="statement">{"".join(parts)}</section>'


# --------------------------------------------------------------------------- history


def _emoji(row: dict[str, Any]) -> str:
    emoji = str(row["emoji"] or "")
    return UNICODE_BY_NAME.get(emoji, emoji)


def _stance_of(mark: str, emoji: str, emoji_map: dict[str, str]) -> Stance | None:
    value = emoji if mark == MarkKind.STANCE else emoji_map.get(emoji)
    return Stance(value) if value in set(Stance) else None


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def describe(row: dict[str, Any], lang: Lang, emoji_map: dict[str, str], timezone: str) -> str:
    """One history row in words, HTML-escaped; times in `timezone`."""
    kind = row["kind"]
    detail: dict[str, Any] = row["detail"] or {}
    actor = e(row["actor"])
    member = e(row["member"] or row["actor"])
    if kind == "propose":
        return lang._("{name} proposed it.", name=actor)
    if kind == "round":
        leaders = detail.get("leaders") or {}
        listed = " · ".join(f"{e(side)}: {e(', '.join(names))}" for side, names in leaders.items())
        return lang._(
            "Round {round} opened; its leaders: {leaders}.", round=row["round"], leaders=listed
        )
    if kind == "amend":
        return lang._("{name} amended it.", name=actor) + _quote(str(detail.get("text", "")))
    if kind == "withdraw":
        return lang._("{name} withdrew it.", name=actor)
    if kind == "cosponsor":
        return lang._("{name} co-sponsored it.", name=actor)
    if kind == "close":
        return lang._("{name} closed it before its deadline.", name=actor)
    if kind == "outcome":
        status = str(detail.get("status", ""))
        label = status_label(Status(status), lang) if status in set(Status) else status
        if detail.get("closed_by"):
            return lang._(
                "Outcome: {status} (closed by {name}).",
                status=e(label),
                name=e(detail["closed_by"]),
            )
        return lang._("Outcome: {status}.", status=e(label))
    if kind == "statement":
        text = str(detail.get("text", ""))
        return lang._("{name} wrote the outcome statement.", name=actor) + _quote(text)
    if kind == "proxy":
        return lang._(
            "{proxy} answers for {name} in this round.",
            proxy=e(detail.get("proxy", "")),
            name=member,
        )
    if kind == "away":
        until = detail.get("until")
        when = _time(_moment(str(until)), timezone, lang) if until else ""
        if detail.get("proxy"):
            return lang._(
                "{name} is away until {until}; {proxy} answers for them.",
                name=member,
                until=when,
                proxy=e(detail["proxy"]),
            )
        return lang._("{name} is away until {until}.", name=member, until=when)
    if kind == "back":
        return lang._("{name} is back.", name=member)
    if kind == "reaction":
        emoji, mark = str(row["emoji"] or ""), row["mark"]
        if mark == MarkKind.PROXY:
            return lang._(
                "{proxy} answers for {name} in this round.",
                proxy=e(emoji),
                name=member,
            )
        stance = _stance_of(mark, emoji, emoji_map)
        set_stance = mark == MarkKind.STANCE
        # Inside a sentence a stance's label is lower case (docs/glossary.md).
        label = stance_label(stance, lang).lower() if stance is not None else ""
        shown = e(label) if set_stance and stance else e(_emoji(row))
        if stance is not None and not set_stance:
            shown += f" ({e(label)})"
        text = (
            lang._("{name} answered: {stance}.", name=member, stance=shown)
            if row["added"]
            else lang._("{name} took back their answer: {stance}.", name=member, stance=shown)
        )
        if row["counted"] is False:
            text += " " + e(lang._("(not counted)"))
        if reason := (detail.get("reason") if isinstance(detail, dict) else None):
            text += " " + e(lang._('Reason: "{reason}"', reason=reason))
        return text
    return f"{e(kind)}: {actor}"


def _round_of(row: dict[str, Any], rounds: Sequence[RoundInfo]) -> int:
    """The round a row belongs to: its own, or (a circle-wide row, or the proposal's own
    first row) the one open then."""
    if row["round"]:
        return int(row["round"])
    number = 0
    for info in rounds:
        if info.opened_at <= row["at"]:
            number = info.number
    return number


def _history(d: Decision, lang: Lang) -> str:
    rows = sorted([*d.history, *d.away], key=lambda row: (row["at"], row["id"]))
    by_round: dict[int, list[dict[str, Any]]] = {}
    emoji_maps: dict[int, dict[str, str]] = {}
    for row in rows:
        number = _round_of(row, d.rounds)
        by_round.setdefault(number, []).append(row)
        if row["kind"] == "round":
            emoji_maps[number] = dict(((row["detail"] or {}).get("rules") or {}).get("emoji") or {})
    parts: list[str] = []
    infos = {info.number: info for info in d.rounds}
    for number in sorted(by_round.keys() | infos.keys()):
        if number in infos:
            info = infos[number]
            heading = lang._(
                "Round {round}, opened {when}",
                round=number,
                when=_time(info.opened_at, d.timezone, lang),
            )
            asked = _quote(info.text)
        else:
            heading, asked = e(lang._("Before voting opened")), ""
        items = "".join(
            f"<li>{_time(row['at'], d.timezone, lang)}: "
            f"{describe(row, lang, emoji_maps.get(number, {}), d.timezone)}</li>"
            for row in by_round.get(number, [])
        )
        parts.append(f'<h4>{heading}</h4>{asked}<ol class="history">{items}</ol>')
    summary = e(lang._("Rounds and history"))
    return f"<details><summary>{summary}</summary>{''.join(parts)}</details>"


def _search_text(d: Decision, lang: Lang) -> str:
    p = d.proposal
    words: list[str] = [
        f"#{p.id}",
        d.circle,
        p.text,
        *(info.text for info in d.rounds),
        p.author,
        p.cosponsor or "",
        status_label(d.status, lang),
        d.statement or "",
        *(version.text for version in d.statements),
        *d.stances,
        *d.proxied.values(),
        d.closed_by or "",
    ]
    return " ".join(fold(word) for word in words if word)


def _decision(d: Decision, lang: Lang) -> str:
    p = d.proposal
    heading = d.headline(lang)
    if p.round == 0:
        never = lang._("Voting never opened (it was a draft without a co-sponsor).")
        tally = f'<p class="muted">{e(never)}</p>'
    else:
        tally = (
            f'<div class="sides">{"".join(_side(d, side, lang) for side in d.result.sides)}</div>'
        )
    return (
        f'<article class="decision {e(d.status.value)}" id="decision-{p.id}"'
        f' data-search="{e(_search_text(d, lang))}">'
        f"<h3>{e(heading)}</h3>"
        f"{_quote(p.text)}"
        f"{_statement(d, lang)}"
        f"{tally}"
        f"{_facts(d, lang)}"
        f"{_history(d, lang)}"
        "</article>"
    )


def _circle(
    index: int,
    name: str,
    items: Sequence[Decision],
    lang: Lang,
    report: ZonedReport | None = None,
) -> str:
    parts = [f'<section class="circle" id="circle-{index}">']
    title = lang._("Circle {circle}", circle=name)
    parts.append(f"<h2>{e(title)}</h2>")
    if report is not None:
        parts.append(report_section(index, report, lang, e))
    if not items:
        parts.append(f'<p class="muted">{e(lang._("No decisions yet."))}</p>')
    else:
        intro = lang.n_(
            "{n} decision, oldest first. Times are in {timezone}.",
            "{n} decisions, oldest first. Times are in {timezone}.",
            len(items),
            timezone=items[0].timezone,
        )
        parts.append(f'<p class="muted">{e(intro)}</p>')
        parts += [_decision(d, lang) for d in items]
    parts.append("</section>")
    return "".join(parts)


def _search_form(lang: Lang) -> str:
    some = lang._("{shown} of {total} decisions shown", shown="{shown}", total="{total}")
    search = lang._("Search decisions")
    nothing = lang._("No decision matches these words.")
    return (
        '<form class="search" id="search" role="search" hidden>'
        f'<label for="q">{e(search)}</label>'
        '<input id="q" name="q" type="search" autocomplete="off">'
        "</form>"
        f'<p class="shown" id="shown" role="status" aria-live="polite"'
        f' data-some="{e(some)}" data-none="{e(nothing)}"></p>'
    )


def to_html(
    found: Sequence[Decision],
    circles: Iterable[str],
    language: str = DEFAULT_LANGUAGE,
    reports: Sequence[ZonedReport] = (),
) -> str:
    """The decision log as one page, in `language`; times in each circle's time zone.
    Each circle in `reports` has its own report first, as charts."""
    lang = i18n.lang(language)
    report_of = {zoned.report.circle: zoned for zoned in reports}
    by_circle: dict[str, list[Decision]] = {name: [] for name in circles}
    for d in found:
        by_circle.setdefault(d.circle, []).append(d)
    title = lang._("Decision log")
    body = [
        "<header>",
        f"<h1>{e(title)}</h1>",
        _search_form(lang),
        legend(lang),
        "</header>",
        "<main>",
    ]
    if not by_circle:
        body.append(f'<p class="muted">{e(lang._("No decisions recorded yet."))}</p>')
    body += [
        _circle(i, name, items, lang, report_of.get(name))
        for i, (name, items) in enumerate(by_circle.items(), 1)
    ]
    body.append("</main>")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{e(lang.code)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(title)}</title>\n<style>{CSS}{REPORT_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + f"\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )
