"""No secret anywhere an operator or an attacker could read it: a real `circlebot run`
on Slack (HTTP mode, JSON logs at debug level, the operators' server) handles commands,
reactions, a forged request and a stop; `circlebot doctor` runs beside it. Its log, its
metrics and readiness pages (on [server] and on the Slack port), doctor's output and
every row of its database are scanned for the secrets it was given."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import aiohttp
import pytest

from tests.adapters.slack.conftest import CHANNEL
from tests.adapters.slack.fakeslack import (
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    HttpDelivery,
    command_payload,
    event_envelope,
    eventually,
    reaction_event,
)
from tests.adapters.slack.processes import council_circle
from tests.pgserver import free_port
from tests.runtime.test_storage_guards import circlebot

pytestmark = pytest.mark.slow

CONFIG = """
[storage]
url = "sqlite:///{db}"

[server]
host = "127.0.0.1"
port = {ops_port}

[logging]
format = "json"
level = "debug"

[slack]
mode = "http"
host = "127.0.0.1"
port = {port}
api_url = "{api}"

"""


def secrets_in(text: str) -> list[str]:
    """Each secret found in `text`, whole or as its distinctive part."""
    parts = {BOT_TOKEN, SIGNING_SECRET, BOT_TOKEN.removeprefix("xoxb-")}
    return sorted(part for part in parts if part in text)


def database_dump(path: Path) -> str:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()


async def test_no_secret_in_logs_metrics_doctor_or_database(
    fake: FakeSlack, tmp_path: Path
) -> None:
    for user, name in (("UANA", "ana"), ("UBEN", "ben"), ("UCY", "cy")):
        fake.add_user(user, name)
    fake.add_user("UDEE", "dee", email="dee@example.org")
    port, ops_port = free_port(), free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        CONFIG.format(db=tmp_path / "bot.db", ops_port=ops_port, port=port, api=fake.api_url)
        + council_circle(dee="dee@example.org")
    )
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    }
    log_path = tmp_path / "bot.log"
    with log_path.open("w") as log_file:
        bot = subprocess.Popen(
            [circlebot(), "run", "--config", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
    pages: list[str] = []
    try:
        await eventually(lambda: "slack: listening on" in log_path.read_text(), 60.0, "listening")
        events = f"http://127.0.0.1:{port}/slack/events"
        delivery = HttpDelivery(events)
        forged = HttpDelivery(events, secret="not-the-secret")
        try:
            answer = await delivery.command(
                command_payload("/propose", "Adopt the visiting policy by 3d", "UANA", CHANNEL)
            )
            assert answer.status == 200
            card = await eventually(lambda: fake.channel_messages(CHANNEL), 20.0, "the card")
            for user in ("UANA", "UBEN", "UCY"):
                envelope = event_envelope(reaction_event(user, "white_check_mark", card[0].ts))
                assert (await delivery.event(envelope)).status == 200
            refused = await forged.command(command_payload("/propose", "x", "UANA", CHANNEL))
            assert refused.status == 401
        finally:
            await delivery.close()
            await forged.close()

        async with aiohttp.ClientSession() as session:

            async def ready() -> bool:  # events are taken while start-up finishes
                async with session.get(f"http://127.0.0.1:{ops_port}/readyz") as response:
                    return response.status == 200

            await eventually(ready, 20.0, "start-up to finish")
            for base in (f"http://127.0.0.1:{ops_port}", f"http://127.0.0.1:{port}"):
                for path in ("/healthz", "/readyz", "/metrics"):
                    async with session.get(base + path) as response:
                        assert response.status == 200, (base, path, await response.text())
                        pages.append(await response.text())
        metrics = pages[2]
        assert 'circlebot_events_total{kind="reaction",platform="slack"} 3.0' in metrics
        assert "circlebot_events_total" in pages[5]  # the Slack port serves them too

        # On threads: the fake Slack answers doctor from this test's event loop.
        doctor = await asyncio.to_thread(
            subprocess.run,
            [circlebot(), "doctor", "--config", str(config)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        wrong = await asyncio.to_thread(  # a wrong token: refused, and never shown
            subprocess.run,
            [circlebot(), "doctor", "--config", str(config)],
            capture_output=True,
            text=True,
            env={**env, "SLACK_BOT_TOKEN": "xoxb-a-wrong-token-4711"},
            timeout=120,
        )
        assert wrong.returncode == 1
        assert "xoxb-a-wrong-token-4711" not in wrong.stdout + wrong.stderr
    finally:
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=30) == 0

    log = log_path.read_text()
    for line in log.splitlines():
        json.loads(line)  # every line is one JSON object
    assert "dee@example.org (dee in circle council) is UDEE" in log  # found on start
    dump = database_dump(tmp_path / "bot.db")
    assert "Adopt the visiting policy" in dump  # the scan reads the real rows
    found = {
        "log": secrets_in(log),
        "metrics and readiness": secrets_in("\n".join(pages)),
        "doctor": secrets_in(doctor.stdout + doctor.stderr),
        "database": secrets_in(dump),
    }
    assert found == {"log": [], "metrics and readiness": [], "doctor": [], "database": []}
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr  # every check passed
    assert "✓ circle council: dee@example.org is UDEE" in doctor.stdout
