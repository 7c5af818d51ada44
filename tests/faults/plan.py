"""A run's schedule of actions and faults, drawn from its seed alone: the same seed and
configuration give the same schedule (what then happens depends on timing, which the
harness records)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import Enum

from tests.faults.model import LEADERS, REACTION_STANCES, STANCES


class Setup(Enum):
    SQLITE = "sqlite"  # one process, SQLite, under libfaketime, America/Los_Angeles
    REPLICAS = "replicas"  # three processes on one PostgreSQL


@dataclass(frozen=True)
class Action:
    """Something Slack sends: `kind` is propose, react, unreact, button, amend or close;
    `proposal` the plan's index of the proposal it is about."""

    at: float  # seconds after the workload starts
    kind: str
    user: str
    proposal: int
    replica: int  # which replica Slack's request goes to first
    emoji: str = ""  # react/unreact: the reaction's name; button: the stance
    seconds: int = 0  # propose: `by {seconds}s`


@dataclass(frozen=True)
class Fault:
    """`kind`: kill, pause, slack_429, slack_500, slack_timeout, clock_jump,
    end_connections, db_restart. `target` a replica; `value` the pause's length, the
    jump's landing (seconds after the run's fake start), or how many calls fail."""

    at: float
    kind: str
    target: int = 0
    value: float = 0.0


@dataclass
class Plan:
    seed: int
    setup: Setup
    duration: float
    replicas: int
    actions: list[Action] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)


PAUSE_SECONDS = 12.0  # past the leadership lease (10 s)
# The SQLite run's clock starts just before the fall-back in Los Angeles (2027-11-07,
# 09:00 UTC = 02:00 PDT = 01:00 PST); its jumps land in the repeated hour, then after it.
FAKE_START = "2027-11-07 08:59:20"
JUMPS_TO = ((20 * 60.0, 58 * 60.0), (61 * 60.0, 64 * 60.0))  # seconds after FAKE_START


def make_plan(seed: int, setup: Setup, duration: float) -> Plan:
    rng = random.Random(f"{setup.value}:{seed}")
    replicas = 1 if setup is Setup.SQLITE else 3
    plan = Plan(seed, setup, duration, replicas)
    proposals = max(3, int(duration / 9))
    for index in range(proposals):
        start = rng.uniform(1.0, max(2.0, duration - 25.0))
        seconds = rng.randint(20, 45)
        author = rng.choice(LEADERS)
        plan.actions.append(
            Action(start, "propose", author, index, rng.randrange(replicas), seconds=seconds)
        )
        window = (start + 3.0, start + seconds - 4.0)
        added: dict[str, list[str]] = {}
        for _ in range(rng.randint(3, 9)):
            at = rng.uniform(*window)
            user = rng.choice(LEADERS)
            replica = rng.randrange(replicas)
            roll = rng.random()
            if roll < 0.2 and added.get(user):
                emoji = rng.choice(added[user])
                plan.actions.append(Action(at, "unreact", user, index, replica, emoji))
            elif roll < 0.4:
                stance = rng.choices(STANCES, weights=(5, 2, 1, 1))[0]
                plan.actions.append(Action(at, "button", user, index, replica, stance))
            else:
                name = rng.choices(list(REACTION_STANCES), weights=(5, 2, 2, 1, 1, 1))[0]
                if name == "+1" and rng.random() < 0.3:
                    name = f"+1::skin-tone-{rng.randint(2, 6)}"
                added.setdefault(user, []).append(name)
                plan.actions.append(Action(at, "react", user, index, replica, name))
        if rng.random() < 0.3:
            at = rng.uniform(*window)
            plan.actions.append(Action(at, "amend", author, index, rng.randrange(replicas)))
        if rng.random() < 0.2:
            at = rng.uniform(*window)
            who = rng.choice((author, "ana", rng.choice(LEADERS)))  # maybe not allowed
            plan.actions.append(Action(at, "close", who, index, rng.randrange(replicas)))
    plan.actions.sort(key=lambda action: action.at)

    def when() -> float:
        return rng.uniform(5.0, max(6.0, duration - 5.0))

    rounds = max(1, int(duration / 60))
    for _ in range(rounds):
        plan.faults.append(Fault(when(), "kill", rng.randrange(replicas), rng.uniform(1, 4)))
        plan.faults.append(Fault(when(), "pause", rng.randrange(replicas), PAUSE_SECONDS))
        for kind in ("slack_429", "slack_500", "slack_timeout"):
            plan.faults.append(Fault(when(), kind, 0, rng.randint(1, 3)))
        if setup is Setup.REPLICAS:
            plan.faults.append(Fault(when(), "end_connections"))
            plan.faults.append(Fault(when(), "db_restart", 0, rng.uniform(2, 5)))
    if setup is Setup.SQLITE:
        first = rng.uniform(duration * 0.2, duration * 0.35)
        second = rng.uniform(duration * 0.55, duration * 0.7)
        for at, (low, high) in zip((first, second), JUMPS_TO, strict=True):
            plan.faults.append(Fault(at, "clock_jump", 0, rng.uniform(low, high)))
    plan.faults.sort(key=lambda fault: fault.at)
    return plan
