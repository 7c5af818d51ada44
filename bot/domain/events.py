"""Inbound events, as adapters hand them to the core. Each carries its source
(platform, event_id): the core applies an event at most once.

`workspace`: the workspace the event came from when the app serves
several (one app installed in many); the core applies it only to circles of that workspace
(bot.state.directory). None: the platform has one workspace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.intents import Command
from bot.domain.model import Stance


@dataclass(frozen=True)
class CommandEvent:
    platform: str
    event_id: str
    channel: str  # platform channel/room id; the circle's name on the console
    user: str  # platform user id; the member's name on the console
    text: str  # without the leading "/" or prefix; what the person sees was asked
    at: datetime | None = None
    workspace: str | None = None
    # What a form or a button asked for, already typed: the core does not parse `text`.
    intent: Command | None = None


@dataclass(frozen=True)
class ReactionEvent:
    platform: str
    event_id: str
    channel: str
    user: str
    emoji: str  # as the platform names it: "+1::skin-tone-3", "👍🏽"
    added: bool  # False: the reaction was removed
    message_ref: str | None = None  # the card it was put on
    proposal_id: int | None = None  # when the platform addresses proposals directly
    at: datetime | None = None
    # A removal that names the reaction event it removes (a redaction); then
    # `emoji` and `message_ref` are not needed.
    removes: str | None = None
    workspace: str | None = None
    # A button of ours (stance buttons): the stance it sets (`emoji` is not
    # read). A reaction never sets a stance of ours, whatever its text.
    stance: Stance | None = None

    def __post_init__(self) -> None:
        if self.stance is not None:  # read back from the inbox as its value
            object.__setattr__(self, "stance", Stance(self.stance))


@dataclass(frozen=True)
class ThreadReplyEvent:
    """Someone wrote in a thread the bot started (a check-in's replies)."""

    platform: str
    event_id: str
    channel: str
    user: str
    thread_ref: str  # the message that started the thread
    at: datetime | None = None
    workspace: str | None = None


InboundEvent = CommandEvent | ReactionEvent | ThreadReplyEvent
