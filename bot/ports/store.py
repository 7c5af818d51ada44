"""The store port: what the core reads and writes, one transaction at a time. storage/
implements it (storage.repository); the core and its handlers see only these
protocols, grouped like the tables they touch."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.domain.events import InboundEvent
from bot.domain.model import (
    Card,
    Checkin,
    Mark,
    Member,
    PendingMessage,
    Proposal,
    ProposalMarks,
    RecordedReaction,
    Round,
    Sign,
)
from bot.ports.report_store import ReportStore
from bot.ports.schedule_watch import ScheduleWatch


class MemberStore(Protocol):
    """Circles and their members."""

    def lock_circles(self) -> None:
        """Hold the circles' configuration until the transaction ends (replicas that
        start together apply the config one after the other)."""

    def circle_id(self, name: str) -> int | None: ...

    def circle_names(self) -> dict[int, str]: ...

    def create_circle(self, name: str) -> int: ...

    def config_members(self, circle_id: int) -> list[dict[str, Any]]: ...

    def set_config_members(self, circle_id: int, members: list[dict[str, Any]]) -> None: ...

    def members(self, circle_id: int, former: bool = False) -> list[Member]:
        """Active members; with `former`, those removed instead."""

    def upsert_member(self, circle_id: int, member: Member) -> None: ...

    def deactivate_member(self, circle_id: int, name: str) -> None: ...

    def set_away(
        self, circle_id: int, name: str, until: datetime | None, proxy: str | None = None
    ) -> None:
        """Away until `until` (None: back), with `proxy` answering for them meanwhile."""


class HistoryStore(Protocol):
    """The history of everything that happened, each source once."""

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
        sign: Sign | None = None,
        added: bool | None = None,
        counted: bool = True,
        note: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append to the history. Raises Duplicate, writing nothing, if this source
        (platform, event_id) was applied before."""

    def seen(self, platform: str, event_id: str) -> bool: ...

    def reaction(self, platform: str, event_id: str) -> RecordedReaction | None: ...

    def counted_reactions(self, proposal_id: int, round: int) -> list[Mark]:
        """The reaction history of a round that counts (proxies named included), in
        recorded order."""

    def stance_commands(
        self, proposal_id: int, round: int
    ) -> list[tuple[str | None, str | None, str | None]]:
        """A round's stance commands in recorded order: (member, stance, reason), the
        reason being the words after the id (None if none); see
        bot.domain.stances.latest_reasons."""

    def round_record(self, proposal_id: int, round: int) -> dict[str, Any] | None:
        """What a round froze when it opened, as the history recorded it."""

    def actor_of(self, proposal_id: int, kind: str) -> str | None: ...

    def history(self, circle_id: int | None = None) -> list[dict[str, Any]]: ...


class ProposalStore(Protocol):
    """Proposals, their rounds, and the live marks of each round."""

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
    ) -> int: ...

    def proposal(self, proposal_id: int, lock: bool = False) -> Proposal | None:
        """With `lock`, held until the transaction ends: what changes a proposal's
        answers or outcome takes turns with whatever else does, on every replica."""

    def proposal_with_marks(self, proposal_id: int, lock: bool = False) -> ProposalMarks | None:
        """The proposal and its current round's marks, in one query; `lock` as above."""

    def proposal_on_card(
        self, platform: str, message_ref: str, channel: str | None = None, lock: bool = False
    ) -> ProposalMarks | None:
        """The same, for the proposal of the card posted under this reference (in
        `channel`, where the platform's references need it: see card_by_ref)."""

    def update_proposal(self, proposal_id: int, **values: Any) -> None: ...

    def count_proposals(self, statuses: Sequence[str]) -> int: ...

    def proposals(
        self,
        circle_id: int | None = None,
        statuses: Sequence[str] | None = None,
        newest_first: bool = False,
        limit: int | None = None,
        closed: bool = False,
    ) -> list[Proposal]: ...

    def due_proposals(self, now: datetime, statuses: Sequence[str]) -> list[Proposal]: ...

    def open_before(self, moment: datetime) -> list[Proposal]:
        """Open proposals whose deadline is at or before `moment`."""

    def live_proposals(self) -> list[Proposal]:
        """Proposals that still have something ahead: open, draft, or passed with a
        review to come."""

    def due_reviews(self, now: datetime) -> list[Proposal]: ...

    def open_round(
        self,
        proposal_id: int,
        number: int,
        text: str,
        opened_at: datetime,
        rules: dict[str, Any],
        leaders: dict[str, list[str]],
    ) -> None: ...

    def current_rounds(self) -> list[Round]:
        """The current round of every open proposal."""

    def round(self, proposal_id: int, number: int) -> Round | None: ...

    def put_mark(self, proposal_id: int, round: int, mark: Mark, replace: bool) -> None:
        """Store the newest mark for (member, emoji); the caller has checked it is newer."""

    def marks(self, proposal_id: int, round: int) -> list[Mark]: ...


class CheckinStore(Protocol):
    """Check-ins and the replies in their threads."""

    def create_checkin(self, **values: Any) -> Checkin: ...

    def checkin(self, checkin_id: int) -> Checkin | None: ...

    def latest_checkin(self, circle_id: int) -> Checkin | None: ...

    def count_checkins(self, circle_id: int) -> int: ...

    def past_facilitators(self, circle_id: int) -> list[tuple[str, str]]: ...

    def open_checkins(self, circle_id: int | None = None) -> list[Checkin]: ...

    def checkins_to_nudge(self, circle_id: int, now: datetime) -> list[Checkin]: ...

    def checkins_to_close(self, circle_id: int, now: datetime) -> list[Checkin]: ...

    def checkin_nudged(self, checkin_id: int) -> None: ...

    def close_checkin(self, checkin_id: int, at: datetime) -> None: ...

    def add_checkin_reply(self, checkin_id: int, member: str, at: datetime) -> bool:
        """False when this member had replied already."""

    def checkin_replies(self, checkin_id: int) -> set[str]: ...


class DeliveryStore(Protocol):
    """Cards and the outbox: what goes out, and where it went."""

    def checkin_posted_as(self, platform: str, message_ref: str) -> int | None:
        """The check-in whose prompt was posted on a platform under this reference."""

    def message_ref_of(self, key: str) -> str | None: ...

    def add_card(self, proposal_id: int, platform: str, channel: str) -> None: ...

    def touch_cards(self, proposal_id: int) -> None:
        """The proposal changed: its cards need rendering again."""

    def cards(self, proposal_id: int) -> list[Card]: ...

    def card_by_ref(
        self, platform: str, message_ref: str, channel: str | None = None
    ) -> Card | None:
        """The card posted under this reference (a message reference is unique only within its
        channel, so give the channel where the platform's references need it)."""

    def stale_cards(self, platform: str) -> list[Card]: ...

    def claim_stale_cards(
        self, platform: str, claimant: str, now: datetime, until: datetime
    ) -> list[Card]:
        """The stale cards no other replica is delivering, claimed by `claimant` until
        `until`."""

    def claim_messages(
        self, platform: str, claimant: str, now: datetime, until: datetime
    ) -> list[PendingMessage]:
        """The pending messages no other replica is delivering, claimed by `claimant`
        until `until`."""

    def release_claims(self, platform: str, claimant: str) -> None:
        """What `claimant` claimed on `platform` and did not deliver is free again."""

    def clear_claims(self) -> None:
        """Every claim is free (the only process on its database starts)."""

    def card_attempted(self, proposal_id: int, platform: str, at: datetime) -> None:
        """Posting the card is about to be tried (kept: the first try's time)."""

    def message_attempted(self, message_id: int, at: datetime) -> None:
        """Posting the message is about to be tried (kept: the first try's time)."""

    def forget_attempts(
        self, platform: str, proposal_ids: Sequence[int], message_ids: Sequence[int]
    ) -> None:
        """The posts of these cards (on `platform`) and messages were recorded as about
        to be tried but never were: the next try is a first one."""

    def card_rendered(
        self, proposal_id: int, platform: str, version: int, message_ref: str | None = None
    ) -> None: ...

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

    def outbox_backlog(self) -> tuple[int, datetime | None]:
        """How many messages wait to go out, and since when the oldest has."""

    def pending_messages(self, platform: str) -> list[PendingMessage]: ...

    def message_sent(self, message_id: int, at: datetime, message_ref: str | None) -> None: ...


class CursorStore(Protocol):
    """Adapters' resume positions."""

    def cursor(self, name: str) -> str | None: ...

    def set_cursor(self, name: str, value: str) -> None: ...


class IdentityStore(Protocol):
    """Members given by e-mail address, and the platform id each was found to be."""

    def resolved_identity(self, platform: str, address: str) -> str | None: ...

    def set_resolved_identity(
        self, platform: str, address: str, user_id: str, at: datetime
    ) -> None: ...


class UnitOfWork(
    MemberStore,
    HistoryStore,
    ProposalStore,
    CheckinStore,
    DeliveryStore,
    CursorStore,
    IdentityStore,
    ReportStore,
    Protocol,
):
    """Everything one transaction can do; it commits as one, or not at all."""


@dataclass(frozen=True)
class Replay:
    """What a start finds in the inbox."""

    events: list[InboundEvent]  # to apply now, in arrival order
    dropped: list[tuple[str, str, str]]  # (platform, event_id, why) given up on, removed


class InboundLog(Protocol):
    """Inbound events stored before the platform is told they arrived (see
    EventSink.accept): kept until applied, applied again after a crash."""

    async def store(self, event: InboundEvent) -> bool:
        """Returns once `event` is durable: True when it was taken now, False when it is a
        repeat of one taken before (here or by another replica, waiting or applied lately:
        a platform's resend). Raises what the write raised."""

    def done(self, platform: str, event_id: str) -> None:
        """The event was applied: it can go."""

    def replay(self, max_attempts: int) -> Replay:
        """What the last run left, to apply now (blocking: run it off the event loop)."""

    def orphans(self, older_than: float, max_attempts: int) -> Replay:
        """What has waited more than `older_than` seconds (the replica that stored it
        died before applying it), in arrival order, each adoption one more attempt; what
        was tried `max_attempts` times is given up on (blocking)."""

    async def close(self) -> None: ...


class Store(Protocol):
    @property
    def shared(self) -> bool:
        """Whether other processes may write to this database too (PostgreSQL), so what
        a process keeps in memory between events may go stale."""

    def inbound_log(self) -> InboundLog:
        """The inbox on this database, writing on a connection of its own."""

    def schedule_watch(self) -> ScheduleWatch:
        """What the leader hears of schedule changes made by any process on this
        database, on a connection of its own."""

    def transaction(self) -> AbstractContextManager[UnitOfWork]:
        """One transaction. Raises bot.domain.errors.StorageUnavailable when the database
        cannot take it (nothing of it is kept) and bot.domain.errors.Duplicate when an event's
        source was recorded before."""
