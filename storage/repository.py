"""The repository: every read and write the core makes, inside one transaction each."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.dml import ReturningInsert

from bot.durations import utc
from bot.errors import Duplicate, StorageUnavailable
from bot.model import (
    Card,
    Checkin,
    Member,
    PendingMessage,
    Proposal,
    RecordedReaction,
    Round,
    StoredMark,
)
from storage.db import unavailable_reason
from storage.models import (
    CardRow,
    CheckinReplyRow,
    CheckinRow,
    CircleRow,
    CursorRow,
    HistoryRow,
    MarkRow,
    MemberRow,
    OutboxRow,
    ProposalRow,
    RoundRow,
)


def _checkin(row: Any) -> Checkin:
    return Checkin(
        id=row.id,
        circle_id=row.circle_id,
        scheduled_for=row.scheduled_for,
        started_at=row.started_at,
        question=row.question,
        facilitator=row.facilitator,
        facilitator_side=row.facilitator_side,
        nudge_at=row.nudge_at,
        closes_at=row.closes_at,
        closed_at=row.closed_at,
        late=row.late,
    )


# The statements of the hot path (one stance event), built once: building a statement
# costs more than running it on SQLite.
HISTORY = cast(Table, HistoryRow.__table__)
MARKS = cast(Table, MarkRow.__table__)
PROPOSALS = cast(Table, ProposalRow.__table__)
CARDS = cast(Table, CardRow.__table__)
_SELECT_PROPOSAL = select(PROPOSALS).where(PROPOSALS.c.id == bindparam("id"))
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
        MARKS.c.emoji == bindparam("key_emoji"),
    )
    .values(added=bindparam("added"), at=bindparam("at"), order=bindparam("order"))
)
_TOUCH_CARDS = (
    CARDS.update()
    .where(CARDS.c.proposal_id == bindparam("key_proposal_id"))
    .values(version=CARDS.c.version + 1)
)


# Insert a history row unless its (platform, event_id) is there already; RETURNING
# tells whether it went in (rowcount is unreliable for ON CONFLICT DO NOTHING).
# Indexed by "is PostgreSQL".
_INSERT_IGNORING = (
    sqlite.insert(HISTORY).on_conflict_do_nothing().returning(HISTORY.c.id),
    postgresql.insert(HISTORY).on_conflict_do_nothing().returning(HISTORY.c.id),
)


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
    )


class Repository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One transaction. A write the database cannot take raises StorageUnavailable
        with a short reason; nothing of the transaction is kept."""
        try:
            with self.engine.begin() as connection:
                yield Tx(connection)
        except OperationalError as exc:
            raise StorageUnavailable(unavailable_reason(exc)) from exc


class Tx:
    """Operations inside one transaction."""

    def __init__(self, connection: Connection) -> None:
        self.c = connection

    # -- circles and members -------------------------------------------------------

    def circle_id(self, name: str) -> int | None:
        return self.c.scalar(select(CircleRow.id).where(CircleRow.name == name))

    def circle_names(self) -> dict[int, str]:
        return {row.id: row.name for row in self.c.execute(select(CircleRow.id, CircleRow.name))}

    def create_circle(self, name: str) -> int:
        result = self.c.execute(insert(CircleRow).values(name=name, config_members=[]))
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def config_members(self, circle_id: int) -> list[dict[str, Any]]:
        value = self.c.scalar(select(CircleRow.config_members).where(CircleRow.id == circle_id))
        return list(value or [])

    def set_config_members(self, circle_id: int, members: list[dict[str, Any]]) -> None:
        self.c.execute(
            update(CircleRow).where(CircleRow.id == circle_id).values(config_members=members)
        )

    def members(self, circle_id: int, former: bool = False) -> list[Member]:
        """Active members; with `former`, those removed instead."""
        rows = self.c.execute(
            select(MemberRow)
            .where(MemberRow.circle_id == circle_id, MemberRow.active.is_(not former))
            .order_by(MemberRow.id)
        )
        return [
            Member(
                name=row.name,
                side=row.side,
                role=row.role,
                slack=row.slack_id,
                matrix=row.matrix_id,
                away_until=utc(row.away_until) if row.away_until else None,
            )
            for row in rows
        ]

    def upsert_member(self, circle_id: int, member: Member) -> None:
        values = {
            "side": member.side,
            "role": member.role,
            "slack_id": member.slack,
            "matrix_id": member.matrix,
            "active": True,
        }
        updated = self.c.execute(
            update(MemberRow)
            .where(MemberRow.circle_id == circle_id, MemberRow.name == member.name)
            .values(**values)
        )
        if updated.rowcount == 0:
            self.c.execute(
                insert(MemberRow).values(circle_id=circle_id, name=member.name, **values)
            )

    def deactivate_member(self, circle_id: int, name: str) -> None:
        self.c.execute(
            update(MemberRow)
            .where(MemberRow.circle_id == circle_id, MemberRow.name == name)
            .values(active=False)
        )

    def set_away(self, circle_id: int, name: str, until: datetime | None) -> None:
        self.c.execute(
            update(MemberRow)
            .where(MemberRow.circle_id == circle_id, MemberRow.name == name)
            .values(away_until=until)
        )

    # -- history ---------------------------------------------------------------------

    def record(
        self,
        *,
        circle_id: int,
        kind: str,
        actor: str,
        at: datetime,
        platform: str,
        event_id: str,
        proposal_id: int | None = None,
        round: int | None = None,
        member: str | None = None,
        emoji: str | None = None,
        added: bool | None = None,
        counted: bool = True,
        note: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append to the history. Raises Duplicate, writing nothing, if this source
        (platform, event_id) was applied before."""
        inserted = self.c.execute(
            self._insert_ignoring_duplicates(),
            {
                "circle_id": circle_id,
                "proposal_id": proposal_id,
                "round": round,
                "kind": kind,
                "actor": actor,
                "member": member,
                "emoji": emoji,
                "added": added,
                "counted": counted,
                "note": note,
                "detail": detail,
                "at": at,
                "platform": platform,
                "event_id": event_id,
            },
        )
        if inserted.first() is None:
            raise Duplicate(f"{platform}:{event_id}")

    def _insert_ignoring_duplicates(self) -> ReturningInsert[Any]:
        return _INSERT_IGNORING[self.c.dialect.name == "postgresql"]

    def seen(self, platform: str, event_id: str) -> bool:
        found = self.c.scalar(
            select(HistoryRow.id).where(
                HistoryRow.platform == platform, HistoryRow.event_id == event_id
            )
        )
        return found is not None

    def reaction(self, platform: str, event_id: str) -> RecordedReaction | None:
        row = self.c.execute(
            select(HistoryRow).where(
                HistoryRow.platform == platform,
                HistoryRow.event_id == event_id,
                HistoryRow.kind == "reaction",
            )
        ).first()
        if row is None or row.proposal_id is None or row.emoji is None:
            return None
        return RecordedReaction(
            row.proposal_id, row.round or 0, row.member, row.emoji, bool(row.added)
        )

    def counted_reactions(self, proposal_id: int, round: int) -> list[StoredMark]:
        """The reaction history of a round that counts, in recorded order."""
        rows = self.c.execute(
            select(HistoryRow)
            .where(
                HistoryRow.proposal_id == proposal_id,
                HistoryRow.round == round,
                HistoryRow.kind == "reaction",
                HistoryRow.counted.is_(True),
            )
            .order_by(HistoryRow.id)
        )
        return [
            StoredMark(
                member=row.member,
                emoji=row.emoji,
                added=bool(row.added),
                at=utc(row.at),
                order=f"{row.platform}:{row.event_id}",
            )
            for row in rows
        ]

    def round_record(self, proposal_id: int, round: int) -> dict[str, Any] | None:
        """What a round froze when it opened, as the history recorded it."""
        detail = self.c.scalar(
            select(HistoryRow.detail).where(
                HistoryRow.proposal_id == proposal_id,
                HistoryRow.round == round,
                HistoryRow.kind == "round",
            )
        )
        return dict(detail) if detail else None

    def actor_of(self, proposal_id: int, kind: str) -> str | None:
        return self.c.scalar(
            select(HistoryRow.actor)
            .where(HistoryRow.proposal_id == proposal_id, HistoryRow.kind == kind)
            .order_by(HistoryRow.id.desc())
            .limit(1)
        )

    def history(self, circle_id: int | None = None) -> list[dict[str, Any]]:
        query = select(HistoryRow).order_by(HistoryRow.id)
        if circle_id is not None:
            query = query.where(HistoryRow.circle_id == circle_id)
        return [
            {
                "id": row.id,
                "proposal_id": row.proposal_id,
                "round": row.round,
                "kind": row.kind,
                "actor": row.actor,
                "member": row.member,
                "emoji": row.emoji,
                "added": row.added,
                "counted": row.counted,
                "note": row.note,
                "detail": row.detail,
                "at": utc(row.at),
                "platform": row.platform,
                "event_id": row.event_id,
            }
            for row in self.c.execute(query)
        ]

    # -- proposals and rounds ------------------------------------------------------

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

    def proposal(self, proposal_id: int) -> Proposal | None:
        row = self.c.execute(_SELECT_PROPOSAL, {"id": proposal_id}).first()
        return _proposal(row) if row else None

    def update_proposal(self, proposal_id: int, **values: Any) -> None:
        self.c.execute(update(ProposalRow).where(ProposalRow.id == proposal_id).values(**values))

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

    def put_mark(self, proposal_id: int, round: int, mark: StoredMark, replace: bool) -> None:
        """Store the newest mark for (member, emoji); the caller has checked it is newer."""
        change: dict[str, Any] = {"added": mark.added, "at": mark.at, "order": mark.order}
        key: dict[str, Any] = {
            "proposal_id": proposal_id,
            "round": round,
            "member": mark.member,
            "platform": mark.order.partition(":")[0],
            "emoji": mark.emoji,
        }
        if replace:
            self.c.execute(_UPDATE_MARK, {f"key_{k}": v for k, v in key.items()} | change)
        else:
            self.c.execute(MARKS.insert(), key | change)

    def marks(self, proposal_id: int, round: int) -> list[StoredMark]:
        rows = self.c.execute(_SELECT_MARKS, {"proposal_id": proposal_id, "round": round})
        return [
            StoredMark(
                member=row.member, emoji=row.emoji, added=row.added, at=utc(row.at), order=row.order
            )
            for row in rows
        ]

    # -- check-ins -----------------------------------------------------------------------

    def create_checkin(self, **values: Any) -> Checkin:
        result = self.c.execute(insert(CheckinRow).values(**values))
        key = result.inserted_primary_key
        assert key is not None
        row = self.c.execute(select(CheckinRow).where(CheckinRow.id == key[0])).first()
        return _checkin(row)

    def checkin(self, checkin_id: int) -> Checkin | None:
        row = self.c.execute(select(CheckinRow).where(CheckinRow.id == checkin_id)).first()
        return _checkin(row) if row else None

    def latest_checkin(self, circle_id: int) -> Checkin | None:
        row = self.c.execute(
            select(CheckinRow)
            .where(CheckinRow.circle_id == circle_id)
            .order_by(CheckinRow.scheduled_for.desc(), CheckinRow.id.desc())
            .limit(1)
        ).first()
        return _checkin(row) if row else None

    def count_checkins(self, circle_id: int) -> int:
        return int(
            self.c.scalar(select(func.count()).where(CheckinRow.circle_id == circle_id)) or 0
        )

    def past_facilitators(self, circle_id: int) -> list[tuple[str, str]]:
        rows = self.c.execute(
            select(CheckinRow.facilitator, CheckinRow.facilitator_side)
            .where(CheckinRow.circle_id == circle_id, CheckinRow.facilitator.is_not(None))
            .order_by(CheckinRow.id)
        )
        return [(row.facilitator, row.facilitator_side) for row in rows]

    def open_checkins(self, circle_id: int | None = None) -> list[Checkin]:
        query = select(CheckinRow).where(CheckinRow.closed_at.is_(None))
        if circle_id is not None:
            query = query.where(CheckinRow.circle_id == circle_id)
        return [_checkin(row) for row in self.c.execute(query.order_by(CheckinRow.id))]

    def checkins_to_nudge(self, circle_id: int, now: datetime) -> list[Checkin]:
        return [
            c for c in self.open_checkins(circle_id) if c.nudge_at is not None and c.nudge_at <= now
        ]

    def checkins_to_close(self, circle_id: int, now: datetime) -> list[Checkin]:
        return [c for c in self.open_checkins(circle_id) if c.closes_at <= now]

    def checkin_nudged(self, checkin_id: int) -> None:
        self.c.execute(update(CheckinRow).where(CheckinRow.id == checkin_id).values(nudge_at=None))

    def close_checkin(self, checkin_id: int, at: datetime) -> None:
        self.c.execute(
            update(CheckinRow)
            .where(CheckinRow.id == checkin_id)
            .values(closed_at=at, nudge_at=None)
        )

    def add_checkin_reply(self, checkin_id: int, member: str, at: datetime) -> bool:
        """False when this member had replied already."""
        exists = self.c.scalar(
            select(func.count()).where(
                CheckinReplyRow.checkin_id == checkin_id, CheckinReplyRow.member == member
            )
        )
        if exists:
            return False
        self.c.execute(insert(CheckinReplyRow).values(checkin_id=checkin_id, member=member, at=at))
        return True

    def checkin_replies(self, checkin_id: int) -> set[str]:
        rows = self.c.execute(
            select(CheckinReplyRow.member).where(CheckinReplyRow.checkin_id == checkin_id)
        )
        return {row.member for row in rows}

    def outbox_key(self, platform: str, message_ref: str) -> str | None:
        """The key of the message posted on a platform under this reference."""
        return self.c.scalar(
            select(OutboxRow.key).where(
                OutboxRow.platform == platform, OutboxRow.message_ref == message_ref
            )
        )

    def message_ref_of(self, key: str) -> str | None:
        return self.c.scalar(select(OutboxRow.message_ref).where(OutboxRow.key == key))

    # -- adapters' resume positions ---------------------------------------------------

    def cursor(self, name: str) -> str | None:
        return self.c.scalar(select(CursorRow.value).where(CursorRow.name == name))

    def set_cursor(self, name: str, value: str) -> None:
        updated = self.c.execute(
            update(CursorRow).where(CursorRow.name == name).values(value=value)
        )
        if updated.rowcount == 0:
            self.c.execute(insert(CursorRow).values(name=name, value=value))

    # -- cards and outbox ----------------------------------------------------------

    def add_card(self, proposal_id: int, platform: str, channel: str) -> None:
        self.c.execute(
            insert(CardRow).values(
                proposal_id=proposal_id,
                platform=platform,
                channel=channel,
                message_ref=None,
                version=1,
                rendered=0,
            )
        )

    def touch_cards(self, proposal_id: int) -> None:
        """The proposal changed: its cards need rendering again."""
        self.c.execute(_TOUCH_CARDS, {"key_proposal_id": proposal_id})

    def cards(self, proposal_id: int) -> list[Card]:
        rows = self.c.execute(select(CardRow).where(CardRow.proposal_id == proposal_id))
        return [_card(row) for row in rows]

    def card_by_ref(
        self, platform: str, message_ref: str, channel: str | None = None
    ) -> Card | None:
        """The card posted under this reference (a Slack ts is unique only within its
        channel, so give the channel where the platform's references need it)."""
        query = select(CardRow).where(
            CardRow.platform == platform, CardRow.message_ref == message_ref
        )
        if channel is not None:
            query = query.where(CardRow.channel == channel)
        row = self.c.execute(query).first()
        return _card(row) if row else None

    def stale_cards(self, platform: str) -> list[Card]:
        rows = self.c.execute(
            select(CardRow)
            .where(CardRow.platform == platform, CardRow.version > CardRow.rendered)
            .order_by(CardRow.proposal_id)
        )
        return [_card(row) for row in rows]

    def card_rendered(
        self, proposal_id: int, platform: str, version: int, message_ref: str | None = None
    ) -> None:
        values: dict[str, Any] = {"rendered": version}
        if message_ref is not None:
            values["message_ref"] = message_ref
        self.c.execute(
            update(CardRow)
            .where(
                CardRow.proposal_id == proposal_id,
                CardRow.platform == platform,
                CardRow.rendered < version,
            )
            .values(**values)
        )

    def enqueue(
        self,
        *,
        key: str,
        platform: str,
        channel: str,
        kind: str,
        payload: dict[str, Any],
        created_at: datetime,
        proposal_id: int | None = None,
    ) -> bool:
        """Queue a message once per key; False if that key was queued before."""
        exists = self.c.scalar(select(func.count()).where(OutboxRow.key == key))
        if exists:
            return False
        self.c.execute(
            insert(OutboxRow).values(
                key=key,
                platform=platform,
                channel=channel,
                kind=kind,
                payload=payload,
                created_at=created_at,
                proposal_id=proposal_id,
            )
        )
        return True

    def pending_messages(self, platform: str) -> list[PendingMessage]:
        rows = self.c.execute(
            select(OutboxRow)
            .where(OutboxRow.platform == platform, OutboxRow.sent_at.is_(None))
            .order_by(OutboxRow.id)
        )
        return [
            PendingMessage(
                id=row.id,
                key=row.key,
                platform=row.platform,
                channel=row.channel,
                proposal_id=row.proposal_id,
                kind=row.kind,
                payload=dict(row.payload),
            )
            for row in rows
        ]

    def message_sent(self, message_id: int, at: datetime, message_ref: str | None) -> None:
        self.c.execute(
            update(OutboxRow)
            .where(OutboxRow.id == message_id)
            .values(sent_at=at, message_ref=message_ref)
        )


def _round(row: Any) -> Round:
    return Round(
        proposal_id=row.proposal_id,
        number=row.number,
        text=row.text,
        opened_at=utc(row.opened_at),
        rules=dict(row.rules),
        leaders={side: list(names) for side, names in row.leaders.items()},
    )


def _card(row: Any) -> Card:
    return Card(
        proposal_id=row.proposal_id,
        platform=row.platform,
        channel=row.channel,
        message_ref=row.message_ref,
        version=row.version,
        rendered=row.rendered,
    )
