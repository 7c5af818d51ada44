"""End-to-end encrypted rooms: whether encryption support is installed, the key
housekeeping after each sync, decrypting what nio could not at first (gap fills, read-back
reactions), and events whose room key has not come (yet): they wait a while
(adapters/matrix/sealed.py), and if the key never comes their sender is told once per
session."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import quote

import aiohttp
import nio
from nio.crypto import ENCRYPTION_ENABLED

from adapters.matrix import render
from adapters.matrix.config import handle_of, room_of
from adapters.matrix.errors import MatrixError
from adapters.matrix.http import ClientHolder, Transport
from adapters.matrix.sealed import Sealed, SealedEvents
from bot.domain.circle import CircleSpec
from bot.domain.i18n import Reader, of
from bot.text.messages import Reply

log = logging.getLogger("adapters.matrix")

E2E_AVAILABLE: bool = bool(ENCRYPTION_ENABLED)
E2E_EXTRA_HINT = "pip install 'circlebot[e2e]' (matrix-nio[e2e], a binary wheel)"


def unreadable_text(reader: Reader) -> str:
    """What the sender of a message the bot could never decrypt is told, in their
    language."""
    return of(reader)._(
        "I could not read your encrypted message: its key did not reach my device. "
        "If it was a command, send it again; if this keeps happening, check that your "
        "client shares keys with unverified devices in this room."
    )


def reader_of(circles: Sequence[CircleSpec], channel: str, user_id: str) -> Reader:
    """How the person with Matrix id `user_id` reads what only they see in the room
    `channel` (as configured): as their circle says (theirs, else the circle's)."""
    for spec in circles:
        if room_of(spec) == channel:
            member = next((m for m in spec.members if handle_of(m) == user_id), None)
            return spec.reader if member is None else spec.reader_of(member.name)
    return Reader()


Deliver = Callable[[dict[str, Any], str], Awaitable[None]]  # (clear event, channel)


class Encryption:
    def __init__(
        self,
        holder: ClientHolder,
        transport: Transport,
        stats: Counter[str],
        user_id: str,
        store_path: str | None,
        circles: Sequence[CircleSpec] = (),
    ) -> None:
        self.holder = holder
        self.circles = tuple(circles)  # whose language a private answer is in
        self.transport = transport
        self.stats = stats
        self.user_id = user_id
        self.store_path = store_path
        self.rooms: set[str] = set()  # the circles' rooms that are encrypted
        self.sealed = SealedEvents()  # encrypted events waiting for their room key

    @property
    def active(self) -> bool:
        """The bot has its encryption keys loaded (a store, and the support installed)."""
        client = self.holder.client
        return client is not None and client.olm is not None

    async def check_room(self, room: str, configured: str, circle: str) -> None:
        """Note whether `room` is encrypted, and say so when the bot cannot take part."""
        try:
            await self.transport.api(
                "GET",
                f"/_matrix/client/v3/rooms/{quote(room, safe='')}/state/m.room.encryption",
                absent_is_an_answer=True,  # no such state: the room is not encrypted
            )
        except MatrixError as exc:
            if exc.transient:
                raise
            return  # 404: not encrypted (or not joined: said when joining)
        self.rooms.add(room)
        if not E2E_AVAILABLE:
            log.error(
                "matrix: room %s (circle %s) is end-to-end encrypted, but encryption "
                "support is not installed, so the bot can neither read nor post there: %s",
                configured,
                circle,
                E2E_EXTRA_HINT,
            )
        elif not self.store_path:
            log.error(
                "matrix: room %s (circle %s) is end-to-end encrypted; set matrix.store_path "
                "to a directory for the bot's encryption keys",
                configured,
                circle,
            )

    async def housekeeping(self) -> None:
        """Upload, query and claim keys as nio asks, and send what it queued for devices."""
        client = self.holder.client
        if client is None or client.olm is None:
            return
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    def decrypted(self, event: dict[str, Any], room: str) -> dict[str, Any] | None:
        """The clear event of an encrypted one, when the bot has its key; else None."""
        client = self.holder.client
        if event.get("type") != "m.room.encrypted" or client is None or client.olm is None:
            return None
        parsed = nio.Event.parse_event(event)
        if not isinstance(parsed, nio.MegolmEvent):
            return None
        parsed.room_id = room
        try:
            clear = client.decrypt_event(parsed)
        except Exception:
            return None
        source = getattr(clear, "source", None)
        return source if isinstance(source, dict) else None

    def unreadable(self, event: dict[str, Any]) -> bool:
        """Still encrypted after nio tried its keys (our own events need no reading)."""
        return (
            event.get("type") == "m.room.encrypted"
            and event.get("sender") != self.user_id
            and self.active
        )

    async def hold(self, room: str, channel: str, event: dict[str, Any]) -> None:
        """Keep an unreadable event until its key comes (the oldest give up when too
        many wait)."""
        for pushed in self.sealed.add(room, channel, event, time.monotonic()):
            await self.never_read(pushed)

    async def open_sealed(self, deliver: Deliver) -> None:
        """Try the waiting encrypted events again: this sync may have brought their keys."""
        for sealed in self.sealed:
            clear = self.decrypted(sealed.event, sealed.room)
            if clear is not None:
                self.sealed.opened(sealed)
                self.stats["decrypted_late"] += 1
                await deliver(clear, sealed.channel)
        for sealed in self.sealed.expired(time.monotonic()):
            await self.never_read(sealed)

    async def never_read(self, sealed: Sealed) -> None:
        """Its key never came: say so to the operator, and to the sender once per session
        (they see their own message fine and would wait for an answer forever)."""
        client = self.holder.client
        log.warning(
            "matrix: cannot decrypt %s from %s in %s: its room key never reached this "
            "device (%s); the sender's client must share keys with it",
            sealed.event_id,
            sealed.sender,
            sealed.channel,
            client.device_id if client is not None else "?",
        )
        if self.sealed.first_to_tell(sealed):
            reader = reader_of(self.circles, sealed.channel, sealed.sender)
            reply = Reply(unreadable_text(reader), ok=False)
            content = render.reply_content(
                sealed.sender, reply, sealed.event_id, sealed.thread_root
            )
            try:
                key = f"unread:{sealed.event_id}"
                await self.transport.send(sealed.room, content, key, sealed.channel)
                self.stats["unreadable_answered"] += 1
            except (MatrixError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("matrix: could not tell %s: %s", sealed.sender, exc)
        self.stats["undecryptable"] += 1  # last: once counted, it was dealt with
