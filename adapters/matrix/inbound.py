"""Matrix timeline events (raw event dicts, as the client-server API gives them) into
the core's inbound events. Pure functions, no I/O."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote

from bot.domain.events import CommandEvent, InboundEvent, ReactionEvent, ThreadReplyEvent

PLATFORM = "matrix"
_MATRIX_TO = re.compile(r"^https://matrix\.to/#/([^/?]+)")
_BLOCKS = {"p", "div", "li", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "tr"}

Event = dict[str, Any]


@dataclass(frozen=True)
class Command:
    """A command as it arrived: the core's event, and where to answer it."""

    event: CommandEvent
    thread_root: str | None  # the thread it was typed in, if any


def when(event: Event) -> datetime | None:
    stamp = event.get("origin_server_ts")
    if not isinstance(stamp, int | float) or isinstance(stamp, bool):
        return None
    return datetime.fromtimestamp(stamp / 1000, UTC)


def _linked_user(href: str) -> str | None:
    """The Matrix user id a matrix.to link points at (percent-encoded or not)."""
    link = _MATRIX_TO.match(href)
    if link is None:
        return None
    target = unquote(link.group(1))
    return target if target.startswith("@") and ":" in target else None


class _CommandText(HTMLParser):
    """The text of an HTML message as typed: user pills back to their Matrix ids (Element
    puts a display name in `body` for a pill), no reply quotes, line breaks kept."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0  # inside <mx-reply>
        self._pill: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "mx-reply":
            self._skip += 1
        elif tag == "br" and not self._skip:
            self.out.append("\n")
        elif tag == "a":
            user = _linked_user(dict(attrs).get("href") or "")
            if user and not self._skip:
                self.out.append(user)
            self._pill.append(bool(user))

    def handle_endtag(self, tag: str) -> None:
        if tag == "mx-reply":
            self._skip = max(0, self._skip - 1)
        elif tag == "a" and self._pill:
            self._pill.pop()
        elif tag in _BLOCKS and not self._skip:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip and not any(self._pill):
            self.out.append(data)


def html_text(formatted: str) -> str:
    parser = _CommandText()
    parser.feed(formatted)
    parser.close()
    return "".join(parser.out).strip()


def _strip_reply_fallback(body: str) -> str:
    """Drop the `> <@someone> …` quote that older clients put before a reply."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> "):
        return body
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    return "\n".join(lines[index:]).strip()


def message_text(content: dict[str, Any]) -> str:
    formatted = content.get("formatted_body")
    if content.get("format") == "org.matrix.custom.html" and isinstance(formatted, str):
        text = html_text(formatted)
        if text:
            return text
    body = content.get("body")
    return _strip_reply_fallback(body).strip() if isinstance(body, str) else ""


def _relation(content: dict[str, Any]) -> dict[str, Any]:
    relation = content.get("m.relates_to")
    return relation if isinstance(relation, dict) else {}


def command(event: Event, room: str, prefix: str, me: str) -> Command | None:
    """A `!command` typed in a room, or None (not a command, an edit, the bot itself)."""
    content = event.get("content")
    sender, event_id = event.get("sender"), event.get("event_id")
    if event.get("type") != "m.room.message" or not isinstance(content, dict):
        return None
    if not isinstance(sender, str) or not isinstance(event_id, str) or sender == me:
        return None
    # Notices are for bots to talk without answering each other; edits don't run twice.
    if content.get("msgtype") != "m.text" or "m.new_content" in content:
        return None
    relation = _relation(content)
    if relation.get("rel_type") == "m.replace":
        return None
    text = message_text(content)
    if not text.startswith(prefix):
        return None
    text = text[len(prefix) :].strip()
    if not text or text[0] in (prefix[:1], " "):
        return None
    root = relation.get("event_id") if relation.get("rel_type") == "m.thread" else None
    return Command(
        CommandEvent(PLATFORM, event_id, room, sender, text, at=when(event)),
        root if isinstance(root, str) else None,
    )


def reaction(event: Event, room: str, me: str) -> ReactionEvent | None:
    """An m.reaction annotation (added), or a redaction (maybe of a reaction: the core
    knows which reactions it recorded)."""
    sender, event_id, kind = event.get("sender"), event.get("event_id"), event.get("type")
    content = event.get("content")
    if not isinstance(sender, str) or not isinstance(event_id, str) or sender == me:
        return None
    if not isinstance(content, dict):
        return None
    if kind == "m.reaction":
        relation = _relation(content)
        key, target = relation.get("key"), relation.get("event_id")
        if relation.get("rel_type") != "m.annotation":
            return None
        if not isinstance(key, str) or not key or not isinstance(target, str):
            return None
        return ReactionEvent(
            platform=PLATFORM,
            event_id=event_id,
            channel=room,
            user=sender,
            emoji=key,
            added=True,
            message_ref=target,
            at=when(event),
        )
    if kind == "m.room.redaction":
        # Room versions up to 10 put `redacts` at the top level, v11 in the content.
        redacts = content.get("redacts") or event.get("redacts")
        if not isinstance(redacts, str):
            return None
        return ReactionEvent(
            platform=PLATFORM,
            event_id=event_id,
            channel=room,
            user=sender,
            emoji="",
            added=False,
            at=when(event),
            removes=redacts,
        )
    return None


def is_own_join(event: Event, me: str) -> bool:
    """The bot's own join to the room (not a profile change while joined)."""
    if event.get("type") != "m.room.member" or event.get("state_key") != me:
        return False
    content = event.get("content")
    if not isinstance(content, dict) or content.get("membership") != "join":
        return False
    unsigned = event.get("unsigned")
    before = unsigned.get("prev_content") if isinstance(unsigned, dict) else None
    return not (isinstance(before, dict) and before.get("membership") == "join")


def since_join(events: Sequence[Event], me: str) -> list[Event]:
    """The events after the bot's own join when it is among them: the room's history from
    before the bot joined is not acted on."""
    last = None
    for index, event in enumerate(events):
        if is_own_join(event, me):
            last = index
    return list(events if last is None else events[last + 1 :])


def translate(
    event: Event, room: str, prefix: str, me: str
) -> tuple[InboundEvent, str | None] | None:
    """The core's event for a timeline event, with the thread to answer a command in."""
    found = command(event, room, prefix, me)
    if found is not None:
        return found.event, found.thread_root
    added = reaction(event, room, me)
    if added is not None:
        return added, None
    replied = thread_reply(event, room, me)
    if replied is not None:
        return replied, None
    return None


def thread_reply(event: Event, room: str, me: str) -> ThreadReplyEvent | None:
    """A message in a thread (a check-in's replies are counted by the core; threads it
    does not know are ignored there)."""
    content = event.get("content")
    sender, event_id = event.get("sender"), event.get("event_id")
    if event.get("type") != "m.room.message" or not isinstance(content, dict):
        return None
    if not isinstance(sender, str) or not isinstance(event_id, str) or sender == me:
        return None
    if "m.new_content" in content:
        return None  # an edit of an earlier reply
    relation = _relation(content)
    root = relation.get("event_id")
    if relation.get("rel_type") != "m.thread" or not isinstance(root, str):
        return None
    return ThreadReplyEvent(PLATFORM, event_id, room, sender, root, at=when(event))
