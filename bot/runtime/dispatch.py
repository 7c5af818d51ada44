"""Delivers what the core decided to say: renders stale cards and sends the outbox.

Everything here is derived from the database, so a crash between a change and its
delivery only delays the message; the next flush sends it.

Several replicas may deliver from one database: each claims what it is about to send
(storage: SELECT … FOR UPDATE SKIP LOCKED, then a claim that runs out after
CLAIM_SECONDS), so two never send the same card edit or message. A replica that dies
mid-send leaves its claim to run out; another then sends it, with the platform's own
guard against a double post (transaction ids, or reading the channel back).

A pass takes two transactions, whatever it sends: one claims what is pending and renders
it (and marks the posts it is about to try), the other records what went out and lets go
of the rest. A crash between them leaves posts marked as tried, so the next pass is told
they may have landed, as after a crash mid-post.

With many workspaces, each card and message goes out in its circle's workspace
(bot.ports.platform.sender_for): the circle is the one whose channel it is, or, when circles of
several workspaces share a channel id, the circle of its proposal or check-in."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.domain.errors import StorageUnavailable
from bot.domain.model import Card, PendingMessage
from bot.ports.platform import Adapter, Message, sender_for
from bot.ports.storage_health import StorageHealth
from bot.ports.store import UnitOfWork
from bot.queries import posts
from bot.state import outbox
from bot.state.context import Context
from bot.state.outbox import NoticePost, OutcomePost, ReminderPost, ReportPost
from bot.text.messages import ProposalCard

log = logging.getLogger(__name__)

# Runs a synchronous core/database function off the event loop.
CoreCall = Callable[..., Awaitable[Any]]


RETRY_FIRST, RETRY_MAX = 2.0, 120.0  # seconds between delivery attempts after a failure
# A replica that died mid-send holds its claims this long; if a live one takes longer,
# another may try the same post, and the platform's guard keeps it from showing twice.
CLAIM_SECONDS = 30.0


def claimant_name() -> str:
    """This process, as its claims name it (unique even after a pid is reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class CardJob:
    """A claimed card, rendered, to post (no reference yet) or edit."""

    card: Card
    view: ProposalCard
    workspace: str | None


@dataclass(frozen=True)
class MessageJob:
    """A claimed message, rendered, to post. In a thread, the message it answers is
    `thread_ref`, or, when that is posted in this same pass, found then: the card of
    `thread_card` or the message under `thread_key`."""

    pending: PendingMessage
    message: Message
    thread_ref: str | None
    workspace: str | None
    thread_card: int | None = None
    thread_key: str | None = None
    marked: bool = False  # its try recorded by the claim

    @property
    def waits(self) -> bool:
        return self.thread_card is not None or self.thread_key is not None


@dataclass
class Claimed:
    """What one pass claimed and rendered, and what it held back (seconds to wait)."""

    cards: list[CardJob] = field(default_factory=list)
    messages: list[MessageJob] = field(default_factory=list)
    held: list[float] = field(default_factory=list)
    anything: bool = False  # something was claimed: the claims are let go after


@dataclass
class Delivered:
    """What a pass sent, recorded once it ends; and the tries recorded by the claim but
    never made (an earlier send failed), undone."""

    cards: list[tuple[int, int, str | None]] = field(default_factory=list)  # id, version, ref
    messages: list[tuple[int, str | None]] = field(default_factory=list)  # id, ref
    tried_cards: set[int] = field(default_factory=set)
    tried_messages: set[int] = field(default_factory=set)


class Dispatcher:
    def __init__(
        self, ctx: Context, health: StorageHealth, call: CoreCall, clock: Callable[[], float]
    ) -> None:
        self.ctx = ctx
        self.health = health
        self.call = call
        self.clock = clock  # monotonic seconds
        self._last_edit: dict[tuple[str, int], float] = {}
        self._failures: dict[str, int] = {}
        # platform -> seconds until something held back should be tried again
        self.again_in: dict[str, float] = {}
        self.claimant = claimant_name()

    async def flush(self, adapter: Adapter) -> int:
        """Send everything pending for this adapter's platform. Returns how many messages
        went out. A failure leaves the rest pending; `again_in` then says when to retry
        (backing off), as it does for card edits held back by the platform's edit rate."""
        sent = 0
        platform = adapter.platform
        self.again_in.pop(platform, None)
        claimed = Claimed()
        done = Delivered()
        try:
            claimed = await self.call(self._claim, platform, adapter.edit_interval)
            for delay in claimed.held:
                self._hold(platform, delay)
            sent += await self._cards(adapter, claimed.cards, done)
            sent += await self._outbox(adapter, claimed.messages, done)
        except StorageUnavailable as exc:  # said once per outage by the core
            self.health.failed(exc, f"{platform} delivery")
            self._hold(platform, RETRY_FIRST)
        except Exception:  # the platform failed: keep what is pending for next time
            failures = self._failures.get(platform, 0) + 1
            self._failures[platform] = failures
            delay = min(RETRY_FIRST * 2 ** (failures - 1), RETRY_MAX)
            self._hold(platform, delay)
            log.exception("%s: delivery failed; retrying in %.0f s", platform, delay)
        else:
            self._failures.pop(platform, None)
        finally:
            # What went out is recorded; what this pass did not send (held back, failed,
            # waiting for its thread) is free again: for this replica's next pass, or
            # another's.
            if claimed.anything:
                await self._settle(platform, claimed, done)
        return sent

    def _hold(self, platform: str, delay: float) -> None:
        self.again_in[platform] = min(self.again_in.get(platform, delay), delay)

    async def _cards(self, adapter: Adapter, jobs: list[CardJob], done: Delivered) -> int:
        for job in jobs:
            card = job.card
            sender = sender_for(adapter, job.workspace)
            key = outbox.card(card.proposal_id, adapter.platform)
            done.tried_cards.add(card.proposal_id)
            if card.message_ref is None:
                ref = await sender.post_card(card.channel, job.view, key, card.attempted_at)
            else:
                await sender.update_card(
                    card.channel, card.message_ref, job.view, key, card.version
                )
                ref = None
                self._last_edit[(adapter.platform, card.proposal_id)] = self.clock()
            done.cards.append((card.proposal_id, card.version, ref))
        return len(jobs)

    async def _outbox(self, adapter: Adapter, jobs: list[MessageJob], done: Delivered) -> int:
        sent = 0
        posted_cards = {pid: ref for pid, _, ref in done.cards if ref is not None}
        posted: dict[str, str | None] = {}  # this pass's messages: key -> reference
        for job in jobs:
            pending, thread_ref = job.pending, job.thread_ref
            if job.waits:
                if job.thread_card is not None:
                    thread_ref = posted_cards.get(job.thread_card)
                elif job.thread_key is not None:
                    thread_ref = posted.get(job.thread_key)
                if thread_ref is None:
                    continue  # what it answers is not posted yet; it goes out after it
                await self.call(self._message_attempted, pending.id)
            done.tried_messages.add(pending.id)
            ref = await sender_for(adapter, job.workspace).post(
                pending.channel,
                job.message,
                thread_ref,
                f"outbox:{pending.key}",
                pending.attempted_at,
            )
            posted[pending.key] = ref
            done.messages.append((pending.id, ref))
            sent += 1
        return sent

    # Database steps, run on the core's thread.

    def _claim(self, platform: str, edit_interval: float) -> Claimed:
        """One transaction: claim the stale cards and pending messages, render them, and
        record the tries of the posts about to be made."""
        now = self.ctx.clock.now()
        until = now + timedelta(seconds=CLAIM_SECONDS)
        claimed = Claimed()
        with self.ctx.store.transaction() as tx:
            cards = tx.claim_stale_cards(platform, self.claimant, now, until)
            messages = tx.claim_messages(platform, self.claimant, now, until)
            claimed.anything = bool(cards or messages)
            posting: set[int] = set()  # proposals whose card this pass posts
            for card in cards:
                if card.message_ref is not None:
                    # Coalesce bursts: at most one edit per card per edit_interval; the
                    # card stays stale in the database until then, so the final state
                    # always lands.
                    since = self.clock() - self._last_edit.get((platform, card.proposal_id), -1e9)
                    if since < edit_interval:
                        claimed.held.append(edit_interval - since)
                        continue
                try:
                    loaded = tx.proposal_with_marks(card.proposal_id)
                    assert loaded is not None, card.proposal_id
                    proposal = loaded.proposal
                    view = posts.card_in(self.ctx, tx, proposal, loaded.marks)
                except Exception:  # one card that cannot be rendered holds back no other
                    log.exception("%s: cannot render the card of #%d", platform, card.proposal_id)
                    continue
                if card.message_ref is None:
                    tx.card_attempted(card.proposal_id, platform, now)
                    posting.add(card.proposal_id)
                workspace = self._workspace_in(
                    tx, platform, card.channel, circle_id=proposal.circle_id
                )
                claimed.cards.append(CardJob(card, view, workspace))
            keys = {pending.key for pending in messages}
            for pending in messages:
                try:
                    job = self._render(tx, pending, platform, posting, keys, now)
                except Exception:  # likewise for a message
                    log.exception("%s: cannot render message %s", platform, pending.key)
                    continue
                if job is not None:
                    claimed.messages.append(job)
        return claimed

    def _render(
        self,
        tx: UnitOfWork,
        pending: PendingMessage,
        platform: str,
        posting: set[int],
        keys: set[str],
        now: datetime,
    ) -> MessageJob | None:
        """A claimed message, ready to post; None when it goes out later (what it answers
        is not posted yet) or never (nothing left to say: it is marked sent now)."""
        message = self._message_in(tx, pending)
        if message is None:  # nothing left to say (e.g. everyone answered meanwhile)
            tx.message_sent(pending.id, now, None)
            return None
        thread_ref, thread_card, thread_key = None, None, None
        if pending.kind == "thread":
            post = outbox.decode(pending.payload)
            thread_ref = self._thread_ref_in(tx, pending, platform)
            if thread_ref is None:
                if isinstance(post, NoticePost) and post.in_thread_of is not None:
                    thread_key = post.in_thread_of if post.in_thread_of in keys else None
                elif pending.proposal_id in posting:
                    thread_card = pending.proposal_id
                if thread_card is None and thread_key is None:
                    return None  # what it answers is not posted yet; it goes out after it
        workspace = self._workspace_in(
            tx,
            platform,
            pending.channel,
            proposal_id=pending.proposal_id,
            checkin_id=pending.checkin_id,
            thread_ref=thread_ref,
        )
        waits = thread_card is not None or thread_key is not None
        if not waits:  # recorded before the post is tried (one that waits: just before)
            tx.message_attempted(pending.id, now)
        return MessageJob(
            pending,
            message,
            thread_ref,
            workspace,
            thread_card,
            thread_key,
            marked=not waits and pending.attempted_at is None,
        )

    async def _settle(self, platform: str, claimed: Claimed, done: Delivered) -> None:
        """One transaction: record what went out, undo the tries never made, let go of
        the claims."""

        def settle() -> None:
            now = self.ctx.clock.now()
            with self.ctx.store.transaction() as tx:
                for pid, version, ref in done.cards:
                    tx.card_rendered(pid, platform, version, ref)
                for message_id, ref in done.messages:
                    tx.message_sent(message_id, now, ref)
                # Tries recorded by the claim but never made: the next one is a first try.
                untried_cards = [
                    job.card.proposal_id
                    for job in claimed.cards
                    if job.card.message_ref is None
                    and job.card.attempted_at is None
                    and job.card.proposal_id not in done.tried_cards
                ]
                untried_messages = [
                    job.pending.id
                    for job in claimed.messages
                    if job.marked and job.pending.id not in done.tried_messages
                ]
                if untried_cards or untried_messages:
                    tx.forget_attempts(platform, untried_cards, untried_messages)
                tx.release_claims(platform, self.claimant)

        with contextlib.suppress(StorageUnavailable):  # else the claims run out
            await self.call(settle)

    def workspace_of_card(self, card: Card) -> str | None:
        """The workspace a card is in: its proposal's circle's."""
        directory = self.ctx.directory
        if not directory.workspaces(card.platform):
            return None
        at = directory.circles_at(card.platform, card.channel)
        if len(at) == 1:  # the usual case: no transaction
            return directory.workspace_of(card.platform, at[0])
        with self.ctx.store.transaction() as tx:
            return self._workspace_in(tx, card.platform, card.channel, proposal_id=card.proposal_id)

    def _workspace_in(
        self,
        tx: UnitOfWork,
        platform: str,
        channel: str,
        *,
        circle_id: int | None = None,
        proposal_id: int | None = None,
        checkin_id: int | None = None,
        thread_ref: str | None = None,
    ) -> str | None:
        """The workspace a card or message goes out in: that of the circle whose channel
        it is, or when circles of several workspaces share the channel id, of its
        proposal's circle (`circle_id`, else read from `proposal_id`), of the check-in it
        opens, or of the check-in whose thread (`thread_ref`) it is in."""
        directory = self.ctx.directory
        if not directory.workspaces(platform):
            return None
        at = directory.circles_at(platform, channel)
        if len(at) == 1:  # the usual case: a channel id in one workspace only
            return directory.workspace_of(platform, at[0])
        if circle_id is None and proposal_id is not None:
            proposal = tx.proposal(proposal_id)
            circle_id = proposal.circle_id if proposal is not None else None
        elif circle_id is None:
            if checkin_id is None and thread_ref is not None:
                checkin_id = tx.checkin_posted_as(platform, thread_ref)
            checkin = tx.checkin(checkin_id) if checkin_id is not None else None
            circle_id = checkin.circle_id if checkin is not None else None
        if circle_id is None or not directory.known(circle_id):
            return None
        return directory.workspace_of(platform, directory.spec_by_id(circle_id))

    def _message_in(self, tx: UnitOfWork, pending: PendingMessage) -> Message | None:
        match outbox.decode(pending.payload):
            case OutcomePost():
                assert pending.proposal_id is not None
                return posts.outcome_in(self.ctx, tx, pending.proposal_id)
            case ReminderPost(late=late):
                assert pending.proposal_id is not None
                return posts.reminder_in(self.ctx, tx, pending.proposal_id, late=late)
            case NoticePost(notice=notice):
                return replace(notice, checkin=pending.checkin_id)
            case ReportPost(message=message):
                return message

    def clear_claims(self) -> None:
        """On the start of the only process on its database: what a process that died
        had claimed is free at once."""
        with self.ctx.store.transaction() as tx:
            tx.clear_claims()

    def _message_attempted(self, message_id: int) -> None:
        with self.ctx.store.transaction() as tx:
            tx.message_attempted(message_id, self.ctx.clock.now())

    @staticmethod
    def _thread_ref_in(tx: UnitOfWork, pending: PendingMessage, platform: str) -> str | None:
        """The message whose thread it goes in: a proposal's card, or the message
        posted under `thread_key` (a check-in's prompt)."""
        post = outbox.decode(pending.payload)
        if isinstance(post, NoticePost) and post.in_thread_of is not None:
            return tx.message_ref_of(post.in_thread_of)
        for card in tx.cards(pending.proposal_id or 0):
            if card.platform == platform:
                return card.message_ref
        return None
