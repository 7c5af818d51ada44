"""What the Slack adapter hears: slash commands (`/propose` or `/proponer`, `/circle …`),
the proposal modal, stance buttons (on cards and on the Home tab), reactions on cards,
thread replies, App Home opens.

Slack never resends what it got an answer for, so each event for the core is first
stored durably (the runtime's inbox, many requests per transaction), then acknowledged,
then handed to the core as a task: a crash after the answer delays the event to the next
start but cannot lose it. Slack's retries and Socket Mode redeliveries carry the same
event id, and the core applies each (platform, event_id) once; a slash command that comes
again with the same trigger id is acknowledged and not taken again (a read-only one
records nothing the core could know it by), within this process.

What the adapter itself says to one person (the form, its errors, a failed save, a click
that does not count) is in that person's language: as a member of the channel's circle
when they are one, else the circle's (bot.domain.circle.CircleSpec.reader_of)."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError

from adapters.slack import render
from adapters.slack.config import channel_of, handle_of, team_of
from adapters.slack.teams import Team, Teams
from adapters.slack.webapi import slack_error
from bot.domain.circle import CircleSpec
from bot.domain.durations import looks_like_when, reads_as_when, unreadable_message
from bot.domain.events import CommandEvent, InboundEvent, ReactionEvent, ThreadReplyEvent
from bot.domain.i18n import Lang, Reader, of
from bot.domain.intents import Cosponsor, Propose
from bot.ports.platform import CoreServices, EventSink, NotAccepted
from bot.text.grammar import MAX_TEXT, grammar
from bot.text.messages import Reply
from bot.text.parsing import CommandError, Draft, Field, parse_command, propose_from_fields

log = logging.getLogger(__name__)

PLATFORM = "slack"
# `/circle add …` stays `circle add …` (and `/circle agregar …` is `círculo agregar …`, so
# that the core answers in the words that were typed); other words are commands of their own.
_CIRCLE_SUBCOMMANDS = {
    "add": "circle",
    "remove": "circle",
    "show": "circle",
    "list": "circle",
    "report": "circle",
    "agregar": "círculo",
    "añadir": "círculo",
    "anadir": "círculo",
    "quitar": "círculo",
    "ver": "círculo",
    "mostrar": "círculo",
    "informe": "círculo",
}
# The slash commands that propose, and the core's command word each one stands for.
PROPOSE_COMMANDS = {"/propose": "propose", "/proponer": "proponer"}
FORMS_REMEMBERED = 1000  # open proposal forms whose reader is kept (for their errors)


def not_saved(reader: Reader) -> str:
    return of(reader)._(
        "Sorry, I could not save that just now, so nothing changed. Please try again."
    )


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
    `/circle add <@U1> milpa` -> `circle add <@U1> milpa`, `/circle agregar <@U1> milpa`
    -> `círculo agregar <@U1> milpa`, `/circle` -> `circle`."""
    words = text.split(maxsplit=1)
    if not words:
        return "circle"
    circle = _CIRCLE_SUBCOMMANDS.get(words[0].lower())
    if circle is not None:
        return f"{circle} {text.strip()}"
    return text.strip()


# Where the form shows an error about each field of a proposal.
_FIELD_BLOCKS: dict[Field | None, str] = {
    Field.TEXT: render.TEXT_BLOCK,
    Field.DEADLINE: render.DEADLINE_BLOCK,
    Field.REVIEW: render.REVIEW_BLOCK,
}


def _a_when(text: str, language: str) -> bool:
    return looks_like_when(text) or reads_as_when(text, language)


def _not_a_when(t: Lang, value: str) -> str:
    # The words the core answers a typed command with, so the form and the command agree.
    return unreadable_message(t, value) + "."


class Readers:
    """Who reads what the adapter says to one person, from the config alone (no I/O:
    it also answers when the database does not). With many workspaces a channel is
    known by its workspace too (`workspace`; None: the only one)."""

    def __init__(self, circles: Sequence[CircleSpec]) -> None:
        self._specs = [spec for spec in circles if channel_of(spec)]

    def _spec(self, channel: str, workspace: str | None) -> CircleSpec | None:
        return next(
            (
                spec
                for spec in self._specs
                if channel_of(spec) == channel
                and (workspace is None or team_of(spec) in (None, workspace))
            ),
            None,
        )

    def circle(self, channel: str, workspace: str | None = None) -> str | None:
        spec = self._spec(channel, workspace)
        return spec.name if spec is not None else None

    def person(self, channel: str, user: str, workspace: str | None = None) -> Reader:
        """`user` as a member of the channel's circle (their language and time zone, if
        set); the circle's for anyone else; English outside any circle."""
        spec = self._spec(channel, workspace)
        if spec is None:
            return Reader()
        member = next((m for m in spec.members if handle_of(m) == user), None)
        return spec.reader_of(member.name) if member is not None else spec.reader


@dataclass(frozen=True)
class ButtonPress:
    """A press of one of our buttons: on a card, or on the App Home tab for a card."""

    event_id: str  # from the trigger id: a redelivered press is the same event
    channel: str
    user: str
    message_ref: str  # the ts of the card the button answers
    at: datetime | None
    from_home: bool = False  # pressed on the App Home tab, not on the card


class Listeners:
    """Every listener first finds the Team of the workspace the request comes from (the
    only one, or its installation): who the bot is there, and how to answer there."""

    def __init__(
        self,
        teams: Teams,
        channels: set[str],
        sink: EventSink,
        services: CoreServices,
        circles: Sequence[CircleSpec] = (),
    ) -> None:
        self.teams = teams
        self.channels = channels  # the circles' channels (empty: any)
        self.sink = sink
        self.services = services
        self.readers = Readers(circles)
        # Each open proposal form's reader (by view id): its errors speak its language.
        self._forms: OrderedDict[str, Reader] = OrderedDict()
        # The event ids (from trigger ids) of the latest commands taken: the core answers
        # a repeat of one that changed something with silence, as already done, but a
        # read-only command (status, proposals, help) records nothing, so it would be
        # answered again. A repeat is acknowledged and not taken.
        self._tasks: set[asyncio.Future[None]] = set()
        self.inbound = 0  # events handed to the core

    def register(self, app: AsyncApp) -> None:
        for command in PROPOSE_COMMANDS:
            app.command(command)(self._on_propose)
        app.command("/circle")(self._on_circle)
        app.view(render.MODAL_CALLBACK)(self._on_modal)
        app.action(re.compile("^" + re.escape(render.ACTION_PREFIX)))(self._on_button)
        app.action(render.COSPONSOR_ACTION)(self._on_cosponsor)
        app.event("reaction_added")(self._on_reaction)
        app.event("reaction_removed")(self._on_reaction)
        app.event("app_home_opened")(self._on_home)
        app.event("message")(self._on_message)
        app.error(self._on_error)

    async def drain(self, timeout: float) -> None:
        """Let acknowledged events finish (within `timeout`); cancel what is left."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Future[None]) -> None:
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
        before the answer. A repeat of an event taken before (Slack's retry, a double
        submit with one trigger id, on this replica or another) is acknowledged and not
        handed over again. False when it could not be stored: answer so that Slack
        retries, or the person knows nothing changed."""
        try:
            taken = await self.sink.accept(event)
        except NotAccepted:
            return False
        if not taken:
            log.info("slack: %s came again; taken once", event.event_id)
            return True
        self.inbound += 1
        self._spawn(self._handle(self.sink, event, then))
        return True

    @staticmethod
    async def _handle(
        sink: EventSink, event: InboundEvent, then: Callable[[], Awaitable[None]] | None
    ) -> None:
        await sink(event)
        if then is not None:
            await then()

    async def _team(self, context: AsyncBoltContext) -> Team | None:
        """The Team of the workspace a request comes from; None: not installed there."""
        return await self.teams.get(context.team_id)

    def _command_event(self, team: Team, command: dict[str, Any], text: str) -> CommandEvent | None:
        channel, user = str(command.get("channel_id", "")), str(command.get("user_id", ""))
        if not channel or not user:
            return None
        team.response_urls.remember(channel, user, command.get("response_url"))
        trigger = command.get("trigger_id")
        event_id = f"cmd:{trigger}" if trigger else f"cmd:{uuid.uuid4().hex}"
        return CommandEvent(
            PLATFORM,
            event_id,
            channel,
            user,
            text,
            datetime.now(UTC),
            workspace=team.event_workspace,
        )

    async def _on_propose(
        self, ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        team = await self._team(context)
        if team is None or team.workspace.foreign(
            command.get("team_id"), command.get("user_team_id")
        ):
            await ack()
            return
        text = render.unescape(str(command.get("text") or "")).strip()
        word = PROPOSE_COMMANDS.get(str(command.get("command")), "propose")
        event = self._command_event(team, command, f"{word} {text}")
        if event is None:
            await ack()
            return
        if not text:
            await ack()
            self._spawn(self._open_modal(team, str(command.get("trigger_id", "")), event))
            return
        draft = self._unread_draft(event)
        if draft is not None:
            # A WHEN that could not be read: nothing is opened; the person is told which
            # words, and the form opens with what they typed, to correct the date.
            message, typed = draft
            await ack(text=message, response_type="ephemeral")
            trigger = str(command.get("trigger_id", ""))
            self._spawn(self._open_modal(team, trigger, event, typed))
            return
        await self._answer_command(ack, event)

    def _unread_draft(self, event: CommandEvent) -> tuple[str, Draft] | None:
        """The refusal and the proposal as typed, when `event` (a /propose with text) is
        refused only for a WHEN that could not be read; None otherwise (the core answers)."""
        reader = self.readers.person(event.channel, event.user, event.workspace)
        try:
            parse_command(event.text, of(reader))
        except CommandError as exc:
            return (str(exc), exc.draft) if exc.draft is not None else None
        return None

    async def _on_circle(
        self, ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        team = await self._team(context)
        if team is None or team.workspace.foreign(
            command.get("team_id"), command.get("user_team_id")
        ):
            await ack()
            return
        text = circle_text(render.unescape(str(command.get("text") or "")))
        event = self._command_event(team, command, text)
        if event is None:
            await ack()
            return
        await self._answer_command(ack, event)

    async def _answer_command(self, ack: AsyncAck, event: CommandEvent) -> None:
        if await self._take(event):
            await ack()
        else:  # Slack does not retry a command: say so, privately
            text = not_saved(self.readers.person(event.channel, event.user, event.workspace))
            await ack(text=text, response_type="ephemeral")

    async def _reader(self, channel: str, user: str, workspace: str | None) -> Reader:
        """`user`'s reader in the channel's circle, asking the core, which also knows
        the members the config names by e-mail address (their Slack id is not in the
        config); outside any circle, as they read their own Home."""
        circle = self.readers.circle(channel, workspace)
        try:
            home = await self.services.home(PLATFORM, user, workspace)
        except Exception as exc:  # the config's answer will do
            log.warning("slack: could not ask how %s reads: %s", user, exc)
            return self.readers.person(channel, user, workspace)
        mine = next((c for c in home.circles if c.name == circle), None)
        if mine is not None:
            return mine.reader
        if circle is None and home.circles:
            return home.reader
        return self.readers.person(channel, user, workspace)

    async def _open_modal(
        self, team: Team, trigger_id: str, event: CommandEvent, draft: Draft | None = None
    ) -> None:
        reader = await self._reader(event.channel, event.user, event.workspace)
        if await self.services.circle_at(PLATFORM, event.channel, event.workspace) is None:
            note = of(reader)._(
                "Use /propose in a circle's channel: this channel is not part of any circle."
            )
            await team.outbound.reply_private(event.channel, event.user, Reply(note, ok=False))
            return
        try:
            opened = await team.web.client.views_open(
                trigger_id=trigger_id,
                view=render.propose_modal(event.channel, MAX_TEXT, reader, draft),
            )
        except SlackApiError as exc:
            log.warning("slack: could not open the proposal form: %s", slack_error(exc))
            note = of(reader)._(
                "I could not open the form; write `/propose TEXT [by WHEN]` instead."
            )
            await team.outbound.reply_private(event.channel, event.user, Reply(note, ok=False))
            return
        view_id = (opened.get("view") or {}).get("id")
        if view_id:
            self._forms[str(view_id)] = reader
            while len(self._forms) > FORMS_REMEMBERED:
                self._forms.popitem(last=False)

    async def _on_modal(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        context: AsyncBoltContext,
    ) -> None:
        team = await self._team(context)
        if team is None:
            await ack()
            return
        user = body.get("user") or {}
        channel = str(view.get("private_metadata") or "")
        reader = self._forms.get(str(view.get("id"))) or self.readers.person(
            channel, str(user.get("id") or ""), team.event_workspace
        )
        t = of(reader)
        values = render.modal_values(view)
        title, text = values[render.TITLE_BLOCK], values[render.TEXT_BLOCK]
        deadline, review = values[render.DEADLINE_BLOCK], values[render.REVIEW_BLOCK]
        # The command the form stands for, in the form's words (so are the core's errors).
        words = grammar(reader.language)
        propose, by, again = words.names["propose"], words.by, words.review
        full = f"{title}\n{text}" if title else text
        command = f"{propose} {full}"
        command += f" {by} {deadline}" if deadline else ""
        command += f" {again} {review}" if review else ""
        errors: dict[str, str] = {}
        intent: Propose | None = None
        if not text:
            errors[render.TEXT_BLOCK] = t._("Write what you propose.")
        elif len(full) > MAX_TEXT:
            errors[render.TEXT_BLOCK] = t._(
                "Too long: {length} characters with the title; the limit is {limit}.",
                length=len(full),
                limit=MAX_TEXT,
            )
        else:
            # Read as people write them too (`Friday 5pm`): the language's order for `12/15`.
            if deadline and not _a_when(deadline, reader.language):
                errors[render.DEADLINE_BLOCK] = _not_a_when(t, deadline)
            if review and not _a_when(review, reader.language):
                errors[render.REVIEW_BLOCK] = _not_a_when(t, review)
            if not errors:
                try:
                    intent = propose_from_fields(full, deadline or None, review or None, t)
                except CommandError as exc:
                    block = _FIELD_BLOCKS.get(exc.field, render.TEXT_BLOCK)
                    errors[block] = render.clip(str(exc), 300)
        if errors or intent is None:
            await ack(response_action="errors", errors=errors)
            return
        foreign = team.workspace.foreign(user.get("team_id"), (body.get("team") or {}).get("id"))
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
            command,  # what the person sees was asked ("Done before: …")
            datetime.now(UTC),
            workspace=team.event_workspace,
            intent=intent,  # the core takes the fields as read here, not the words
        )
        if await self._take(event):
            await ack()
        else:  # the form stays open with its text, to submit again
            await ack(response_action="errors", errors={render.TEXT_BLOCK: not_saved(reader)})

    def _pressed(
        self, team: Team, body: dict[str, Any], action: dict[str, Any]
    ) -> ButtonPress | None:
        """Who pressed a button on which message; None for what we do not act on (not on
        a message, another workspace, missing ids)."""
        container = body.get("container") or {}
        user = body.get("user") or {}
        if not user.get("id"):
            return None
        if team.workspace.foreign(user.get("team_id"), (body.get("team") or {}).get("id")):
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
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        context: AsyncBoltContext,
    ) -> BoltResponse | None:
        stance = render.stance_of_action(str(action.get("action_id", "")))
        team = await self._team(context)
        press = self._pressed(team, body, action) if team is not None else None
        if stance is None or press is None or team is None:
            await ack()
            return None
        answer = ReactionEvent(
            platform=PLATFORM,
            event_id=press.event_id,
            channel=press.channel,
            user=press.user,
            emoji="",
            added=True,
            message_ref=press.message_ref,
            at=press.at,
            workspace=team.event_workspace,
            stance=stance,
        )
        # From the Home tab: show the new answer there once it is counted.
        watch = team.home_watch
        then = (lambda: watch.refresh_now(press.user)) if press.from_home else None
        if not await self._take(answer, then):
            return self._press_not_saved(team, press)
        await ack()
        if not press.from_home:
            self._spawn(self._hint_non_member(team, press.channel, press.user))
        return None

    def _press_not_saved(self, team: Team, press: ButtonPress) -> BoltResponse:
        """Slack does not resend a press: an error status shows the person it failed,
        and a private note says why."""
        reader = self.readers.person(press.channel, press.user, team.event_workspace)
        note = Reply(not_saved(reader), ok=False)
        self._spawn(team.outbound.reply_private(press.channel, press.user, note))
        return _not_stored()

    async def _on_cosponsor(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        context: AsyncBoltContext,
    ) -> BoltResponse | None:
        """The draft card's button: a co-sponsoring, as the `cosponsor` command would ask
        it, answered privately."""
        team = await self._team(context)
        press = self._pressed(team, body, action) if team is not None else None
        proposal = str(action.get("value", ""))
        if team is None or press is None or not proposal.isdigit():
            await ack()
            return None
        command = f"cosponsor {proposal}"
        event = CommandEvent(
            PLATFORM,
            press.event_id,
            press.channel,
            press.user,
            command,
            press.at,
            workspace=team.event_workspace,
            intent=Cosponsor(int(proposal)),
        )
        if not await self._take(event):
            return self._press_not_saved(team, press)
        await ack()
        return None

    async def _hint_non_member(self, team: Team, channel: str, user: str) -> None:
        """A button press by someone outside the circle: tell them, privately, that it
        does not count (a reaction needs no answer; a click deserves one)."""
        workspace = team.event_workspace
        circle = await self.services.circle_at(PLATFORM, channel, workspace)
        if circle is None or await self.services.is_member(PLATFORM, channel, user, workspace):
            return
        note = of(self.readers.person(channel, user, workspace))._(
            "You are not a member of the circle {circle}, so your answer is not counted.",
            circle=circle,
        )
        await team.outbound.reply_private(channel, user, Reply(note, ok=False))

    async def _on_reaction(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        event: dict[str, Any],
        context: AsyncBoltContext,
    ) -> BoltResponse | None:
        team = await self._team(context)
        answer = self._reaction_event(team, body, event) if team is not None else None
        if answer is not None and not await self._take(answer):
            return _not_stored()
        await ack()
        return None

    def _reaction_event(
        self, team: Team, body: dict[str, Any], event: dict[str, Any]
    ) -> ReactionEvent | None:
        """A reaction on a message in a circle's channel, by someone else than us."""
        item = event.get("item") or {}
        if item.get("type") != "message":
            return None
        channel, ref, user = item.get("channel"), item.get("ts"), event.get("user")
        if not channel or not ref or not user or not event.get("reaction"):
            return None
        if self.channels and channel not in self.channels:
            return None  # not a circle's channel: not a card
        if user == team.workspace.bot_user_id:
            return None  # our own reactions never count
        if team.workspace.foreign(body.get("team_id"), event.get("user_team"), event.get("team")):
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
            workspace=team.event_workspace,
        )

    async def _on_message(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        event: dict[str, Any],
        context: AsyncBoltContext,
    ) -> BoltResponse | None:
        """A reply in a thread of a circle's channel: the core counts it when the thread
        is a check-in's (and ignores other threads)."""
        team = await self._team(context)
        reply = self._thread_reply(team, body, event) if team is not None else None
        if reply is not None and not await self._take(reply):
            return _not_stored()
        await ack()
        return None

    def _thread_reply(
        self, team: Team, body: dict[str, Any], event: dict[str, Any]
    ) -> ThreadReplyEvent | None:
        channel, user = event.get("channel"), event.get("user")
        thread, ts = event.get("thread_ts"), event.get("ts")
        if event.get("subtype") or not channel or not user or not thread or thread == ts:
            return None  # edits, joins, bot messages, top-level messages
        if self.channels and channel not in self.channels:
            return None
        if user == team.workspace.bot_user_id:
            return None
        if team.workspace.foreign(body.get("team_id"), event.get("team")):
            return None
        event_id = body.get("event_id") or f"message:{channel}:{ts}"
        return ThreadReplyEvent(
            platform=PLATFORM,
            event_id=str(event_id),
            channel=str(channel),
            user=str(user),
            thread_ref=str(thread),
            at=slack_time(ts),
            workspace=team.event_workspace,
        )

    async def _on_home(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        event: dict[str, Any],
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        user = event.get("user")
        if event.get("tab", "home") != "home" or not isinstance(user, str):
            return
        team = await self._team(context)
        if team is None or team.workspace.foreign(body.get("team_id")):
            return
        team.home_watch.opened(user)
        self._spawn(team.outbound.publish_home(user))

    async def _on_error(self, error: Exception) -> None:
        log.error("slack: a listener failed: %s", error, exc_info=error)
