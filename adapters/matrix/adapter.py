"""The Matrix adapter (bot.ports.platform.Adapter): matrix-nio's AsyncClient driven by our own
sync loop. It composes the parts by concern:

- session.py: logging in (token or password), the device, the encryption store;
- sync.py: the crash-safe sync loop, gap filling, rate limits and reconnects;
- e2e.py: encrypted rooms (keys, late decryption, events whose key never comes);
- rooms.py: the circles' rooms (aliases, joins, invitations);
- http.py: sending (transaction ids from idempotency keys) and raw API calls.

Every send has a transaction id derived from the dispatcher's idempotency key: a retried
send (after a crash, a timeout, a 5xx) gets the first event back instead of a second
message."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import nio

from adapters.matrix import inbound, render
from adapters.matrix.config import MatrixConfig
from adapters.matrix.cursors import CoreCursors, CursorStore
from adapters.matrix.doctor import diagnose
from adapters.matrix.e2e import Encryption
from adapters.matrix.errors import MatrixError
from adapters.matrix.http import Transport
from adapters.matrix.rooms import Rooms
from adapters.matrix.sealed import SealedEvents
from adapters.matrix.session import Session
from adapters.matrix.sync import Backoff, Sync
from bot.domain.api_calls import ApiCalls
from bot.domain.circle import CircleSpec
from bot.domain.diagnosis import Check
from bot.domain.events import CommandEvent, InboundEvent
from bot.ports.platform import CoreServices, EventSink, Message
from bot.text.messages import ProposalCard, Reply

log = logging.getLogger("adapters.matrix")

PLATFORM = inbound.PLATFORM
RELATION_PAGES = 50


class Answering:
    """The last command each person gave in each room, so that an answer to it, whenever
    it comes (while the command is handled, or later: after a replay), replies to it and
    in its thread. Bounded: the least recently heard are forgotten first."""

    def __init__(self, most: int = 1000) -> None:
        self.most = most
        # (channel, user) -> (command event id, its thread root, answers sent so far)
        self._last: OrderedDict[tuple[str, str], tuple[str, str | None, int]] = OrderedDict()

    def heard(self, command: CommandEvent, thread_root: str | None) -> None:
        where = (command.channel, command.user)
        self._last.pop(where, None)
        self._last[where] = (command.event_id, thread_root, 0)
        while len(self._last) > self.most:
            self._last.popitem(last=False)

    def reply_to(self, channel: str, user: str) -> tuple[str | None, str | None, str]:
        """(the command to reply to, its thread root, a key for the answer's send). With
        no command heard: no event to reply to, and a key of its own."""
        found = self._last.get((channel, user))
        if found is None:
            return None, None, f"reply:{uuid.uuid4()}"
        command, root, sent = found
        self._last[(channel, user)] = (command, root, sent + 1)
        return command, root, f"reply:{command}:{sent + 1}"


# A long-polling sync returns at least every 30 s; older than this, it is stuck.
SYNC_STALE = 60.0


class MatrixAdapter:
    platform = PLATFORM
    # Slack-like pacing for card edits: the dispatcher coalesces bursts of reactions
    # into at most one edit per card every 3 s; the final state always lands.
    edit_interval = 3.0
    # The homeserver sends an event again until the sync position after it is stored:
    # one the database refused is raised back to the sync (bot.runtime.runner), which tries the
    # batch again instead of storing the position past it.
    redelivers = True
    private_replies = False  # a notice in the room is seen by everyone

    def __init__(
        self,
        config: MatrixConfig,
        circles: Sequence[CircleSpec],
        *,
        access_token: str | None = None,
        password: str | None = None,
        cursors: CursorStore | None = None,
        sync_timeout_ms: int = 30_000,
        first_backoff: float = 1.0,
        max_backoff: float = 60.0,
        request_timeout: float = 60.0,
    ) -> None:
        self.config = config
        self.user_id = config.user_id
        self.cursors = cursors  # None: the bot's database, through the core's services
        self.stats: Counter[str] = Counter()
        self.specs = list(circles)
        self._api_calls = ApiCalls()  # every client-server API call, for /metrics
        self.ready = asyncio.Event()  # start() is done
        self._stopping = asyncio.Event()
        self._sink: EventSink | None = None
        self.answering = Answering()
        self.session = Session(
            config,
            access_token=access_token,
            password=password,
            request_timeout=request_timeout,
            calls=self._api_calls,
        )
        self.transport = Transport(self.session, self.stats, self._sleep, self._api_calls)
        self.encryption = Encryption(
            self.session, self.transport, self.stats, self.user_id, config.store_path, circles
        )
        self.rooms = Rooms(circles, self.user_id, self.session, self.transport, self.encryption)
        self.sync = Sync(
            self.session,
            self.rooms,
            self.encryption,
            self.transport,
            self._deliver,
            prefix=config.command_prefix,
            timeout_ms=sync_timeout_ms,
            backoff=Backoff(first_backoff, max_backoff),
            stats=self.stats,
            stopping=self._stopping,
            sleep=self._sleep,
        )

    # -- what tests and operators look at ---------------------------------------------

    @property
    def client(self) -> nio.AsyncClient | None:
        return self.session.client

    @property
    def connected(self) -> asyncio.Event:
        """Set while the last request to the homeserver worked."""
        return self.sync.connected

    @property
    def circles(self) -> dict[str, str]:
        """Each room as configured -> its circle."""
        return self.rooms.circles

    @property
    def encrypted_rooms(self) -> set[str]:
        return self.encryption.rooms

    @property
    def sealed(self) -> SealedEvents:
        """Encrypted events waiting for their room key."""
        return self.encryption.sealed

    @property
    def password(self) -> str | None:
        return self.session.password

    @property
    def cursor_name(self) -> str:
        return self.sync.cursor_name

    @property
    def session_name(self) -> str:
        return self.session.session_name

    # -- lifecycle ------------------------------------------------------------------

    async def start(self, sink: EventSink, services: CoreServices) -> None:
        self._sink = sink
        if self.cursors is None:  # unless one was given: the bot's database
            self.cursors = CoreCursors(services)
        self.session.cursors = self.cursors
        await self.sync.begin(self.cursors)
        self.ready.set()

    async def run(self) -> None:
        """Sync until stop()."""
        await self.sync.run()

    def readiness(self) -> str | None:
        """Ready while the last sync is younger than SYNC_STALE seconds (a replica that
        does not lead does not sync, and is ready)."""
        if not self.sync.leading.is_set():
            return None
        synced = self.sync.synced_at
        if synced is None:
            return "not synced with the homeserver yet"
        age = time.monotonic() - synced
        if age > SYNC_STALE:
            return f"last sync {age:.0f} s ago"
        return None

    def api_calls(self) -> ApiCalls:
        return self._api_calls

    async def set_leading(self, leading: bool) -> None:
        await self.sync.set_leading(leading)

    async def diagnose(self, services: CoreServices) -> list[Check]:
        session = self.session
        return await diagnose(
            self.config,
            self.specs,
            access_token=session.access_token,
            password=session.password,
            cursors=self.cursors or CoreCursors(services),
            timeout=session.request_timeout,
        )

    async def stop(self) -> None:
        self._stopping.set()
        self.sync.cancel()
        await self.session.close()

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake up at once when stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=max(seconds, 0))

    async def _deliver(self, event: InboundEvent, thread_root: str | None) -> None:
        assert self._sink is not None
        if isinstance(event, CommandEvent):
            self.answering.heard(event, thread_root)
        await self._sink(event)

    # -- the Adapter protocol: output --------------------------------------------------

    async def _send(self, channel: str, content: dict[str, Any], key: str) -> str:
        return await self.transport.send(self.rooms.room_of(channel), content, key, channel)

    async def post_card(
        self, channel: str, card: ProposalCard, key: str, since: datetime | None = None
    ) -> str:
        return await self._send(channel, render.card_content(card), key)

    async def update_card(
        self, channel: str, message_ref: str, card: ProposalCard, key: str, version: int
    ) -> None:
        content = render.edit_content(message_ref, render.card_content(card))
        await self._send(channel, content, f"{key}:v{version}")  # one transaction id per edit

    async def post(
        self,
        channel: str,
        message: Message,
        thread_ref: str | None,
        key: str,
        since: datetime | None = None,
    ) -> str | None:
        """In the card's thread when `thread_ref` is given. A Reminder mentions exactly the
        waiting people in the thread (Matrix has no DMs we would want to open here)."""
        content = render.message_content(message)
        if thread_ref is not None:
            content = render.in_thread(content, thread_ref)
        return await self._send(channel, content, key)

    async def reply_private(self, channel: str, user: str, reply: Reply) -> None:
        # Matrix has no ephemeral (only-you-can-see) messages: see render.reply_content.
        command, root, key = self.answering.reply_to(channel, user)
        content = render.reply_content(user, reply, command, root)
        try:
            await self._send(channel, content, key)
        except (MatrixError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            # A lost answer is not worth blocking the sync loop for; the command took
            # effect (or not) either way and `status` shows it.
            log.warning("matrix: could not answer %s in %s: %s", user, channel, exc)

    # -- reading reactions back ---------------------------------------------------------

    async def read_reactions(
        self, channel: str, message_ref: str
    ) -> list[tuple[str, str, datetime | None]] | None:
        """Every reaction now on the card, from the relations API (redacted ones are gone
        from it), as (sender, key, when). None when they cannot all be read."""
        room = self.rooms.room_of(channel)
        present: list[tuple[str, str, datetime | None]] = []
        token: str | None = None
        base = (
            f"/_matrix/client/v1/rooms/{quote(room, safe='')}/relations/"
            f"{quote(message_ref, safe='')}/m.annotation"
        )
        for _ in range(RELATION_PAGES):
            query: dict[str, str | int] = {"limit": 100}
            if token:
                query["from"] = token
            try:
                page = await self.transport.api("GET", f"{base}?{urlencode(query)}")
            except MatrixError as exc:
                if exc.status == 404:
                    log.warning("matrix: card %s not found in %s", message_ref, channel)
                    return None
                raise
            for event in page.get("chunk", []):
                if not isinstance(event, dict):
                    continue
                if event.get("type") == "m.room.encrypted":
                    clear = self.encryption.decrypted(event, room)
                    if clear is None:
                        return None  # cannot tell what it says: better not to guess
                    event = clear
                found = inbound.reaction(event, channel, self.user_id)
                if found is not None and found.added and found.message_ref == message_ref:
                    present.append((found.user, found.emoji, found.at))
            token = page.get("next_batch")
            if not isinstance(token, str) or not token:
                return present
        log.warning("matrix: card %s has too many reactions to read back", message_ref)
        return None
