"""Tables. The database is the single source of truth; everything in memory is derived.

`history` is append-only: every stance change, proposal event, membership change and
outcome, with its source. Its unique (platform, event_id) is what makes every inbound
event count at most once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as UTC and read back aware. SQLite keeps only wall time,
    so anything not converted first would lose its offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the database keeps aware times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Timestamp = UTCDateTime()


class Base(DeclarativeBase):
    pass


class CircleRow(Base):
    __tablename__ = "circles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # Members as last read from the config file: start-up applies only what changed
    # there since, so changes made by command are not undone by a restart.
    config_members: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class MemberRow(Base):
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("circle_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id"))
    name: Mapped[str] = mapped_column(String(100))
    side: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    # Platform name -> the person's id there (migration 0011 moved them from a column
    # per platform).
    handles: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    away_until: Mapped[datetime | None] = mapped_column(Timestamp)
    proxy: Mapped[str | None] = mapped_column(String(100))  # answers for them while away


class ProposalRow(Base):
    __tablename__ = "proposals"
    __table_args__ = (Index("ix_proposals_status_deadline", "status", "deadline"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id"))
    author: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    round: Mapped[int] = mapped_column(Integer, default=0)  # 0 while a draft
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    deadline: Mapped[datetime] = mapped_column(Timestamp)
    review_at: Mapped[datetime | None] = mapped_column(Timestamp)
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp)
    cosponsor: Mapped[str | None] = mapped_column(String(100))
    review: Mapped[str | None] = mapped_column(String(100))  # as typed: "6mo", a date
    review_of: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"))
    # Set when the review proposal for this decision has been opened.
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_by: Mapped[str | None] = mapped_column(String(100))  # who closed it before time
    statement: Mapped[str | None] = mapped_column(Text)  # the outcome statement, latest


class RoundRow(Base):
    """A round freezes the rules and the leaders it is counted with."""

    __tablename__ = "rounds"
    __table_args__ = (UniqueConstraint("proposal_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"))
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(Timestamp)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    leaders: Mapped[dict[str, list[str]]] = mapped_column(JSON)  # side -> leader names


class MarkRow(Base):
    """Latest mark per (round, member, platform, emoji): the live state the tally is
    computed from. Derivable from `history`; kept so one event costs the same however long
    the history is."""

    __tablename__ = "marks"
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), primary_key=True)
    round: Mapped[int] = mapped_column(Integer, primary_key=True)
    member: Mapped[str] = mapped_column(String(100), primary_key=True)
    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # bot.domain.model.MarkKind
    emoji: Mapped[str] = mapped_column(String(100), primary_key=True)  # the Sign's value
    added: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(Timestamp)
    event_id: Mapped[str] = mapped_column(String(255))  # with `platform`, its source


class HistoryRow(Base):
    __tablename__ = "history"
    __table_args__ = (
        UniqueConstraint("platform", "event_id", name="uq_history_source"),
        Index("ix_history_proposal", "proposal_id", "round"),
        # The rows with a detail among a round's answers (the stance commands, with their
        # reasons), read each time its card is drawn: never the round's every reaction.
        Index(
            "ix_history_detail",
            "proposal_id",
            "round",
            sqlite_where=text("detail IS NOT NULL"),
            postgresql_where=text("detail IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id"))
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"))
    round: Mapped[int | None] = mapped_column(Integer)
    # reaction | propose | open | amend | withdraw | cosponsor | outcome | review |
    # member_add | member_remove | member_change | away | back
    kind: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(255))  # member name, or platform user id
    member: Mapped[str | None] = mapped_column(String(100))
    # What a reaction or proxy row marks: its kind (bot.domain.model.MarkKind) and value.
    mark: Mapped[str | None] = mapped_column(String(20))
    emoji: Mapped[str | None] = mapped_column(String(100))
    added: Mapped[bool | None] = mapped_column(Boolean)
    # False for what is recorded but changes nothing (late, non-member, draft, a
    # reaction made before its round opened). Voices count: they are shown.
    counted: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str | None] = mapped_column(String(100))
    # None is stored as SQL NULL, not JSON null, so that the index above leaves it out.
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    at: Mapped[datetime] = mapped_column(Timestamp)
    platform: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(255))


class CardRow(Base):
    """A proposal's card on one platform. `version` grows with every change; the card is
    (re)rendered from the database while `rendered` lags behind it."""

    __tablename__ = "cards"
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), primary_key=True)
    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    channel: Mapped[str] = mapped_column(String(255))
    message_ref: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer, default=1)
    rendered: Mapped[int] = mapped_column(Integer, default=0)
    attempted_at: Mapped[datetime | None] = mapped_column(Timestamp)  # first post tried
    # Which replica is delivering it, until when (storage.delivery's claims).
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_until: Mapped[datetime | None] = mapped_column(Timestamp)


class OutboxRow(Base):
    """A message to post, written in the same transaction as the change it reports, so a
    crash can delay it but not lose it; `key` makes it unique (an outcome is posted once)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    platform: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(255))
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"))
    checkin_id: Mapped[int | None] = mapped_column(Integer)  # a check-in's prompt
    kind: Mapped[str] = mapped_column(String(30))  # thread | direct | channel
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    sent_at: Mapped[datetime | None] = mapped_column(Timestamp)
    message_ref: Mapped[str | None] = mapped_column(String(255))
    attempted_at: Mapped[datetime | None] = mapped_column(Timestamp)  # first post tried
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_until: Mapped[datetime | None] = mapped_column(Timestamp)


class CursorRow(Base):
    """Where an adapter resumes from (e.g. Matrix `next_batch`). Saved only after the
    events before it were applied; events are deduplicated, so a replay is harmless."""

    __tablename__ = "cursors"
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class IdentityRow(Base):
    """A member given by e-mail address in the config, and the platform id the platform
    said it is (Slack's users.lookupByEmail): looked up once, then kept."""

    __tablename__ = "identities"
    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    address: Mapped[str] = mapped_column(String(320), primary_key=True)  # case-folded
    user_id: Mapped[str] = mapped_column(String(100))
    resolved_at: Mapped[datetime] = mapped_column(Timestamp)


class LeadershipRow(Base):
    """One row: the newest fencing number, taken by each replica that becomes the leader
    (bot.ports.leadership), and who took it."""

    __tablename__ = "leadership"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    fence: Mapped[int] = mapped_column(BigInteger, default=0)
    holder: Mapped[str | None] = mapped_column(String(200))
    # The leader's lock connection (its backend pid) and when it last renewed its lead:
    # a leader paused past its lease is replaced (storage.leadership).
    holder_pid: Mapped[int | None] = mapped_column(Integer)
    renewed_at: Mapped[datetime | None] = mapped_column(Timestamp)


class CheckinRow(Base):
    """One check-in of a circle. Unique per scheduled time, so a schedule fires once."""

    __tablename__ = "checkins"
    __table_args__ = (UniqueConstraint("circle_id", "scheduled_for"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id"))
    scheduled_for: Mapped[datetime] = mapped_column(Timestamp)
    started_at: Mapped[datetime] = mapped_column(Timestamp)
    question: Mapped[str] = mapped_column(Text)
    facilitator: Mapped[str | None] = mapped_column(String(100))
    facilitator_side: Mapped[str | None] = mapped_column(String(100))
    nudge_at: Mapped[datetime | None] = mapped_column(Timestamp)
    closes_at: Mapped[datetime] = mapped_column(Timestamp)
    closed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    late: Mapped[bool] = mapped_column(Boolean, default=False)


class CheckinReplyRow(Base):
    """Who replied to a check-in (once each, whatever the number of messages)."""

    __tablename__ = "checkin_replies"
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkins.id"), primary_key=True)
    member: Mapped[str] = mapped_column(String(100), primary_key=True)
    at: Mapped[datetime] = mapped_column(Timestamp)


class InboxTakenRow(Base):
    """Each inbound event the inbox took, kept a day after it was applied and removed:
    a platform's resend, or the same request sent to another replica or after a restart,
    is then known as a repeat and taken once (a read-only command records nothing the
    core could know it by)."""

    __tablename__ = "inbox_taken"
    __table_args__ = (Index("ix_inbox_taken_at", "taken_at"),)
    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(Timestamp)


class InboxRow(Base):
    """An inbound event stored before the platform is told it arrived (Slack never
    resends what it got an answer for). Removed once applied; what is still here on
    start is applied then, in `id` order."""

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("platform", "event_id", name="uq_inbox_source"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(30))  # command | reaction | thread_reply
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(Timestamp)
    # Starts that tried to apply it; an event that keeps failing is given up on.
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class SlackInstallationRow(Base):
    """The app installed in one workspace (many workspaces: [slack] client_id). The
    tokens are in `sealed` alone, encrypted with CIRCLEBOT_SECRET_KEY; "" stands for no
    enterprise (or, installed org-wide, no team)."""

    __tablename__ = "slack_installations"
    enterprise_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_name: Mapped[str | None] = mapped_column(String(255))
    app_id: Mapped[str | None] = mapped_column(String(32))
    bot_id: Mapped[str | None] = mapped_column(String(32))
    bot_user_id: Mapped[str | None] = mapped_column(String(32))
    bot_scopes: Mapped[str] = mapped_column(Text, default="")  # comma-separated
    user_id: Mapped[str | None] = mapped_column(String(32))
    user_scopes: Mapped[str] = mapped_column(Text, default="")
    bot_token_expires_at: Mapped[datetime | None] = mapped_column(Timestamp)
    user_token_expires_at: Mapped[datetime | None] = mapped_column(Timestamp)
    is_enterprise_install: Mapped[bool] = mapped_column(Boolean, default=False)
    installed_at: Mapped[datetime] = mapped_column(Timestamp)
    sealed: Mapped[str] = mapped_column(Text)


class OAuthStateRow(Base):
    """An install under way: the SHA-256 of the state handed to the installer's
    browser, until it comes back (once) or expires."""

    __tablename__ = "oauth_states"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
