"""How fast a Slack reaction reaches the card, and how a burst is coalesced.

Runs the real Slack adapter (Bolt AsyncApp in HTTP mode, signed requests) with a real
Core + Runtime on a SQLite file, against the fake Slack Web API of the tests, all on
loopback in this process. Prints, measured in this run:
  - baseline: a bare signed request's round trip to the Bolt app (an event it
    acknowledges and ignores), p50/p95;
  - latency: from sending a signed reaction request to the matching chat.update reaching
    the fake Web API (edit interval 0, so this is the pipeline itself: Bolt, ack, sink,
    core transaction, dispatcher, render, Web API call), p50/p95;
  - burst: N reactions in S seconds at Slack's edit pace (3 s): chat.update calls, and
    the time from the last request to the exact final tally on the card.

With the real edit interval (3 s) a reaction after a quiet spell is edited at once, so
its latency is the pipeline's; within a burst edits wait for the interval by design.

Usage: python bench/slack_latency.py [--samples N] [--paced N] [--burst N] [--burst-seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.slack import TRAITS, SlackAdapter, build_adapter
from adapters.slack.config import SlackConfig
from bot.config import Config, StorageConfig
from bot.domain.circle import Channel, CircleSpec, MemberSpec, Rules
from bot.domain.clock import SystemClock
from bot.domain.model import Role
from bot.handlers.core import Core
from bot.runtime.runner import Runtime
from storage import open_repository
from tests.adapters.slack.fakeslack import (
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    HttpDelivery,
    Message,
    command_payload,
    event_envelope,
    reaction_event,
)

CHANNEL = "CCOUNCIL"
LEADERS = {"ana": "UANA", "ben": "UBEN", "cy": "UCY", "dee": "UDEE"}


def circle(**rules: Any) -> CircleSpec:
    members = tuple(
        MemberSpec(
            name,
            "milpa" if name in ("ana", "ben") else "vera",
            Role.LEADER,
            handles={"slack": uid},
        )
        for name, uid in LEADERS.items()
    )
    return CircleSpec(
        name="council",
        sides=("milpa", "vera"),
        members=members,
        admins=("ana",),
        rules=Rules(**rules),
        channels={"slack": Channel(CHANNEL)},
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def tally(message: Message) -> str:
    for block in message.blocks or []:
        text = (block.get("text") or {}).get("text", "")
        if text.startswith("*Tally*"):
            return str(text.removeprefix("*Tally*").strip())
    return ""


async def until(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the bot did not get there in time")
        await asyncio.sleep(0.001)


class Bot:
    def __init__(self, fake: FakeSlack, db: Path, edit_interval: float, **rules: Any) -> None:
        self.fake = fake
        config = Config(
            storage=StorageConfig(f"sqlite:///{db}"),
            platforms={"slack": SlackConfig(mode="http", port=0, api_url=fake.api_url)},
            circles=(circle(**rules),),
            warnings=(),
            path="bench",
        )
        env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
        adapter = build_adapter(config, env)
        adapter.edit_interval = edit_interval
        self.adapter: SlackAdapter = adapter
        core = Core(open_repository(config.storage.url), config.circles, SystemClock(), [TRAITS])
        self.runtime = Runtime(core, [adapter])
        self.http: HttpDelivery | None = None

    async def __aenter__(self) -> Bot:
        await self.runtime.start()
        self.http = HttpDelivery(f"http://127.0.0.1:{self.adapter.port}/slack/events")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runtime.stop()
        self.runtime.core.repo.engine.dispose()
        if self.http is not None:
            await self.http.close()

    async def propose(self) -> Message:
        assert self.http is not None
        before = len(self.fake.channel_messages(CHANNEL))
        await self.http.command(command_payload("/propose", "Adopt the policy by 3d", "UANA"))
        await until(lambda: len(self.fake.channel_messages(CHANNEL)) > before)
        await until(lambda: self.adapter.busy == 0)
        return self.fake.channel_messages(CHANNEL)[-1]

    async def react(self, user: str, name: str, card: Message, added: bool, **more: Any) -> int:
        assert self.http is not None
        event = reaction_event(user, name, card.ts, card.channel, added, **more)
        return (await self.http.event(event_envelope(event))).status


async def baseline(fake: FakeSlack, samples: int, db: Path) -> list[float]:
    """A signed request Bolt verifies, acknowledges and the adapter ignores (a reaction
    outside any circle's channel): the floor under every inbound event."""
    async with Bot(fake, db, 0.0) as bot:
        assert bot.http is not None
        body = json.dumps(event_envelope(reaction_event("UANA", "+1", "1.000100", "CGENERAL")))
        times = []
        for _ in range(samples + 10):
            began = time.perf_counter()
            answer = await bot.http.post(body, "application/json")
            times.append(time.perf_counter() - began)
            assert answer.status == 200
        return times[10:]  # warm-up left out


async def latency(
    fake: FakeSlack, samples: int, db: Path, edit_interval: float = 0.0, warm: int = 10
) -> list[float]:
    async with Bot(fake, db, edit_interval) as bot:
        card = await bot.propose()
        times = []
        for n in range(samples + warm):
            if edit_interval and n:
                # A quiet spell longer than the edit interval: the bench's own pacing.
                await asyncio.sleep(edit_interval + 0.1)
            added = n % 2 == 0
            expected = "*milpa* 1/2 … · *vera* 0/2 …" if added else "*milpa* 0/2 … · *vera* 0/2 …"
            edits = len(fake.calls_to("chat.update"))
            sent = time.monotonic()
            assert await bot.react("UANA", "+1", card, added) == 200
            await until(lambda e=edits: len(fake.calls_to("chat.update")) > e)
            await until(lambda x=expected: tally(card) == x)
            landed = next(c for c in fake.calls_to("chat.update")[edits:] if c.status == 200).at
            times.append(landed - sent)
            await until(lambda: bot.adapter.busy == 0)
        await quiet(bot)
        return times[warm:]


async def quiet(bot: Bot) -> None:
    """Let a flush the runtime scheduled (an edit held back by the interval) run before
    stopping: Runtime.stop does not wait for one in flight."""
    await until(lambda: bot.runtime.scheduler.get_job("flush:slack") is None, 10.0)
    await until(lambda: bot.adapter.busy == 0)
    await asyncio.sleep(0.1)


async def burst(fake: FakeSlack, count: int, seconds: float, db: Path) -> dict[str, float]:
    async with Bot(fake, db, 3.0, early_close=False) as bot:
        card = await bot.propose()
        edits_before = len(fake.calls_to("chat.update"))
        start, begun = time.time(), time.monotonic()
        users = list(LEADERS.values())

        async def one(i: int) -> int:
            await asyncio.sleep(max(0.0, begun + i * seconds / count - time.monotonic()))
            last = i >= count - 4
            user = users[i % 4]
            name = "+1" if last else ("thinking_face", "neutral_face", "raised_hand")[i % 3]
            added = last or i % 2 == 0
            return await bot.react(user, name, card, added, event_ts=f"{start + i / 1000:.6f}")

        statuses = await asyncio.gather(*(one(i) for i in range(count)))
        sent = time.monotonic()
        assert statuses == [200] * count
        final = "*milpa* 2/2 ✓ · *vera* 2/2 ✓"
        await until(lambda: tally(card) == final)
        landed = time.monotonic()
        await until(lambda: bot.adapter.busy == 0)
        applied = time.monotonic()
        await quiet(bot)
        return {
            "applied_after": applied - sent,
            "sent_in": sent - begun,
            "edits": float(len(fake.calls_to("chat.update")) - edits_before),
            "final_after": landed - sent,
        }


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        fake = await FakeSlack().start()
        try:
            base = await baseline(fake, args.samples, Path(tmp) / "base.db")
            lat = await latency(fake, args.samples, Path(tmp) / "latency.db")
            paced = await latency(fake, args.paced, Path(tmp) / "paced.db", 3.0, warm=1)
            fake.calls.clear()
            load = await burst(fake, args.burst, args.burst_seconds, Path(tmp) / "burst.db")
        finally:
            await fake.close()

    def ms(values: list[float], share: float) -> str:
        return f"{percentile(values, share) * 1000:7.1f} ms"

    print(f"Slack adapter, HTTP mode, loopback, {args.samples} samples each")
    print(f"  baseline  signed request round trip       p50 {ms(base, 0.5)}  p95 {ms(base, 0.95)}")
    print(f"  reaction  signed request -> chat.update   p50 {ms(lat, 0.5)}  p95 {ms(lat, 0.95)}")
    print(
        f"            (mean {statistics.mean(lat) * 1000:.1f} ms; the pipeline costs "
        f"{(percentile(lat, 0.5) - percentile(base, 0.5)) * 1000:.1f} ms over the baseline at p50)"
    )
    if paced:
        print(
            f"  reaction  after a quiet spell, 3 s edit interval ({len(paced)} samples): "
            f"p50 {ms(paced, 0.5)}  max {max(paced) * 1000:.1f} ms"
        )
    print(
        f"  burst     {args.burst} reactions sent in {load['sent_in']:.2f} s at a 3 s edit "
        f"interval -> {load['edits']:.0f} chat.update calls; exact final tally "
        f"{load['final_after']:.2f} s after the last request, every event applied "
        f"{load['applied_after']:.2f} s after it"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--paced", type=int, default=3, help="samples at the 3 s interval")
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--burst-seconds", type=float, default=5.0)
    asyncio.run(main(parser.parse_args()))
