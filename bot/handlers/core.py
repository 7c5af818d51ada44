"""The core's front door: takes one inbound event, routes it to the handler of its
concern, and answers the runtime's questions (what is due, what to reconcile).

Synchronous and platform-neutral. Each inbound event is one transaction; what must be
posted is written to the outbox (or marks a card stale) in that same transaction, and
delivered afterwards by bot.runtime.dispatch. The handlers live by concern in
bot/handlers/ (proposals, reactions, membership, checkins, deadlines); the read-only
answers in bot.queries.views."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from bot.domain.circle import CircleSpec
from bot.domain.clock import Clock
from bot.domain.errors import DatabaseReplaced, Duplicate, StorageUnavailable
from bot.domain.events import CommandEvent, InboundEvent, ReactionEvent, ThreadReplyEvent
from bot.domain.i18n import Reader, of
from bot.domain.model import Card, Member, Stance, Status
from bot.domain.refusal import Refusal
from bot.handlers import checkins, deadlines, membership, reactions
from bot.handlers.effects import require_member, speaker
from bot.handlers.membership import MembershipError, sync_members, validate_membership
from bot.handlers.proposals import (
    amend,
    close_now,
    cosponsor,
    open_one,
    proposal_in,
    propose,
    withdraw,
    write_statement,
)
from bot.handlers.schedule import Job
from bot.ports.storage_health import StorageHealth
from bot.ports.store import Store
from bot.queries import views
from bot.state.context import Context
from bot.state.directory import Directory
from bot.state.rounds import RoundBook, RoundState
from bot.text import intents
from bot.text.grammar import command_name
from bot.text.help import help_text
from bot.text.messages import Reply
from bot.text.parsing import CommandError, parse_command, unread_hint

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


class Core:
    def __init__(
        self,
        repo: Store,
        circles: Sequence[CircleSpec],
        clock: Clock,
        platforms: Iterable[str] = (),
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
        # A command was handled since the runtime last asked (see checkins_changed).
        self._commanded = False

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
        self._commanded |= isinstance(event, CommandEvent)
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
            reactions.react(self.ctx, event)
            return []
        if self.directory.from_elsewhere(self.repo, event):
            return []  # from another workspace than its circle's: never applied
        if isinstance(event, ThreadReplyEvent):
            checkins.count_reply(self.ctx, event)
            return []
        return self.command(event)

    def set_stance(self, event: ReactionEvent, stance: Stance) -> None:
        """A button press: behaves exactly like a reaction."""
        reactions.press(self.ctx, event, stance)

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
        try:
            parsed = parse_command(event.text, of(reader))
        except CommandError as exc:
            return [Reply(str(exc), ok=False)]
        try:
            return [Reply(self._run(parsed, spec, member, reader, event))]
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
        parsed: intents.Command,
        spec: CircleSpec,
        member: Member | None,
        reader: Reader,
        event: CommandEvent,
    ) -> str:
        """Carry out one command; the answer is for `reader`, the person who typed it."""
        ctx, now, say = self.ctx, self.clock.now(), of(reader)
        match parsed:  # the read-only commands first: they record nothing
            case intents.Help(topic=topic, names=names):
                return help_text(topic, say, names)
            case intents.Proposals():
                return views.open_proposals(ctx, spec, reader)
            case intents.Status(proposal_id=pid):
                return views.status(ctx, spec, proposal_in(ctx, spec, pid, say), reader)
            case intents.Decisions(count=count, words=words):
                return views.decisions(ctx, spec, count, reader, words)
            case intents.CircleShow():
                return views.circle(ctx, spec, now, reader)
            case intents.Checkin():
                return checkins.start_now(ctx, spec, member, now)
        actor = require_member(spec, member, say)
        with self.repo.transaction() as tx:
            if tx.seen(event.platform, event.event_id):
                raise Duplicate(event.event_id)  # applied the first time it came
            if isinstance(parsed, _TAKE_TURNS):
                # Rounds freeze the members and proxies, and membership changes reach open
                # rounds: on a shared database these take turns, before writing anything
                # (taking the turn later, after a write, could deadlock two replicas).
                tx.lock_circles()
            match parsed:
                case intents.Propose(text=text, by=by, review=review, unread=unread):
                    done = propose(ctx, tx, spec, actor, text, by, review, now, event)
                    return done + unread_hint(unread, say)
                case intents.Amend(proposal_id=pid, text=text, by=by, unread=unread):
                    done = amend(ctx, tx, spec, actor, pid, text, by, now, event)
                    return done + unread_hint(unread, say)
                case intents.Withdraw(proposal_id=pid):
                    return withdraw(ctx, tx, spec, actor, pid, now, event)
                case intents.Cosponsor(proposal_id=pid):
                    proposal = open_one(ctx, tx, spec, pid, allow_draft=True, say=say)
                    if proposal.status != Status.DRAFT:
                        raise Refusal(
                            say._("Proposal #{number} is already open for answers.", number=pid)
                        )
                    cosponsor(ctx, tx, spec, proposal, actor, now, event.platform, event.event_id)
                    return say._(
                        "You co-sponsored proposal #{number}; it is now open for answers.",
                        number=pid,
                    )
                case intents.SetStance(proposal_id=pid, stance=stance):
                    return reactions.answer_command(ctx, tx, spec, actor, pid, stance, now, event)
                case intents.Close(proposal_id=pid):
                    return close_now(ctx, tx, spec, actor, pid, now, event)
                case intents.OutcomeStatement(proposal_id=pid, text=text):
                    return write_statement(ctx, tx, spec, actor, pid, text, now, event)
                case intents.Away(until=until, proxy=proxy):
                    return membership.away(ctx, tx, spec, actor, until, proxy, now, event)
                case intents.Back():
                    return membership.back(ctx, tx, spec, actor, now, event)
                case intents.CircleAdd(user=user, side=side, role=role):
                    return membership.add(ctx, tx, spec, actor, user, side, role, now, event)
                case intents.CircleRemove(user=user):
                    return membership.remove(ctx, tx, spec, actor, user, now, event)
        raise Refusal(
            say._(
                "I don't know how to do that yet. Try `{help}`.",
                help=command_name("help", say.code),
            )
        )

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
        return checkins.jobs(self.ctx)

    def checkins_changed(self) -> bool:
        """Whether an event handled since the last call may have started or changed a
        check-in (a command may: `checkin`), so that the runtime plans their wake-ups
        again; reactions and replies in a check-in's thread never do."""
        commanded, self._commanded = self._commanded, False
        return commanded

    def changed(self) -> set[int]:
        """Proposals opened, amended or closed since the last call: the runtime
        re-plans their jobs."""
        changed, self.ctx.changes = self.ctx.changes, set()
        return changed

    # -- lookups (for the runtime's adapters and for tests) ------------------------------

    def members(self, circle: str) -> list[Member]:
        return self.directory.members(circle)

    def member_for(
        self, circle: str, platform: str, user: str, former: bool = False
    ) -> Member | None:
        return self.directory.member_for(circle, platform, user, former)

    def is_admin(self, spec: CircleSpec, member: Member) -> bool:
        return self.directory.is_admin(spec, member)

    def state(self, proposal_id: int) -> RoundState:
        return self.ctx.rounds.load(self.repo, proposal_id)

    def rebuilt_state(self, proposal_id: int) -> RoundState:
        """The same state, recomputed from the append-only history alone."""
        with self.repo.transaction() as tx:
            proposal = tx.proposal(proposal_id)
            if proposal is None:
                raise KeyError(proposal_id)
            return self.ctx.rounds.rebuilt_state(tx, proposal)
