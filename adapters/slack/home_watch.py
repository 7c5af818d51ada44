"""Keeping open App Home tabs current.

Slack sends `app_home_opened` each time someone opens the tab, and the bot publishes it
then. A tab left open would go stale while others answer, so the people who opened it
recently are remembered, and when a card of one of their circles changes their tab is
published again: at most once per `interval` per person (views.publish has a rate
limit), with the latest state always last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

log = logging.getLogger("adapters.slack")

INTERVAL = 10.0  # seconds: the most often one person's tab is republished
WATCH = 3600.0  # seconds: how long after opening the tab it is kept current


class HomeWatch:
    def __init__(
        self,
        publish: Callable[[str], Awaitable[None]],
        interval: float = INTERVAL,
        watch: float = WATCH,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.publish = publish
        self.interval = interval
        self.watch = watch
        self.clock = clock
        self._opened: dict[str, float] = {}  # user -> when they last opened the tab
        self._published: dict[str, float] = {}  # user -> when we last published it
        self._due: dict[str, asyncio.Task[None]] = {}  # a republish waiting its turn
        self.republished = 0

    def opened(self, user: str) -> None:
        now = self.clock()
        self._opened[user] = now
        self._published[user] = now  # the caller publishes it now
        for gone in [u for u, at in self._opened.items() if now - at > self.watch]:
            del self._opened[gone]
            self._published.pop(gone, None)

    def _watched(self, user: str, now: float) -> bool:
        opened = self._opened.get(user)
        return opened is not None and now - opened <= self.watch

    def watching(self) -> list[str]:
        now = self.clock()
        return [user for user in self._opened if self._watched(user, now)]

    def changed(self, users: Iterable[str]) -> None:
        """Something these people's tabs show changed: republish them, in their turn."""
        now = self.clock()
        for user in users:
            if user in self._due or not self._watched(user, now):
                continue  # already coming (it will read the latest state), or not watched
            wait = self._published.get(user, -self.interval) + self.interval - now
            self._due[user] = asyncio.ensure_future(self._republish(user, max(wait, 0.0)))

    async def _republish(self, user: str, wait: float) -> None:
        try:
            await asyncio.sleep(wait)
        finally:
            # From here on a change schedules another republish: nothing is missed.
            self._due.pop(user, None)
        self._published[user] = self.clock()
        try:
            await self.publish(user)
            self.republished += 1
        except Exception as exc:  # a stale tab is not worth more than a line in the log
            log.warning("slack: could not refresh %s's Home tab: %s", user, exc)

    async def refresh_now(self, user: str) -> None:
        """Publish `user`'s tab at once (they just acted on it); a republish waiting its
        turn is then not needed."""
        due = self._due.pop(user, None)
        if due is not None:
            due.cancel()
        self._published[user] = self.clock()
        await self.publish(user)

    @property
    def pending(self) -> int:
        return len(self._due)

    async def close(self) -> None:
        tasks = list(self._due.values())
        self._due.clear()  # a task cancelled before it ran never reaches its `finally`
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
