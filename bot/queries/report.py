"""The circle's own report, read from the store: the history of the proposals opened in
the period and its check-ins, turned into the typed records bot.domain.report counts."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bot.domain.circle import CircleSpec
from bot.domain.durations import Duration, DurationError, parse_duration, utc
from bot.domain.model import Status
from bot.domain.report import (
    Amended,
    CheckinHeld,
    CircleReport,
    Closed,
    Cosponsored,
    Figures,
    Opened,
    ProposalRecord,
    RoundOpened,
    StanceMark,
    own_figures,
    report,
)
from bot.ports.report_store import HistoryEntry
from bot.ports.store import Store, UnitOfWork


def records_of(entries: Iterable[HistoryEntry | StanceMark]) -> list[ProposalRecord]:
    """The history rows as the report's records (the store reads stances as such)."""
    found: list[ProposalRecord] = []
    add = found.append
    for e in entries:
        if type(e) is StanceMark:
            add(e)
            continue
        assert isinstance(e, HistoryEntry)
        kind = e.kind
        if kind == "round" and e.round is not None:
            add(_round(e))
        elif kind == "propose":
            add(Opened(e.proposal_id, e.actor, e.at, _moment(e.detail, "deadline", e.at)))
        elif kind == "amend":
            add(Amended(e.proposal_id, e.actor, e.at, _moment(e.detail, "deadline", e.at)))
        elif kind == "cosponsor":
            add(Cosponsored(e.proposal_id, e.actor, e.at))
        elif kind == "outcome" and e.detail is not None:
            add(Closed(e.proposal_id, Status(e.detail["status"]), e.at))
    return found


def _round(e: HistoryEntry) -> RoundOpened:
    detail = e.detail or {}
    leaders = {side: tuple(names) for side, names in (detail.get("leaders") or {}).items()}
    offsets = _offsets(tuple((detail.get("rules") or {}).get("reminders") or ()))
    assert e.round is not None
    return RoundOpened(e.proposal_id, e.round, e.at, leaders, offsets)


@functools.lru_cache(maxsize=64)
def _offsets(texts: tuple[str, ...]) -> tuple[Duration, ...]:
    """A round's reminder offsets (circles change them seldom: read once each)."""
    offsets = []
    for text in texts:
        try:
            offsets.append(parse_duration(text))
        except DurationError:
            continue  # a rule this version cannot read: no reminders counted for it
    return tuple(offsets)


def _moment(detail: dict[str, Any] | None, key: str, default: datetime) -> datetime:
    text = (detail or {}).get(key)
    return utc(datetime.fromisoformat(text.replace("Z", "+00:00"))) if text else default


def _read(
    tx: UnitOfWork, spec: CircleSpec, circle_id: int, since: datetime, until: datetime
) -> tuple[list[ProposalRecord], list[CheckinHeld], dict[str, str]]:
    current = tx.members(circle_id)
    side_of = {m.name: m.side for m in [*tx.members(circle_id, former=True), *current]}
    # Who a check-in asked is not kept: the circle's members now stand for them.
    records = records_of(tx.report_entries(circle_id, since, until))
    checkins = tx.checkins_posted(circle_id, since, until)
    replies = tx.replies_of([c.id for c in checkins])
    held = [
        CheckinHeld(
            utc(c.started_at),
            c.facilitator,
            c.facilitator_side,
            tuple((m.name, m.side) for m in current),
            frozenset(replies.get(c.id, ())),
        )
        for c in checkins
    ]
    return records, held, side_of


def circle_report(store: Store, spec: CircleSpec, since: datetime, until: datetime) -> CircleReport:
    """The report of one configured circle over [since, until)."""
    with store.transaction() as tx:
        circle_id = tx.circle_id(spec.name)
        if circle_id is None:  # never started: nothing happened yet
            return report(spec.name, spec.sides, [], [], {}, since, until)
        records, held, side_of = _read(tx, spec, circle_id, since, until)
    return report(spec.name, spec.sides, records, held, side_of, since, until)


def person_figures(
    store: Store, spec: CircleSpec, person: str, since: datetime, until: datetime
) -> Figures:
    """One person's own figures over [since, until): for them alone."""
    with store.transaction() as tx:
        circle_id = tx.circle_id(spec.name)
        if circle_id is None:
            return Figures()
        records, held, side_of = _read(tx, spec, circle_id, since, until)
    return own_figures(person, records, held, side_of, since, until)
