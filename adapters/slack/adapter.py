"""The Slack adapter: Bolt for Python (AsyncApp) over Socket Mode or HTTP.

In: slash commands (`/propose`, `/circle …`), the proposal modal, stance buttons,
reactions on cards, thread replies, App Home opens. Slack never resends what it got an
answer for, so each event for the core is first stored durably (the runtime's inbox,
many requests per transaction), then acknowledged, then handed to the core as a task:
a crash after the answer delays the event to the next start but cannot lose it. Slack's
retries and Socket Mode redeliveries carry the same event id, and the core applies each
(platform, event_id) once.

Out: Block Kit cards (chat.postMessage / chat.update), thread posts, reminders by direct
message, ephemeral replies, the Home tab. See adapters.slack.webapi for retries and
exactly-once posting.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError

from adapters.slack import render
from adapters.slack.home_watch import HomeWatch
from adapters.slack.webapi import SlackWeb, ambiguous, slack_error
from bot.circle import CircleSpec
from bot.commands import MAX_TEXT, CommandError, Propose, parse_command
from bot.config import SlackConfig
from bot.errors import AppError
from bot.events import CommandEvent, InboundEvent, ReactionEvent, ThreadReplyEvent
from bot.home import HomeProposal
from bot.messages import Notice, Outcome, ProposalCard, Reminder, Reply
from bot.ports import CoreServices, EventSink, Message, NotAccepted

log = logging.getLogger(__name__)

PLATFORM = "slack"
EVENTS_PATH = "/slack/events"
RESPONSE_URL_TTL = 25 * 60.0  # Slack accepts a response_url for 30 minutes
# Seconds stop() lets acknowledged events finish; what is cut off stays in the inbox
# and is applied on the next start.
DRAIN_TIMEOUT = 10.0
SIGNATURE_MAX_AGE = 300  # seconds a signed request stays valid, as Slack documents
SOCKET_CONNECT_TIMEOUT = 60.0
_CARD_VERSION = re.compile(r":v(\d+)$")  # the dispatcher's key for an edit: card:ID:slack:vN
_CIRCLE_SUBCOMMANDS = frozenset({"add", "remove"})  # `/circle add …` stays `circle add …`
NOT_SAVED = "Sorry, I could not save that just now, so nothing changed. Please try again."


def _not_stored() -> BoltResponse:
    """The answer to an event that could not be stored: not a 2xx, so Slack sends it
    again (over Socket Mode, Bolt then sends no acknowledgement)."""
    return BoltResponse(status=503, body="")


def slack_time(ts: object) -> datetime | None:
    """A Slack timestamp ("1712345678.000200") as a UTC datetime."""
    try:
        return datetime.fromtimestamp(float(str(ts)), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def circle_text(text: str) -> str:
    """`/circle SUBCOMMAND` -> the core's command: `/circle status 7` -> `status 7`,
    `/circle add <@U1> milpa` -> `circle add <@U1> milpa`, `/circle` -> `circle`."""
    words = text.split(maxsplit=1)
    if not words:
        return "circle"
    if words[0].lower() in _CIRCLE_SUBCOMMANDS:
        return "circle " + text.strip()
    return text.strip()


@dataclass(frozen=True)
class ButtonPress:
    """A press of one of our buttons: on a card, or on the App Home tab for a card."""

    event_id: str  # from the trigger id: a redelivered press is the same event
    channel: str
    user: str
    message_ref: str  # the ts of the card the button answers
    at: datetime | None
    from_home: bool = False  # pressed on the App Home tab, not on the card


class SlackAdapter:
    platform = PLATFORM
    # Slack allows about one chat.update per message every few seconds; the dispatcher
    # coalesces a card's edits to one per interval and the final state always lands.
    edit_interval = 3.0

    def __init__(
        self,
        config: SlackConfig,
        circles: Sequence[CircleSpec],
        *,
        bot_token: str,
        app_token: str | None = None,
        signing_secret: str | None = None,
        timeout: float = 15.0,
        backoff: float = 0.5,
    ) -> None:
        self.config = config
        self.mode = config.mode
        self.circles = list(circles)
        self._bot_token = bot_token
        self._app_token = app_token
        self._signing_secret = signing_secret
        self.timeout = timeout  # seconds per Web API request
        self.backoff = backoff  # first retry delay after a 5xx (doubles)
        self.channels = {c.slack_channel for c in self.circles if c.slack_channel}
        # Learnt from auth.test at start.
        self.bot_user_id: str | None = None
        self.bot_id: str | None = None
        self.team_id: str | None = None
        self.workspace_url: str | None = None
        self.web: SlackWeb | None = None
        self.app: AsyncApp | None = None
        self.port: int | None = None  # http mode: the port really listened on
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._sink: EventSink | None = None
        self._services: CoreServices | None = None  # the Home tab, membership hints
        self._tasks: set[asyncio.Task[Any]] = set()
        self.home_watch = HomeWatch(self.publish_home)  # open Home tabs kept current
        self._stopped = asyncio.Event()
        self._response_urls: dict[tuple[str, str], tuple[str, float]] = {}
        self._card_locks: dict[str, asyncio.Lock] = {}
        self._card_sent: dict[str, int] = {}
        self._card_wanted: dict[str, int] = {}
        self._card_edited: dict[str, float] = {}  # monotonic time of each card's last edit
        # Counters, for logs, tests and benchmarks.
        self.inbound = 0  # events handed to the core
        self.edits = 0  # chat.update calls that went out

    # -- wiring --------------------------------------------------------------------

    def _web(self) -> SlackWeb:
        if self.web is None:
            raise RuntimeError("the Slack adapter is not started")
        return self.web

    # -- lifecycle -------------------------------------------------------------------

    async def start(self, sink: EventSink, services: CoreServices) -> None:
        self._sink = sink
        self._services = services
        self._stopped.clear()
        self.web = SlackWeb(
            self._bot_token, self.config.api_url, timeout=self.timeout, backoff=self.backoff
        )
        try:
            await self._whoami()
            self.app = self._build_app()
            if self.mode == "http":
                await self._serve_http()
            else:
                await self._connect_socket()
        except BaseException:
            await self._close_transport()
            await self.web.close()
            raise

    async def _whoami(self) -> None:
        try:
            auth = await self._web().client.auth_test()
        except SlackApiError as exc:
            raise AppError(
                f"Slack refused SLACK_BOT_TOKEN ({slack_error(exc) or exc}); check the bot token "
                "of your Slack app (OAuth & Permissions)"
            ) from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise AppError(
                f"slack.api_url: cannot reach the Slack Web API at {self.config.api_url} "
                f"({type(exc).__name__}: {exc})"
            ) from exc
        self.bot_user_id = auth.get("user_id")
        self.bot_id = auth.get("bot_id")
        self.team_id = auth.get("team_id")
        self.workspace_url = auth.get("url")
        log.info("slack: connected as %s in team %s", self.bot_user_id, self.team_id)

    def _build_app(self) -> AsyncApp:
        app = AsyncApp(
            name="circlebot",
            client=self._web().app_client,
            signing_secret=self._signing_secret or "",
            authorize=self._authorizer(),
            # The answer goes out when the listener returns: listeners store the event
            # (milliseconds, many requests per transaction) and leave the work to a task,
            # so Slack hears back well within its 3 s, and only about stored events.
            process_before_response=True,
            # Over HTTP, _on_http checks the signature before the body is parsed (and
            # without logging the body of a forged request, which Bolt does at INFO).
            request_verification_enabled=False,
            logger=logging.getLogger("circlebot.slack.bolt"),
        )
        app.command("/propose")(self._on_propose)
        app.command("/circle")(self._on_circle)
        app.view(render.MODAL_CALLBACK)(self._on_modal)
        app.action(re.compile("^" + re.escape(render.ACTION_PREFIX)))(self._on_button)
        app.action(render.COSPONSOR_ACTION)(self._on_cosponsor)
        app.event("reaction_added")(self._on_reaction)
        app.event("reaction_removed")(self._on_reaction)
        app.event("app_home_opened")(self._on_home)
        app.event("message")(self._on_message)
        app.error(self._on_error)
        return app

    def _authorizer(self) -> Callable[..., Awaitable[AuthorizeResult]]:
        # A single workspace: auth.test already told us who we are, so Bolt needs no call
        # of its own; requests from other workspaces are turned away by the listeners.
        # (A plain function: Bolt passes arguments by their names, `self` is not one.)
        async def authorize(enterprise_id: str | None, user_id: str | None) -> AuthorizeResult:
            return AuthorizeResult(
                enterprise_id=enterprise_id,
                team_id=self.team_id,
                bot_user_id=self.bot_user_id,
                bot_id=self.bot_id,
                bot_token=self._bot_token,
                user_id=user_id,
            )

        return authorize

    async def _serve_http(self) -> None:
        server = web.Application()
        server.router.add_post(EVENTS_PATH, self._on_http)
        runner = web.AppRunner(server, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise AppError(
                f"slack.port: cannot listen on {self.config.host}:{self.config.port} ({exc})"
            ) from exc
        self._runner = runner
        sockets = [addr for addr in runner.addresses if isinstance(addr, tuple)]
        self.port = int(sockets[0][1]) if sockets else self.config.port
        log.info("slack: listening on http://%s:%s%s", self.config.host, self.port, EVENTS_PATH)

    async def _on_http(self, request: web.Request) -> web.StreamResponse:
        """One request to /slack/events. Its signature is checked before anything reads
        the body (Bolt parses it first and would answer a malformed one with a 500 and a
        traceback); a refusal is logged in one line, never with the body or headers."""
        assert self.app is not None
        raw = await request.read()
        problem = self._signature_problem(request, raw)
        if problem is not None:
            log.warning("slack: refused a request from %s: %s", request.remote, problem)
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_request = AsyncBoltRequest(
                body=raw.decode("utf-8"),
                query=request.query_string,
                headers={name: request.headers.getall(name) for name in request.headers},
            )
            if not isinstance(bolt_request.body, dict) or not bolt_request.body:
                raise ValueError("not an object")
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # Signed by Slack, yet unreadable: nothing to retry, nothing to act on.
            log.warning("slack: a signed request could not be read: %s", type(exc).__name__)
            return web.json_response({"error": "malformed request"}, status=400)
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

    def _signature_problem(self, request: web.Request, raw: bytes) -> str | None:
        """Why a request is not Slack's (v0 signature, within five minutes); None if it is."""
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not timestamp or not signature:
            return "no signature"
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return "malformed timestamp"
        if abs(time.time() - int(timestamp)) > SIGNATURE_MAX_AGE:
            return "timestamp too old or ahead"
        secret = (self._signing_secret or "").encode()
        base = b"v0:" + timestamp.encode() + b":" + raw
        expected = "v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest()
        if not secret or not signature.isascii() or not hmac.compare_digest(expected, signature):
            return "bad signature"
        return None

    async def _connect_socket(self) -> None:
        assert self.app is not None and self._app_token is not None
        web_client = self._web().app_client
        # The SDK retries a failed connection forever; ask for the first URL ourselves so
        # a wrong app token is a clear error at start instead of a silent loop.
        try:
            opened = await web_client.apps_connections_open(app_token=self._app_token)
        except SlackApiError as exc:
            raise AppError(
                f"Slack refused SLACK_APP_TOKEN ({slack_error(exc) or exc}); Socket Mode needs "
                "an app-level token (xapp-…) with the connections:write scope"
            ) from exc
        self._socket = AsyncSocketModeHandler(
            self.app, app_token=self._app_token, web_client=web_client
        )
        self._socket.client.wss_uri = str(opened["url"])
        try:
            await asyncio.wait_for(
                # slack_bolt leaves this method unannotated
                self._socket.connect_async(),  # type: ignore[no-untyped-call]
                SOCKET_CONNECT_TIMEOUT,
            )
        except TimeoutError as exc:
            raise AppError(
                f"could not open the Socket Mode connection within {SOCKET_CONNECT_TIMEOUT:.0f} s"
            ) from exc
        log.info("slack: connected over Socket Mode")

    async def run(self) -> None:
        await self._stopped.wait()

    async def stop(self) -> None:
        self._stopped.set()
        await self.home_watch.close()
        await self._close_transport()
        # Events already acknowledged are handled before the runtime shuts the core down
        # (those cut off by the timeout are still stored: the next start applies them).
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=DRAIN_TIMEOUT)
            for task in pending:
                task.cancel()
        if self.web is not None:
            await self.web.close()

    async def _close_transport(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        if self._socket is not None:
            socket, self._socket = self._socket, None
            await socket.close_async()  # type: ignore[no-untyped-call]  # unannotated in slack_bolt

    # -- inbound ---------------------------------------------------------------------

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("slack: handling an event failed", exc_info=task.exception())

    @property
    def busy(self) -> int:
        """Acknowledged events (and other work) not finished yet."""
        return len(self._tasks)

    async def _take(
        self, event: InboundEvent, then: Callable[[], Awaitable[None]] | None = None
    ) -> bool:
        """Store `event` durably, then hand it to the core in the background (`then` runs
        once it was applied). Slack never resends what it got an answer for, so this comes
        before the answer. False when it could not be stored: answer so that Slack
        retries, or the person knows nothing changed."""
        assert self._sink is not None, "start() first"
        try:
            await self._sink.accept(event)
        except NotAccepted:
            return False
        self.inbound += 1
        self._spawn(self._handle(self._sink, event, then))
        return True

    @staticmethod
    async def _handle(
        sink: EventSink, event: InboundEvent, then: Callable[[], Awaitable[None]] | None
    ) -> None:
        await sink(event)
        if then is not None:
            await then()

    def _foreign(self, *teams: object) -> bool:
        """Something from another workspace (a shared channel, another org)."""
        if self.team_id is None:
            return False
        return any(isinstance(t, str) and t and t != self.team_id for t in teams)

    def _remember_response_url(self, channel: str, user: str, url: object) -> None:
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            now = time.monotonic()
            self._response_urls[(channel, user)] = (url, now + RESPONSE_URL_TTL)
            for pair, (_, until) in list(self._response_urls.items()):
                if until < now:
                    del self._response_urls[pair]

    def _command_event(self, command: dict[str, Any], text: str) -> CommandEvent | None:
        channel, user = str(command.get("channel_id", "")), str(command.get("user_id", ""))
        if not channel or not user:
            return None
        self._remember_response_url(channel, user, command.get("response_url"))
        trigger = command.get("trigger_id")
        event_id = f"cmd:{trigger}" if trigger else f"cmd:{uuid.uuid4().hex}"
        return CommandEvent(PLATFORM, event_id, channel, user, text, datetime.now(UTC))

    async def _on_propose(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        if self._foreign(command.get("team_id"), command.get("user_team_id")):
            await ack()
            return
        text = render.unescape(str(command.get("text") or "")).strip()
        event = self._command_event(command, "propose " + text)
        if event is None:
            await ack()
            return
        if not text:
            await ack()
            self._spawn(self._open_modal(str(command.get("trigger_id", "")), event))
            return
        await self._answer_command(ack, event)

    async def _on_circle(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        if self._foreign(command.get("team_id"), command.get("user_team_id")):
            await ack()
            return
        text = circle_text(render.unescape(str(command.get("text") or "")))
        event = self._command_event(command, text)
        if event is None:
            await ack()
            return
        await self._answer_command(ack, event)

    async def _answer_command(self, ack: AsyncAck, event: CommandEvent) -> None:
        if await self._take(event):
            await ack()
        else:  # Slack does not retry a command: say so, privately
            await ack(text=NOT_SAVED, response_type="ephemeral")

    async def _open_modal(self, trigger_id: str, event: CommandEvent) -> None:
        assert self._services is not None, "start() first"
        if await self._services.circle_at(PLATFORM, event.channel) is None:
            note = "Use /propose in a circle's channel: this channel is not part of any circle."
            await self.reply_private(event.channel, event.user, Reply(note, ok=False))
            return
        try:
            await self._web().client.views_open(
                trigger_id=trigger_id, view=render.propose_modal(event.channel, MAX_TEXT)
            )
        except SlackApiError as exc:
            log.warning("slack: could not open the proposal form: %s", slack_error(exc))
            note = "I could not open the form; write `/propose TEXT [by WHEN]` instead."
            await self.reply_private(event.channel, event.user, Reply(note, ok=False))

    async def _on_modal(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = render.modal_values(view)
        title, text = values[render.TITLE_BLOCK], values[render.TEXT_BLOCK]
        deadline, review = values[render.DEADLINE_BLOCK], values[render.REVIEW_BLOCK]
        full = f"{title}\n{text}" if title else text
        command = "propose " + full
        command += f" by {deadline}" if deadline else ""
        command += f" review {review}" if review else ""
        errors: dict[str, str] = {}
        if not text:
            errors[render.TEXT_BLOCK] = "Write what you propose."
        elif len(full) > MAX_TEXT:
            errors[render.TEXT_BLOCK] = (
                f"Too long: {len(full)} characters with the title; the limit is {MAX_TEXT}."
            )
        else:
            try:
                parsed = parse_command(command)
            except CommandError as exc:
                block = render.TEXT_BLOCK
                if deadline and f'"by {deadline}' in str(exc):
                    block = render.DEADLINE_BLOCK
                elif review and f'"review {review}' in str(exc):
                    block = render.REVIEW_BLOCK
                errors[block] = render.clip(str(exc), 300)
            else:
                assert isinstance(parsed, Propose)
                shape = "is not a duration (3d, 72h, 6mo) or a date and time (2026-12-01 17:00)"
                if deadline and parsed.by is None:
                    errors[render.DEADLINE_BLOCK] = f'"{deadline}" {shape}.'
                if review and parsed.review is None:
                    errors[render.REVIEW_BLOCK] = f'"{review}" {shape}.'
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        user = body.get("user") or {}
        channel = str(view.get("private_metadata") or "")
        foreign = self._foreign(user.get("team_id"), (body.get("team") or {}).get("id"))
        if foreign or not channel or not user.get("id"):
            await ack()
            return
        # A view id is Slack's, unique to one opened form: a second submission of the
        # same form (after an answer that did not arrive) is the same event.
        event = CommandEvent(
            PLATFORM,
            f"view:{view.get('id') or uuid.uuid4().hex}",
            channel,
            str(user["id"]),
            command,
            datetime.now(UTC),
        )
        if await self._take(event):
            await ack()
        else:  # the form stays open with its text, to submit again
            await ack(response_action="errors", errors={render.TEXT_BLOCK: NOT_SAVED})

    def _pressed(self, body: dict[str, Any], action: dict[str, Any]) -> ButtonPress | None:
        """Who pressed a button on which message; None for what we do not act on (not on
        a message, another workspace, missing ids)."""
        container = body.get("container") or {}
        user = body.get("user") or {}
        if not user.get("id"):
            return None
        if self._foreign(user.get("team_id"), (body.get("team") or {}).get("id")):
            return None
        from_home = container.get("type") == "view"
        if from_home:
            card = render.card_of_home_answer(str(action.get("value", "")))
            if card is None:
                return None
            channel, ref = card
        elif container.get("type") == "message":
            channel = str(
                (body.get("channel") or {}).get("id") or container.get("channel_id") or ""
            )
            ref = str(container.get("message_ts") or (body.get("message") or {}).get("ts") or "")
        else:
            return None
        if not channel or not ref:
            return None
        trigger = body.get("trigger_id")
        event_id = f"act:{trigger}" if trigger else f"act:{action.get('action_ts')}:{user['id']}"
        at = slack_time(action.get("action_ts"))
        return ButtonPress(event_id, channel, str(user["id"]), ref, at, from_home)

    async def _on_button(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]
    ) -> BoltResponse | None:
        stance = render.stance_of_action(str(action.get("action_id", "")))
        press = self._pressed(body, action)
        if stance is None or press is None:
            await ack()
            return None
        answer = ReactionEvent(
            platform=PLATFORM,
            event_id=press.event_id,
            channel=press.channel,
            user=press.user,
            emoji=render.button_emoji(stance),
            added=True,
            message_ref=press.message_ref,
            at=press.at,
        )
        # From the Home tab: show the new answer there once it is counted.
        then = (lambda: self.home_watch.refresh_now(press.user)) if press.from_home else None
        if not await self._take(answer, then):
            return self._press_not_saved(press)
        await ack()
        if not press.from_home:
            self._spawn(self._hint_non_member(press.channel, press.user))
        return None

    def _press_not_saved(self, press: ButtonPress) -> BoltResponse:
        """Slack does not resend a press: an error status shows the person it failed,
        and a private note says why."""
        self._spawn(self.reply_private(press.channel, press.user, Reply(NOT_SAVED, ok=False)))
        return _not_stored()

    async def _on_cosponsor(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]
    ) -> BoltResponse | None:
        """The draft card's button: the `cosponsor` command, answered privately."""
        press = self._pressed(body, action)
        proposal = str(action.get("value", ""))
        if press is None or not proposal.isdigit():
            await ack()
            return None
        command = f"cosponsor {proposal}"
        event = CommandEvent(PLATFORM, press.event_id, press.channel, press.user, command, press.at)
        if not await self._take(event):
            return self._press_not_saved(press)
        await ack()
        return None

    async def _hint_non_member(self, channel: str, user: str) -> None:
        """A button press by someone outside the circle: tell them, privately, that it
        does not count (a reaction needs no answer; a click deserves one)."""
        assert self._services is not None, "start() first"
        circle = await self._services.circle_at(PLATFORM, channel)
        if circle is None or await self._services.is_member(PLATFORM, channel, user):
            return
        note = f"You are not a member of the circle {circle}, so your answer is not counted."
        await self.reply_private(channel, user, Reply(note, ok=False))

    async def _on_reaction(
        self, ack: AsyncAck, body: dict[str, Any], event: dict[str, Any]
    ) -> BoltResponse | None:
        answer = self._reaction_event(body, event)
        if answer is not None and not await self._take(answer):
            return _not_stored()
        await ack()
        return None

    def _reaction_event(self, body: dict[str, Any], event: dict[str, Any]) -> ReactionEvent | None:
        """A reaction on a message in a circle's channel, by someone else than us."""
        item = event.get("item") or {}
        if item.get("type") != "message":
            return None
        channel, ref, user = item.get("channel"), item.get("ts"), event.get("user")
        if not channel or not ref or not user or not event.get("reaction"):
            return None
        if self.channels and channel not in self.channels:
            return None  # not a circle's channel: not a card
        if user == self.bot_user_id:
            return None  # our own reactions never count
        if self._foreign(body.get("team_id"), event.get("user_team"), event.get("team")):
            return None
        event_id = body.get("event_id") or (
            f"{event.get('type')}:{user}:{event.get('reaction')}:{event.get('event_ts')}"
        )
        return ReactionEvent(
            platform=PLATFORM,
            event_id=str(event_id),
            channel=str(channel),
            user=str(user),
            emoji=str(event["reaction"]),
            added=event.get("type") == "reaction_added",
            message_ref=str(ref),
            at=slack_time(event.get("event_ts")),
        )

    async def _on_message(
        self, ack: AsyncAck, body: dict[str, Any], event: dict[str, Any]
    ) -> BoltResponse | None:
        """A reply in a thread of a circle's channel: the core counts it when the thread
        is a check-in's (and ignores other threads)."""
        reply = self._thread_reply(body, event)
        if reply is not None and not await self._take(reply):
            return _not_stored()
        await ack()
        return None

    def _thread_reply(self, body: dict[str, Any], event: dict[str, Any]) -> ThreadReplyEvent | None:
        channel, user = event.get("channel"), event.get("user")
        thread, ts = event.get("thread_ts"), event.get("ts")
        if event.get("subtype") or not channel or not user or not thread or thread == ts:
            return None  # edits, joins, bot messages, top-level messages
        if self.channels and channel not in self.channels:
            return None
        if user == self.bot_user_id or self._foreign(body.get("team_id"), event.get("team")):
            return None
        event_id = body.get("event_id") or f"message:{channel}:{ts}"
        return ThreadReplyEvent(
            platform=PLATFORM,
            event_id=str(event_id),
            channel=str(channel),
            user=str(user),
            thread_ref=str(thread),
            at=slack_time(ts),
        )

    async def _on_home(self, ack: AsyncAck, body: dict[str, Any], event: dict[str, Any]) -> None:
        await ack()
        user = event.get("user")
        if event.get("tab", "home") != "home" or not isinstance(user, str):
            return
        if self._foreign(body.get("team_id")):
            return
        self.home_watch.opened(user)
        self._spawn(self.publish_home(user))

    async def _on_error(self, error: Exception) -> None:
        log.error("slack: a listener failed: %s", error, exc_info=error)

    # -- the Home tab ----------------------------------------------------------------

    def _link(self, proposal: HomeProposal) -> str | None:
        if proposal.channel is None or proposal.message_ref is None:
            return None
        return render.permalink(self.workspace_url, proposal.channel, proposal.message_ref)

    async def publish_home(self, user: str) -> None:
        assert self._services is not None, "start() first"
        home = await self._services.home(PLATFORM, user)
        await self._web().client.views_publish(
            user_id=user, view=render.home_view(home, self._link)
        )

    # -- outbound --------------------------------------------------------------------

    async def post_card(self, channel: str, card: ProposalCard, key: str) -> str:
        ts = await self._web().post_message(
            key, channel=channel, text=render.card_fallback(card), blocks=render.card_blocks(card)
        )
        await self._card_changed(channel)
        return ts

    async def _card_changed(self, channel: str) -> None:
        """Republish the open Home tabs of that circle's members (they show its cards)."""
        watching = self.home_watch.watching()
        if not watching or self._services is None:
            return  # nobody to tell: no questions to the core
        try:
            members = [
                user for user in watching if await self._services.is_member(PLATFORM, channel, user)
            ]
        except Exception as exc:  # the message went out: a stale tab must not undo that
            log.warning("slack: could not tell which Home tabs show %s: %s", channel, exc)
            return
        self.home_watch.changed(members)

    async def update_card(
        self, channel: str, message_ref: str, card: ProposalCard, key: str
    ) -> None:
        # The runtime flushes once per inbound event, and flushes may overlap: several can
        # pass the dispatcher's edit-interval check before any of them has edited. So the
        # adapter keeps Slack's pace itself: edits of one card go out one at a time, at
        # most one per edit_interval, and an edit is dropped when a newer version of the
        # card is already shown or waiting behind it (whose state is at least as recent;
        # the dispatcher marks versions rendered monotonically, so nothing is lost).
        match = _CARD_VERSION.search(key)
        version = int(match.group(1)) if match else None
        if version is not None:
            self._card_wanted[message_ref] = max(self._card_wanted.get(message_ref, 0), version)
        lock = self._card_locks.setdefault(message_ref, asyncio.Lock())
        async with lock:
            if self._superseded(message_ref, version):
                return
            wait = self._card_edited.get(message_ref, -1e9) + self.edit_interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)  # Slack's pace: newer versions queue meanwhile
                if self._superseded(message_ref, version):
                    return
            await self._web().client.chat_update(
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
            if version is not None:
                self._card_sent[message_ref] = max(self._card_sent.get(message_ref, 0), version)

    def _superseded(self, message_ref: str, version: int | None) -> bool:
        if version is None:
            return False
        return version <= self._card_sent.get(message_ref, 0) or version < self._card_wanted.get(
            message_ref, 0
        )

    async def post(
        self, channel: str, message: Message, thread_ref: str | None, key: str
    ) -> str | None:
        web = self._web()
        if isinstance(message, Reminder):
            ts = await web.post_message(
                key,
                channel=channel,
                text=render.reminder_thread_text(message),
                thread_ts=thread_ref,
            )
            link = render.permalink(self.workspace_url, channel, thread_ref) if thread_ref else None
            text = render.reminder_direct_text(message, link)
            for person in message.waiting:
                if person.slack:
                    await self._direct(f"{key}:dm:{person.slack}", person.slack, text)
            return ts
        if isinstance(message, Outcome):
            text = render.outcome_text(message)
        elif isinstance(message, Notice):
            text = render.notice_text(message)
        else:  # pragma: no cover - the Message union is closed
            raise TypeError(type(message))
        return await web.post_message(key, channel=channel, text=text, thread_ts=thread_ref)

    async def _direct(self, key: str, user: str, text: str) -> None:
        """A direct message to one person, once per key. A person Slack will not let us
        write to (deactivated, blocked the app) is skipped and logged, so one person does
        not hold up everyone else's reminder."""
        web = self._web()
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
        opened = await self._web().client.conversations_open(users=user)
        return str(opened["channel"]["id"])

    async def reply_private(self, channel: str, user: str, reply: Reply) -> None:
        """An ephemeral message: only `user` sees it. Never raises: a reply that cannot be
        delivered must not hold up the rest of the work."""
        text = render.reply_text(reply)
        try:
            await self._web().client.chat_postEphemeral(
                channel=channel, user=user, text=text, parse="none", link_names=False
            )
            return
        except Exception as exc:  # e.g. not_in_channel: the bot is not in that channel
            problem = slack_error(exc) or type(exc).__name__
            if ambiguous(exc):  # it may have been shown: a second copy would be noise
                log.warning("slack: a reply to %s in %s may be lost: %s", user, channel, problem)
                return
        remembered = self._response_urls.get((channel, user))
        if remembered is not None and remembered[1] > time.monotonic():
            try:
                async with self._web().session.post(
                    remembered[0],
                    json={"response_type": "ephemeral", "replace_original": False, "text": text},
                ) as response:
                    if response.status < 300:
                        return
                    problem += f"; response_url answered {response.status}"
            except (TimeoutError, aiohttp.ClientError) as exc:
                problem += f"; response_url: {type(exc).__name__}"
        log.warning("slack: could not reply to %s in %s: %s", user, channel, problem)

    async def read_reactions(
        self, channel: str, message_ref: str
    ) -> list[tuple[str, str, datetime | None]] | None:
        try:
            response = await self._web().client.reactions_get(
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
                if user != self.bot_user_id:
                    present.append((str(user), str(reaction["name"]), None))
        return present
