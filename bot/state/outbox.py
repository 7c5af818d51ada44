"""What the core queues to be posted, as typed values, and the keys that make each post
happen once. This module alone builds the keys and owns the JSON form the store keeps
of a post; every other module passes the typed values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.durations import Duration
from bot.text.messages import Notice
from bot.text.report import ReportMessage


@dataclass(frozen=True)
class OutcomePost:
    """A proposal's outcome, rendered from the database when it is sent."""


@dataclass(frozen=True)
class ReminderPost:
    """Who still has to answer, as of sending time."""

    offset: str  # the reminder offset before the deadline ("24h")
    late: bool  # due while the bot was down


@dataclass(frozen=True)
class NoticePost:
    notice: Notice
    # The post whose thread this one goes in (a check-in's prompt); None: the thread of
    # the proposal's card, or the channel.
    in_thread_of: str | None = None


@dataclass(frozen=True)
class ReportPost:
    """The circle's own report, as worded when its time came."""

    message: ReportMessage


Post = OutcomePost | ReminderPost | NoticePost | ReportPost


def encode(post: Post) -> dict[str, Any]:
    """The JSON the store keeps: each kind tagged by its one distinguishing key."""
    match post:
        case OutcomePost():
            return {"outcome": True}
        case ReminderPost(offset=offset, late=late):
            return {"reminder": offset, "late": late}
        case ReportPost(message=message):
            return message.to_json()
        case NoticePost(notice=notice, in_thread_of=None):
            return notice.to_json()
        case NoticePost(notice=notice, in_thread_of=root):
            return {**notice.to_json(), "thread_key": root}


def decode(data: dict[str, Any]) -> Post:
    if data.get("outcome"):
        return OutcomePost()
    if "reminder" in data:
        return ReminderPost(str(data["reminder"]), bool(data.get("late")))
    if "report" in data:
        return ReportPost(ReportMessage.from_json(data))
    root = data.get("thread_key")
    return NoticePost(Notice.from_json(data), root if isinstance(root, str) else None)


# -- keys: unique per post, stable across retries and restarts --------------------------


def on(platform: str, key: str) -> str:
    """The key of one post on one platform."""
    return f"{key}:{platform}"


def card(proposal_id: int, platform: str) -> str:
    return f"card:{proposal_id}:{platform}"


def outcome(proposal_id: int) -> str:
    return f"outcome:{proposal_id}"


def objection(proposal_id: int, round_number: int, member: str) -> str:
    """Once per leader per round: toggling ✋ must not ping the author again and again."""
    return f"objection:{proposal_id}:{round_number}:{member}"


def amended(proposal_id: int, round_number: int) -> str:
    return f"amend:{proposal_id}:{round_number}"


def statement(proposal_id: int, source: str) -> str:
    """An outcome statement, once per command that wrote it (`platform:event_id`)."""
    return f"statement:{proposal_id}:{source}"


def reminder(proposal_id: int, deadline: datetime, offset: Duration) -> str:
    """Once per offset and deadline: a new deadline reminds again."""
    return f"reminder:{proposal_id}:{deadline:%Y%m%dT%H%M%S}:{offset}"


def report(circle: str, fire: datetime) -> str:
    """A circle's scheduled report, once per time its schedule fires."""
    return f"report:{circle}:{fire:%Y%m%dT%H%M%S}"


def checkin_prompt(checkin_id: int) -> str:
    return f"checkin:{checkin_id}"


def checkin_step(step: str, checkin_id: int) -> str:
    """A check-in's nudge or closing summary, in its prompt's thread."""
    return f"checkin-{step}:{checkin_id}"
