"""One command being carried out, as every command handler takes it: the circle, who
asked and how they read, when, the event it came in; and, for a command that changes
something, the person as a member and the transaction its effects are written in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.circle import CircleSpec
from bot.domain.events import CommandEvent
from bot.domain.i18n import Lang, Reader, of
from bot.domain.model import Member
from bot.ports.store import UnitOfWork
from bot.state.context import Context


@dataclass(frozen=True)
class Call:
    ctx: Context
    spec: CircleSpec
    reader: Reader  # the person who typed it: the answer is in their words
    now: datetime
    event: CommandEvent
    member: Member | None  # None: not a member of the circle
    tx: UnitOfWork | None = None  # a command that changes something: its transaction

    @property
    def say(self) -> Lang:
        return of(self.reader)

    @property
    def actor(self) -> Member:
        """The member who asked; a command that changes something has one (the core
        refused the others before opening its transaction)."""
        if self.member is None:
            raise RuntimeError("a command that changes something needs a member")
        return self.member

    @property
    def unit(self) -> UnitOfWork:
        """The command's transaction."""
        if self.tx is None:
            raise RuntimeError("a read-only command has no transaction")
        return self.tx
