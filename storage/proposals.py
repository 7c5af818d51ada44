"""Proposals, their rounds, and the live marks each round is counted from."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Select,
    Table,
    Text,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy import cast as cast_

from bot.domain.durations import utc
from bot.domain.model import Mark, MarkKind, MarkSource, Proposal, ProposalMarks, Round, Sign
from storage.models import CardRow, MarkRow, ProposalRow, RoundRow
from storage.tx_base import TxBase

# The statements of the hot path (one stance event), built once: building a statement
# costs more than running it on SQLite.
MARKS = cast(Table, MarkRow.__table__)
PROPOSALS = cast(Table, ProposalRow.__table__)
_SELECT_PROPOSAL = select(PROPOSALS).where(PROPOSALS.c.id == bindparam("id"))
_LOCK_PROPOSAL = _SELECT_PROPOSAL.with_for_update()  # PostgreSQL; SQLite locks the file
_SELECT_MARKS = select(MARKS).where(
    MARKS.c.proposal_id == bindparam("proposal_id"), MARKS.c.round == bindparam("round")
)
_UPDATE_MARK = (
    MARKS.update()
    .where(
        MARKS.c.proposal_id == bindparam("key_proposal_id"),
        MARKS.c.round == bindparam("key_round"),
        MARKS.c.member == bindparam("key_member"),
        MARKS.c.platform == bindparam("key_platform"),
        MARKS.c.kind == bindparam("key_kind"),
        MARKS.c.emoji == bindparam("key_emoji"),
    )
    .values(added=bindparam("added"), at=bindparam("at"), event_id=bindparam("event_id"))
)
# A proposal with its current round's marks (an answer's whole load), by its id or by
# the card it is on, in one row: the marks as one JSON array (a row per mark would cost
# more to read than a second query). Locked: the proposal's row. Indexed by "is
# PostgreSQL", then by lock (and by "channel given" for a card).
CARDS = cast(Table, CardRow.__table__)
_MARK_FIELDS = (
    MARKS.c.member,
    MARKS.c.kind,
    MARKS.c.emoji,
    MARKS.c.added,
    MARKS.c.at,
    MARKS.c.platform,
    MARKS.c.event_id,
)
_OF_CURRENT_ROUND = (MARKS.c.proposal_id == PROPOSALS.c.id, MARKS.c.round == PROPOSALS.c.round)


def _marks_json(postgres: bool) -> Any:
    aggregate: Any
    if postgres:
        array = func.coalesce(func.json_agg(func.json_build_array(*_MARK_FIELDS)), text("'[]'"))
        aggregate = cast_(array, Text)
    else:
        aggregate = func.json_group_array(func.json_array(*_MARK_FIELDS))
    return select(aggregate).where(*_OF_CURRENT_ROUND).scalar_subquery().label("marks_json")


def _with_marks(postgres: bool, source: Any, lock: bool, *where: Any) -> Select[Any]:
    query = select(PROPOSALS, _marks_json(postgres)).select_from(source).where(*where)
    return query.with_for_update(of=PROPOSALS) if lock else query


_ON_CARD = CARDS.join(PROPOSALS, PROPOSALS.c.id == CARDS.c.proposal_id)
_CARD_IS = (CARDS.c.platform == bindparam("platform"), CARDS.c.message_ref == bindparam("ref"))
_IN_CHANNEL = CARDS.c.channel == bindparam("channel")
_WITH_MARKS = {
    (postgres, lock): _with_marks(postgres, PROPOSALS, lock, PROPOSALS.c.id == bindparam("id"))
    for postgres in (False, True)
    for lock in (False, True)
}
_ON_CARD_WITH_MARKS = {
    (postgres, lock, channel): _with_marks(
        postgres, _ON_CARD, lock, *_CARD_IS, *((_IN_CHANNEL,) if channel else ())
    )
    for postgres in (False, True)
    for lock in (False, True)
    for channel in (False, True)
}


def _proposal(row: Any) -> Proposal:
    return Proposal(
        id=row.id,
        circle_id=row.circle_id,
        author=row.author,
        text=row.text,
        status=row.status,
        round=row.round,
        created_at=utc(row.created_at),
        deadline=utc(row.deadline),
        review=row.review,
        review_at=utc(row.review_at) if row.review_at else None,
        decided_at=utc(row.decided_at) if row.decided_at else None,
        cosponsor=row.cosponsor,
        review_of=row.review_of,
        reviewed=row.reviewed,
        closed_by=row.closed_by,
        statement=row.statement,
    )


class ProposalsTx(TxBase):
    """Proposals, rounds and marks."""

    def create_proposal(
        self,
        *,
        circle_id: int,
        author: str,
        text: str,
        status: str,
        created_at: datetime,
        deadline: datetime,
        review: str | None,
        review_of: int | None = None,
    ) -> int:
        result = self.c.execute(
            insert(ProposalRow).values(
                circle_id=circle_id,
                author=author,
                text=text,
                status=status,
                round=0,
                created_at=created_at,
                deadline=deadline,
                review=review,
                review_of=review_of,
                reviewed=False,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def proposal(self, proposal_id: int, lock: bool = False) -> Proposal | None:
        query = _LOCK_PROPOSAL if lock else _SELECT_PROPOSAL
        row = self.c.execute(query, {"id": proposal_id}).first()
        return _proposal(row) if row else None

    def proposal_with_marks(self, proposal_id: int, lock: bool = False) -> ProposalMarks | None:
        """The proposal and its current round's marks, in one query."""
        query = _WITH_MARKS[(self.c.dialect.name == "postgresql", lock)]
        return _proposal_marks(self.c.execute(query, {"id": proposal_id}).first())

    def proposal_on_card(
        self, platform: str, message_ref: str, channel: str | None = None, lock: bool = False
    ) -> ProposalMarks | None:
        """The same, for the proposal of the card posted under this reference."""
        values = {"platform": platform, "ref": message_ref, "channel": channel}
        postgres = self.c.dialect.name == "postgresql"
        query = _ON_CARD_WITH_MARKS[(postgres, lock, channel is not None)]
        return _proposal_marks(self.c.execute(query, values).first())

    def update_proposal(self, proposal_id: int, **values: Any) -> None:
        self.c.execute(update(ProposalRow).where(ProposalRow.id == proposal_id).values(**values))

    def count_proposals(self, statuses: Sequence[str]) -> int:
        return int(
            self.c.scalar(
                select(func.count())
                .select_from(ProposalRow)
                .where(ProposalRow.status.in_(statuses))
            )
            or 0
        )

    def proposals(
        self,
        circle_id: int | None = None,
        statuses: Sequence[str] | None = None,
        newest_first: bool = False,
        limit: int | None = None,
        closed: bool = False,
    ) -> list[Proposal]:
        query = select(ProposalRow)
        if circle_id is not None:
            query = query.where(ProposalRow.circle_id == circle_id)
        if statuses is not None:
            query = query.where(ProposalRow.status.in_(statuses))
        if closed:
            query = query.order_by(ProposalRow.decided_at.desc(), ProposalRow.id.desc())
        else:
            query = query.order_by(ProposalRow.id.desc() if newest_first else ProposalRow.id)
        if limit is not None:
            query = query.limit(limit)
        return [_proposal(row) for row in self.c.execute(query)]

    def due_proposals(self, now: datetime, statuses: Sequence[str]) -> list[Proposal]:
        query = (
            select(ProposalRow)
            .where(ProposalRow.status.in_(statuses), ProposalRow.deadline <= now)
            .order_by(ProposalRow.deadline, ProposalRow.id)
        )
        return [_proposal(row) for row in self.c.execute(query)]

    def open_before(self, moment: datetime) -> list[Proposal]:
        """Open proposals whose deadline is at or before `moment`."""
        query = (
            select(ProposalRow)
            .where(ProposalRow.status == "open", ProposalRow.deadline <= moment)
            .order_by(ProposalRow.deadline, ProposalRow.id)
        )
        return [_proposal(row) for row in self.c.execute(query)]

    def live_proposals(self) -> list[Proposal]:
        """Proposals that still have something ahead: open, draft, or passed with a
        review to come."""
        query = select(ProposalRow).where(
            or_(
                ProposalRow.status.in_(("open", "draft")),
                and_(
                    ProposalRow.status == "passed",
                    ProposalRow.reviewed.is_(False),
                    ProposalRow.review_at.is_not(None),
                ),
            )
        )
        return [_proposal(row) for row in self.c.execute(query)]

    def due_reviews(self, now: datetime) -> list[Proposal]:
        query = (
            select(ProposalRow)
            .where(
                ProposalRow.status == "passed",
                ProposalRow.reviewed.is_(False),
                ProposalRow.review_at.is_not(None),
                ProposalRow.review_at <= now,
            )
            .order_by(ProposalRow.review_at, ProposalRow.id)
        )
        return [_proposal(row) for row in self.c.execute(query)]

    def open_round(
        self,
        proposal_id: int,
        number: int,
        text: str,
        opened_at: datetime,
        rules: dict[str, Any],
        leaders: dict[str, list[str]],
    ) -> None:
        self.c.execute(
            insert(RoundRow).values(
                proposal_id=proposal_id,
                number=number,
                text=text,
                opened_at=opened_at,
                rules=rules,
                leaders=leaders,
            )
        )
        self.update_proposal(proposal_id, round=number, text=text)

    def current_rounds(self) -> list[Round]:
        """The current round of every open proposal."""
        rows = self.c.execute(
            select(RoundRow)
            .join(ProposalRow, ProposalRow.id == RoundRow.proposal_id)
            .where(ProposalRow.status == "open", ProposalRow.round == RoundRow.number)
        )
        return [_round(row) for row in rows]

    def round(self, proposal_id: int, number: int) -> Round | None:
        row = self.c.execute(
            select(RoundRow).where(RoundRow.proposal_id == proposal_id, RoundRow.number == number)
        ).first()
        return _round(row) if row else None

    # -- live marks ----------------------------------------------------------------

    def put_mark(self, proposal_id: int, round: int, mark: Mark, replace: bool) -> None:
        """Store the newest mark for (member, emoji); the caller has checked it is newer."""
        change: dict[str, Any] = {
            "added": mark.added,
            "at": mark.at,
            "event_id": mark.source.event_id,
        }
        key: dict[str, Any] = {
            "proposal_id": proposal_id,
            "round": round,
            "member": mark.member,
            "platform": mark.source.platform,
            "kind": mark.sign.kind.value,
            "emoji": mark.sign.value,
        }
        if replace:
            self.c.execute(_UPDATE_MARK, {f"key_{k}": v for k, v in key.items()} | change)
        else:
            self.c.execute(MARKS.insert(), key | change)

    def marks(self, proposal_id: int, round: int) -> list[Mark]:
        rows = self.c.execute(_SELECT_MARKS, {"proposal_id": proposal_id, "round": round})
        return [
            Mark(
                member=row.member,
                sign=Sign(MarkKind(row.kind), row.emoji),
                added=row.added,
                at=utc(row.at),
                source=MarkSource(row.platform, row.event_id),
            )
            for row in rows
        ]


def _proposal_marks(row: Any) -> ProposalMarks | None:
    """A proposal and its marks, from a row of it with its marks as a JSON array of
    [member, kind, emoji, added, at, platform, event_id] (`at` as the database writes it
    in JSON)."""
    if row is None:
        return None
    marks = tuple(map(_mark_of, json.loads(row.marks_json)))
    return ProposalMarks(_proposal(row), marks)


# A round's marks are read again with every answer on it, and all but one are the same
# as last time: each is built once (marks are immutable), which is most of a load's
# cost in Python. Bounded: emptied when full.
_MARKS_SEEN: dict[tuple[Any, ...], Mark] = {}
_MARKS_KEPT = 20_000


def _mark_of(fields: list[Any]) -> Mark:
    key = tuple(fields)
    mark = _MARKS_SEEN.get(key)
    if mark is None:
        member, kind, emoji, added, at, platform, event_id = key
        mark = Mark(
            member,
            Sign(MarkKind(kind), emoji),
            bool(added),
            utc(datetime.fromisoformat(at)),
            MarkSource(platform, event_id),
        )
        if len(_MARKS_SEEN) >= _MARKS_KEPT:
            _MARKS_SEEN.clear()
        _MARKS_SEEN[key] = mark
    return mark


def _round(row: Any) -> Round:
    return Round(
        proposal_id=row.proposal_id,
        number=row.number,
        text=row.text,
        opened_at=utc(row.opened_at),
        rules=dict(row.rules),
        leaders={side: list(names) for side, names in row.leaders.items()},
    )
