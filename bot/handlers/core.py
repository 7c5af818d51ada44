"""The core's front door: takes one inbound event, routes it to the handler of its
concern, and answers the runtime's questions (what is due, what to reconcile).

Synchronous and platform-neutral. Each inbound event is one transaction; what must be
posted is written to the outbox (or marks a card stale) in that same transaction, and
delivered afterwards by bot.runtime.dispatch. The handlers live by concern in
bot/handlers/ (proposals, reactions, membership, checkins, deadlines); the read-only
answers in bot.queries.views."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from bot.domain import intents
from bot.domain.circle import CircleSpec
from bot.domain.clock import Clock
from bot.domain.errors import DatabaseReplaced, Duplicate, StorageUnavailable
from bot.domain.events import CommandEvent, InboundEvent, ReactionEvent, ThreadReplyEvent
from bot.domain.i18n import Reader, of
from bot.domain.model import Card, Member
from bot.domain.refusal import Refusal
from bot.handlers import checkins, deadlines, membership, proposals, reactions, report
from bot.handlers.effects import require_member, speaker
from bot.handlers.membership import MembershipError, sync_members, validate_membership
from bot.handlers.proposals import proposal_in
from bot.handlers.schedule import Job
from bot.ports.platform import PlatformTraits
from bot.ports.storage_health import StorageHealth
from bot.ports.store import Store
from bot.queries import views
from bot.state.call import Call
from bot.state.context import Context
from bot.state.directory import Directory
from bot.state.rounds import RoundBook, RoundState
from bot.text.grammar import command_name
from bot.text.help import help_text
from bot.text.messages import Reply
from bot.text.parsing import CommandError, parse_command

IntentT = TypeVar("IntentT")

# Commands that open rounds or change who is in them (see Core._run).
_TAKE_TURNS = (
    intents.Propose,
    intents.Amend,
    intents.Cosponsor,
    intents.Away,
    intents.Back,
    intents.CircleAdd,
    intents.CircleRemove,
)


Handler = Callable[[Call, Any], str]
# A read-only command answers in words, or with a message the adapters may draw.
ReadHandler = Callable[[Call, Any], str | Reply]


def _route(
    kind: type[IntentT], handler: Callable[[Call, IntentT], str | Reply]
) -> tuple[type, ReadHandler]:
    """One entry of a table: the handler of one intent type (typed as a pair)."""
    return kind, handler


def _write(kind: type[IntentT], handler: Callable[[Call, IntentT], str]) -> tuple[type, Handler]:
    return kind, handler


# Every command's handler, by the type of its intent; each takes (call, intent).
# Read-only commands record nothing and run outside a transaction.
READS: dict[type, ReadHandler] = dict(
    [
        _route(intents.Help, lambda c, i: help_text(i.topic, c.say, i.names)),
        _route(intents.Proposals, lambda c, _: views.open_proposals(c.ctx, c.spec, c.reader)),
        _route(
            intents.Status,
            lambda c, i: views.status(
                c.ctx, c.spec, proposal_in(c.ctx, c.spec, i.proposal_id, c.say), c.reader
            ),
        ),
        _route(
            intents.Decisions,
            lambda c, i: views.decisions(c.ctx, c.spec, i.count, c.reader, i.words),
        ),
        _route(intents.CircleShow, lambda c, _: views.circle(c.ctx, c.spec, c.now, c.reader)),
        _route(intents.Checkin, checkins.start_now),
        _route(intents.CircleReport, report.in_chat),
    ]
)
# Commands that change something: each runs in one transaction, by a member.
WRITES: dict[type, Handler] = dict(
    [
        _write(intents.Propose, proposals.propose),
        _write(intents.Amend, proposals.amend),
        _write(intents.Withdraw, proposals.withdraw),
        _write(intents.Cosponsor, proposals.cosponsor),
        _write(intents.SetStance, reactions.answer_command),
        _write(intents.Close, proposals.close_now),
        _write(intents.OutcomeStatement, proposals.write_statement),
        _write(intents.Away, membership.away),
        _write(intents.Back, membership.back),
        _write(intents.CircleAdd, membership.add),
        _write(intents.CircleRemove, membership.remove),
    ]
)


class Core:
    def __init__(
        self,
        repo: Store,
        circles: Sequence[CircleSpec],
        clock: Clock,
        platforms: Iterable[str | PlatformTraits] = (),
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.directory = Directory(circles, tuple(platforms))
        self.ctx = Context(
            store=repo,
            clock=clock,
            directory=self.directory,
            rounds=RoundBook(self.directory),
            started_at=clock.now(),
        )
        self.health = StorageHealth()

    @property
    def specs(self) -> dict[str, CircleSpec]:
        return self.directory.specs

    @property
    def fatal(self) -> DatabaseReplaced | None:
        """Set when the bot must stop: its database file is gone."""
        return self.health.fatal

    # -- start-up ------------------------------------------------------------------

    def start(self) -> list[str]:
        """Bring the database's circles in line with the configuration. Returns notes
        (membership changes read from the config) for the log."""
        notes: list[str] = []
        now = self.ctx.started_at = self.clock.now()
        with self.repo.transaction() as tx:
            tx.lock_circles()
            for spec in self.specs.values():
                circle_id = tx.circle_id(spec.name) or tx.create_circle(spec.name)
                self.directory.bind(spec, circle_id)
                notes += sync_members(tx, circle_id, spec, now)
                self.directory.reload(tx, spec)
        for spec in self.specs.values():
            try:
                validate_membership(spec, self.directory.members(spec.name))
            except MembershipError as exc:
                notes.append(f"warning: circle {spec.name}: {exc}")
        return notes

    # -- entry point ---------------------------------------------------------------

    def handle(self, event: InboundEvent) -> list[Reply]:
        """Apply one event. When the database cannot take the write, nothing changes and
        the person who sent a command is told so."""
        try:
            if not isinstance(event, ReactionEvent):  # a reaction reads them in its own
                self.refresh_members()
            replies = self._route(event)
        except StorageUnavailable as exc:
            self.storage_failed(exc, f"{event.platform}:{event.event_id}")
            self.directory.forget()  # a membership change may have been undone
            if isinstance(event, CommandEvent):
                say = of(self.reader_for(event))
                text = say._("Could not save: {reason}; nothing changed.", reason=exc.reason)
                return [Reply(text, ok=False)]
            return []
        self.health.worked()
        return replies

    def storage_failed(self, exc: StorageUnavailable, what: str) -> None:
        self.health.failed(exc, what)

    def _route(self, event: InboundEvent) -> list[Reply]:
        if isinstance(event, ReactionEvent):
            # In one transaction, which also drops one from another workspace than its
            # circle's and reads the members again when another replica changed them.
            return reactions.react(self.ctx, event)
        if self.directory.from_elsewhere(self.repo, event):
            return []  # from another workspace than its circle's: never applied
        if isinstance(event, ThreadReplyEvent):
            checkins.count_reply(self.ctx, event)
            return []
        return self.command(event)

    # -- commands --------------------------------------------------------------------

    def reader_for(self, event: CommandEvent) -> Reader:
        """How the person who typed a command reads the answer: as a member of the
        channel's circle (their own language and zone, else the circle's); in a channel
        of no circle, as a member of another circle, else in the one language every
        circle shares (English when they differ)."""
        spec = self.directory.circle_for(event.platform, event.channel, event.workspace)
        for circle in [spec] if spec is not None else list(self.specs.values()):
            member = self.directory.member_for(circle.name, event.platform, event.user)
            if member is not None:
                return speaker(circle, member)
        if spec is not None:
            return spec.reader
        languages = {circle.language for circle in self.specs.values()}
        return Reader(languages.pop()) if len(languages) == 1 else Reader()

    def command(self, event: CommandEvent) -> list[Reply]:
        spec = self.directory.circle_for(event.platform, event.channel, event.workspace)
        if spec is None:
            say = of(self.reader_for(event))
            text = say._("This channel is not part of any circle, so I can't act here.")
            return [Reply(text, False)]
        member = self.directory.member_for(spec.name, event.platform, event.user)
        reader = speaker(spec, member)
        try:  # a form or a button hands its intent over typed; what was typed is read
            parsed = event.intent or parse_command(
                event.text, of(reader), self.directory.people(event.platform)
            )
        except CommandError as exc:
            return [Reply(str(exc), ok=False)]
        try:
            answer = self._run(parsed, spec, member, reader, event)
            return [answer if isinstance(answer, Reply) else Reply(answer)]
        except Refusal as exc:
            return [Reply(str(exc), ok=False)]
        except Duplicate:
            self.ctx.duplicates[event.platform] += 1
            # Applied the first time it came; whether that answer went out, only the
            # runtime knows (bot.runtime.runner sends this one for what a dead process left).
            done = of(reader)._(
                'Done before: "{command}". Nothing more changed.', command=views.snippet(event.text)
            )
            return [Reply(done, repeat=True)]

    def _run(
        self,
        intent: intents.Command,
        spec: CircleSpec,
        member: Member | None,
        reader: Reader,
        event: CommandEvent,
    ) -> str | Reply:
        """Carry out one command; the answer is for `reader`, the person who typed it."""
        call = Call(self.ctx, spec, reader, self.clock.now(), event, member)
        reads = READS.get(type(intent))
        if reads is not None:  # read-only: records nothing
            return reads(call, intent)
        writes = WRITES.get(type(intent))
        if writes is None:
            raise Refusal(
                call.say._(
                    "I don't know how to do that yet. Try `{help}`.",
                    help=command_name("help", call.say.code),
                )
            )
        actor = require_member(spec, member, call.say)
        with self.repo.transaction() as tx:
            if tx.seen(event.platform, event.event_id):
                raise Duplicate(event.event_id)  # applied the first time it came
            if isinstance(intent, _TAKE_TURNS):
                # Rounds freeze the members and proxies, and membership changes reach open
                # rounds: on a shared database these take turns, before writing anything
                # (taking the turn later, after a write, could deadlock two replicas).
                tx.lock_circles()
            answer = writes(replace(call, member=actor, tx=tx), intent)
        return answer

    # -- the runtime's questions ---------------------------------------------------------

    def advance(self) -> list[int]:
        """Do what has fallen due; the ids of the proposals it closed or opened."""
        self.refresh_members()
        return deadlines.advance(self.ctx)

    def refresh_members(self) -> None:
        """On a database other replicas share, read the members again when another
        replica changed them (a `circle add` there, an `away` there) before acting."""
        if self.repo.shared or self.directory.stale:
            with self.repo.transaction() as tx:
                self.directory.refresh(tx)

    def reconcile(
        self,
        platform: str,
        message_ref: str,
        present: Sequence[tuple[str, str, datetime | None]],
    ) -> int:
        return reactions.reconcile(self.ctx, platform, message_ref, present)

    def open_cards(self, platform: str, due_only: bool) -> list[Card]:
        return deadlines.open_cards(self.ctx, platform, due_only)

    def jobs(self, proposal_ids: Iterable[int] | None = None) -> dict[int, Job | None]:
        return deadlines.jobs(self.ctx, proposal_ids)

    def checkin_jobs(self) -> list[Job]:
        """Wake-ups for what circles do on a schedule: check-ins and reports."""
        return checkins.jobs(self.ctx) + report.jobs(self.ctx)

    def checkins_changed(self) -> bool:
        """Whether a check-in was started since the last call (`checkin`), so that the
        runtime plans its nudge and close; reactions and replies never start one."""
        started, self.ctx.checkin_started = self.ctx.checkin_started, False
        return started

    def changed(self) -> set[int]:
        """Proposals opened, amended or closed since the last call: the runtime
        re-plans their jobs."""
        changed, self.ctx.changes = self.ctx.changes, set()
        return changed

    # -- what the simulation reads ------------------------------------------------------

    def state(self, proposal_id: int) -> RoundState:
        return self.ctx.rounds.load(self.repo, proposal_id)
