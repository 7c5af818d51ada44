"""The circles' rooms: configured by id or by alias (resolved on start), joined, and
checked for encryption. Invitations to them are accepted; others are declined."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from urllib.parse import quote

import nio

from adapters.matrix.config import room_of
from adapters.matrix.e2e import Encryption
from adapters.matrix.errors import MatrixError
from adapters.matrix.http import ClientHolder, Transport
from bot.domain.circle import CircleSpec

log = logging.getLogger("adapters.matrix")


class Rooms:
    def __init__(
        self,
        circles: Sequence[CircleSpec],
        user_id: str,
        holder: ClientHolder,
        transport: Transport,
        encryption: Encryption,
    ) -> None:
        self.user_id = user_id
        self.holder = holder
        self.transport = transport
        self.encryption = encryption
        # Rooms as configured (ids, or aliases resolved on start) and their circles.
        self.circles = {room: c.name for c in circles if (room := room_of(c)) is not None}
        self.room_id: dict[str, str] = {r: r for r in self.circles if r.startswith("!")}
        self.configured: dict[str, str] = {r: r for r in self.room_id}  # room id -> as set
        self.prepared = False

    def room_of(self, channel: str) -> str:
        """The room id of a room as configured (an alias, or already an id)."""
        return self.room_id.get(channel, channel)

    def _client(self) -> nio.AsyncClient:
        client = self.holder.client
        assert client is not None, "start() first"
        return client

    async def prepare(self) -> None:
        """Resolve aliases, join the configured rooms, say which are encrypted."""
        for configured in self.circles:
            if configured not in self.room_id:
                try:
                    answer = await self.transport.api(
                        "GET", f"/_matrix/client/v3/directory/room/{quote(configured, safe='')}"
                    )
                except MatrixError as exc:
                    if exc.transient:
                        raise
                    log.error(
                        "matrix: room alias %s (circle %s) cannot be resolved: %s",
                        configured,
                        self.circles[configured],
                        exc,
                    )
                    continue
                room = answer.get("room_id")
                if isinstance(room, str):
                    self.room_id[configured] = room
                    self.configured[room] = configured
        for configured, room in self.room_id.items():
            await self.join(room, configured)
            await self.encryption.check_room(room, configured, self.circles[configured])
        self.prepared = True

    async def join(self, room: str, configured: str) -> None:
        answer = await self._client().join(room)
        if isinstance(answer, nio.JoinResponse):
            return
        error = MatrixError.of(answer, f"joining {configured}")
        if error.transient:
            raise error
        log.error(
            "matrix: cannot join room %s of circle %s (%s); invite %s to it",
            configured,
            self.circles[configured],
            error,
            self.user_id,
        )

    async def invites(self, answer: nio.SyncResponse) -> None:
        for room in answer.rooms.invite:
            if room in self.configured:
                log.info("matrix: accepting the invitation to %s", room)
                await self.join(room, self.configured[room])
            else:
                log.info("matrix: declining an invitation to %s (not a configured room)", room)
                await self._client().room_leave(room)

    def left(self, answer: nio.SyncResponse) -> None:
        for room in answer.rooms.leave:
            if room in self.configured:
                log.error(
                    "matrix: the bot left or was removed from room %s (circle %s)",
                    self.configured[room],
                    self.circles[self.configured[room]],
                )
