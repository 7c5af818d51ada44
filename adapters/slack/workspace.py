"""What the Slack adapter's parts share: who the bot is in which workspace (learnt from
auth.test at start), and where a person's last slash command can still be answered."""

from __future__ import annotations

import time
from dataclasses import dataclass

RESPONSE_URL_TTL = 25 * 60.0  # Slack accepts a response_url for 30 minutes


@dataclass(frozen=True)
class Workspace:
    team_id: str | None
    bot_user_id: str | None
    bot_id: str | None
    url: str | None  # https://NAME.slack.com/, for links to messages

    def foreign(self, *teams: object) -> bool:
        """Something from another workspace (a shared channel, another org)."""
        if self.team_id is None:
            return False
        return any(isinstance(t, str) and t and t != self.team_id for t in teams)


class ResponseUrls:
    """The response_url of each person's last slash command per channel, while Slack
    still takes answers there: the way to reach them where the bot cannot post."""

    def __init__(self, ttl: float = RESPONSE_URL_TTL) -> None:
        self.ttl = ttl
        self._urls: dict[tuple[str, str], tuple[str, float]] = {}

    def remember(self, channel: str, user: str, url: object) -> None:
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            now = time.monotonic()
            self._urls[(channel, user)] = (url, now + self.ttl)
            for pair, (_, until) in list(self._urls.items()):
                if until < now:
                    del self._urls[pair]

    def get(self, channel: str, user: str) -> str | None:
        remembered = self._urls.get((channel, user))
        if remembered is not None and remembered[1] > time.monotonic():
            return remembered[0]
        return None
