"""The harness's own idea of what the bot must have done: the parity rule, stances from
reactions and buttons, and when a minute-by-minute check-in schedule fires across a
daylight-saving change. Written from the spec alone; it never calls the bot's tally,
stance or cron code, so a defect there cannot hide behind itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

SIDES: dict[str, tuple[str, ...]] = {"milpa": ("ana", "ben"), "vera": ("cy", "dee")}
LEADERS = tuple(name for names in SIDES.values() for name in names)
ADMINS = ("ana",)
SLACK_IDS = {name: f"U{name.upper()}" for name in LEADERS}

# The spec's default reactions, by Slack name; skin tones map like their base.
REACTION_STANCES = {
    "+1": "consent",
    "white_check_mark": "consent",
    "thinking_face": "concern",
    "neutral_face": "stand_aside",
    "raised_hand": "object",
    "octagonal_sign": "object",
}
STANCES = ("consent", "concern", "stand_aside", "object")


def base_reaction(name: str) -> str:
    """`+1::skin-tone-3` is `+1`."""
    return name.split("::", 1)[0]


@dataclass
class Mark:
    stance: str
    present: bool
    at: float  # the platform's timestamp (seconds, the bot's clock)


@dataclass
class Round:
    number: int
    # (member, mark key) -> the mark; a reaction's key is its base name, a button's
    # its stance: pressing a button adds a mark like a reaction that is never removed.
    marks: dict[tuple[str, str], Mark] = field(default_factory=dict)

    def stances(self) -> dict[str, str]:
        """Each leader's stance: their most recent stance mark still present."""
        found: dict[str, tuple[float, str]] = {}
        for (member, _key), mark in self.marks.items():
            if mark.present and (member not in found or mark.at >= found[member][0]):
                found[member] = (mark.at, mark.stance)
        return {member: stance for member, (_at, stance) in found.items()}


def side_consents(stances: dict[str, str], leaders: tuple[str, ...]) -> bool:
    """quorum 1.0 (every leader answers), no objection, at least one consent or concern."""
    answers = [stances.get(name) for name in leaders]
    return (
        all(answer is not None for answer in answers)
        and "object" not in answers
        and sum(answer in ("consent", "concern") for answer in answers) >= 1
    )


def passes(stances: dict[str, str]) -> bool:
    return all(side_consents(stances, leaders) for leaders in SIDES.values())


def deadline_status(stances: dict[str, str]) -> str:
    """The rule at the deadline (and for `close`)."""
    if passes(stances):
        return "passed"
    if "object" in stances.values():
        return "blocked"
    return "no_quorum"


@dataclass
class ProposalModel:
    """One proposal as the harness saw it: what was acknowledged, in the platform's
    order. `uncertain` names why its final state cannot be predicted (an event that
    was never acknowledged may or may not have landed)."""

    author: str
    rounds: list[Round] = field(default_factory=lambda: [Round(1)])
    status: str = "open"
    closed_at: float | None = None  # the bot's clock
    closed_by: str | None = None
    uncertain: list[str] = field(default_factory=list)

    @property
    def round(self) -> Round:
        return self.rounds[-1]

    def react(self, member: str, key: str, stance: str, added: bool, at: float) -> None:
        if self.status != "open":
            return  # recorded, changes nothing
        mark = self.round.marks.get((member, key))
        if added:
            self.round.marks[(member, key)] = Mark(stance, True, at)
        elif mark is not None:
            mark.present = False
        stances = self.round.stances()
        if len(stances) == len(LEADERS) and passes(stances):
            self.close("passed", at)  # early close

    def amend(self) -> bool:
        if self.status != "open":
            return False
        self.rounds.append(Round(len(self.rounds) + 1))
        return True

    def close_now(self, by: str, at: float) -> bool:
        """`close ID` by `by`: only the author or an admin, only while open."""
        if self.status != "open" or (by != self.author and by not in ADMINS):
            return False
        self.close(deadline_status(self.round.stances()), at, by)
        return True

    def reach_deadline(self, at: float) -> None:
        if self.status == "open":
            self.close(deadline_status(self.round.stances()), at)

    def close(self, status: str, at: float, by: str | None = None) -> None:
        self.status, self.closed_at, self.closed_by = status, at, by

    def waiting(self) -> set[str]:
        """Leaders without a stance on the current round."""
        return set(LEADERS) - set(self.round.stances())


# --------------------------------------------------------------------------- check-ins


def minute_fires(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """When `* * * * *` fires in `zone` between two UTC instants, per the spec: a wall
    time that happens twice (clocks going back) fires once, at its first occurrence.
    Every UTC minute is a wall-clock minute; it fires unless the same wall time was
    already lived an hour (or the fall-back's size) earlier."""
    fires: list[datetime] = []
    moment = start.astimezone(UTC).replace(second=0, microsecond=0)
    if moment < start:
        moment += timedelta(minutes=1)
    while moment <= end:
        wall = moment.astimezone(zone).replace(tzinfo=None)
        # fold=1 marks the second occurrence of an ambiguous wall time.
        second_time = moment.astimezone(zone).fold == 1 and _ambiguous(wall, zone)
        if not second_time:
            fires.append(moment)
        moment += timedelta(minutes=1)
    return fires


def _ambiguous(wall: datetime, zone: ZoneInfo) -> bool:
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return first != second
