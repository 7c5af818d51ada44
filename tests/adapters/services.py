"""A stand-in for the core's services (bot.ports.platform.CoreServices), for adapter tests that
start an adapter without a runtime."""

from __future__ import annotations

from bot.ports.platform import OperatorPage
from bot.text.home import Home


class NoCore:
    """No circles, no members, nothing stored; a question about a Home tab is a bug."""

    def __init__(self) -> None:
        self.cursors: dict[str, str] = {}

    async def circle_at(self, platform: str, channel: str) -> str | None:
        return None

    async def is_member(self, platform: str, channel: str, user: str) -> bool:
        return False

    async def home(self, platform: str, user: str) -> Home:
        raise AssertionError(f"no Home tab expected ({platform} {user})")

    async def cursor(self, name: str) -> str | None:
        return self.cursors.get(name)

    async def set_cursor(self, name: str, value: str) -> None:
        self.cursors[name] = value

    async def unresolved_emails(self, platform: str) -> list[str]:
        return []

    async def email_resolved(self, platform: str, address: str, user_id: str) -> list[str]:
        raise AssertionError(f"no e-mail identity expected ({address})")

    async def operator_page(self, path: str) -> OperatorPage | None:
        if path == "/healthz":
            return OperatorPage(200, "application/json", b'{"status": "ok"}')
        return None
