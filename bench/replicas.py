"""Several replicas on one PostgreSQL: stance events/s through one replica and through
three, and how long a failover takes.

Everything is real but Slack: `circlebot run` processes in Slack HTTP mode on one
throw-away PostgreSQL server (two databases: one for the single replica, one for the
three), against the fake Slack Web API of the tests, in this process. Prints, measured
in this run:

  - one replica (the baseline): signed reaction events sent with CONCURRENCY requests
    in flight, events/s from the first send until every stance is in the database;
  - three replicas on one database: the same, the requests spread round-robin over
    them; and the ratio three/one;
  - failover: a proposal falls due a moment after the leader is SIGKILLed; the time
    until another replica holds the lead (its /metrics say so) and until the proposal
    is closed (the scheduled work done), over a few rounds, median and worst, against
    the lead check interval (bot.runtime.runner.LEAD_CHECK_SECONDS).

The replicas log at the default level (warnings), as in production. The figures depend
on the machine's cores (printed): the replicas, PostgreSQL and this process share them.

Usage: python bench/replicas.py [--events N] [--repeats N] [--concurrency N] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.runtime.runner import LEAD_CHECK_SECONDS
from tests.adapters.slack.fakeslack import (
    FakeSlack,
    command_payload,
    event_envelope,
    reaction_event,
)
from tests.adapters.slack.processes import CHANNEL, SlackProcess
from tests.pgserver import PostgresServer

PROPOSALS = 8  # the events are spread over this many open proposals
VOTERS = ("UANA", "UBEN", "UCY")  # dee never answers: the proposals stay open
EMOJI = ("+1", "thinking_face", "neutral_face", "white_check_mark")
FAILOVER_DEADLINE = 8  # seconds: each failover round's proposal
KILL_BEFORE_DUE = 0.3  # seconds before that deadline the leader is killed
START_TIMEOUT = 90.0
NAMES = itertools.count(1)


def start_replica(folder: Path, url: str, api: str) -> SlackProcess:
    return SlackProcess(folder, f"r{next(NAMES)}", url, api)


async def ready(replica: SlackProcess) -> None:
    """Until its /readyz answers 200 (it exits, or takes too long: an error with its log)."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if not replica.alive():
            raise RuntimeError(f"{replica.name} exited:\n{replica.log.read_text()}")
        answer = await replica.page("/readyz")
        if answer is not None and answer[0] == 200:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{replica.name} not ready:\n{replica.log.read_text()}")
        await asyncio.sleep(0.1)


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as connection:
        return connection.execute(text(sql), params).scalar()


async def wait_for(check: Any, what: str, timeout: float = 60.0, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(every)


class Setup:
    """Replicas on one database, their fake Slack, and the open proposals' cards."""

    def __init__(self, server: PostgresServer, name: str, count: int, folder: Path) -> None:
        self.url = server.create_database(name)
        self.engine = create_engine(self.url)
        self.folder = folder
        self.count = count
        self.fake = FakeSlack()
        self.replicas: list[SlackProcess] = []
        self.cards: list[str] = []
        self.sent = 0

    async def start(self) -> None:
        await self.fake.start()
        self.replicas = [self.spawn() for _ in range(self.count)]
        for replica in self.replicas:
            await ready(replica)
        for n, replica in zip(range(PROPOSALS), itertools.cycle(self.replicas), strict=False):
            payload = command_payload("/propose", f"Item {n} by 4w", "UANA", CHANNEL)
            assert (await replica.events.command(payload)).status == 200

        async def posted() -> bool:
            stored = "SELECT count(*) FROM cards WHERE message_ref IS NOT NULL"
            return bool(await asyncio.to_thread(scalar, self.engine, stored) == PROPOSALS)

        await wait_for(posted, "every card posted and kept")
        self.cards = [m.ts for m in self.fake.channel_messages(CHANNEL)]
        assert len(self.cards) == PROPOSALS, "one card each"

    def spawn(self) -> SlackProcess:
        return start_replica(self.folder, self.url, self.fake.api_url)

    def counted(self) -> int:
        return int(scalar(self.engine, "SELECT count(*) FROM history WHERE kind = 'reaction'"))

    async def push(self, events: int, concurrency: int) -> tuple[float, float]:
        """Send `events` signed reactions, round-robin over the replicas, `concurrency`
        in flight; (seconds until every one was acknowledged, until every one counted)."""
        before = await asyncio.to_thread(self.counted)
        numbers = iter(range(self.sent, self.sent + events))
        self.sent += events

        async def sender() -> None:
            for n in numbers:
                # Round-robin over the cards; on each, every voter adds each emoji,
                # then takes it back: every event changes something.
                card, m = self.cards[n % len(self.cards)], n // len(self.cards)
                voter = VOTERS[m % len(VOTERS)]
                emoji = EMOJI[(m // len(VOTERS)) % len(EMOJI)]
                added = (m // (len(VOTERS) * len(EMOJI))) % 2 == 0
                envelope = event_envelope(reaction_event(voter, emoji, card, CHANNEL, added))
                replica = self.replicas[n % len(self.replicas)]
                answer = await replica.events.event(envelope)
                if answer.status != 200:
                    raise RuntimeError(f"{replica.name} answered {answer.status}")

        began = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        acked = time.perf_counter() - began

        async def all_counted() -> bool:
            return await asyncio.to_thread(self.counted) >= before + events

        await wait_for(all_counted, "every stance counted", timeout=600, every=0.02)
        return acked, time.perf_counter() - began

    async def leader(self) -> SlackProcess:
        found: list[SlackProcess] = []

        async def one() -> bool:
            found[:] = [r for r in self.replicas if r.alive() and await r.leads()]
            return len(found) == 1

        await wait_for(one, "one leader", every=0.1)
        return found[0]

    async def failover(self, round_number: int) -> tuple[float, float] | None:
        """Kill the leader just before a proposal falls due; (seconds until another
        replica leads, until that proposal is closed), or None when it closed first."""
        leader = await self.leader()
        other = next(r for r in self.replicas if r is not leader)
        what = f"Failover {round_number}"
        command = command_payload("/propose", f"{what} by {FAILOVER_DEADLINE}s", "UANA")
        assert (await other.events.command(command)).status == 200
        newest = "SELECT id FROM proposals WHERE text = :what"

        async def opened() -> bool:
            return await asyncio.to_thread(scalar, self.engine, newest, what=what) is not None

        await wait_for(opened, "the failover proposal")
        pid = await asyncio.to_thread(scalar, self.engine, newest, what=what)
        due = await asyncio.to_thread(
            scalar, self.engine, "SELECT deadline FROM proposals WHERE id = :pid", pid=pid
        )
        if due.tzinfo is None:
            due = due.replace(tzinfo=UTC)
        await asyncio.sleep((due - datetime.now(UTC)).total_seconds() - KILL_BEFORE_DUE)
        status = "SELECT status FROM proposals WHERE id = :pid"
        if await asyncio.to_thread(scalar, self.engine, status, pid=pid) != "open":
            return None
        leader.kill()
        killed = time.monotonic()
        self.replicas.remove(leader)
        await leader.events.close()
        led: float | None = None
        while True:
            if led is None and any([await r.leads() for r in self.replicas]):
                led = time.monotonic() - killed
            if await asyncio.to_thread(scalar, self.engine, status, pid=pid) != "open":
                done = time.monotonic() - killed
                break
            if time.monotonic() - killed > 60:
                raise RuntimeError("no replica did the scheduled work within 60 s")
            await asyncio.sleep(0.02)
        if led is None:
            led = done  # it led by then: it closed the proposal
        replacement = self.spawn()  # three replicas again for the next round
        self.replicas.append(replacement)
        await ready(replacement)
        return led, done

    async def close(self) -> None:
        for replica in self.replicas:
            await replica.close()
        await self.fake.close()
        self.engine.dispose()


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} s median, {max(values):6.2f} s worst"


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, PostgresServer() as server:
        folder = Path(tmp)
        one = Setup(server, "bench_one", 1, folder)
        three = Setup(server, "bench_three", 3, folder)
        try:
            print("starting the replicas…", file=sys.stderr)
            await one.start()
            await three.start()
            await one.push(args.events // 5, args.concurrency)  # warm-up, not counted
            await three.push(args.events // 5, args.concurrency)
            rates: dict[str, list[float]] = {"one": [], "three": []}
            acks: dict[str, list[float]] = {"one": [], "three": []}
            for repeat in range(args.repeats):  # interleaved: drift hits both alike
                for name, setup in (("one", one), ("three", three)):
                    acked, counted = await setup.push(args.events, args.concurrency)
                    rates[name].append(args.events / counted)
                    acks[name].append(args.events / acked)
                    print(
                        f"  {name} ({repeat + 1}/{args.repeats}): "
                        f"{args.events / counted:.0f} events/s",
                        file=sys.stderr,
                    )
            leads, works, skipped = [], [], 0
            for number in range(1, args.rounds + 1):
                result = await three.failover(number)
                if result is None:
                    skipped += 1
                    continue
                leads.append(result[0])
                works.append(result[1])
                print(f"  failover {number}: {result[0]:.2f} s, {result[1]:.2f} s", file=sys.stderr)
        finally:
            await one.close()
            await three.close()
    base, many = statistics.median(rates["one"]), statistics.median(rates["three"])
    print(
        f"{os.cpu_count()} CPU(s); {args.events} reaction events per measurement, "
        f"{args.concurrency} in flight, median of {args.repeats}"
    )
    print(
        f"one replica (baseline) : {base:7.0f} stance events/s counted "
        f"({statistics.median(acks['one']):.0f}/s acknowledged)"
    )
    print(
        f"three replicas, one db : {many:7.0f} stance events/s counted "
        f"({statistics.median(acks['three']):.0f}/s acknowledged)"
    )
    print(f"ratio three/one        : {many / base:7.2f}")
    if leads:
        print(
            f"failover after SIGKILL, {len(leads)} round(s)"
            + (f" ({skipped} skipped: closed before the kill)" if skipped else "")
            + f"; lead checked every {LEAD_CHECK_SECONDS:.0f} s:"
        )
        print(f"  another replica leads       : {spread(leads)}")
        print(
            f"  scheduled work done         : {spread(works)} "
            f"({statistics.median(works) / LEAD_CHECK_SECONDS:.2f}x the lead check interval; "
            "limit 15 s)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000, help="events per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--rounds", type=int, default=5, help="failover rounds")
    asyncio.run(main(parser.parse_args()))
