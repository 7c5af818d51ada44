"""The circle's own report in words: what a bar per figure says, the plain sentence for
a figure one side holds more than two thirds of, and the typed message the adapters
render (text bars, or blocks where a platform has them). It is a mirror, not a
score: the circle's report is per side, a person's own figures go to them alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_timedelta

from bot.domain.i18n import Lang
from bot.domain.report import CircleReport, Dominance, Figures, dominance

BAR_WIDTH = 10


@dataclass(frozen=True)
class ReportBar:
    """One figure: its name, how full its bar is (0 to 1) and what it says in words."""

    label: str
    fill: float
    value: str


@dataclass(frozen=True)
class ReportSide:
    side: str
    bars: tuple[ReportBar, ...]


@dataclass(frozen=True)
class ReportMessage:
    """The report as said to people; `sides` has one entry (`me`) for a person's own."""

    title: str
    sides: tuple[ReportSide, ...]
    sentences: tuple[str, ...] = ()
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "report": {
                "title": self.title,
                "sides": [
                    {"side": s.side, "bars": [[b.label, b.fill, b.value] for b in s.bars]}
                    for s in self.sides
                ],
                "sentences": list(self.sentences),
                "note": self.note,
            }
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReportMessage:
        body = data["report"]
        return cls(
            str(body["title"]),
            tuple(
                ReportSide(
                    str(s["side"]),
                    tuple(ReportBar(str(b[0]), float(b[1]), str(b[2])) for b in s["bars"]),
                )
                for s in body["sides"]
            ),
            tuple(str(text) for text in body["sentences"]),
            str(body.get("note", "")),
        )


def text_bar(fill: float, width: int = BAR_WIDTH) -> str:
    """`██████░░░░` for 0.6."""
    full = round(max(0.0, min(1.0, fill)) * width)
    return "█" * full + "░" * (width - full)


def report_text(message: ReportMessage) -> str:
    """Plain text with a bar per figure (the console; a platform's plain body or fallback)."""
    lines = [message.title]
    for side in message.sides:
        lines += ["", side.side]
        width = max((len(bar.label) for bar in side.bars), default=0)
        lines += [
            f"  {bar.label.ljust(width)}  {text_bar(bar.fill)}  {bar.value}" for bar in side.bars
        ]
    if message.sentences:
        lines += ["", *message.sentences]
    if message.note:
        lines += ["", message.note]
    return "\n".join(lines)


def period(since: datetime, until: datetime, lang: Lang, timezone: str) -> str:
    zone = ZoneInfo(timezone)
    first = format_date(since.astimezone(zone).date(), "medium", locale=lang.locale)
    last = format_date(until.astimezone(zone).date(), "medium", locale=lang.locale)
    return f"{first} – {last}"


def span(seconds: int, lang: Lang) -> str:
    """`5 hours`, `2 days`, as the language says it."""
    return format_timedelta(
        timedelta(seconds=seconds), threshold=2, format="long", locale=lang.locale
    )


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def figure_bars(
    figures: Figures, top: Scale, lang: Lang, own: bool = False
) -> tuple[ReportBar, ...]:
    """A bar per figure; counts are drawn against `top`, shares against their whole."""
    f = figures
    outcomes = lang._(
        "{passed} passed, {blocked} blocked, {no_quorum} without quorum or consent, "
        "{withdrawn} withdrawn",
        passed=f.passed,
        blocked=f.blocked,
        no_quorum=f.no_quorum,
        withdrawn=f.withdrawn,
    )
    in_time = (
        lang._(
            "{answered} of {asked} ({percent}%)",
            answered=f.answered_in_time,
            asked=f.asked,
            percent=round(100 * f.answered_in_time / f.asked),
        )
        if f.asked
        else lang._("nobody asked yet")
    )
    median = (
        lang._("median {span}", span=span(f.median_answer_seconds, lang))
        if f.median_answer_seconds is not None
        else lang._("no answers yet")
    )
    per_leader = f.reminders_per_leader
    reminders = (
        lang._("{per_leader} per leader asked", per_leader=f"{per_leader:.1f}")
        if per_leader is not None and not own
        else lang.n_("{n} reminder", "{n} reminders", f.reminders)
    )
    facilitation = lang.n_(
        "{facilitated} facilitated; {replies} of {prompts} check-in answered",
        "{facilitated} facilitated; {replies} of {prompts} check-ins answered",
        f.checkin_prompts,
        facilitated=f.facilitated,
        replies=f.checkin_replies,
        prompts=f.checkin_prompts,
    )
    across = lang._(
        "{cosponsored} co-sponsored for another side; {amended} amended after another "
        "side's objection or concern",
        cosponsored=f.cosponsored_other_side,
        amended=f.amended_after_other_side,
    )
    return (
        ReportBar(
            lang._("Proposals authored"),
            _share(f.authored, top.authored),
            f"{f.authored} ({outcomes})",
        ),
        ReportBar(
            lang._("Objections, concerns"),
            _share(f.objections + f.concerns, top.raised),
            lang.n_(
                "{n} objection ({amended} led to an amendment)",
                "{n} objections ({amended} led to an amendment)",
                f.objections,
                amended=f.objections_then_amended,
            )
            + ", "
            + lang.n_("{n} concern", "{n} concerns", f.concerns),
        ),
        ReportBar(lang._("Answered in time"), _share(f.answered_in_time, f.asked), in_time),
        ReportBar(
            lang._("Time to answer"),
            (f.median_answer_seconds or 0) / top.median if top.median else 0.0,
            median,
        ),
        ReportBar(
            lang._("Reminders needed"),
            (per_leader or 0.0) / top.reminders_per_leader if top.reminders_per_leader else 0.0,
            reminders,
        ),
        ReportBar(
            lang._("Facilitation"), _share(f.checkin_replies, f.checkin_prompts), facilitation
        ),
        ReportBar(
            lang._("Across sides"),
            _share(
                f.cosponsored_other_side + f.amended_after_other_side,
                top.across,
            ),
            across,
        ),
    )


@dataclass(frozen=True)
class Scale:
    """The largest value of each counted figure among the sides: what a full bar is."""

    authored: int = 0
    raised: int = 0  # objections and concerns
    median: int = 0
    reminders_per_leader: float = 0.0
    across: int = 0

    @classmethod
    def of(cls, sides: Sequence[Figures]) -> Scale:
        return cls(
            authored=max((f.authored for f in sides), default=0),
            raised=max((f.objections + f.concerns for f in sides), default=0),
            median=max((f.median_answer_seconds or 0 for f in sides), default=0),
            reminders_per_leader=max((f.reminders_per_leader or 0.0 for f in sides), default=0.0),
            across=max(
                (f.cosponsored_other_side + f.amended_after_other_side for f in sides), default=0
            ),
        )


def sentence(found: Dominance, lang: Lang) -> str:
    """`milpa authored 8 of 10 proposals.` (the noun agrees with the total: `1 of 1
    proposal`)."""
    values = {"side": found.side, "value": found.value, "total": found.total}
    total = found.total
    match found.figure:
        case "authored":
            return lang.n_(
                "{side} authored {value} of {total} proposal.",
                "{side} authored {value} of {total} proposals.",
                total,
                **values,
            )
        case "objections":
            return lang.n_(
                "{side} raised {value} of {total} objection.",
                "{side} raised {value} of {total} objections.",
                total,
                **values,
            )
        case "concerns":
            return lang.n_(
                "{side} raised {value} of {total} concern.",
                "{side} raised {value} of {total} concerns.",
                total,
                **values,
            )
        case "facilitated":
            return lang.n_(
                "{side} facilitated {value} of {total} check-in.",
                "{side} facilitated {value} of {total} check-ins.",
                total,
                **values,
            )
        case "checkin_replies":
            return lang.n_(
                "{side} gave {value} of {total} check-in reply.",
                "{side} gave {value} of {total} check-in replies.",
                total,
                **values,
            )
        case "cosponsored_other_side":
            return lang.n_(
                "{side} gave {value} of {total} co-sponsorship across sides.",
                "{side} gave {value} of {total} co-sponsorships across sides.",
                total,
                **values,
            )
        case _:
            return lang.n_(
                "{side} made {value} of {total} amendment after another side's "
                "objection or concern.",
                "{side} made {value} of {total} amendments after another side's "
                "objection or concern.",
                total,
                **values,
            )


def report_message(report: CircleReport, lang: Lang, timezone: str) -> ReportMessage:
    """The circle's report, per side, in `lang`, its dates in `timezone`."""
    sides = list(report.sides.values())
    top = Scale.of(sides)
    return ReportMessage(
        title=lang._(
            "📊 Circle report: {circle}, {period}",
            circle=report.circle,
            period=period(report.since, report.until, lang, timezone),
        ),
        sides=tuple(
            ReportSide(side, figure_bars(figures, top, lang))
            for side, figures in report.sides.items()
        ),
        sentences=tuple(sentence(found, lang) for found in dominance(report)),
        note=lang._("A mirror, not a score: per side, from the history alone."),
    )


def own_message(
    name: str, figures: Figures, since: datetime, until: datetime, lang: Lang, timezone: str
) -> ReportMessage:
    """A person's own figures, for them alone."""
    top = Scale.of([figures])
    return ReportMessage(
        title=lang._(
            "📊 Your own figures, {period} (only you see this)",
            period=period(since, until, lang, timezone),
        ),
        sides=(ReportSide(name, figure_bars(figures, top, lang, own=True)),),
    )
