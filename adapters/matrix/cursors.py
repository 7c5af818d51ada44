"""Where the Matrix adapter keeps its resume position (and a password login's session)."""

from __future__ import annotations

from typing import Protocol

from bot.ports.platform import CoreServices


class CursorStore(Protocol):
    async def get(self, name: str) -> str | None: ...

    async def set(self, name: str, value: str) -> None: ...


class MemoryCursors:
    """For tests and for a bot without a runtime: forgets everything on exit."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get(self, name: str) -> str | None:
        return self.values.get(name)

    async def set(self, name: str, value: str) -> None:
        self.values[name] = value


class CoreCursors:
    """Positions kept in the bot's database, through the core's services."""

    def __init__(self, services: CoreServices) -> None:
        self.services = services

    async def get(self, name: str) -> str | None:
        return await self.services.cursor(name)

    async def set(self, name: str, value: str) -> None:
        await self.services.set_cursor(name, value)
