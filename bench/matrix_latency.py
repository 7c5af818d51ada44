"""How long a reaction takes to show up as the bot's edited card, against the
homeserver's own one-hop delivery, on a real Synapse started for this run.

Prints, measured in the same run on the same homeserver:
  - one hop: ana sends a message, ben's client receives it (user to user);
  - bot: ben reacts on a card (or takes the reaction back), and ben's client receives
    the bot's edit of that card with the new tally. The bot is a real
    `circlebot run` process (SQLite), so this is two hops plus the bot's work;
  - p50 / p95 of each and the ratio bot / one hop.

Cards are edited at most once per 3 s (the adapter's edit_interval; the dispatcher
coalesces bursts), so samples rotate over several cards and each card is reacted on only
when its last edit is 3 s old: what is measured is the pipeline, not the coalescing wait.
Usage: python bench/matrix_latency.py [--samples N] [--cards N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.adapters.matrix.harness import (
    Person,
    bot_config_toml,
    content,
    has_body,
    is_card,
    is_edit_of,
    register_cast,
)
from tests.synapse_server import REPO, SynapseServer

EDIT_INTERVAL = 3.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def line(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{name:<34} n={len(ms):<3} p50 {percentile(ms, 0.5):7.1f} ms   "
        f"p95 {percentile(ms, 0.95):7.1f} ms   mean {statistics.fmean(ms):7.1f} ms"
    )


async def measure(server: SynapseServer, samples: int, cards: int, workdir: Path) -> int:
    cast = register_cast(server)
    ana, ben = Person(server.url, cast.ana), Person(server.url, cast.ben)
    for person in (ana, ben):
        await person.start()
    alias = "bench"
    room = await ana.create_room(invite=[cast.ben.user_id, cast.bot.user_id], alias=alias)
    await ben.join(room)
    config = workdir / "circlebot.toml"
    config.write_text(bot_config_toml(server.url, cast, f"#{alias}:localhost", workdir / "b.db"))
    env = {**os.environ, "MATRIX_ACCESS_TOKEN": cast.bot.access_token}
    with open(workdir / "bot.log", "wb") as log:
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot.wiring.cli", "run", "--config", str(config)],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        await ana.wait_for(
            room,
            lambda e: (
                e.get("state_key") == cast.bot.user_id and content(e).get("membership") == "join"
            ),
            "the bot joining",
            timeout=60,
        )
        refs: list[str] = []
        for number in range(1, cards + 1):
            await ana.say(room, f"!propose Bench card {number} by 2h")
            card = await ben.wait_for(room, is_card(cast.bot.user_id, number), "card", 60)
            refs.append(str(card["event_id"]))
        last_edit = {ref: time.monotonic() for ref in refs}
        reaction: dict[str, str] = {}
        hop: list[float] = []
        bot_times: list[float] = []
        for sample in range(samples):
            # One hop, user to user.
            began = time.monotonic()
            text = f"hop {sample}"
            await ana.say(room, text)
            arrived, _ = await ben.wait_arrival(room, has_body(text), "the message", after=began)
            hop.append(arrived - began)

            # A reaction (or its removal) to the bot's edited card, at ben's client.
            ref = refs[sample % len(refs)]
            wait = last_edit[ref] + EDIT_INTERVAL + 0.1 - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)  # pacing, so no edit is held back by the 3 s rule
            began = time.monotonic()
            if ref in reaction:
                await ben.redact(room, reaction.pop(ref))
                needle = "milpa 0/2 …"
            else:
                reaction[ref] = await ben.react(room, ref, "👍")
                needle = "milpa 1/2 …"
            arrived, _ = await ben.wait_arrival(
                room, is_edit_of(cast.bot.user_id, ref, needle), "the edit", after=began
            )
            bot_times.append(arrived - began)
            last_edit[ref] = arrived
    finally:
        bot.send_signal(signal.SIGINT)
        try:
            bot.wait(timeout=30)
        except subprocess.TimeoutExpired:
            bot.kill()
        for person in (ana, ben):
            await person.close()

    print(f"Synapse {server.url}, {samples} samples each, {cards} cards, bot = circlebot run")
    print(line("one hop (user -> user)", hop))
    print(line("reaction -> edited card at user", bot_times))
    ratio50 = percentile(bot_times, 0.5) / percentile(hop, 0.5)
    ratio95 = percentile(bot_times, 0.95) / percentile(hop, 0.95)
    print(f"ratio bot / one hop: p50 {ratio50:.2f}x   p95 {ratio95:.2f}x")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--cards", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="circlebot-bench-") as work, SynapseServer() as server:
        return asyncio.run(measure(server, args.samples, args.cards, Path(work)))


if __name__ == "__main__":
    sys.exit(main())
