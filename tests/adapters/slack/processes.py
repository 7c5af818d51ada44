"""Real `circlebot run` processes in Slack HTTP mode against the fake Slack Web API, for
the tests and benchmarks that run several replicas on one database (and kill, pause or
stop them)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import aiohttp

from tests.adapters.slack.fakeslack import BOT_TOKEN, SIGNING_SECRET, HttpDelivery
from tests.pgserver import free_port
from tests.runtime.test_storage_guards import circlebot

CHANNEL = "CCOUNCIL"


def council_circle(
    rules: str = "", dee: str = "UDEE", timezone: str = "UTC", checkins: str = ""
) -> str:
    """The council's [[circles]] entry (milpa: ana, ben; vera: cy, dee; ana the admin) in
    CHANNEL and `timezone`, with `rules` (lines of its [circles.rules] table) and
    `checkins` (lines of its [circles.checkins] table, none when empty); `dee` is dee's
    Slack id, or an e-mail address to look up."""
    table = f"[circles.checkins]\n{checkins}\n" if checkins else ""
    return f"""
[[circles]]
name = "council"
sides = ["milpa", "vera"]
admins = ["ana"]
slack_channel = "{CHANNEL}"
timezone = "{timezone}"
{table}[circles.rules]
{rules}
[[circles.members]]
name = "ana"
side = "milpa"
slack = "UANA"
[[circles.members]]
name = "ben"
side = "milpa"
slack = "UBEN"
[[circles.members]]
name = "cy"
side = "vera"
slack = "UCY"
[[circles.members]]
name = "dee"
side = "vera"
slack = "{dee}"
"""


def council_config(
    url: str, port: int, api: str, rules: str = "", circle: str | None = None
) -> str:
    """The council on Slack over HTTP, its database at `url` (`circle`: another
    [[circles]] entry than council_circle(rules))."""
    return f"""
[storage]
url = "{url}"

[slack]
mode = "http"
host = "127.0.0.1"
port = {port}
api_url = "{api}"
""" + (circle if circle is not None else council_circle(rules))


class SlackProcess:
    """One `circlebot run` process, Slack over HTTP on a port of its own, its output in
    `log`; `events` signs and sends it what Slack would."""

    def __init__(
        self,
        folder: Path,
        name: str,
        url: str,
        api: str,
        rules: str = "",
        verbose: bool = False,
        *,
        circle: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.port = free_port()
        config = self.config = folder / f"{name}.toml"
        config.write_text(council_config(url, self.port, api, rules, circle))
        self.log = folder / f"{name}.log"
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        command = [circlebot(), "run", *(["-v"] if verbose else []), "--config", str(config)]
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env
            )
        self.events = HttpDelivery(f"http://127.0.0.1:{self.port}/slack/events")

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def ready(self) -> bool:
        """Whether it finished starting: listening, and leading if no other replica did
        (its HTTP server answers before that). An exit on the way is an error with its log."""
        if not self.alive():
            raise AssertionError(f"{self.name} exited:\n{self.log.read_text()}")
        return "ready: started in" in self.log.read_text()

    async def page(self, path: str) -> tuple[int, str] | None:
        """One of its operator pages (/readyz, /metrics): status and body; None while it
        does not answer."""
        try:
            async with self.events.session.get(f"http://127.0.0.1:{self.port}{path}") as got:
                return got.status, await got.text()
        except (aiohttp.ClientError, OSError):
            return None

    async def leads(self) -> bool:
        answer = await self.page("/metrics")
        return answer is not None and "\ncirclebot_leader 1.0" in answer[1]

    def kill(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    async def close(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.process.wait, 20)
            except subprocess.TimeoutExpired:
                self.kill()
        await self.events.close()
