"""What the Slack adapter sends: Block Kit cards (chat.postMessage / chat.update, at
Slack's pace), thread posts, reminders by direct message, ephemeral replies, the Home tab,
and reading a card's reactions back. See adapters.slack.webapi for retries and
exactly-once posting. What the channel sees is in the circle's language; a reminder's
direct message and the Home tab in the person's (see adapters.slack.render)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime

import aiohttp
from slack_sdk.errors import SlackApiError

from adapters.slack import render
from adapters.slack.config import handle_of
from adapters.slack.home_watch import HomeWatch
from adapters.slack.webapi import SlackWeb, ambiguous, slack_error
from adapters.slack.workspace import ResponseUrls, Workspace
from bot.ports.platform import CoreServices, Message
from bot.text.home import HomeProposal
from bot.text.messages import Notice, Outcome, ProposalCard, Reminder, Reply
from bot.text.report import ReportMessage

log = logging.getLogger(__name__)

PLATFORM = "slack"
# The dispatcher's key for an edit ends in the card's version: card:ID:slack:vN. Parsed
# back out of the key for want of a typed version in the port.


class Outbound:
    def __init__(
        self,
        web: SlackWeb,
        workspace: Workspace,
        services: CoreServices,
        home_watch: HomeWatch,
        response_urls: ResponseUrls,
        edit_interval: Callable[[], float],
        scope: str | None = None,
    ) -> None:
        self.web = web
        self.workspace = workspace
        # What the core is asked about: this workspace's circles (many workspaces), or
        # None (the only one).
        self.scope = scope
        self.services = services
        self.home_watch = home_watch
        self.response_urls = response_urls
        self.edit_interval = edit_interval  # the adapter's, read at each edit
        self._card_locks: dict[str, asyncio.Lock] = {}
        self._card_sent: dict[str, int] = {}
        self._card_wanted: dict[str, int] = {}
        self._card_edited: dict[str, float] = {}  # monotonic time of each card's last edit
        self.edits = 0  # chat.update calls that went out

    # -- the Home tab ----------------------------------------------------------------

    def _link(self, proposal: HomeProposal) -> str | None:
        if proposal.channel is None or proposal.message_ref is None:
            return None
        return render.permalink(self.workspace.url, proposal.channel, proposal.message_ref)

    async def publish_home(self, user: str) -> None:
        home = await self.services.home(PLATFORM, user, self.scope)
        await self.web.client.views_publish(user_id=user, view=render.home_view(home, self._link))

    async def _card_changed(self, channel: str) -> None:
        """Republish the open Home tabs of that circle's members (they show its cards)."""
        watching = self.home_watch.watching()
        if not watching:
            return  # nobody to tell: no questions to the core
        try:
            members = [
                user
                for user in watching
                if await self.services.is_member(PLATFORM, channel, user, self.scope)
            ]
        except Exception as exc:  # the message went out: a stale tab must not undo that
            log.warning("slack: could not tell which Home tabs show %s: %s", channel, exc)
            return
        self.home_watch.changed(members)

    # -- cards -------------------------------------------------------------------------

    async def post_card(
        self, channel: str, card: ProposalCard, key: str, since: datetime | None = None
    ) -> str:
        ts = await self.web.post_message(
            key,
            channel=channel,
            text=render.card_fallback(card),
            blocks=render.card_blocks(card),
            since=since,
        )
        await self._card_changed(channel)
        return ts

    async def update_card(
        self, channel: str, message_ref: str, card: ProposalCard, version: int
    ) -> None:
        # The runtime flushes once per inbound event, and flushes may overlap: several can
        # pass the dispatcher's edit-interval check before any of them has edited. So the
        # adapter keeps Slack's pace itself: edits of one card go out one at a time, at
        # most one per edit_interval, and an edit is dropped when a newer version of the
        # card is already shown or waiting behind it (whose state is at least as recent;
        # the dispatcher marks versions rendered monotonically, so nothing is lost).
        self._card_wanted[message_ref] = max(self._card_wanted.get(message_ref, 0), version)
        lock = self._card_locks.setdefault(message_ref, asyncio.Lock())
        async with lock:
            if self._superseded(message_ref, version):
                return
            edited = self._card_edited.get(message_ref, -1e9)
            wait = edited + self.edit_interval() - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)  # Slack's pace: newer versions queue meanwhile
                if self._superseded(message_ref, version):
                    return
            await self.web.client.chat_update(
                channel=channel,
                ts=message_ref,
                text=render.card_fallback(card),
                blocks=render.card_blocks(card),
                parse="none",
                link_names=False,
            )
            self._card_edited[message_ref] = time.monotonic()
            self.edits += 1
            await self._card_changed(channel)
            self._card_sent[message_ref] = max(self._card_sent.get(message_ref, 0), version)

    def _superseded(self, message_ref: str, version: int) -> bool:
        return version <= self._card_sent.get(message_ref, 0) or version < self._card_wanted.get(
            message_ref, 0
        )

    # -- posts -------------------------------------------------------------------------

    async def post(
        self,
        channel: str,
        message: Message,
        thread_ref: str | None,
        key: str,
        since: datetime | None = None,
    ) -> str | None:
        web = self.web
        if isinstance(message, Reminder):
            ts = await web.post_message(
                key,
                channel=channel,
                text=render.reminder_thread_text(message),
                thread_ts=thread_ref,
                since=since,
            )
            link = render.permalink(self.workspace.url, channel, thread_ref) if thread_ref else None
            for person in message.waiting:
                user = handle_of(person)
                if user:  # in their own language and time zone
                    text = render.reminder_direct_text(message, link, person.reader)
                    await self._direct(f"{key}:dm:{user}", user, text)
            return ts
        if isinstance(message, ReportMessage):
            return await web.post_message(
                key,
                channel=channel,
                text=render.report_fallback(message),
                blocks=render.report_blocks(message),
                thread_ts=thread_ref,
                since=since,
            )
        if isinstance(message, Outcome):
            text = render.outcome_text(message)
        elif isinstance(message, Notice):
            text = render.notice_text(message)
        else:  # pragma: no cover - the Message union is closed
            raise TypeError(type(message))
        return await web.post_message(
            key, channel=channel, text=text, thread_ts=thread_ref, since=since
        )

    async def _direct(self, key: str, user: str, text: str) -> None:
        """A direct message to one person, once per key. A person Slack will not let us
        write to (deactivated, blocked the app) is skipped and logged, so one person does
        not hold up everyone else's reminder."""
        web = self.web
        if web.posted(key) is not None:
            return
        try:
            channel = await web.once(f"dm-channel:{user}", lambda: self._open_dm(user))
            await web.post_message(key, channel=channel, text=text)
        except SlackApiError as exc:
            if ambiguous(exc) or slack_error(exc) in (None, "ratelimited"):
                raise  # transient: the dispatcher tries again (sent parts are not resent)
            log.warning("slack: cannot message %s directly: %s", user, slack_error(exc))

    async def _open_dm(self, user: str) -> str:
        opened = await self.web.client.conversations_open(users=user)
        return str(opened["channel"]["id"])

    async def reply_private(self, channel: str, user: str, reply: Reply) -> None:
        """An ephemeral message: only `user` sees it. Never raises: a reply that cannot be
        delivered must not hold up the rest of the work."""
        text = render.reply_text(reply)
        blocks = render.report_blocks(reply.report) if reply.report is not None else None
        try:
            await self.web.client.chat_postEphemeral(
                channel=channel,
                user=user,
                text=text,
                blocks=blocks,
                parse="none",
                link_names=False,
            )
            return
        except Exception as exc:  # e.g. not_in_channel: the bot is not in that channel
            problem = slack_error(exc) or type(exc).__name__
            if ambiguous(exc):  # it may have been shown: a second copy would be noise
                log.warning("slack: a reply to %s in %s may be lost: %s", user, channel, problem)
                return
        url = self.response_urls.get(channel, user)
        if url is not None:
            try:
                async with self.web.session.post(
                    url,
                    json={
                        "response_type": "ephemeral",
                        "replace_original": False,
                        "text": text,
                        **({"blocks": blocks} if blocks is not None else {}),
                    },
                ) as response:
                    if response.status < 300:
                        return
                    problem += f"; response_url answered {response.status}"
            except (TimeoutError, aiohttp.ClientError) as exc:
                problem += f"; response_url: {type(exc).__name__}"
        log.warning("slack: could not reply to %s in %s: %s", user, channel, problem)

    # -- reading reactions back ---------------------------------------------------------

    async def read_reactions(
        self, channel: str, message_ref: str
    ) -> list[tuple[str, str, datetime | None]] | None:
        try:
            response = await self.web.client.reactions_get(
                channel=channel, timestamp=message_ref, full=True
            )
        except SlackApiError as exc:
            if slack_error(exc) in ("message_not_found", "channel_not_found", "not_in_channel"):
                log.warning("slack: cannot read the card %s in %s back", message_ref, channel)
                return None
            raise
        message = response.get("message") or {}
        present: list[tuple[str, str, datetime | None]] = []
        for reaction in message.get("reactions") or []:
            for user in reaction.get("users") or []:
                if user != self.workspace.bot_user_id:
                    present.append((str(user), str(reaction["name"]), None))
        return present
