"""Encrypted events the bot could not decrypt (yet).

A room key often arrives a sync or two after the message it opens: to-device messages
and room events travel separately. So an undecryptable event waits a little and is tried
again after each sync. When its key never comes (the sender's device did not share it
with the bot's device), the sender is told once per encryption session, not once per
message: one broken session hides every message sent with it, and a command must not
vanish without a word.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

WAIT = 10.0  # seconds an undecryptable event waits for its room key
MOST = 1000  # events kept waiting at once; the oldest gives up first


@dataclass(frozen=True)
class Sealed:
    room: str  # room id
    channel: str  # the room as configured for the circle
    event: dict[str, Any]  # the m.room.encrypted event as received
    seen: float  # monotonic time it first arrived

    @property
    def event_id(self) -> str:
        return str(self.event.get("event_id", ""))

    @property
    def sender(self) -> str:
        return str(self.event.get("sender", ""))

    @property
    def session(self) -> tuple[str, str]:
        """The sender's encryption session: every message it sealed shares one fate."""
        content = self.event.get("content")
        content = content if isinstance(content, dict) else {}
        return str(content.get("sender_key", "")), str(content.get("session_id", ""))

    @property
    def thread_root(self) -> str | None:
        # The relation of an encrypted event stays in the clear.
        content = self.event.get("content")
        relation = content.get("m.relates_to") if isinstance(content, dict) else None
        if isinstance(relation, dict) and relation.get("rel_type") == "m.thread":
            root = relation.get("event_id")
            return root if isinstance(root, str) else None
        return None


class SealedEvents:
    """The waiting events, in arrival order, and the sessions whose senders were told."""

    def __init__(self, wait: float = WAIT, most: int = MOST) -> None:
        self.wait = wait
        self.most = most
        self._waiting: dict[str, Sealed] = {}
        self._told: set[tuple[str, str, str]] = set()  # (sender, sender key, session id)

    def __len__(self) -> int:
        return len(self._waiting)

    def __iter__(self) -> Iterator[Sealed]:
        return iter(list(self._waiting.values()))

    def add(self, room: str, channel: str, event: dict[str, Any], now: float) -> list[Sealed]:
        """Keep `event` waiting; returns the events pushed out to stay within `most`."""
        sealed = Sealed(room, channel, event, now)
        if not sealed.event_id or sealed.event_id in self._waiting:
            return []
        self._waiting[sealed.event_id] = sealed
        pushed: list[Sealed] = []
        while len(self._waiting) > self.most:
            oldest = next(iter(self._waiting))
            pushed.append(self._waiting.pop(oldest))
        return pushed

    def opened(self, sealed: Sealed) -> None:
        """Its key came: it is read like any other event."""
        self._waiting.pop(sealed.event_id, None)

    def expired(self, now: float) -> list[Sealed]:
        """The events that waited `wait` seconds in vain, no longer waiting."""
        late = [s for s in self._waiting.values() if now - s.seen >= self.wait]
        for sealed in late:
            del self._waiting[sealed.event_id]
        return late

    def first_to_tell(self, sealed: Sealed) -> bool:
        """True the first time a message of this sender's session could not be read."""
        key = (sealed.sender, *sealed.session)
        if key in self._told:
            return False
        self._told.add(key)
        return True

    def next_due(self, now: float) -> float | None:
        """Seconds until the earliest waiting event expires; None when none waits."""
        if not self._waiting:
            return None
        first = min(s.seen for s in self._waiting.values())
        return max(first + self.wait - now, 0.0)
