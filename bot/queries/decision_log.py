"""The decision log as the database holds it, read for the exports (bot/queries/export.py,
bot/queries/export_html.py, bot/queries/export_ics.py).

Reading only: each proposal's per-side tally is computed from the round that was counted
(its frozen rules and leaders, and the marks of that round) with the same pure functions
the core uses (bot.state.rounds.count_round), without syncing the configuration into the
database. Circles that are no longer configured still appear: the record is the
database's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.circle import CheckinSpec, CircleSpec, Rules, leaders_by_side
from bot.domain.i18n import Lang
from bot.domain.model import Member, Proposal, Stance, Status
from bot.domain.stances import latest_reasons
from bot.domain.tally import Tally
from bot.ports.store import Store, UnitOfWork
from bot.state.rounds import RoundState, count_round
from bot.text.messages import Outcome, headline_in_round, outcome_headline, side_lines

CLOSED: tuple[str, ...] = tuple(s.value for s in Status if s.is_closed)
LIVE: tuple[str, ...] = (Status.DRAFT.value, Status.OPEN.value)
# Circle-level history rows that say something about a round while it was open.
AWAY_KINDS = ("away", "back")


class ExportError(Exception):
    """The export cannot be made as asked (e.g. an unknown circle)."""


@dataclass(frozen=True)
class RoundInfo:
    """One round of a proposal: the text it asked about and when it opened."""

    number: int
    text: str
    opened_at: datetime


@dataclass(frozen=True)
class Statement:
    """One version of an outcome statement."""

    text: str
    at: datetime
    by: str


@dataclass(frozen=True)
class Decision:
    """One proposal (a closed one, for the decision log), with the tally of the round it
    was decided on (or, while open, of its current round)."""

    proposal: Proposal
    circle: str
    timezone: str
    leaders: dict[str, list[str]]
    stances: dict[str, Stance]  # as counted: an away leader's proxy's stance included
    result: Tally
    history: list[dict[str, Any]]
    proxied: dict[str, str] = field(default_factory=dict)  # away leader -> proxy counted
    rounds: tuple[RoundInfo, ...] = ()
    # `away` and `back` rows of this proposal's leaders while it was open (circle-wide
    # history rows, not the proposal's own).
    away: tuple[dict[str, Any], ...] = ()

    @property
    def status(self) -> Status:
        return Status(self.proposal.status)

    @property
    def withdrawn_by(self) -> str | None:
        rows = [row for row in self.history if row["kind"] == "withdraw"]
        return str(rows[-1]["actor"]) if rows and self.status is Status.WITHDRAWN else None

    @property
    def closed_by(self) -> str | None:
        """Who closed it before its deadline with `close` (None: it closed by itself)."""
        return self.proposal.closed_by

    @property
    def statement(self) -> str | None:
        """The outcome statement, latest version."""
        return self.proposal.statement

    def headline(self, lang: Lang) -> str:
        """`Proposal #7 passed` (with its round once it was amended), as every export
        heads the decision."""
        p = self.proposal
        outcome = Outcome(
            proposal_id=p.id,
            text=p.text,
            status=self.status,
            round=p.round,
            sides=side_lines(self.result),
            decided_at=p.decided_at or p.deadline,
        )
        return headline_in_round(outcome_headline(outcome, lang), p.round, lang)

    @property
    def statements(self) -> list[Statement]:
        """Every version of the outcome statement, oldest first."""
        return [
            Statement(str((row["detail"] or {}).get("text", "")), row["at"], str(row["actor"]))
            for row in self.history
            if row["kind"] == "statement"
        ]

    @property
    def latest_statement(self) -> Statement | None:
        """The statement's latest version as its history records it (who wrote it and
        when), if that history is there."""
        versions = self.statements
        if versions and versions[-1].text == self.statement:
            return versions[-1]
        return None

    @property
    def earlier_statements(self) -> list[Statement]:
        """The versions the latest one replaced, oldest first."""
        versions = self.statements
        return versions[:-1] if self.latest_statement is not None else versions

    @property
    def leader_names(self) -> set[str]:
        return {name for names in self.leaders.values() for name in names}

    @property
    def reasons(self) -> dict[str, str]:
        """The reason each person gave with the stance counted (`object 7 it breaks the
        budget`), by name, for those who gave one."""
        commands = [
            (row["member"], row["detail"].get("stance"), row["detail"].get("reason"))
            for row in self.history
            if row["kind"] == "reaction"
            and row["round"] == self.proposal.round
            and row["counted"]
            and isinstance(row["detail"], dict)
            and "stance" in row["detail"]
        ]
        return dict(sorted(latest_reasons(commands, self.stances).items()))

    @property
    def voices(self) -> dict[str, Stance]:
        """Stances of people who had no vote on this round (shown, never counted)."""
        leaders = self.leader_names
        return {n: s for n, s in sorted(self.stances.items()) if n not in leaders}

    def shown(self, name: str, lang: Lang, escape: Callable[[str], str] = str) -> str:
        """A leader's name as the log shows their stance: `ben (for ana)` when their
        proxy's stance counted for them. `escape` is applied to each name (the format's
        escaping), not to the words around them."""
        proxy = self.proxied.get(name)
        if proxy is None:
            return escape(name)
        return lang._("{proxy} (for {name})", proxy=escape(proxy), name=escape(name))

    def shown_names(
        self, names: Sequence[str], lang: Lang, escape: Callable[[str], str] = str
    ) -> str:
        """`ana, ben (for cy)`."""
        return ", ".join(self.shown(name, lang, escape) for name in names)


@dataclass(frozen=True)
class CircleFacts:
    """What the calendar needs of a circle besides its proposals."""

    name: str
    key: str  # stable and distinct per deployment: see circle_key
    timezone: str
    checkins: CheckinSpec | None
    checkins_held: int
    language: str


def circle_key(name: str, history: Sequence[dict[str, Any]]) -> str:
    """A short, stable identity for a circle in one deployment: its name with the time
    and source of its first history row (the first members the config gave it). Two
    deployments with a circle of the same name started at different moments, so their
    calendar UIDs differ; the same database exports the same key every time, copied or
    migrated to another server too."""
    first = history[0] if history else None
    seed = name if first is None else f"{name}\n{first['at'].isoformat()}\n{first['event_id']}"
    return hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:12]


# --------------------------------------------------------------------------- reading


def _round_state(
    tx: UnitOfWork, proposal: Proposal, spec: CircleSpec | None, members: Sequence[Member]
) -> RoundState:
    """The round as the core counts it, from the database alone: a circle no longer
    configured is still exported."""
    if proposal.round == 0:  # a draft that never opened: nobody could answer
        sides = list(spec.sides) if spec else list(dict.fromkeys(m.side for m in members))
        leaders = leaders_by_side(sides, members)
        return count_round(proposal, spec.rules if spec else Rules(), leaders, ())
    stored = tx.round(proposal.id, proposal.round)
    assert stored is not None, (proposal.id, proposal.round)
    marks = tx.marks(proposal.id, proposal.round)
    return count_round(proposal, Rules.from_json(stored.rules), stored.leaders, marks)


def _rounds(tx: UnitOfWork, proposal: Proposal) -> tuple[RoundInfo, ...]:
    found = []
    for number in range(1, proposal.round + 1):
        stored = tx.round(proposal.id, number)
        if stored is not None:
            found.append(RoundInfo(number, stored.text, stored.opened_at))
    return tuple(found)


def _away_rows(
    history: Sequence[dict[str, Any]], proposal: Proposal, leaders: set[str]
) -> tuple[dict[str, Any], ...]:
    end = proposal.decided_at
    return tuple(
        row
        for row in history
        if row["kind"] in AWAY_KINDS
        and row["proposal_id"] is None
        and row["member"] in leaders
        and row["at"] >= proposal.created_at
        and (end is None or row["at"] <= end)
    )


def _circle_ids(
    tx: UnitOfWork, specs: dict[str, CircleSpec], circle: str | None
) -> tuple[dict[int, str], list[int]]:
    names = tx.circle_names()
    if circle is None:
        return names, list(names)
    ids = [cid for cid, name in names.items() if name == circle]
    if not ids and circle not in specs:
        known = sorted(set(specs) | set(names.values()))
        raise ExportError(f"there is no circle {circle!r}; circles: {', '.join(known) or 'none'}")
    return names, ids


def read_proposals(
    repo: Store,
    circles: Sequence[CircleSpec],
    circle: str | None = None,
    statuses: Sequence[str] = CLOSED,
) -> list[Decision]:
    """The proposals in `statuses` (of one circle, or all), oldest decision first (for
    open ones: oldest first)."""
    specs = {spec.name: spec for spec in circles}
    with repo.transaction() as tx:
        names, ids = _circle_ids(tx, specs, circle)
        found: list[Decision] = []
        for circle_id in ids:
            name = names[circle_id]
            spec = specs.get(name)
            members = tx.members(circle_id)
            history = tx.history(circle_id)
            for proposal in tx.proposals(circle_id, statuses=statuses):
                state = _round_state(tx, proposal, spec, members)
                leaders = {n for names_ in state.leaders.values() for n in names_}
                found.append(
                    Decision(
                        proposal=proposal,
                        circle=name,
                        timezone=spec.timezone if spec else "UTC",
                        leaders=state.leaders,
                        stances=state.stances,
                        result=state.result,
                        history=[row for row in history if row["proposal_id"] == proposal.id],
                        proxied=dict(state.proxied),
                        rounds=_rounds(tx, proposal),
                        away=_away_rows(history, proposal, leaders),
                    )
                )
    found.sort(key=lambda d: (d.proposal.decided_at or d.proposal.created_at, d.proposal.id))
    return found


def decisions(
    repo: Store, circles: Sequence[CircleSpec], circle: str | None = None
) -> list[Decision]:
    """Every closed proposal (of one circle, or all), oldest decision first."""
    return read_proposals(repo, circles, circle, CLOSED)


def circle_headings(repo: Store, circles: Sequence[CircleSpec], circle: str | None) -> list[str]:
    """The circles a log has a section for: the configured ones first, in the config's
    order, then those only the database still knows."""
    if circle is not None:
        return [circle]
    with repo.transaction() as tx:
        stored = set(tx.circle_names().values())
    configured = [spec.name for spec in circles if spec.name in stored]
    return configured + sorted(stored - set(configured))


def circle_facts(
    repo: Store, circles: Sequence[CircleSpec], circle: str | None = None
) -> list[CircleFacts]:
    """Each circle's identity, schedule and how many check-ins it has held."""
    specs = {spec.name: spec for spec in circles}
    with repo.transaction() as tx:
        names, ids = _circle_ids(tx, specs, circle)
        found = []
        for circle_id in ids:
            name = names[circle_id]
            spec = specs.get(name)
            found.append(
                CircleFacts(
                    name=name,
                    key=circle_key(name, tx.history(circle_id)),
                    timezone=spec.timezone if spec else "UTC",
                    checkins=spec.checkins if spec else None,
                    checkins_held=tx.count_checkins(circle_id),
                    language=spec.language if spec else "en",
                )
            )
    return found
