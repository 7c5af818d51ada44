"""Plain-text renderings of the message model: the console shows these, and other
adapters may use them as the plain fallback of a richer message.

Each is in its reader's language and time zone: a card, an outcome and a reminder's
thread line in the circle's (the message's `reader`), a reminder's direct text in the
person's (their `Mention.reader`)."""

from __future__ import annotations

from bot.domain.i18n import Lang, of
from bot.domain.model import Stance, Status
from bot.domain.stances import display_emoji
from bot.text.messages import (
    Mention,
    Notice,
    Outcome,
    ProposalCard,
    Reminder,
    SideLine,
    by_proxy,
    card_title,
    headline_in_round,
    outcome_headline,
    reasons_line,
    stance_label,
    status_label,
    tally_line,
)
from bot.text.report import ReportMessage, report_text


def legend(card: ProposalCard) -> str:
    """`👍 ✅ consent  🤔 consent with a concern  …`, in the card's language."""
    lang = of(card.reader)
    return "  ".join(
        f"{' '.join(display_emoji(e) for e in emojis)} {stance_label(stance, lang).lower()}"
        for stance, emojis in card.legend
    )


def voice(name: str, stance: Stance, lang: Lang) -> str:
    """`eve (consent with a concern)`: a member's voice, not counted."""
    return lang._("{name} ({stance})", name=name, stance=stance_label(stance, lang).lower())


def card_text(card: ProposalCard) -> str:
    reader = card.reader
    lang = of(reader)
    state = status_label(card.status, lang)
    lines = [f"── {card_title(card, lang)} · {state} ──", card.text, ""]
    if card.status is Status.DRAFT:
        lines.append(
            lang._("Draft: needs a co-sponsor from another side (🤝) before voting opens.")
        )
    elif card.status is Status.OPEN:
        lines.append(
            lang._(
                "Round {round} · answer by {deadline}",
                round=card.round,
                deadline=lang.when(card.deadline, reader.timezone),
            )
        )
        lines.append(legend(card))
    elif card.decided_at is not None:
        when = lang.when(card.decided_at, reader.timezone)
        lines.append(
            lang._("Closed {when} (round {round})", when=when, round=card.round)
            if card.round
            else lang._("Closed {when}", when=when)  # a draft: voting never opened
        )
    lines.append(lang._("Tally: {tally}", tally=tally_line(card.sides)))
    waiting = [name for side in card.sides for name in side.waiting]
    if waiting and card.status is Status.OPEN:
        lines.append(lang._("Waiting on: {names}", names=", ".join(waiting)))
    if proxied := by_proxy(card.sides, lang):
        lines.append(lang._("By proxy: {names}", names=proxied))
    if card.voices:
        voices = ", ".join(voice(name, stance, lang) for name, stance in card.voices)
        lines.append(lang._("Voices: {voices}", voices=voices))
    if reasons := reasons_line(card.reasons, lang):
        lines.append(reasons)
    if card.closed_by:
        lines.append(lang._("Closed before its deadline by {name}.", name=card.closed_by))
    if card.statement:
        lines.append(lang._("Outcome statement: {text}", text=card.statement))
    if card.cosponsor:
        lines.append(lang._("Co-sponsored by {name}", name=card.cosponsor))
    if card.review_at is not None:
        lines.append(lang._("Review on {when}", when=lang.when(card.review_at, reader.timezone)))
    return "\n".join(lines)


def outcome_text(outcome: Outcome) -> str:
    lang = of(outcome.reader)
    lines = [
        headline_in_round(outcome_headline(outcome, lang), outcome.round, lang),
        tally_line(outcome.sides),
    ]
    lines += outcome.people_lines(lang)
    lines.append(outcome.note)  # written by the core in the circle's language
    return "\n".join(line for line in lines if line)


def side_detail(line: SideLine, lang: Lang) -> str:
    """`vera ✋  0/2 consent; 1 answered; objecting: cy; waiting on: dee`."""
    parts = [
        lang.n_(
            "{n}/{leaders} consent",
            "{n}/{leaders} consent",
            line.consenting,
            leaders=line.leaders,
        ),
        lang.n_("{n} answered", "{n} answered", line.responded),
    ]
    if names := line.objecting:
        parts.append(
            lang.n_(
                "objecting: {names}",
                "objecting: {names}",
                len(names),
                names=line.names(names, lang),
            )
        )
    if names := line.standing_aside:
        parts.append(
            lang.n_(
                "standing aside: {names}",
                "standing aside: {names}",
                len(names),
                names=line.names(names, lang),
            )
        )
    if names := line.concerns:
        parts.append(
            lang.n_(
                "concerns: {names}", "concerns: {names}", len(names), names=line.names(names, lang)
            )
        )
    if names := line.waiting:
        parts.append(
            lang.n_(
                "waiting on: {names}",
                "waiting on: {names}",
                len(names),
                names=line.names(names, lang),
            )
        )
    if proxied := by_proxy([line], lang):
        parts.append(lang._("by proxy: {names}", names=proxied))
    return f"{line.side} {line.mark}  " + "; ".join(parts)


def notice_text(notice: Notice) -> str:
    return notice.plain()


def reminder_text(reminder: Reminder) -> str:
    """The thread's line, in the circle's language: which sides are incomplete, and (as
    plain names) who."""
    reader = reminder.reader
    lang = of(reader)
    late = lang._(" (late: the bot was offline when it was due)") if reminder.late else ""
    return lang._(
        "⏰ Proposal #{number} closes {deadline}. {waiting}: {people}{late}",
        number=reminder.proposal_id,
        deadline=lang.when(reminder.deadline, reader.timezone),
        waiting=reminder.incomplete(lang),
        people=", ".join(f"@{person.member}" for person in reminder.waiting),
        late=late,
    )


def reminder_direct_text(reminder: Reminder, person: Mention) -> str:
    """What one waiting person is sent directly: in their language and time zone."""
    reader = person.reader
    lang = of(reader)
    return lang._(
        "⏰ Proposal #{number} closes {deadline} and your answer is missing: {text}",
        number=reminder.proposal_id,
        deadline=lang.when(reminder.deadline, reader.timezone),
        text=reminder.text,
    )


def message_text(message: Notice | Outcome | Reminder | ReportMessage) -> str:
    if isinstance(message, ReportMessage):
        return report_text(message)
    if isinstance(message, Outcome):
        return outcome_text(message)
    if isinstance(message, Reminder):
        return reminder_text(message)
    return notice_text(message)
