"""Replies to the read-only commands: proposals, status, decisions, circle.

Each answer is for the person who asked: in their language and time zone (`reader`;
`spec.reader_of(member)`). Without one, the circle's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from fractions import Fraction
from typing import TYPE_CHECKING

from babel.numbers import format_percent

from bot.domain.circle_schedules import checkins_schedule, next_fire
from bot.domain.i18n import Lang, Reader, of
from bot.domain.model import Proposal, Status
from bot.domain.search import matches
from bot.queries.facilitation import upcoming_facilitator
from bot.queries.posts import reasons_in
from bot.state.context import Context
from bot.text.messages import reasons_line, role_label, side_lines, status_label, tally_line
from bot.text.render_text import side_detail, voice

if TYPE_CHECKING:
    from bot.domain.circle import CircleSpec

_SNIPPET = 80


def quorum_words(quorum: Fraction, lang: Lang) -> str:
    """The quorum rule in words: a fraction of each side's leaders who must answer."""
    if quorum >= 1:
        return lang._("every leader of each side answers")
    share = format_percent(float(quorum), "#,##0.#%", locale=lang.locale)  # 50%, 50 %
    return lang._("at least {share} of each side's leaders answer", share=share)


def snippet(text: str) -> str:
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= _SNIPPET and first == text else first[: _SNIPPET - 1] + "…"


def open_proposals(ctx: Context, spec: CircleSpec, reader: Reader | None = None) -> str:
    reader = reader or spec.reader
    lang = of(reader)
    with ctx.store.transaction() as tx:
        found = tx.proposals(
            ctx.directory.circle_id(spec.name), statuses=[Status.OPEN.value, Status.DRAFT.value]
        )
        states = [ctx.rounds.state(tx, p) for p in found]
    if not states:
        return lang._("No open proposals. Open one with `propose TEXT [by WHEN]`.")
    lines = [lang._("Open proposals in {circle}:", circle=spec.name)]
    for state in states:
        p = state.proposal
        until = (
            status_label(Status.DRAFT, lang)
            if p.status == Status.DRAFT
            else lang._("until {when}", when=lang.when(p.deadline, reader.timezone))
        )
        lines.append(
            f"#{p.id} {snippet(p.text)} — {tally_line(side_lines(state.result))} — {until}"
        )
    return "\n".join(lines)


def status(ctx: Context, spec: CircleSpec, proposal: Proposal, reader: Reader | None = None) -> str:
    reader = reader or spec.reader
    lang, zone = of(reader), reader.timezone
    state = ctx.rounds.load(ctx.store, proposal.id)
    p = state.proposal
    with ctx.store.transaction() as tx:
        reasons = reasons_in(tx, p, state.stances)
    heading = {"number": p.id, "author": p.author, "status": status_label(p.status, lang)}
    lines = [
        lang._("#{number} by {author} · {status} · round {round}", **heading, round=p.round)
        if p.round
        else lang._("#{number} by {author} · {status}", **heading),  # voting never opened
        p.text,
        lang._("Deadline: {when}", when=lang.when(p.deadline, zone)),
    ]
    if p.decided_at:
        lines.append(lang._("Decided: {when}", when=lang.when(p.decided_at, zone)))
    if p.review:
        when = lang.when(p.review_at, zone) if p.review_at else p.review
        lines.append(lang._("Review: {when}", when=when))
    if p.closed_by:
        lines.append(lang._("Closed before its deadline by {name}.", name=p.closed_by))
    lines += [side_detail(line, lang) for line in side_lines(state.result, state.proxied)]
    if said := reasons_line(reasons, lang):
        lines.append(said)
    if p.statement:
        lines.append(lang._("Outcome statement: {text}", text=p.statement))
    leaders = {n for names in state.leaders.values() for n in names}
    voices = [voice(n, s, lang) for n, s in sorted(state.stances.items()) if n not in leaders]
    if voices:
        lines.append(lang._("Voices (not counted): {voices}", voices=", ".join(voices)))
    return "\n".join(lines)


def decisions(
    ctx: Context,
    spec: CircleSpec,
    count: int,
    reader: Reader | None = None,
    words: Sequence[str] = (),
) -> str:
    """The last `count` closed proposals, newest first; with `words`, only those whose
    text or outcome statement holds every word."""
    reader = reader or spec.reader
    lang = of(reader)
    closed = [s.value for s in Status if s.is_closed]
    circle_id = ctx.directory.circle_id(spec.name)
    with ctx.store.transaction() as tx:
        if words:
            everything = tx.proposals(circle_id, statuses=closed, closed=True)
            found = [p for p in everything if matches(words, (p.text, p.statement))][:count]
        else:
            found = tx.proposals(circle_id, statuses=closed, closed=True, limit=count)
        states = [ctx.rounds.state(tx, p) for p in found]
    if not states and words:
        return lang._('No decisions match "{words}".', words=" ".join(words))
    if not states:
        return lang._("No decisions yet.")
    if words:
        lines = [
            lang.n_(
                'The {n} latest decision in {circle} matching "{words}":',
                'The {n} latest decisions in {circle} matching "{words}":',
                len(states),
                circle=spec.name,
                words=" ".join(words),
            )
        ]
    else:
        lines = [
            lang.n_(
                "Last {n} decision in {circle}:",
                "Last {n} decisions in {circle}:",
                len(states),
                circle=spec.name,
            )
        ]
    for state in states:
        p = state.proposal
        when = lang.when(p.decided_at, reader.timezone) if p.decided_at else "?"
        lines.append(
            f"#{p.id} {status_label(p.status, lang)} {when} — {snippet(p.text)} — "
            f"{tally_line(side_lines(state.result))}"
        )
        if p.statement:
            lines.append("    " + lang._("Outcome statement: {text}", text=snippet(p.statement)))
    return "\n".join(lines)


def circle(ctx: Context, spec: CircleSpec, now: datetime, reader: Reader | None = None) -> str:
    reader = reader or spec.reader
    lang = of(reader)
    members = ctx.directory.members(spec.name)
    rules = spec.rules
    lines = [lang._("Circle {circle} ({timezone})", circle=spec.name, timezone=spec.timezone)]
    for side in spec.sides:
        people = []
        for m in (m for m in members if m.side == side):
            tags = [role_label(m.role, lang)]
            if m.name in spec.admins:
                tags.append(lang._("admin"))
            if m.away_until and m.away_until > now:
                tags.append(
                    lang._("away until {when}", when=lang.when(m.away_until, reader.timezone))
                )
                if m.proxy:
                    tags.append(lang._("{proxy} answers for them", proxy=m.proxy))
            people.append(f"{m.name} ({', '.join(tags)})")
        lines.append(f"{side}: " + ", ".join(people))
    early_close = lang._("early close on") if rules.early_close else lang._("early close off")
    cosponsor = (
        lang._("co-sponsor required")
        if rules.require_cosponsor
        else lang._("co-sponsor not required")
    )
    lines.append(
        lang.n_(
            "Rules: quorum: {quorum}; at least {n} leader consents per side; no objection; "
            "{early_close}; {cosponsor}; default deadline {deadline}; reminders {reminders} "
            "before",
            "Rules: quorum: {quorum}; at least {n} leaders consent per side; no objection; "
            "{early_close}; {cosponsor}; default deadline {deadline}; reminders {reminders} "
            "before",
            rules.min_consent_per_side,
            quorum=quorum_words(rules.quorum, lang),
            early_close=early_close,
            cosponsor=cosponsor,
            deadline=rules.default_deadline,
            reminders=", ".join(str(r) for r in rules.reminders),
        )
    )
    if spec.checkins:
        upcoming = next_fire(checkins_schedule(spec), now)
        with ctx.store.transaction() as tx:
            facilitator = upcoming_facilitator(ctx, tx, spec, now)
        lines.append(
            lang._(
                "Check-ins: {schedule} ({timezone}); next {when}, facilitated by {facilitator}",
                schedule=spec.checkins.schedule,
                timezone=spec.timezone,
                when=lang.when(upcoming, reader.timezone) if upcoming else lang._("never"),
                facilitator=facilitator.name if facilitator else lang._("nobody available"),
            )
        )
    return "\n".join(lines)
