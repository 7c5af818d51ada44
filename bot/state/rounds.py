"""A proposal's rounds: what each is counted with (frozen when it opened) and how it
stands. `count_round` is the one place a round's state is computed; the core, the views,
the Home tab and the export all use it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.circle import Rules
from bot.domain.model import Mark, Proposal, Stance, Status
from bot.domain.tally import (
    Tally,
    count_marks,
    decide,
    latest_marks,
    stances_from_latest,
    tally,
)
from bot.ports.store import Store, UnitOfWork
from bot.state.directory import Directory


@dataclass(frozen=True)
class Frozen:
    """What a round is counted with, fixed when it opened."""

    rules: Rules
    leaders: dict[str, list[str]]
    opened_at: datetime

    @property
    def leader_names(self) -> set[str]:
        return {name for names in self.leaders.values() for name in names}


@dataclass(frozen=True)
class RoundState:
    """Everything about the current round of a proposal, as counted now."""

    proposal: Proposal
    rules: Rules
    leaders: dict[str, list[str]]
    stances: dict[str, Stance]  # as counted: an away leader's proxy's stance included
    result: Tally
    proxied: dict[str, str] = field(default_factory=dict)  # away leader -> proxy counted

    def answered_by(self, name: str) -> str | None:
        """Whose stance counts for `name`, when it is a proxy's."""
        return self.proxied.get(name)


def count_round(
    proposal: Proposal,
    rules: Rules,
    leaders: dict[str, list[str]],
    marks: Iterable[Mark],
) -> RoundState:
    """The round's state from its frozen rules and leaders and its live marks. A draft
    (round 0) has no answers: nobody can answer before voting opens."""
    if not proposal.round:
        return RoundState(proposal, rules, leaders, {}, tally(rules, leaders, {}))
    counted = count_marks(marks, rules, leaders)
    result = tally(rules, leaders, counted.stances)
    return RoundState(proposal, rules, leaders, counted.stances, result, counted.proxied)


LATE = "late"  # the note of an answer given after its proposal closed


@dataclass(frozen=True)
class Answer:
    """What one answer (a reaction, a button, a stance command) does to its round."""

    note: str | None = None  # why it is recorded without counting; None: it counts
    store: bool = False  # the newest mark of its (member, platform, emoji): keep it
    replaces: bool = False  # ... in place of an older one
    changed: bool = False  # the member's stance changed: their card shows it
    objects: bool = False  # a leader of the round now objects: they are asked why
    outcome: Status | None = None  # the round reached an early outcome: it closes


def answer(
    status: Status,
    frozen: Frozen | None,
    marks: Iterable[Mark],
    new: Mark,
    *,
    member: bool,
    earlier_round: bool = False,
) -> Answer:
    """What `new` does to a round in `status`, counted with `frozen` (needed only when
    it counts: by a member, on an open proposal) and its live `marks`. Pure: the handler
    loads what it takes and writes what it says."""
    if not member:
        return Answer(note="not a member")
    if status.is_closed:
        return Answer(note=LATE)
    if status is Status.DRAFT:
        return Answer(note="draft")
    assert frozen is not None
    if earlier_round or new.at < frozen.opened_at:
        return Answer(note="earlier round")  # delivered late: it answered older text
    latest = {mark.key: mark for mark in marks}
    current = latest.get(new.key)
    if current is not None and current.position >= new.position:
        return Answer()  # an older event arriving late: the newer one stands
    rules, leaders = frozen.rules, frozen.leaders
    own = [mark for mark in latest.values() if mark.member == new.member]
    before = stances_from_latest(own, rules.emoji).get(new.member)
    latest[new.key] = new
    own = [mark for mark in own if mark.key != new.key] + [new]
    if stances_from_latest(own, rules.emoji).get(new.member) == before:
        # e.g. a second consent emoji: nothing people see has changed
        return Answer(store=True, replaces=current is not None)
    counted = count_marks(latest.values(), rules, leaders)
    leader = any(new.member in names for names in leaders.values())
    return Answer(
        store=True,
        replaces=current is not None,
        changed=True,
        objects=leader and counted.stances.get(new.member) is Stance.OBJECT,
        outcome=decide(tally(rules, leaders, counted.stances), rules, at_deadline=False),
    )


class RoundBook:
    """The frozen rounds, read once: a round never changes after it opened."""

    def __init__(self, directory: Directory) -> None:
        self._directory = directory
        self._rounds: dict[tuple[int, int], Frozen] = {}

    def frozen(self, tx: UnitOfWork, proposal_id: int, number: int) -> Frozen:
        key = (proposal_id, number)
        if key not in self._rounds:
            stored = tx.round(proposal_id, number)
            assert stored is not None, key
            self._rounds[key] = Frozen(
                Rules.from_json(stored.rules), stored.leaders, stored.opened_at
            )
        return self._rounds[key]

    def preload(self, tx: UnitOfWork) -> None:
        """Load every current round of the live proposals in one query (start-up)."""
        parsed: dict[str, Rules] = {}  # most rounds share their circle's rules
        for stored in tx.current_rounds():
            key = json.dumps(stored.rules, sort_keys=True)
            rules = parsed.get(key) or parsed.setdefault(key, Rules.from_json(stored.rules))
            self._rounds[(stored.proposal_id, stored.number)] = Frozen(
                rules, stored.leaders, stored.opened_at
            )

    def state(
        self, tx: UnitOfWork, proposal: Proposal, marks: Iterable[Mark] | None = None
    ) -> RoundState:
        """The current round of `proposal`, as counted now (from its live `marks`, when
        the caller read them with it)."""
        if proposal.round == 0:  # a draft: counted with what a round opening now would freeze
            spec = self._directory.spec_of(proposal)
            return count_round(proposal, spec.rules, self._directory.leaders_by_side(spec), ())
        frozen = self.frozen(tx, proposal.id, proposal.round)
        if marks is None:
            marks = tx.marks(proposal.id, proposal.round)
        return count_round(proposal, frozen.rules, frozen.leaders, marks)

    def load(self, store: Store, proposal_id: int) -> RoundState:
        """The current state of a proposal, in a transaction of its own."""
        with store.transaction() as tx:
            proposal = tx.proposal(proposal_id)
            if proposal is None:
                raise KeyError(proposal_id)
            return self.state(tx, proposal)

    def rebuilt_state(self, tx: UnitOfWork, proposal: Proposal) -> RoundState:
        """The same state, recomputed from the append-only history alone."""
        if proposal.round == 0:
            return self.state(tx, proposal)
        opened = tx.round_record(proposal.id, proposal.round)
        assert opened is not None, (proposal.id, proposal.round)
        rules, leaders = Rules.from_json(opened["rules"]), opened["leaders"]
        history = tx.counted_reactions(proposal.id, proposal.round)
        counted = count_marks(latest_marks(history).values(), rules, leaders)
        result = tally(rules, leaders, counted.stances)
        return RoundState(proposal, rules, leaders, counted.stances, result, counted.proxied)
