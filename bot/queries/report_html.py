"""The circle's own report in the HTML decision log: its figures as charts in inline SVG
(no external asset), one chart per figure with a bar per side.

Each chart is an image with a text equivalent: its `<title>` names the figure and its
`<desc>` says every side's value in words (the same words as the report in chat); a
visually hidden table has them all, side by side, for those who read the page as text.
The charts are as wide as the page allows and never wider, so a phone shows them whole."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from babel.numbers import format_decimal, format_percent

from bot.domain.i18n import Lang
from bot.domain.report import CircleReport, Figures, dominance
from bot.text.report import Scale, figure_bars, period, sentence, span

# One colour a side (in the order the circle names them), dark enough for white text
# beside it and told apart without colour too: each bar has its side's name above it.
SIDE_COLOURS = ("#1565c0", "#8e24aa", "#ef6c00", "#00838f", "#ad1457", "#5d4037")
TRACK = "#e6e2da"

# The drawing's own units: as wide as a phone's page, so text keeps its size there.
WIDTH = 300
ROW = 34  # a side's name and value on one line, its bar under them
BAR = 12

CSS = """
.report{background:#fff;border:1px solid #ddd8ce;border-radius:.5rem;padding:1rem;
margin:1rem 0}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,17rem),1fr));
gap:1rem 1.5rem;margin:.75rem 0}
.chart{margin:0;min-width:0}
.chart figcaption{font-weight:600;font-size:.95rem;margin-bottom:.25rem}
.chart svg{display:block;width:100%;height:auto;max-width:26rem;overflow:visible}
.chart text{font:13px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;fill:#1d2125}
.shares{margin:.5rem 0;padding-left:1.25rem}
"""


@dataclass(frozen=True)
class ZonedReport:
    """A circle's report, and the time zone its period is written in."""

    report: CircleReport
    timezone: str


@dataclass(frozen=True)
class ChartRow:
    side: str
    fill: float  # 0 to 1
    short: str  # the value on the chart
    said: str  # the value in words, as in chat


@dataclass(frozen=True)
class Chart:
    title: str
    rows: tuple[ChartRow, ...]


def _percent(part: int, whole: int, lang: Lang) -> str:
    return format_percent(part / whole, locale=lang.locale) if whole else "–"


def _short_values(f: Figures, lang: Lang) -> tuple[str, ...]:
    """What each chart writes beside a side's bar, in the order of figure_bars."""
    per_leader = f.reminders_per_leader
    return (
        format_decimal(f.authored, locale=lang.locale),
        format_decimal(f.objections + f.concerns, locale=lang.locale),
        _percent(f.answered_in_time, f.asked, lang),
        span(f.median_answer_seconds, lang) if f.median_answer_seconds is not None else "–",
        format_decimal(per_leader, "0.0", locale=lang.locale) if per_leader is not None else "–",
        _percent(f.checkin_replies, f.checkin_prompts, lang),
        format_decimal(f.cosponsored_other_side + f.amended_after_other_side, locale=lang.locale),
    )


def charts(report: CircleReport, lang: Lang) -> list[Chart]:
    """One chart per figure of the chat report, a row per side, drawn to the same scale
    as the chat's bars."""
    top = Scale.of(list(report.sides.values()))
    per_side = {
        side: list(zip(figure_bars(f, top, lang), _short_values(f, lang), strict=True))
        for side, f in report.sides.items()
    }
    titles = [bar.label for bar in figure_bars(Figures(), top, lang)]
    return [
        Chart(
            title,
            tuple(
                ChartRow(side, bars[i][0].fill, bars[i][1], bars[i][0].value)
                for side, bars in per_side.items()
            ),
        )
        for i, title in enumerate(titles)
    ]


Escape = Callable[[object], str]


def _svg(chart: Chart, ident: str, e: Escape, lang: Lang) -> str:
    height = ROW * len(chart.rows)
    described = "; ".join(f"{row.side}: {row.said}" for row in chart.rows)
    rows = []
    for n, row in enumerate(chart.rows):
        top = n * ROW
        colour = SIDE_COLOURS[n % len(SIDE_COLOURS)]
        filled = round(max(0.0, min(1.0, row.fill)) * WIDTH, 1)
        rows.append(
            f'<text x="0" y="{top + 14}">{e(row.side)}</text>'
            f'<text x="{WIDTH}" y="{top + 14}" text-anchor="end">{e(row.short)}</text>'
            f'<rect x="0" y="{top + 19}" width="{WIDTH}" height="{BAR}" rx="3"'
            f' fill="{TRACK}"/>'
            f'<rect x="0" y="{top + 19}" width="{filled}" height="{BAR}" rx="3"'
            f' fill="{colour}"/>'
        )
    return (
        f'<svg viewBox="0 0 {WIDTH} {height}" role="img"'
        f' aria-labelledby="{ident}-t {ident}-d" focusable="false">'
        f'<title id="{ident}-t">{e(chart.title)}</title>'
        f'<desc id="{ident}-d">{e(described)}</desc>'
        f'<g aria-hidden="true">{"".join(rows)}</g></svg>'
    )


def _table(found: Sequence[Chart], sides: Sequence[str], caption: str, e: Escape) -> str:
    head = "".join(f'<th scope="col">{e(side)}</th>' for side in sides)
    body = "".join(
        f'<tr><th scope="row">{e(chart.title)}</th>'
        + "".join(f"<td>{e(row.said)}</td>" for row in chart.rows)
        + "</tr>"
        for chart in found
    )
    # Hidden in a box of its own: a table is never narrower than its content, so the
    # box, not the table, is what is clipped to nothing (or the page would scroll).
    return (
        f'<div class="visually-hidden"><table><caption>{e(caption)}</caption>'
        f"<thead><tr><td></td>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def report_section(index: int, zoned: ZonedReport, lang: Lang, e: Escape) -> str:
    """The report of the circle shown `index`th on the page, in `lang`."""
    report = zoned.report
    heading = lang._(
        "The circle's own report, {period}",
        period=period(report.since, report.until, lang, zoned.timezone),
    )
    note = lang._("A mirror, not a score: per side, from the history alone.")
    found = charts(report, lang)
    figures = "".join(
        f'<figure class="chart"><figcaption aria-hidden="true">{e(chart.title)}</figcaption>'
        f"{_svg(chart, f'report-{index}-{n}', e, lang)}</figure>"
        for n, chart in enumerate(found, 1)
    )
    said = [sentence(one, lang) for one in dominance(report)]
    shares = (
        '<ul class="shares">' + "".join(f"<li>{e(text)}</li>" for text in said) + "</ul>"
        if said
        else ""
    )
    caption = lang._("The report's figures, per side")
    return (
        f'<section class="report" id="report-{index}" aria-labelledby="report-{index}-h">'
        f'<h3 id="report-{index}-h">{e(heading)}</h3>'
        f'<p class="muted">{e(note)}</p>'
        f'<div class="charts">{figures}</div>'
        f"{shares}"
        f"{_table(found, list(report.sides), caption, e)}"
        "</section>"
    )
