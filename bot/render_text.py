"""Plain-text renderings of the message model: the console shows these, and other
adapters may use them as the plain fallback of a richer message."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.messages import Notice, Outcome, ProposalCard, Reminder, SideLine, tally_line
from bot.model import Status
from bot.stances import display_emoji


def local_time(moment: datetime, timezone: str) -> str:
    local = moment.astimezone(ZoneInfo(timezone))
    return local.strftime("%a %d %b %Y %H:%M ") + (local.tzname() or timezone)


def legend(card: ProposalCard) -> str:
    return "  ".join(
        f"{' '.join(display_emoji(e) for e in emojis)} {stance.label.lower()}"
        for stance, emojis in card.legend
    )


def card_text(card: ProposalCard) -> str:
    lines = [f"── {card.title} · {card.status.value.replace('_', ' ')} ──", card.text, ""]
    if card.status is Status.DRAFT:
        lines.append("Draft: needs a co-sponsor from another side (🤝) before voting opens.")
    elif card.status is Status.OPEN:
        lines.append(f"Round {card.round} · answer by {local_time(card.deadline, card.timezone)}")
        lines.append(legend(card))
    elif card.decided_at is not None:
        lines.append(f"Closed {local_time(card.decided_at, card.timezone)} (round {card.round})")
    lines.append("Tally: " + tally_line(card.sides))
    waiting = [name for side in card.sides for name in side.waiting]
    if waiting and card.status is Status.OPEN:
        lines.append("Waiting on: " + ", ".join(waiting))
    if card.voices:
        lines.append(
            "Voices: "
            + ", ".join(f"{name} ({stance.label.lower()})" for name, stance in card.voices)
        )
    if card.cosponsor:
        lines.append(f"Co-sponsored by {card.cosponsor}")
    if card.review_at is not None:
        lines.append(f"Review on {local_time(card.review_at, card.timezone)}")
    return "\n".join(lines)


def _names(label: str, names: tuple[str, ...]) -> str:
    return f"{label}: {', '.join(names)}" if names else ""


def outcome_text(outcome: Outcome) -> str:
    lines = [outcome.headline + f" (round {outcome.round})", tally_line(outcome.sides)]
    lines += [
        _names("Objected", outcome.objectors),
        _names("Stood aside", outcome.standing_aside),
        _names("Consented with a concern", outcome.concerns),
        outcome.note,
    ]
    return "\n".join(line for line in lines if line)


def side_detail(line: SideLine) -> str:
    parts = [f"{line.consenting}/{line.leaders} consent", f"{line.responded} answered"]
    if line.objecting:
        parts.append("objecting: " + ", ".join(line.objecting))
    if line.standing_aside:
        parts.append("standing aside: " + ", ".join(line.standing_aside))
    if line.concerns:
        parts.append("concerns: " + ", ".join(line.concerns))
    if line.waiting:
        parts.append("waiting on: " + ", ".join(line.waiting))
    return f"{line.side} {line.mark}  " + "; ".join(parts)


def notice_text(notice: Notice) -> str:
    return notice.plain()


def reminder_text(reminder: Reminder) -> str:
    """The thread's line: which sides are incomplete, and (as plain names) who."""
    late = " (late: the bot was offline when it was due)" if reminder.late else ""
    names = ", ".join(f"@{person.member}" for person in reminder.waiting)
    return (
        f"⏰ Proposal #{reminder.proposal_id} closes "
        f"{local_time(reminder.deadline, reminder.timezone)}. {reminder.incomplete()}: "
        f"{names}{late}"
    )


def reminder_direct_text(reminder: Reminder) -> str:
    """What one waiting person is sent directly."""
    return (
        f"⏰ Proposal #{reminder.proposal_id} closes "
        f"{local_time(reminder.deadline, reminder.timezone)} and your answer is missing: "
        f"{reminder.text}"
    )


def message_text(message: Notice | Outcome | Reminder) -> str:
    if isinstance(message, Outcome):
        return outcome_text(message)
    if isinstance(message, Reminder):
        return reminder_text(message)
    return notice_text(message)
