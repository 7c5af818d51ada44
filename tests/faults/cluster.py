"""What a run drives: the real `circlebot run` processes (one on SQLite under
libfaketime, or three on one PostgreSQL), the fake Slack they talk to, and the clock
the bot sees."""

from __future__ import annotations

import asyncio
import glob
import shutil
import signal
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from psycopg import sql

from tests.adapters.slack.fakeslack import FakeSlack
from tests.adapters.slack.processes import SlackProcess, council_circle
from tests.faults.plan import FAKE_START, Setup
from tests.pgserver import PostgresServer

ZONE = "America/Los_Angeles"
REMINDER_SECONDS = 10
RULES = f'reminders = ["{REMINDER_SECONDS}s"]'
CHECKINS = "\n".join(
    (
        'schedule = "* * * * *"',
        'questions = ["How are you arriving?"]',
        'open_for = "40s"',
        'remind_after = "20s"',
    )
)
START_TIMEOUT = 60.0


def faketime_library() -> str | None:
    """Debian's libfaketime (package `faketime`), or None when it is not installed."""
    if shutil.which("faketime") is None:
        return None
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    return found[0] if found else None


class BotClock:
    """The clock the bot sees: the real one plus an offset the harness sets (libfaketime
    reads it from a file at every call); jumps only go forward, so Slack's timestamps,
    stamped with this clock, stay in order. Keeps every offset, to say when (real time)
    the bot's clock reached an instant."""

    def __init__(self, file: Path | None, start: datetime | None) -> None:
        self.file = file
        offset = 0.0 if start is None else start.timestamp() - time.time()
        self.changes: list[tuple[float, float]] = []  # (real time, offset from then on)
        self.set(offset)

    @property
    def offset(self) -> float:
        return self.changes[-1][1]

    def set(self, offset: float) -> None:
        self.changes.append((time.time(), offset))
        if self.file is not None:
            self.file.write_text(f"{offset:+.3f}\n")

    def now(self) -> float:
        return time.time() + self.offset

    def jump_to(self, instant: float) -> bool:
        """Jump forward to `instant` (the bot's clock); False when it is already past."""
        if instant <= self.now():
            return False
        self.set(instant - time.time())
        return True

    def bot_at(self, real: float) -> float:
        """What the bot's clock said at real time `real`."""
        offset = self.changes[0][1]
        for since, later in self.changes:
            if since <= real:
                offset = later
        return real + offset

    def real_at(self, instant: float) -> float:
        """The real time at which the bot's clock reached `instant` (an instant jumped
        over was reached at the jump)."""
        for n, (since, offset) in enumerate(self.changes):
            until = self.changes[n + 1][0] if n + 1 < len(self.changes) else float("inf")
            if since + offset <= instant < until + offset:
                return instant - offset
            if instant < since + offset:
                return since  # jumped over
        return instant - self.offset


@dataclass
class Replica:
    process: SlackProcess
    paused: bool = False
    generation: int = 0


@dataclass
class Cluster:
    setup: Setup
    folder: Path
    fake: FakeSlack
    url: str
    clock: BotClock
    env: dict[str, str] = field(default_factory=dict)
    pg: PostgresServer | None = None
    replicas: list[Replica] = field(default_factory=list)
    session: aiohttp.ClientSession | None = None

    @classmethod
    async def start(
        cls, setup: Setup, folder: Path, pg: PostgresServer | None, database: str
    ) -> Cluster:
        fake = await FakeSlack().start()
        env: dict[str, str] = {}
        if setup is Setup.SQLITE:
            library = faketime_library()
            if library is None:
                raise RuntimeError("libfaketime missing: apt-get install faketime")
            file = folder / "faketime"
            clock = BotClock(file, datetime.fromisoformat(FAKE_START).replace(tzinfo=UTC))
            env = {
                "LD_PRELOAD": library,
                "FAKETIME_TIMESTAMP_FILE": str(file),
                "FAKETIME_NO_CACHE": "1",
                "FAKETIME_DONT_FAKE_MONOTONIC": "1",  # a stepped wall clock, as NTP does
            }
            url = f"sqlite:///{folder / 'circlebot.db'}"
            count = 1
        else:
            assert pg is not None
            clock = BotClock(None, None)
            url = pg.create_database(database)
            # The test server trades durability for speed (synchronous_commit=off): a
            # crash then loses commits it had acknowledged. The bot's promises rest on
            # an acknowledged commit staying, so this database keeps it, as in production.
            pg.admin.execute(
                sql.SQL("ALTER DATABASE {} SET synchronous_commit TO on").format(
                    sql.Identifier(database)
                )
            )
            count = 3
        cluster = cls(setup, folder, fake, url, clock, env, pg)
        cluster.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.8))
        cluster.replicas = [Replica(cluster._spawn(n, 0)) for n in range(count)]
        for n in range(count):
            await cluster.ready(n)
        return cluster

    def _spawn(self, n: int, generation: int) -> SlackProcess:
        circle = council_circle(RULES, timezone=ZONE, checkins=CHECKINS)
        process = SlackProcess(
            self.folder,
            f"r{n}-{generation}",
            self.url,
            self.fake.api_url,
            verbose=True,
            circle=circle,
            env=self.env,
        )
        process.events.clock_offset = self.clock.offset
        return process

    async def ready(self, n: int) -> None:
        process = self.replicas[n].process
        deadline = time.monotonic() + START_TIMEOUT
        while not (answer := await self.page(n, "/readyz")) or answer[0] != 200:
            if not process.alive():
                raise RuntimeError(f"{process.name} exited:\n{process.log.read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{process.name} not ready:\n{process.log.read_text()}")
            await asyncio.sleep(0.1)

    async def page(self, n: int, path: str) -> tuple[int, str] | None:
        replica = self.replicas[n]
        if replica.paused or not replica.process.alive() or self.session is None:
            return None
        try:
            url = f"http://127.0.0.1:{replica.process.port}{path}"
            async with self.session.get(url) as got:
                return got.status, await got.text()
        except (aiohttp.ClientError, OSError, TimeoutError):
            return None

    async def leader_up(self) -> bool:
        """Whether some replica says it leads the scheduled work (a paused or dead one
        cannot say so)."""
        for n in range(len(self.replicas)):
            answer = await self.page(n, "/metrics")
            if answer is not None and "\ncirclebot_leader 1.0" in answer[1]:
                return True
        return False

    def sync_clock(self) -> None:
        for replica in self.replicas:
            replica.process.events.clock_offset = self.clock.offset

    # -- faults --------------------------------------------------------------------------

    async def kill(self, n: int, down_for: float) -> None:
        replica = self.replicas[n]
        if replica.paused:
            replica.process.process.send_signal(signal.SIGCONT)
            replica.paused = False
        replica.process.kill()
        await replica.process.events.close()
        await asyncio.sleep(down_for)
        replica.generation += 1
        replica.process = self._spawn(n, replica.generation)
        await self.ready(n)

    async def pause(self, n: int, seconds: float) -> None:
        replica = self.replicas[n]
        if replica.paused or not replica.process.alive():
            return
        replica.process.process.send_signal(signal.SIGSTOP)
        replica.paused = True
        await asyncio.sleep(seconds)
        replica.process.process.send_signal(signal.SIGCONT)
        replica.paused = False

    def end_connections(self) -> int:
        assert self.pg is not None
        database = self.url.rsplit("/", 1)[1]
        found = self.pg.admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchone()
        return int(found[0]) if found else 0

    async def restart_database(self, down_for: float) -> None:
        assert self.pg is not None
        await asyncio.to_thread(self.pg.halt)
        await asyncio.sleep(down_for)
        await asyncio.to_thread(self.pg.resume)

    async def close(self) -> None:
        for replica in self.replicas:
            if replica.paused:
                replica.process.process.send_signal(signal.SIGCONT)
            await replica.process.close()
        if self.session is not None:
            await self.session.close()
        await self.fake.close()
