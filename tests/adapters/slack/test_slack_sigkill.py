"""A real `circlebot run` on Slack (HTTP with signed requests, and Socket Mode) against
the fake Slack: a few hundred concurrent `/propose` commands, SIGKILL as soon as the last
one is acknowledged, a restart. Every acknowledged command makes exactly one proposal
and one card: none lost (Slack never resends an acknowledged command), none doubled."""

from __future__ import annotations

import asyncio
import os
import queue
import re
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from tests.adapters.slack.conftest import CHANNEL
from tests.adapters.slack.fakeslack import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    HttpDelivery,
    command_payload,
    eventually,
)
from tests.adapters.slack.processes import council_circle
from tests.pgserver import free_port
from tests.runtime.test_storage_guards import circlebot

pytestmark = pytest.mark.slow

COMMANDS = 300  # concurrent /propose commands
CONNECTIONS = 100  # HTTP connections they share

CONFIG = """
[storage]
url = "sqlite:///{db}"

[slack]
mode = "{mode}"
host = "127.0.0.1"
port = {port}
api_url = "{api}"
"""


class Bot:
    """A `circlebot run -v` process; its log lines are collected as they come."""

    def __init__(self, config: Path, mode: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "SLACK_BOT_TOKEN": BOT_TOKEN}
        if mode == "http":
            env["SLACK_SIGNING_SECRET"] = SIGNING_SECRET
        else:
            env["SLACK_APP_TOKEN"] = APP_TOKEN
        self.process = subprocess.Popen(
            [circlebot(), "run", "-v", "--config", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def saw(self, text: str) -> bool:
        while not self.lines.empty():
            self.seen.append(self.lines.get_nowait())
        if self.process.poll() is not None and not any(text in line for line in self.seen):
            raise AssertionError("circlebot exited:\n" + "\n".join(self.seen[-40:]))
        return any(text in line for line in self.seen)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path

    def query(self, sql: str) -> list[tuple[object, ...]]:
        connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.close()

    def count(self, table: str) -> int:
        """Rows in `table`; 0 while it does not exist."""
        exists = f"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'"
        if not self.query(exists)[0][0]:
            return 0
        return int(str(self.query(f"SELECT count(*) FROM {table}")[0][0]))

    def proposal_texts(self) -> list[str]:
        return [str(row[0]) for row in self.query("SELECT text FROM proposals")]


async def start_bot(fake: FakeSlack, tmp_path: Path, mode: str) -> tuple[Bot, str]:
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        CONFIG.format(db=tmp_path / "bot.db", mode=mode, port=port, api=fake.api_url)
        + council_circle()
    )
    connections = fake.connections
    bot = Bot(config, mode)
    if mode == "http":
        await eventually(lambda: bot.saw("slack: listening on"), 60.0, "the bot listening")
    else:
        await eventually(lambda: bot.saw("slack: connected over Socket Mode"), 60.0, "Socket Mode")
        await eventually(
            lambda: fake.connections > connections and fake.sockets, 10.0, "the websocket"
        )
    return bot, f"http://127.0.0.1:{port}/slack/events"


async def send_http(url: str, texts: list[str]) -> list[bool]:
    """The commands, concurrently; for each, whether it was acknowledged as taken."""
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    delivery = HttpDelivery(url, session=aiohttp.ClientSession(connector=connector))
    try:

        async def one(text: str) -> bool:
            answer = await delivery.command(command_payload("/propose", text, "UANA", CHANNEL))
            return answer.status == 200 and not answer.body  # an empty 200: taken

        return list(await asyncio.gather(*(one(text) for text in texts)))
    finally:
        await delivery.close()


async def send_socket(fake: FakeSlack, texts: list[str]) -> list[bool]:
    sent = [
        await fake.send_envelope("slash_commands", command_payload("/propose", t, "UANA", CHANNEL))
        for t in texts
    ]
    await eventually(lambda: all(s in fake.acks for s in sent), 60.0, "every acknowledgement")
    return [not fake.acks[s].get("payload") for s in sent]


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_acknowledged_commands_survive_sigkill(
    fake: FakeSlack, tmp_path: Path, mode: str
) -> None:
    db = Database(tmp_path / "bot.db")
    first, url = await start_bot(fake, tmp_path, mode)
    try:
        texts = [f"Item {n:03d} by 3d" for n in range(COMMANDS)]
        begun = time.monotonic()
        if mode == "http":
            taken = await send_http(url, texts)
        else:
            taken = await send_socket(fake, texts)
        first.kill()  # as soon as the last one is acknowledged
        acked_in = time.monotonic() - begun
    finally:
        first.kill()
    pairs = zip(texts, taken, strict=True)
    acknowledged = [text.removesuffix(" by 3d") for text, ok in pairs if ok]
    applied, stored = db.count("proposals"), db.count("inbox")
    print(
        f"\n{mode}: {len(acknowledged)}/{COMMANDS} commands acknowledged in {acked_in:.2f} s; "
        f"at SIGKILL {applied} applied, {stored} stored and waiting"
    )
    assert len(acknowledged) == COMMANDS

    second, _ = await start_bot(fake, tmp_path, mode)
    try:
        await eventually(
            lambda: db.count("proposals") >= len(acknowledged) and db.count("inbox") == 0,
            120.0,
            f"{len(acknowledged)} proposals after the restart",
        )
        posted = "SELECT count(*) FROM cards WHERE message_ref IS NOT NULL"
        await eventually(
            lambda: db.query(posted)[0][0] == len(acknowledged), 120.0, "every card posted"
        )
        cards = fake.channel_messages(CHANNEL)
        second.saw("")  # collect what it logged so far
        print(*(line for line in second.seen if "before the last stop" in line), sep="\n")
        assert Counter(db.proposal_texts()) == Counter(acknowledged)  # none lost, none doubled
        numbers = Counter(
            int(match.group(1))
            for card in cards
            if (match := re.search(r"Proposal #(\d+)", card.text)) is not None
        )
        assert sorted(numbers) == list(range(1, COMMANDS + 1))
        assert set(numbers.values()) == {1}  # one card each
    finally:
        second.kill()
