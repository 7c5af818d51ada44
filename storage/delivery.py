"""What goes out: the cards on each platform, the outbox of messages, and where each
was posted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, func, insert, or_, select, update

from bot.domain.durations import utc
from bot.domain.model import Card, PendingMessage
from storage.models import CardRow, OutboxRow
from storage.tx_base import TxBase

CARDS = cast(Table, CardRow.__table__)
OUTBOX = cast(Table, OutboxRow.__table__)
_TOUCH_CARDS = (
    CARDS.update()
    .where(CARDS.c.proposal_id == bindparam("key_proposal_id"))
    .values(version=CARDS.c.version + 1)
)


def _free(table: Table) -> ColumnElement[bool]:
    """Not claimed, claimed by the claimant itself, or claimed by a replica that let the
    claim run out (it died mid-delivery: the platform's idempotency guards the retry)."""
    claimed_by, claimed_until = table.c.claimed_by, table.c.claimed_until
    return or_(
        claimed_until.is_(None),
        claimed_until < bindparam("now"),
        claimed_by == bindparam("claimant"),
    )


def _claim(table: Table, key: Any, *due: ColumnElement[bool]) -> Any:
    """One statement that claims what is due and free on a platform, and returns it: the
    rows are locked as they are picked, and rows another replica's transaction holds are
    skipped, not waited for (SKIP LOCKED on PostgreSQL; SQLite has one writer)."""
    platform = table.c.platform == bindparam("on_platform")
    picked = select(key).where(platform, *due, _free(table)).with_for_update(skip_locked=True)
    return (
        table.update()
        .where(platform, key.in_(picked.scalar_subquery()))
        .values(claimed_by=bindparam("claimant"), claimed_until=bindparam("until"))
        .returning(*table.c)
    )


_CLAIM_CARDS = _claim(CARDS, CARDS.c.proposal_id, CARDS.c.version > CARDS.c.rendered)
_CLAIM_MESSAGES = _claim(OUTBOX, OUTBOX.c.id, OUTBOX.c.sent_at.is_(None))
_RELEASE = {
    table: table.update()
    .where(
        table.c.platform == bindparam("on_platform"),
        table.c.claimed_by == bindparam("claimant"),
    )
    .values(claimed_by=None, claimed_until=None)
    for table in (CARDS, OUTBOX)
}


class DeliveryTx(TxBase):
    """Cards and the outbox."""

    def checkin_posted_as(self, platform: str, message_ref: str) -> int | None:
        """The check-in whose prompt was posted on a platform under this reference."""
        return self.c.scalar(
            select(OutboxRow.checkin_id).where(
                OutboxRow.platform == platform,
                OutboxRow.message_ref == message_ref,
                OutboxRow.checkin_id.is_not(None),
            )
        )

    def message_ref_of(self, key: str) -> str | None:
        return self.c.scalar(select(OutboxRow.message_ref).where(OutboxRow.key == key))

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

    def claim_stale_cards(
        self, platform: str, claimant: str, now: datetime, until: datetime
    ) -> list[Card]:
        """The stale cards no other replica is delivering, now claimed by `claimant`
        until `until`, by proposal."""
        claim = {"on_platform": platform, "claimant": claimant, "now": now, "until": until}
        rows = self.c.execute(_CLAIM_CARDS, claim).all()
        return sorted(map(_card, rows), key=lambda card: card.proposal_id)

    def claim_messages(
        self, platform: str, claimant: str, now: datetime, until: datetime
    ) -> list[PendingMessage]:
        """The pending messages no other replica is delivering, now claimed by
        `claimant` until `until`, in the order they were queued."""
        claim = {"on_platform": platform, "claimant": claimant, "now": now, "until": until}
        rows = self.c.execute(_CLAIM_MESSAGES, claim).all()
        return sorted(map(_message, rows), key=lambda message: message.id)

    def clear_claims(self) -> None:
        """Every claim is free: on the start of the only process on its database, any
        claim left was made by one that died."""
        for table in (CardRow, OutboxRow):
            self.c.execute(
                update(table)
                .where(table.claimed_by.is_not(None))
                .values(claimed_by=None, claimed_until=None)
            )

    def release_claims(self, platform: str, claimant: str) -> None:
        """What `claimant` claimed on `platform` and did not deliver is free again."""
        for release in _RELEASE.values():
            self.c.execute(release, {"on_platform": platform, "claimant": claimant})

    def card_attempted(self, proposal_id: int, platform: str, at: datetime) -> None:
        """Posting the card is about to be tried (kept: the first try's time)."""
        self.c.execute(
            update(CardRow)
            .where(
                CardRow.proposal_id == proposal_id,
                CardRow.platform == platform,
                CardRow.attempted_at.is_(None),
            )
            .values(attempted_at=at)
        )

    def forget_attempts(
        self, platform: str, proposal_ids: Sequence[int], message_ids: Sequence[int]
    ) -> None:
        """The posts of these cards and messages were recorded as about to be tried but
        never were: the next try is a first one."""
        if proposal_ids:
            self.c.execute(
                update(CardRow)
                .where(CardRow.platform == platform, CardRow.proposal_id.in_(proposal_ids))
                .values(attempted_at=None)
            )
        if message_ids:
            self.c.execute(
                update(OutboxRow).where(OutboxRow.id.in_(message_ids)).values(attempted_at=None)
            )

    def message_attempted(self, message_id: int, at: datetime) -> None:
        """Posting the message is about to be tried (kept: the first try's time)."""
        self.c.execute(
            update(OutboxRow)
            .where(OutboxRow.id == message_id, OutboxRow.attempted_at.is_(None))
            .values(attempted_at=at)
        )

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
        checkin_id: int | None = None,
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
                checkin_id=checkin_id,
            )
        )
        return True

    def outbox_backlog(self) -> tuple[int, datetime | None]:
        """How many messages wait to go out, and since when the oldest has."""
        count, oldest = self.c.execute(
            select(func.count(), func.min(OutboxRow.created_at)).where(OutboxRow.sent_at.is_(None))
        ).one()
        return int(count), utc(oldest) if oldest else None

    def pending_messages(self, platform: str) -> list[PendingMessage]:
        return self._pending(
            select(OutboxRow).where(OutboxRow.platform == platform, OutboxRow.sent_at.is_(None))
        )

    def _pending(self, query: Any) -> list[PendingMessage]:
        return [_message(row) for row in self.c.execute(query.order_by(OutboxRow.id))]

    def message_sent(self, message_id: int, at: datetime, message_ref: str | None) -> None:
        self.c.execute(
            update(OutboxRow)
            .where(OutboxRow.id == message_id)
            .values(sent_at=at, message_ref=message_ref)
        )


def _message(row: Any) -> PendingMessage:
    return PendingMessage(
        id=row.id,
        key=row.key,
        platform=row.platform,
        channel=row.channel,
        proposal_id=row.proposal_id,
        kind=row.kind,
        payload=dict(row.payload),
        checkin_id=row.checkin_id,
        attempted_at=utc(row.attempted_at) if row.attempted_at else None,
    )


def _card(row: Any) -> Card:
    return Card(
        proposal_id=row.proposal_id,
        platform=row.platform,
        channel=row.channel,
        message_ref=row.message_ref,
        version=row.version,
        rendered=row.rendered,
        attempted_at=utc(row.attempted_at) if row.attempted_at else None,
    )
