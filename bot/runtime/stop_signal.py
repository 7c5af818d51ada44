"""SIGTERM (systemd's stop) as a request to stop, from the first moment of `circlebot run`.

Caught before the config is read and the store opened: a stop that comes while the bot
is still starting ends the start-up where it is, cleanly, instead of killing the process
with the default action. The handler only takes note; whoever runs the bot waits for it
(`wait`) and stops in order."""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType
from typing import Any


class StopSignal:
    def __init__(self) -> None:
        self.asked = False
        self._previous: Any = None
        self._caught = False
        self._wake: list[Callable[[], None]] = []

    def catch(self) -> None:
        """From now on a SIGTERM only asks the bot to stop."""
        if not self._caught:
            self._previous = signal.signal(signal.SIGTERM, self._on_signal)
            self._caught = True

    def restore(self) -> None:
        """SIGTERM does again what it did before `catch`."""
        if self._caught:
            signal.signal(signal.SIGTERM, self._previous)
            self._caught = False

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.asked = True
        for wake in list(self._wake):
            wake()

    async def wait(self) -> None:
        """Return once a stop is asked (at once if it already was)."""
        import asyncio  # here: catch() comes before asyncio is imported (see bot.wiring.cli)

        loop = asyncio.get_running_loop()
        asked = asyncio.Event()

        def wake() -> None:
            # The handler runs between two bytecodes, maybe inside the loop's own code:
            # it only schedules the wake-up (as asyncio.run does for Ctrl-C).
            loop.call_soon_threadsafe(asked.set)

        self._wake.append(wake)
        try:
            if not self.asked:
                await asked.wait()
        finally:
            self._wake.remove(wake)
