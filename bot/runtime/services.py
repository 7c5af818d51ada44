"""The core's answers to adapters (bot.ports.platform.CoreServices), run on the core's thread."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from bot.handlers import email_identities
from bot.ports.platform import OperatorPage
from bot.queries.home_query import build_home
from bot.state.context import Context
from bot.text.home import Home

T = TypeVar("T")


class CoreCall(Protocol):
    """Runs `function()` on the core's thread (Runtime.call)."""

    async def __call__(self, function: Callable[[], T]) -> T: ...


class RuntimeServices:
    def __init__(
        self,
        ctx: Context,
        call: CoreCall,
        pages: Callable[[str], Awaitable[OperatorPage | None]],
    ) -> None:
        self._ctx = ctx
        self._call = call
        self._pages = pages

    async def circle_at(
        self, platform: str, channel: str, workspace: str | None = None
    ) -> str | None:
        def lookup() -> str | None:
            spec = self._ctx.directory.circle_for(platform, channel, workspace)
            return spec.name if spec else None

        return await self._call(lookup)

    async def is_member(
        self, platform: str, channel: str, user: str, workspace: str | None = None
    ) -> bool:
        def lookup() -> bool:
            directory = self._ctx.directory
            spec = directory.circle_for(platform, channel, workspace)
            return spec is not None and directory.member_for(spec.name, platform, user) is not None

        return await self._call(lookup)

    async def home(self, platform: str, user: str, workspace: str | None = None) -> Home:
        return await self._call(lambda: build_home(self._ctx, platform, user, workspace))

    async def cursor(self, name: str) -> str | None:
        def read() -> str | None:
            with self._ctx.store.transaction() as tx:
                return tx.cursor(name)

        return await self._call(read)

    async def set_cursor(self, name: str, value: str) -> None:
        def write() -> None:
            with self._ctx.store.transaction() as tx:
                tx.set_cursor(name, value)

        await self._call(write)

    async def unresolved_emails(self, platform: str) -> list[str]:
        return await self._call(lambda: email_identities.unresolved(self._ctx, platform))

    async def email_resolved(self, platform: str, address: str, user_id: str) -> list[str]:
        return await self._call(
            lambda: email_identities.resolve(self._ctx, platform, address, user_id)
        )

    async def operator_page(self, path: str) -> OperatorPage | None:
        return await self._pages(path)  # not on the core's thread: it may be busy
