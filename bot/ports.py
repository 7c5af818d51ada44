"""The one small interface every platform adapter implements. The core never imports a
platform SDK; adapters translate platform payloads into bot.events and render
bot.messages in their platform's idiom."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.events import InboundEvent
from bot.messages import Mention, Notice, Outcome, ProposalCard, Reply

EventSink = Callable[[InboundEvent], Awaitable[None]]


class Adapter(Protocol):
    platform: str

    async def start(self, sink: EventSink) -> None:
        """Connect, and hand every inbound event to `sink` from now on."""

    async def run(self) -> None:
        """Serve until stopped (or, for the console, until the input ends)."""

    async def stop(self) -> None: ...

    async def post_card(self, channel: str, card: ProposalCard) -> str:
        """Post a proposal's card; returns its message reference (its thread root)."""

    async def update_card(self, channel: str, message_ref: str, card: ProposalCard) -> None: ...

    async def post(self, channel: str, message: Notice | Outcome, thread_ref: str | None) -> str:
        """Post in the channel, or in the thread of `thread_ref`; returns a reference."""

    async def send_direct(self, to: Mention, message: Notice) -> None: ...

    async def reply_private(self, channel: str, user: str, reply: Reply) -> None:
        """Answer one person's command so that only they see it."""

    async def read_reactions(self, channel: str, message_ref: str) -> list[tuple[str, str]]:
        """(user, emoji) pairs currently on a message, for reconciling."""
