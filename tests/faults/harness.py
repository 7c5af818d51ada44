"""One seeded run: the plan's actions sent as signed Slack requests to the real
processes while its faults are injected, then a settle, a read-back (the json export,
the database, the fake Slack's posts) and the invariants checked against the model."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text

from adapters.slack.listeners import not_saved
from bot.domain.i18n import Reader
from tests.adapters.slack.fakeslack import (
    Answer,
    block_action,
    command_payload,
    event_envelope,
    new_event_id,
    reaction_event,
)
from tests.adapters.slack.processes import CHANNEL
from tests.faults.checks import Checks, Violation, instant
from tests.faults.cluster import ZONE, Cluster
from tests.faults.model import SLACK_IDS
from tests.faults.plan import FAKE_START, Action, Fault, Plan, Setup
from tests.pgserver import PostgresServer
from tests.runtime.test_storage_guards import circlebot

REQUEST_TIMEOUT = 3.5  # Slack gives an app 3 s to answer
EVENT_RETRIES = 3  # Slack resends an event it got no answer for, up to 3 times
CLOSE_WITHIN = 15.0  # the spec: a deadline is kept within 15 s of a leader being up
POLL = 0.5  # how often the monitor looks (added to the allowance)
QUIET = 2.0  # no stance is sent this close to a deadline or a `close`: the order is moot
SETTLE_LIMIT = 120.0
NOT_SAVED = not_saved(Reader())  # the council answers in English


@dataclass
class Sent:
    """One action as it went: its Slack ids, the bot-clock instant it carries, whether
    a replica acknowledged it."""

    action: Action
    at: float = 0.0
    event_id: str = ""
    acked: bool | None = None  # None: never sent (skipped)
    skipped: str = ""
    done_at: float = 0.0  # bot-clock instant its delivery ended (retries included)


@dataclass
class RunResult:
    seed: int
    setup: Setup
    actions: int = 0
    acked: int = 0
    skipped: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    violations: list[Violation] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def summary(self) -> str:
        faults = ", ".join(f"{k}={v}" for k, v in sorted(self.faults.items())) or "none"
        kinds = Counter(v.invariant for v in self.violations)
        found = ", ".join(f"{k}={v}" for k, v in sorted(kinds.items())) or "none"
        return (
            f"seed={self.seed} config={self.setup.value} actions={self.actions} "
            f"(acked {self.acked}, skipped {self.skipped}) faults: {faults} | "
            f"violations={len(self.violations)} ({found}) [{self.seconds:.0f} s]"
        )


def _not_saved(answer: Answer) -> bool:
    """A command answered 200 with "could not save, nothing changed": Slack shows the
    person that it failed; it was not acknowledged."""
    body = answer.body if isinstance(answer.body, dict) else {}
    return body.get("text") == NOT_SAVED


class Run:
    def __init__(self, plan: Plan, cluster: Cluster, log: Any) -> None:
        self.plan = plan
        self.cluster = cluster
        self.clock = cluster.clock
        self.log = log
        self.rng = random.Random(plan.seed)  # retries' replica choice only
        self.sent: list[Sent] = []
        self.pids: dict[int, int] = {}  # plan index -> proposal id
        self.cards: dict[int, str] = {}  # plan index -> card ts
        self.deadlines: dict[int, float] = {}  # plan index -> deadline (bot clock)
        self.commands: dict[int, list[float]] = {}  # plan index -> when amend/close was sent
        self.leader_samples: list[tuple[float, bool]] = []  # (real time, a leader up)
        self.closed_seen: dict[int, float] = {}  # proposal id -> real time seen closed
        self.checkins_closed_seen: dict[int, float] = {}
        self.result = RunResult(plan.seed, plan.setup)
        self.engine = create_engine(cluster.url, pool_pre_ping=True)
        self.stopping = False
        self.started = time.time()

    # -- the database ----------------------------------------------------------------------

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]

    async def try_rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]] | None:
        try:
            return await asyncio.to_thread(self.rows, sql, **params)
        except Exception:  # the database restarting: look again later
            return None

    # -- sending -----------------------------------------------------------------------------

    async def _deliver(self, first: int, send: Any, retries: int) -> bool:
        """Send to replica `first` (a dead one's port refuses: the load balancer tries the
        next); an unanswered event is resent by Slack to another replica."""
        count = len(self.cluster.replicas)
        order = [first] + [n for n in range(count) if n != first]
        for attempt in range(retries + 1):
            for n in order:
                process = self.cluster.replicas[n].process
                try:
                    answer: Answer = await asyncio.wait_for(
                        send(process.events, attempt), REQUEST_TIMEOUT
                    )
                except (TimeoutError, OSError, Exception) as exc:
                    if isinstance(exc, TimeoutError):
                        break  # reached an app that did not answer: Slack's retry, later
                    continue  # refused: nobody listening there
                return answer.status == 200 and not _not_saved(answer)
            if attempt < retries:
                await asyncio.sleep(1.0)
                order = self.rng.sample(range(count), count)
        return False

    async def act(self, action: Action) -> None:
        record = Sent(action)
        self.sent.append(record)
        index = action.proposal
        user = SLACK_IDS[action.user]
        if action.kind == "propose":
            payload = command_payload(
                "/propose", f"Item {self.plan.seed}-{index} by {action.seconds}s", user, CHANNEL
            )
            record.event_id = "cmd:" + payload["trigger_id"]
            record.at = self.clock.now()
            record.acked = await self._deliver(
                action.replica, lambda events, _n: events.command(payload), 0
            )
            return
        ready = await self._card(index)
        if not ready:
            record.skipped = "no card"
            return
        now = self.clock.now()
        if action.kind in ("react", "unreact", "button") and (
            now > self.deadlines[index] - QUIET
            or any(abs(now - then) < QUIET for then in self.commands.get(index, []))
        ):
            record.skipped = "too close to its close"
            return
        pid, ts = self.pids[index], self.cards[index]
        record.at = now
        if action.kind in ("react", "unreact"):
            event_id = new_event_id()
            event = reaction_event(
                user, action.emoji, ts, CHANNEL, action.kind == "react", f"{now:.6f}"
            )
            envelope = event_envelope(event, event_id)
            self._show(ts, user, action.emoji, action.kind == "react")
            record.event_id = event_id
            record.acked = await self._deliver(
                action.replica, lambda events, n: events.event(envelope, retry=n), EVENT_RETRIES
            )
            record.done_at = self.clock.now()
        elif action.kind == "button":
            press = block_action(user, f"circlebot_stance:{action.emoji}", action.emoji, ts)
            press["actions"][0]["action_ts"] = f"{now:.6f}"
            record.event_id = "act:" + press["trigger_id"]
            record.acked = await self._deliver(
                action.replica, lambda events, _n: events.interactive(press), 0
            )
        else:
            amended = f"amend {pid} Item {self.plan.seed}-{index} amended"
            words = amended if action.kind == "amend" else f"close {pid}"
            self.commands.setdefault(index, []).append(now)
            payload = command_payload("/circle", words, user, CHANNEL)
            record.event_id = "cmd:" + payload["trigger_id"]
            record.acked = await self._deliver(
                action.replica, lambda events, _n: events.command(payload), 0
            )

    def _show(self, ts: str, user: str, name: str, added: bool) -> None:
        """What Slack shows on the card, which the bot reads back to reconcile."""
        shown = self.cluster.fake.reactions.setdefault((CHANNEL, ts), {}).setdefault(name, [])
        if added and user not in shown:
            shown.append(user)
        elif not added and user in shown:
            shown.remove(user)

    async def _card(self, index: int) -> bool:
        """The proposal's id, deadline and card: wait a little for them to show."""
        limit = time.monotonic() + 5.0
        while index not in self.cards and time.monotonic() < limit:
            found = await self.try_rows(
                "SELECT p.id, p.deadline, c.message_ref FROM proposals p "
                "LEFT JOIN cards c ON c.proposal_id = p.id WHERE p.text = :t",
                t=f"Item {self.plan.seed}-{index}",
            )
            if found:
                pid, deadline, ref = found[0]
                self.pids[index] = pid
                self.deadlines[index] = instant(deadline)
                if ref:
                    self.cards[index] = str(ref)
                    break
            await asyncio.sleep(0.2)
        return index in self.cards

    # -- faults ------------------------------------------------------------------------------

    async def inject(self, fault: Fault) -> None:
        cluster, fake = self.cluster, self.cluster.fake
        self.result.faults[fault.kind] += 1
        self.log(f"  fault at {fault.at:5.1f} s: {fault.kind} {fault.target} {fault.value:.1f}")
        if fault.kind == "kill":
            await cluster.kill(fault.target, fault.value)
        elif fault.kind == "pause":
            await cluster.pause(fault.target, fault.value)
        elif fault.kind == "slack_429":
            for method in ("chat.postMessage", "chat.update"):
                fake.fail(method, 429, times=int(fault.value), retry_after=1)
        elif fault.kind == "slack_500":
            fake.fail("chat.postMessage", 500, times=int(fault.value), apply=True)
            fake.fail("chat.update", 500, times=int(fault.value))
        elif fault.kind == "slack_timeout":  # landed, but the answer comes after 15 s
            fake.fail("chat.postMessage", 200, times=1, delay=16.0, apply=True)
        elif fault.kind == "end_connections":
            ended = await asyncio.to_thread(cluster.end_connections)
            self.log(f"    ended {ended} connections")
        elif fault.kind == "db_restart":
            await cluster.restart_database(fault.value)
        elif fault.kind == "clock_jump":
            start = datetime.fromisoformat(FAKE_START).replace(tzinfo=UTC).timestamp()
            if cluster.clock.jump_to(start + fault.value):
                cluster.sync_clock()
                landed = datetime.fromtimestamp(self.clock.now(), ZoneInfo(ZONE))
                self.log(f"    bot clock now {landed:%Y-%m-%d %H:%M:%S %Z}")
            else:
                self.result.faults[fault.kind] -= 1

    # -- watching ----------------------------------------------------------------------------

    async def monitor(self) -> None:
        while not self.stopping:
            began = time.time()
            self.leader_samples.append((began, await self.cluster.leader_up()))
            found = await self.try_rows("SELECT id, status FROM proposals")
            for pid, status in found or []:
                if status != "open" and pid not in self.closed_seen:
                    self.closed_seen[pid] = began
            found = await self.try_rows("SELECT id FROM checkins WHERE closed_at IS NOT NULL")
            for (cid,) in found or []:
                self.checkins_closed_seen.setdefault(cid, began)
            await asyncio.sleep(max(0.0, POLL - (time.time() - began)))

    # -- the run -----------------------------------------------------------------------------

    async def execute(self) -> None:
        monitor = asyncio.create_task(self.monitor())
        began = time.monotonic()
        tasks: list[asyncio.Task[None]] = []
        steps: list[tuple[float, Action | Fault]] = [(a.at, a) for a in self.plan.actions]
        steps += [(f.at, f) for f in self.plan.faults]
        steps.sort(key=lambda step: step[0])
        for at, step in steps:
            await asyncio.sleep(max(0.0, at - (time.monotonic() - began)))
            if isinstance(step, Action):
                tasks.append(asyncio.create_task(self.act(step)))
            else:
                tasks.append(asyncio.create_task(self.inject(step)))
        await asyncio.gather(*tasks)
        await self.settle()
        self.stopping = True
        await monitor

    async def settle(self) -> None:
        """Until every deadline and check-in close passed, a leader is up, and 15 s more
        for the work they bring; bounded, since a bot that never closes must be seen."""
        self.cluster.fake.faults.clear()
        limit = time.monotonic() + SETTLE_LIMIT
        while time.monotonic() < limit:
            due = await self.try_rows(
                "SELECT max(deadline) FROM proposals UNION ALL SELECT max(closes_at) FROM checkins"
            )
            latest = max((instant(d) for (d,) in due or [] if d is not None), default=0.0)
            passed = due is not None and self.clock.now() > latest + CLOSE_WITHIN + 3
            if passed and await self.cluster.leader_up():
                break
            await asyncio.sleep(1.0)
        await asyncio.sleep(5.0)  # posts still on their way, and anything posted twice

    # -- reading back and checking --------------------------------------------------------

    def export(self) -> list[dict[str, Any]]:
        config = self.cluster.replicas[0].process.config
        done = subprocess.run(
            [circlebot(), "export", "--config", str(config), "--format", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **self.cluster.env},
        )
        if done.returncode != 0:
            raise RuntimeError(f"export failed: {done.stderr}")
        data = json.loads(done.stdout)
        return list(data if isinstance(data, list) else data.get("decisions", []))

    def check(self) -> None:
        self.result.violations.extend(Checks(self).all())


async def run_once(
    plan: Plan, folder: Path, pg: PostgresServer | None, log: Any = print
) -> RunResult:
    """One run of `plan` in `folder` (its processes' logs stay there)."""
    began = time.monotonic()
    database = f"circlebot_faults_{uuid.uuid4().hex[:10]}"
    cluster = await Cluster.start(plan.setup, folder, pg, database)
    run = Run(plan, cluster, log)
    try:
        await run.execute()
    finally:
        await cluster.close()
    run.check()
    run.engine.dispose()
    if pg is not None:
        pg.drop_database(database)
    result = run.result
    result.actions = sum(1 for s in run.sent if s.acked is not None)
    result.acked = sum(1 for s in run.sent if s.acked)
    result.skipped = sum(1 for s in run.sent if s.skipped)
    result.seconds = time.monotonic() - began
    return result
