"""Delivers what the core decided to say: renders stale cards and sends the outbox.

Everything here is derived from the database, so a crash between a change and its
delivery only delays the message; the next flush sends it.

Several replicas may deliver from one database: each claims what it is about to send
(storage: SELECT … FOR UPDATE SKIP LOCKED, then a claim that runs out after
CLAIM_SECONDS), so two never send the same card edit or message. A replica that dies
mid-send leaves its claim to run out; another then sends it, with the platform's own
guard against a double post (Matrix transaction ids, Slack's read-back).

On Slack with many workspaces, each card and message goes out in its circle's workspace
(bot.ports.sender_for): the circle is the one whose channel it is, or, when circles of
several workspaces share a channel id, the circle of its proposal or check-in."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from bot import outbox, posts
from bot.context import Context
from bot.errors import StorageUnavailable
from bot.model import Card, PendingMessage
from bot.outbox import NoticePost, OutcomePost, ReminderPost
from bot.ports import Adapter, Message, sender_for
from bot.storage_health import StorageHealth

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
        self.again_in.pop(adapter.platform, None)
        try:
            sent += await self._cards(adapter)
            sent += await self._outbox(adapter)
        except StorageUnavailable as exc:  # said once per outage by the core
            self.health.failed(exc, f"{adapter.platform} delivery")
            self._hold(adapter.platform, RETRY_FIRST)
        except Exception:  # the platform failed: keep what is pending for next time
            failures = self._failures.get(adapter.platform, 0) + 1
            self._failures[adapter.platform] = failures
            delay = min(RETRY_FIRST * 2 ** (failures - 1), RETRY_MAX)
            self._hold(adapter.platform, delay)
            log.exception("%s: delivery failed; retrying in %.0f s", adapter.platform, delay)
        else:
            self._failures.pop(adapter.platform, None)
        finally:
            # What this pass did not send (held back, failed, waiting for its thread)
            # is free again: for this replica's next pass, or another's.
            await self._release(adapter.platform)
        return sent

    def _hold(self, platform: str, delay: float) -> None:
        self.again_in[platform] = min(self.again_in.get(platform, delay), delay)

    async def _cards(self, adapter: Adapter) -> int:
        sent = 0
        for card in await self.call(self._claim_cards, adapter.platform):
            if card.message_ref is not None:
                # Coalesce bursts: at most one edit per card per edit_interval; the card
                # stays stale in the database until then, so the final state always lands.
                since = self.clock() - self._last_edit.get(
                    (adapter.platform, card.proposal_id), -1e9
                )
                if since < adapter.edit_interval:
                    self._hold(adapter.platform, adapter.edit_interval - since)
                    continue
            view = await self.call(posts.card, self.ctx, card.proposal_id)
            key = outbox.card(card.proposal_id, adapter.platform)
            sender = sender_for(adapter, await self.call(self.workspace_of_card, card))
            if card.message_ref is None:
                await self.call(self._card_attempted, card.proposal_id, adapter.platform)
                ref = await sender.post_card(card.channel, view, key, card.attempted_at)
            else:
                await sender.update_card(card.channel, card.message_ref, view, key, card.version)
                ref = None
                self._last_edit[(adapter.platform, card.proposal_id)] = self.clock()
            await self.call(
                self._card_rendered, card.proposal_id, adapter.platform, card.version, ref
            )
            sent += 1
        return sent

    async def _outbox(self, adapter: Adapter) -> int:
        sent = 0
        for pending in await self.call(self._claim_messages, adapter.platform):
            message = await self.call(self._message, pending)
            if message is None:  # nothing left to say (e.g. everyone answered meanwhile)
                await self.call(self._sent, pending.id, None)
                continue
            thread_ref = None
            if pending.kind == "thread":
                thread_ref = await self.call(self._thread_ref, pending, adapter.platform)
                if thread_ref is None:
                    continue  # what it answers is not posted yet; it goes out after it
            await self.call(self._message_attempted, pending.id)
            key = f"outbox:{pending.key}"
            workspace = await self.call(self._workspace_of_message, pending, thread_ref)
            ref = await sender_for(adapter, workspace).post(
                pending.channel, message, thread_ref, key, pending.attempted_at
            )
            await self.call(self._sent, pending.id, ref)
            sent += 1
        return sent

    # Database steps, run on the core's thread.

    def workspace_of_card(self, card: Card) -> str | None:
        """The workspace a card is in: its proposal's circle's."""
        return self._workspace(card.platform, card.channel, card.proposal_id, None, None)

    def _workspace_of_message(self, pending: PendingMessage, thread_ref: str | None) -> str | None:
        """The workspace a message goes out in: that of the circle of its proposal, of
        the check-in it opens, or of the check-in whose thread (`thread_ref`) it is in."""
        return self._workspace(
            pending.platform, pending.channel, pending.proposal_id, pending.checkin_id, thread_ref
        )

    def _workspace(
        self,
        platform: str,
        channel: str,
        proposal_id: int | None,
        checkin_id: int | None,
        thread_ref: str | None,
    ) -> str | None:
        directory = self.ctx.directory
        if not directory.workspaces(platform):
            return None
        at = directory.circles_at(platform, channel)
        if len(at) == 1:  # the usual case: a channel id in one workspace only
            return directory.workspace_of(platform, at[0])
        circle_id = None
        with self.ctx.store.transaction() as tx:
            proposal = tx.proposal(proposal_id) if proposal_id is not None else None
            if proposal is not None:
                circle_id = proposal.circle_id
            else:
                if checkin_id is None and thread_ref is not None:
                    checkin_id = tx.checkin_posted_as(platform, thread_ref)
                checkin = tx.checkin(checkin_id) if checkin_id is not None else None
                circle_id = checkin.circle_id if checkin is not None else None
        if circle_id is None or not directory.known(circle_id):
            return None
        return directory.workspace_of(platform, directory.spec_by_id(circle_id))

    def _message(self, pending: PendingMessage) -> Message | None:
        match outbox.decode(pending.payload):
            case OutcomePost():
                assert pending.proposal_id is not None
                return posts.outcome(self.ctx, pending.proposal_id)
            case ReminderPost(late=late):
                assert pending.proposal_id is not None
                return posts.reminder(self.ctx, pending.proposal_id, late=late)
            case NoticePost(notice=notice):
                return replace(notice, checkin=pending.checkin_id)

    def _claim_cards(self, platform: str) -> list[Any]:
        now = self.ctx.clock.now()
        until = now + timedelta(seconds=CLAIM_SECONDS)
        with self.ctx.store.transaction() as tx:
            return tx.claim_stale_cards(platform, self.claimant, now, until)

    def _claim_messages(self, platform: str) -> list[Any]:
        now = self.ctx.clock.now()
        until = now + timedelta(seconds=CLAIM_SECONDS)
        with self.ctx.store.transaction() as tx:
            return tx.claim_messages(platform, self.claimant, now, until)

    def clear_claims(self) -> None:
        """On the start of the only process on its database: what a process that died
        had claimed is free at once."""
        with self.ctx.store.transaction() as tx:
            tx.clear_claims()

    async def _release(self, platform: str) -> None:
        def release() -> None:
            with self.ctx.store.transaction() as tx:
                tx.release_claims(platform, self.claimant)

        with contextlib.suppress(StorageUnavailable):  # else the claims run out
            await self.call(release)

    def _card_attempted(self, pid: int, platform: str) -> None:
        with self.ctx.store.transaction() as tx:
            tx.card_attempted(pid, platform, self.ctx.clock.now())

    def _message_attempted(self, message_id: int) -> None:
        with self.ctx.store.transaction() as tx:
            tx.message_attempted(message_id, self.ctx.clock.now())

    def _card_rendered(self, pid: int, platform: str, version: int, ref: str | None) -> None:
        with self.ctx.store.transaction() as tx:
            tx.card_rendered(pid, platform, version, ref)

    def _thread_ref(self, pending: PendingMessage, platform: str) -> str | None:
        """The message whose thread it goes in: a proposal's card, or the message
        posted under `thread_key` (a check-in's prompt)."""
        with self.ctx.store.transaction() as tx:
            post = outbox.decode(pending.payload)
            if isinstance(post, NoticePost) and post.in_thread_of is not None:
                return tx.message_ref_of(post.in_thread_of)
            for card in tx.cards(pending.proposal_id or 0):
                if card.platform == platform:
                    return card.message_ref
        return None

    def _sent(self, message_id: int, ref: str | None) -> None:
        with self.ctx.store.transaction() as tx:
            tx.message_sent(message_id, self.ctx.clock.now(), ref)
