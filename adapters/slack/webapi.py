"""The Slack Web API client, configured for a bot that must respect Slack's limits and
never post twice.

Retries (slack_sdk's retry handlers, configured here):
  - 429: every method waits for `Retry-After` and tries again. A rate-limited request was
    refused by Slack, so repeating it cannot duplicate anything.
  - 5xx, timeouts, dropped connections: retried with bounded exponential backoff and
    jitter, but only for methods that are safe to repeat (chat.update, reactions.get,
    views.publish, conversations.open, ...). chat.postMessage and chat.postEphemeral are
    never repeated blindly by the SDK: Slack may have posted the message before it
    failed to answer.
  - a connection that could not be opened at all is retried for every method (nothing
    was sent).

Counting (bot.domain.api_calls, for /metrics): two more handlers in that list count every call,
whichever client made it (ours, Bolt's, or the one Bolt makes per request: they all
share the list). The rate-limit handler counts each 429 it sees as RATE_LIMITED; a last
handler, asked only when no handler before it retries, counts the call once with its
final outcome (OK, or ERROR after any retries).

Never posting twice (chat.postMessage). Slack's API has no idempotency key for posts,
so this module makes one out of what it has:
  1. every post carries the runtime's idempotency `key` in its message metadata
     (`event_type` "circlebot_message", `event_payload` {"key": …});
  2. per process, key -> ts for posts that succeeded (a bounded map), and key -> the
     running attempt, so a retry or a concurrent flush of the same message waits for the
     first instead of posting again;
  3. after an ambiguous failure (5xx, timeout, connection lost mid-request), before
     trying again, the channel (or thread) is read back with include_all_metadata and a
     message carrying the key is taken as the post: its ts is returned. A later call
     with the same key (e.g. the dispatcher retrying after we gave up) reads back first,
     too.
Reading back needs the history scopes (channels:history, groups:history, im:history).
Without them the read-back fails, is logged once, and the post is retried: at least once
instead of exactly once. `client_msg_id` was considered and not used: Slack does not
document it for chat.postMessage, so nothing could rely on its deduplication.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.api_calls import ApiCalls, ApiOutcome
from bot.domain.redact import MASK, redact_tokens

log = logging.getLogger(__name__)

METADATA_EVENT = "circlebot_message"
# Methods whose repetition after an ambiguous failure could show something twice.
NOT_REPEATABLE = frozenset({"chat.postMessage", "chat.postEphemeral"})
RATE_LIMIT_RETRIES = 6  # 429s in a row before giving up (each waits Retry-After)
SERVER_ERROR_RETRIES = 3
CONNECTION_RETRIES = 3
POST_ATTEMPTS = 4  # chat.postMessage attempts after ambiguous failures
DONE_KEYS = 10_000  # posted keys remembered per process
READ_BACK_LIMIT = 200  # messages a read-back asks for at once
READ_BACK_PAGES = 10  # of a thread, at most


# The SDK's own loggers: at debug level they show each answer's body, which for
# oauth.v2.access holds the new workspace's token.
SDK_LOGGERS = (
    "slack_sdk.web.async_base_client",
    "slack_sdk.web.base_client",
    "slack_sdk.oauth",
    "slack_bolt",
    "circlebot.slack.bolt",
)


# Secrets of the request in hand that look like nothing in particular (an install's
# OAuth code and state): Bolt and the SDK write them in their lines about that request.
_REQUEST_SECRETS: ContextVar[tuple[str, ...]] = ContextVar("slack_request_secrets", default=())


@contextmanager
def secrets_of_request(*values: str) -> Iterator[None]:
    """Mask `values` in what the SDK's loggers write while the request is handled (in
    this task and what it awaits)."""
    token = _REQUEST_SECRETS.set(tuple(value for value in values if value))
    try:
        yield
    finally:
        _REQUEST_SECRETS.reset(token)


class TokenRedaction(logging.Filter):
    """Masks Slack tokens, and the secrets of the request in hand, in a record before
    any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        masked = redact_tokens(text)
        for secret in _REQUEST_SECRETS.get():
            masked = masked.replace(secret, MASK)
        if masked != text:
            record.msg, record.args = masked, None
        return True


def redact_sdk_logs() -> None:
    """Put TokenRedaction on the SDK's loggers (once)."""
    for name in SDK_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenRedaction) for f in logger.filters):
            logger.addFilter(TokenRedaction())


def method_of(request: HttpRequest) -> str:
    return request.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


class ProportionalJitter(Jitter):
    """Up to +50 % of the interval (the SDK's default adds up to a whole second)."""

    def recalculate(self, duration: float) -> float:
        return duration * (1.0 + random.random() / 2)


class ServerErrorRetries(AsyncServerErrorRetryHandler):
    """5xx: retried with backoff, except for methods that could post twice."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if method_of(request) in NOT_REPEATABLE:
            return False
        return response is not None and response.status_code >= 500


class ConnectionErrorRetries(AsyncConnectionErrorRetryHandler):
    """A connection never opened: always retried. Lost mid-request or timed out: retried
    only for methods that are safe to repeat."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if isinstance(error, aiohttp.ClientConnectorError):
            return True  # nothing reached Slack
        if method_of(request) in NOT_REPEATABLE:
            return False
        return ambiguous(error) if error is not None else False


class RateLimitRetries(AsyncRateLimitErrorRetryHandler):
    """429: wait for Retry-After and try again (the SDK's handler); each 429 counted."""

    def __init__(self, calls: ApiCalls, max_retry_count: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.calls = calls

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        # Counted before the retry limit is checked: the 429 that ends the retries, too.
        if error is None and response is not None and response.status_code == 429:
            self.calls.add(method_of(request), ApiOutcome.RATE_LIMITED)
        return await super().can_retry_async(
            state=state, request=request, response=response, error=error
        )


class FinalOutcome(AsyncRetryHandler):
    """Last in the list. The SDK asks its handlers in order and stops at the first that
    retries, so this one hears only a call's final answer (or error): it counts it, and
    never retries."""

    def __init__(self, calls: ApiCalls) -> None:
        super().__init__(max_retry_count=0)
        self.calls = calls

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        self.calls.add(method_of(request), outcome_of(response, error))
        return False


def outcome_of(response: HttpResponse | None, error: Exception | None) -> ApiOutcome:
    """What the SDK will make of this answer: a response unless it raises SlackApiError
    (anything but 200 with "ok": true, as AsyncSlackResponse.validate decides)."""
    if error is not None or response is None or response.status_code != 200:
        return ApiOutcome.ERROR
    if response.body is None:  # not JSON: a binary answer (a file) is a success
        return ApiOutcome.OK if isinstance(response.data, bytes) else ApiOutcome.ERROR
    body: object = response.body
    return ApiOutcome.OK if isinstance(body, dict) and body.get("ok") else ApiOutcome.ERROR


def retry_handlers(backoff: float, calls: ApiCalls | None = None) -> list[AsyncRetryHandler]:
    """The handlers, in the order the SDK asks them; `calls` counts every call made with
    them."""
    calls = calls if calls is not None else ApiCalls()
    interval = BackoffRetryIntervalCalculator(backoff_factor=backoff, jitter=ProportionalJitter())
    return [
        # Before the rate-limit handler, this one must never retry an answer (only
        # errors): the rate-limit handler then sees every answer, every 429 among them.
        ConnectionErrorRetries(max_retry_count=CONNECTION_RETRIES, interval_calculator=interval),
        RateLimitRetries(calls, max_retry_count=RATE_LIMIT_RETRIES),
        ServerErrorRetries(max_retry_count=SERVER_ERROR_RETRIES, interval_calculator=interval),
        FinalOutcome(calls),  # last: see its notes
    ]


def ambiguous(error: BaseException) -> bool:
    """A failure after which Slack may or may not have done what was asked."""
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 200)
        return isinstance(status, int) and status >= 500
    if isinstance(error, aiohttp.ClientConnectorError):
        return False  # never connected: nothing was sent
    return isinstance(
        error,
        asyncio.TimeoutError
        | aiohttp.ServerConnectionError
        | aiohttp.ClientOSError
        | aiohttp.ClientPayloadError,
    )


def slack_error(error: BaseException) -> str | None:
    """Slack's error code (`channel_not_found`, `ratelimited`, ...), if it gave one."""
    if isinstance(error, SlackApiError):
        data = getattr(error.response, "data", None)
        if isinstance(data, dict):
            code = data.get("error")
            return str(code) if code else None
    return None


class SlackWeb:
    """The bot's Web API client plus exactly-once posting. Every call through `client` or
    `app_client` (and Bolt's clients made from it) is counted in `calls`."""

    def __init__(
        self,
        token: str | None,
        base_url: str,
        *,
        timeout: float = 15.0,
        backoff: float = 0.5,
        calls: ApiCalls | None = None,
    ) -> None:
        self.token = token
        self.base_url = base_url
        self.backoff = backoff
        self.calls = calls if calls is not None else ApiCalls()
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))
        handlers = retry_handlers(backoff, self.calls)
        self.client = AsyncWebClient(
            token=token,
            base_url=base_url,
            session=self.session,
            timeout=int(timeout),
            retry_handlers=handlers,
        )
        # Bolt's own client: the same session and retries; it gets the token per request
        # from the authorize function, so it carries none itself. Bolt copies this list
        # into the client it makes for each request: those calls are counted too.
        self.app_client = AsyncWebClient(
            base_url=base_url,
            session=self.session,
            timeout=int(timeout),
            retry_handlers=list(handlers),
        )
        self._done: OrderedDict[str, str] = OrderedDict()
        self._running: dict[str, asyncio.Task[str]] = {}
        self._uncertain: set[str] = set()  # keys an earlier attempt of may have landed
        self._read_back_warned = False
        self.read_backs = 0  # how many times a read-back found an earlier post

    async def close(self) -> None:
        for task in list(self._running.values()):
            task.cancel()
        await self.session.close()

    # -- exactly-once posting --------------------------------------------------------

    def posted(self, key: str) -> str | None:
        return self._done.get(key)

    async def once(self, key: str, attempt: Callable[[], Awaitable[str]]) -> str:
        """Run `attempt` for `key` at most once successfully per process: a key already
        done returns its result; a key in flight is waited for."""
        done = self._done.get(key)
        if done is not None:
            return done
        running = self._running.get(key)
        if running is None:
            running = asyncio.ensure_future(attempt())
            self._running[key] = running
            running.add_done_callback(lambda task: self._finish(key, task))
        # Shielded: a caller that gives up does not cancel the post for the others.
        return await asyncio.shield(running)

    def _finish(self, key: str, task: asyncio.Task[str]) -> None:
        self._running.pop(key, None)
        if task.cancelled() or task.exception() is not None:
            return
        self._done[key] = task.result()
        while len(self._done) > DONE_KEYS:
            self._done.popitem(last=False)

    async def post_message(
        self,
        key: str,
        *,
        channel: str,
        text: str,
        blocks: Sequence[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        since: datetime | None = None,
    ) -> str:
        """chat.postMessage exactly once per key (see the module notes). Returns its ts.
        `since`: an earlier try began then (perhaps in a process that died before it
        could record the ts): read back before posting."""
        if since is not None:
            self._uncertain.add(key)
        return await self.once(
            key,
            lambda: self._post(key, channel=channel, text=text, blocks=blocks, thread=thread_ts),
        )

    async def _post(
        self,
        key: str,
        *,
        channel: str,
        text: str,
        blocks: Sequence[dict[str, Any]] | None,
        thread: str | None,
    ) -> str:
        if key in self._uncertain:  # an earlier attempt may have landed: look before posting
            found = await self.find_posted(key, channel, thread)
            if found is not None:
                self._uncertain.discard(key)
                return found
        failures = 0
        while True:
            try:
                response = await self.client.chat_postMessage(
                    channel=channel,
                    text=text,
                    blocks=list(blocks) if blocks is not None else None,
                    thread_ts=thread,
                    metadata={"event_type": METADATA_EVENT, "event_payload": {"key": key}},
                    unfurl_links=False,
                    unfurl_media=False,
                    parse="none",
                    link_names=False,
                )
            except Exception as exc:
                if not ambiguous(exc):
                    raise
                failures += 1
                self._uncertain.add(key)
                log.warning(
                    "chat.postMessage %s: %s; reading back before trying again",
                    key,
                    slack_error(exc) or type(exc).__name__,
                )
                await asyncio.sleep(self._delay(failures))
                found = await self.find_posted(key, channel, thread)
                if found is not None:
                    self._uncertain.discard(key)
                    return found
                if failures >= POST_ATTEMPTS:
                    raise
                continue
            self._uncertain.discard(key)
            return str(response["ts"])

    def _delay(self, failures: int) -> float:
        return ProportionalJitter().recalculate(self.backoff * 2 ** (failures - 1))

    async def find_posted(self, key: str, channel: str, thread: str | None) -> str | None:
        """The ts of our message carrying `key` in the channel (or thread), if any.

        Not bounded by when our earlier try began: that is this machine's clock, and
        Slack's timestamps are Slack's; a clock that was set forward (or back) would look
        in the wrong place and post twice. A thread is read whole (page by page); a
        channel, its newest messages (our earlier try was among the last posts)."""
        try:
            messages: list[dict[str, Any]] = []
            if thread is not None:
                cursor: str | None = None
                for _ in range(READ_BACK_PAGES):
                    response = await self.client.conversations_replies(
                        channel=channel,
                        ts=thread,
                        include_all_metadata=True,
                        limit=READ_BACK_LIMIT,
                        cursor=cursor,
                    )
                    messages += response.get("messages") or []
                    cursor = (response.get("response_metadata") or {}).get("next_cursor")
                    if not cursor:
                        break
            else:
                response = await self.client.conversations_history(
                    channel=channel, include_all_metadata=True, limit=READ_BACK_LIMIT
                )
                messages = response.get("messages") or []
        except Exception as exc:
            if not self._read_back_warned:
                self._read_back_warned = True
                log.warning(
                    "cannot read %s back to check for an earlier post (%s); posting again. "
                    "Grant channels:history, groups:history and im:history for exactly-once "
                    "posting after Slack errors.",
                    channel,
                    slack_error(exc) or type(exc).__name__,
                )
            return None
        for message in messages:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_EVENT and payload.get("key") == key:
                self.read_backs += 1
                return str(message["ts"])
        return None
