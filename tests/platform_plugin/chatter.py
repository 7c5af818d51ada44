"""A platform that exists only in the tests ("chatter"), registered as a
`circlebot.adapters` entry point by the test that uses it: proof that a new platform is a
plug-in and nothing in bot/ changes.

Its config: a `[chatter]` section (`banner`), a circle's `chatter_room` and a member's
`chatter` handle (`~ana`). People are written `~name` in commands. It reads lines from
stdin (`~ana: propose Adopt it by 2d`, `~ben: react 1 +1`) and prints what the bot
sends, one line each, prefixed with what it is (CARD, UPDATE, POST, PRIVATE)."""

from __future__ import annotations

import asyncio
import itertools
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.config import Config, MemberKeys, PlatformConfig
from bot.config.errors import fail
from bot.config.plugins import Platform
from bot.config.values import join_key, string
from bot.domain.api_calls import ApiCalls
from bot.domain.circle import Channel
from bot.domain.diagnosis import Check, passed
from bot.domain.errors import AppError
from bot.domain.events import CommandEvent, ReactionEvent
from bot.ports.platform import CoreServices, EventSink, Message, PlatformTraits
from bot.text.messages import ProposalCard, Reply
from bot.text.render_text import card_text, message_text

NAME = "chatter"
_HANDLE = re.compile(r"~[a-z]+")
_LINE = re.compile(r"^(?P<who>~[a-z]+): (?P<rest>.*)$")
_REACT = re.compile(r"^react (?P<id>\d+) (?P<emoji>\S+)$")


@dataclass(frozen=True)
class ChatterSettings:
    banner: str


class ChatterConfig(PlatformConfig):
    name = NAME
    title = "Chatter"
    circle_keys = ("chatter_room",)
    member_keys = ("chatter",)
    channel_key = "chatter_room"
    channel_word = "room"

    def read_section(self, section: Mapping[str, Any]) -> ChatterSettings:
        return ChatterSettings(string(section, NAME, "banner", default="chatter") or "")

    def read_channel(self, circle: Mapping[str, Any], where: str) -> Channel | None:
        room = string(circle, where, "chatter_room")
        if room is not None and not room.startswith("#"):
            fail(join_key(where, "chatter_room"), f"{room!r} is not a chatter room (#name)")
        return None if room is None else Channel(room)

    def read_member(self, member: Mapping[str, Any], where: str) -> MemberKeys | None:
        handle = string(member, where, "chatter")
        if handle is None:
            return None
        if not _HANDLE.fullmatch(handle):
            fail(join_key(where, "chatter"), f"{handle!r} is not a chatter handle (~name)")
        return MemberKeys("chatter", handle=handle)


def person_in(token: str) -> str | None:
    return token if _HANDLE.fullmatch(token) else None


class ChatterAdapter:
    platform = NAME
    edit_interval = 0.0
    redelivers = False
    private_replies = False

    def __init__(self, settings: ChatterSettings, room: str) -> None:
        self.settings = settings
        self.room = room
        self._sink: EventSink | None = None
        self._ids = itertools.count(1)

    def say(self, text: str) -> None:
        print(text.replace("\n", " | "), flush=True)

    async def start(self, sink: EventSink, services: CoreServices) -> None:
        self._sink = sink
        self.say(f"BANNER {self.settings.banner}")

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            match = _LINE.match(line.strip())
            if match is None:
                continue
            assert self._sink is not None
            event_id = f"ch-{next(self._ids)}"
            react = _REACT.match(match["rest"])
            if react:
                event: CommandEvent | ReactionEvent = ReactionEvent(
                    NAME,
                    event_id,
                    self.room,
                    match["who"],
                    react["emoji"],
                    added=True,
                    proposal_id=int(react["id"]),
                )
            else:
                event = CommandEvent(NAME, event_id, self.room, match["who"], match["rest"])
            await self._sink(event)
        await asyncio.sleep(1.0)  # what the last line made due goes out before the end

    async def stop(self) -> None:
        return None

    def readiness(self) -> str | None:
        return None

    def api_calls(self) -> ApiCalls:
        return ApiCalls()

    async def set_leading(self, leading: bool) -> None:
        return None

    async def diagnose(self, services: CoreServices) -> list[Check]:
        return [passed("chatter: nothing to check")]

    async def post_card(
        self, channel: str, card: ProposalCard, key: str, since: datetime | None = None
    ) -> str:
        self.say(f"CARD {channel} {card_text(card)}")
        return f"card-{card.proposal_id}"

    async def update_card(
        self, channel: str, message_ref: str, card: ProposalCard, key: str, version: int
    ) -> None:
        self.say(f"UPDATE {channel} {message_ref} {card.status}")

    async def post(
        self,
        channel: str,
        message: Message,
        thread_ref: str | None,
        key: str,
        since: datetime | None = None,
    ) -> str | None:
        self.say(f"POST {channel} {thread_ref} {message_text(message)}")
        return key

    async def reply_private(self, channel: str, user: str, reply: Reply) -> None:
        self.say(f"PRIVATE {user} {'ok' if reply.ok else 'refused'} {reply.text}")

    async def read_reactions(
        self, channel: str, message_ref: str
    ) -> list[tuple[str, str, datetime | None]] | None:
        return None


def build_adapter(config: Config, env: Mapping[str, str]) -> ChatterAdapter:
    settings = config.platforms.get(NAME)
    if not isinstance(settings, ChatterSettings):
        raise AppError("[chatter]: the config has no [chatter] table")
    rooms = [c.channels[NAME].id for c in config.circles if NAME in c.channels]
    return ChatterAdapter(settings, rooms[0])


PLATFORM = Platform(
    ChatterConfig(), PlatformTraits(NAME, person_in, title="Chatter"), build_adapter
)
