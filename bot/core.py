"""The core: applies commands and reactions to the database and decides what to say.

Synchronous and platform-neutral. Each inbound event is one transaction; what must be
posted is written to the outbox (or marks a card stale) in that same transaction, and
delivered afterwards by bot.dispatch.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot import checkins, identity, membership
from bot import commands as cmd
from bot.circle import CircleSpec, Rules
from bot.clock import Clock
from bot.durations import DurationError, iso, parse_when
from bot.errors import DatabaseReplaced, Duplicate, StorageUnavailable
from bot.events import CommandEvent, InboundEvent, ReactionEvent, ThreadReplyEvent
from bot.membership import MembershipError, sync_members, validate_membership
from bot.messages import (
    Mention,
    Notice,
    Reply,
    listing,
)
from bot.model import Card, Member, Proposal, StoredMark
from bot.refusal import Refusal
from bot.render_text import local_time
from bot.schedule import Job, proposal_job, send_due_reminders
from bot.stances import HANDSHAKE, Stance, normalize_emoji
from bot.store import Store, UnitOfWork
from bot.tally import (
    STANCE_KEY_PREFIX,
    Mark,
    Status,
    Tally,
    decide,
    resolve_stances,
    stance_key,
    stances_from_latest,
    tally,
)

log = logging.getLogger(__name__)

ALL_PLATFORMS = ("slack", "matrix", "console")


@dataclass(frozen=True)
class Frozen:
    """What a round is counted with, fixed when it opened."""

    rules: Rules
    leaders: dict[str, list[str]]
    opened_at: datetime

    @property
    def leader_names(self) -> set[str]:
        return {name for names in self.leaders.values() for name in names}


@dataclass(frozen=True)
class RoundState:
    """Everything about the current round of a proposal, as counted now."""

    proposal: Proposal
    rules: Rules
    leaders: dict[str, list[str]]
    stances: dict[str, Stance]
    result: Tally


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
        self.platforms = tuple(platforms)
        self.specs = {spec.name: spec for spec in circles}
        self._circle_ids: dict[str, int] = {}
        self._members: dict[str, list[Member]] = {}
        self._former: dict[str, list[Member]] = {}  # removed members, still identifiable
        self._rounds: dict[tuple[int, int], Frozen] = {}
        self._changed: set[int] = set()  # proposals whose timing changed: see changed()
        self.started_at = clock.now()  # what fell due before it was down time: "late"
        self._refused = 0  # events refused since the database last took a write
        # Set when the bot must stop: its database file is gone.
        self.fatal: DatabaseReplaced | None = None

    # -- start-up ------------------------------------------------------------------

    def start(self) -> list[str]:
        """Bring the database's circles in line with the configuration. Returns notes
        (membership changes read from the config) for the log."""
        notes: list[str] = []
        now = self.started_at = self.clock.now()
        with self.repo.transaction() as tx:
            for spec in self.specs.values():
                circle_id = tx.circle_id(spec.name) or tx.create_circle(spec.name)
                self._circle_ids[spec.name] = circle_id
                notes += sync_members(tx, circle_id, spec, now)
                self.reload_members(tx, spec)
        for spec in self.specs.values():
            try:
                validate_membership(spec, self._members[spec.name])
            except MembershipError as exc:
                notes.append(f"warning: circle {spec.name}: {exc}")
        return notes

    # -- entry point ---------------------------------------------------------------

    def handle(self, event: InboundEvent) -> list[Reply]:
        """Apply one event. When the database cannot take the write, nothing changes and
        the person who sent a command is told so."""
        try:
            replies = self._apply(event)
        except StorageUnavailable as exc:
            self.storage_failed(exc, f"{event.platform}:{event.event_id}")
            if isinstance(event, CommandEvent):
                return [Reply(f"Could not save: {exc.reason}; nothing changed.", ok=False)]
            return []
        self.storage_worked()
        return replies

    def storage_failed(self, exc: StorageUnavailable, what: str) -> None:
        """One log line when writes start failing, not a traceback per event; a deleted
        or replaced database file is fatal (see `fatal`)."""
        self._refused += 1
        if isinstance(exc, DatabaseReplaced):
            if self.fatal is None:
                log.critical("database: %s; stopping (nothing more can be saved)", exc)
            self.fatal = exc
        elif self._refused == 1:
            log.error(
                "database: cannot write (%s); %s and whatever follows is refused, "
                "changing nothing, until it can",
                exc.reason,
                what,
            )

    def storage_worked(self) -> None:
        if self._refused:
            log.warning("database: writable again; %d event(s) were refused", self._refused)
            self._refused = 0

    def _apply(self, event: InboundEvent) -> list[Reply]:
        if isinstance(event, ReactionEvent):
            self.react(event)
            return []
        if isinstance(event, ThreadReplyEvent):
            self.thread_reply(event)
            return []
        return self.command(event)

    def thread_reply(self, event: ThreadReplyEvent) -> None:
        """A reply in a check-in's thread counts its author as checked in."""
        at = min(event.at, self.clock.now()) if event.at else self.clock.now()
        with self.repo.transaction() as tx:
            key = tx.outbox_key(event.platform, event.thread_ref)
            if key is None or not key.startswith("checkin:"):
                return  # some other thread
            checkin = tx.checkin(int(key.split(":")[1]))
            if checkin is None or checkin.closed_at is not None:
                return
            spec = next(
                s for s in self.specs.values() if self._circle_ids[s.name] == checkin.circle_id
            )
            member = self.member_for(spec.name, event.platform, event.user)
            if member is not None:
                tx.add_checkin_reply(checkin.id, member.name, at)

    # -- lookups -------------------------------------------------------------------

    def circle_for(self, platform: str, channel: str) -> CircleSpec | None:
        for spec in self.specs.values():
            if platform == "slack" and spec.slack_channel == channel:
                return spec
            if platform == "matrix" and spec.matrix_room == channel:
                return spec
            if platform not in ("slack", "matrix") and spec.name == channel:
                return spec
        return None

    def circle_id(self, circle: str) -> int:
        return self._circle_ids[circle]

    def members(self, circle: str) -> list[Member]:
        return self._members[circle]

    def member_for(
        self, circle: str, platform: str, user: str, former: bool = False
    ) -> Member | None:
        """The member behind a platform user; with `former`, among removed members.
        On the console a person is their name, in any case or Unicode form."""
        key = identity.name_key(user)
        for member in (self._former if former else self._members)[circle]:
            if platform == "slack" and member.slack == user:
                return member
            if platform == "matrix" and member.matrix == user:
                return member
            if platform not in ("slack", "matrix") and identity.name_key(member.name) == key:
                return member
        return None

    def former_members(self, circle: str) -> list[Member]:
        return self._former[circle]

    def channels(self, spec: CircleSpec) -> list[tuple[str, str]]:
        """(platform, channel) pairs where the circle's cards are posted."""
        found = []
        for platform in self.platforms:
            if platform == "slack" and spec.slack_channel:
                found.append(("slack", spec.slack_channel))
            elif platform == "matrix" and spec.matrix_room:
                found.append(("matrix", spec.matrix_room))
            elif platform not in ("slack", "matrix"):
                found.append((platform, spec.name))
        return found

    def mention(self, circle: str, name: str) -> Mention:
        member = next((m for m in self._members[circle] if m.name == name), None)
        if member is None:
            return Mention(name)
        return Mention(name, member.slack, member.matrix)

    def spec_of(self, proposal: Proposal) -> CircleSpec:
        return self._spec_by_id(proposal.circle_id)

    def _spec_by_id(self, circle_id: int) -> CircleSpec:
        for name, known in self._circle_ids.items():
            if known == circle_id:
                return self.specs[name]
        raise KeyError(circle_id)

    # -- rounds and tallies ----------------------------------------------------------

    def frozen(self, tx: UnitOfWork, proposal_id: int, number: int) -> Frozen:
        key = (proposal_id, number)
        if key not in self._rounds:  # rounds never change once opened: cache them
            stored = tx.round(proposal_id, number)
            assert stored is not None, key
            self._rounds[key] = Frozen(
                Rules.from_json(stored.rules), stored.leaders, stored.opened_at
            )
        return self._rounds[key]

    def round_state(self, tx: UnitOfWork, proposal: Proposal) -> RoundState:
        spec = self.spec_of(proposal)
        if proposal.round == 0:  # a draft: nothing frozen yet, nobody can answer
            leaders = frozen_leaders(spec, self._members[spec.name])
            rules = spec.rules
            stances: dict[str, Stance] = {}
        else:
            frozen = self.frozen(tx, proposal.id, proposal.round)
            rules, leaders = frozen.rules, frozen.leaders
            marks = tx.marks(proposal.id, proposal.round)
            stances = stances_from_latest((_mark(m) for m in marks), rules.emoji)
        return RoundState(proposal, rules, leaders, stances, tally(rules, leaders, stances))

    def state(self, proposal_id: int) -> RoundState:
        with self.repo.transaction() as tx:
            proposal = tx.proposal(proposal_id)
            if proposal is None:
                raise KeyError(proposal_id)
            return self.round_state(tx, proposal)

    def rebuilt_state(self, proposal_id: int) -> RoundState:
        """The same state, recomputed from the append-only history alone."""
        with self.repo.transaction() as tx:
            proposal = tx.proposal(proposal_id)
            if proposal is None:
                raise KeyError(proposal_id)
            if proposal.round == 0:
                return self.round_state(tx, proposal)
            opened = tx.round_record(proposal.id, proposal.round)
            assert opened is not None, (proposal.id, proposal.round)
            rules, leaders = Rules.from_json(opened["rules"]), opened["leaders"]
            history = tx.counted_reactions(proposal.id, proposal.round)
            stances = resolve_stances((_mark(m) for m in history), rules.emoji)
            return RoundState(proposal, rules, leaders, stances, tally(rules, leaders, stances))

    # -- reactions -----------------------------------------------------------------

    def react(self, event: ReactionEvent) -> None:
        now = self.clock.now()
        # A platform's timestamp orders events, but never runs ahead of our clock: one
        # reaction stamped in the future must not close a proposal early.
        at = min(event.at, now) if event.at else now
        with self.repo.transaction() as tx:
            emoji, added, earlier_round = normalize_emoji(event.emoji), event.added, False
            original = None
            if event.removes is not None:
                # A redaction names the reaction it removes, not its emoji or author.
                original = tx.reaction(event.platform, event.removes)
                if original is None or not original.added:
                    return  # not a reaction we recorded: nothing to undo
                proposal = tx.proposal(original.proposal_id)
                emoji, added = original.emoji, False
            else:
                proposal = self._target(tx, event)
            if proposal is None:
                return  # a reaction on some other message: not ours to count
            if not Status(proposal.status).is_closed and at >= proposal.deadline:
                # Its deadline passed before this reaction was made: the outcome stands
                # as it was at the deadline, and the reaction comes late.
                proposal = self._close_at_deadline(tx, proposal)
            spec = self.spec_of(proposal)
            if original is not None:
                member = self._member_named(spec, original.member)
                earlier_round = original.round != proposal.round
            else:
                member = self._reactor(tx, spec, proposal, event.platform, event.user)
            with contextlib.suppress(Duplicate):  # a redelivery: applied the first time
                self._apply_mark(
                    tx,
                    spec,
                    proposal,
                    member,
                    emoji=emoji,
                    added=added,
                    at=at,
                    platform=event.platform,
                    event_id=event.event_id,
                    actor=event.user,
                    earlier_round=earlier_round,
                )

    def reconcile(
        self,
        platform: str,
        message_ref: str,
        present: Sequence[tuple[str, str, datetime | None]],
    ) -> int:
        """Make the recorded reactions on a card match what the platform shows now, since
        platforms drop events during outages. `present` holds (user, emoji, when made if
        known); a reaction made before the current round opened is left out. Returns how
        many differences it applied."""
        now = self.clock.now()
        with self.repo.transaction() as tx:
            card = tx.card_by_ref(platform, message_ref)
            proposal = tx.proposal(card.proposal_id) if card else None
            if proposal is None or proposal.status != Status.OPEN:
                return 0
            spec = self.spec_of(proposal)
            frozen = self.frozen(tx, proposal.id, proposal.round)
            shown: dict[tuple[str, str], Member] = {}
            for user, emoji, made_at in present:
                member = self._reactor(tx, spec, proposal, platform, user)
                if member is not None and (made_at is None or made_at >= frozen.opened_at):
                    shown[(member.name, normalize_emoji(emoji))] = member
            recorded = {
                (m.member, m.emoji): m.added
                for m in map(_mark, tx.marks(proposal.id, proposal.round))
                if m.source == platform and not m.emoji.startswith(STANCE_KEY_PREFIX)
            }
            # Removals first, so a half-applied read-back never closes a proposal early.
            changes = [(key, False) for key, on in recorded.items() if on and key not in shown]
            changes += [(key, True) for key in shown if not recorded.get(key)]
            # Read back before closing, what it finds was there before the deadline.
            at = min(now, proposal.deadline - timedelta(milliseconds=1))
        for (name, emoji), added in changes:
            with self.repo.transaction() as tx:
                current = tx.proposal(proposal.id)
                if current is None or current.status != Status.OPEN:
                    break
                member = shown.get((name, emoji)) or self._member_named(spec, name)
                with contextlib.suppress(Duplicate):
                    self._apply_mark(
                        tx,
                        spec,
                        current,
                        member,
                        emoji=emoji,
                        added=added,
                        at=at,
                        platform=platform,
                        event_id=f"reconcile:{message_ref}:{name}:{emoji}:{now.isoformat()}",
                        actor=name,
                    )
        return len(changes)

    def _reactor(
        self, tx: UnitOfWork, spec: CircleSpec, proposal: Proposal, platform: str, user: str
    ) -> Member | None:
        """The member behind a reaction: current members, and those removed mid-round who
        are still among the leaders this round is counted with."""
        member = self.member_for(spec.name, platform, user)
        if member is None and proposal.round:
            former = self.member_for(spec.name, platform, user, former=True)
            frozen = self.frozen(tx, proposal.id, proposal.round)
            if former is not None and former.name in frozen.leader_names:
                return former
        return member

    def _member_named(self, spec: CircleSpec, name: str | None) -> Member | None:
        everyone = [*self._members[spec.name], *self._former[spec.name]]
        return next((m for m in everyone if m.name == name), None) if name else None

    def _target(self, tx: UnitOfWork, event: ReactionEvent) -> Proposal | None:
        if event.proposal_id is not None:
            return tx.proposal(event.proposal_id)
        if event.message_ref is None:
            return None
        card = tx.card_by_ref(event.platform, event.message_ref, event.channel)
        return tx.proposal(card.proposal_id) if card else None

    def _apply_mark(
        self,
        tx: UnitOfWork,
        spec: CircleSpec,
        proposal: Proposal,
        member: Member | None,
        *,
        emoji: str,
        added: bool,
        at: datetime,
        platform: str,
        event_id: str,
        actor: str,
        earlier_round: bool = False,
    ) -> None:
        """Record one reaction (or stance command) and apply it if it counts."""
        status = Status(proposal.status)
        note = None
        if member is None:
            note = "not a member"
        elif status.is_closed:
            note = "late"
        elif status is Status.DRAFT:
            note = "draft"
        record = dict(
            circle_id=self._circle_ids[spec.name],
            kind="reaction",
            actor=member.name if member else actor,
            at=at,
            platform=platform,
            event_id=event_id,
            proposal_id=proposal.id,
            round=proposal.round,
            member=member.name if member else None,
            emoji=emoji,
            added=added,
        )
        if note is not None:
            tx.record(**record, counted=False, note=note)  # type: ignore[arg-type]
            if member is not None and status is Status.DRAFT and emoji == HANDSHAKE and added:
                # A 🤝 from the author's own side is recorded and changes nothing.
                with contextlib.suppress(Refusal):
                    self._cosponsor(tx, spec, proposal, member, at, platform, event_id + ":open")
            return
        assert member is not None
        frozen = self.frozen(tx, proposal.id, proposal.round)
        if earlier_round or at < frozen.opened_at:
            # Made before this round opened (delivered late): it answered older text.
            tx.record(**record, counted=False, note="earlier round")  # type: ignore[arg-type]
            return
        tx.record(**record)  # type: ignore[arg-type]
        rules, leaders = frozen.rules, frozen.leaders
        marks = {m.key: m for m in map(_mark, tx.marks(proposal.id, proposal.round))}
        new = Mark(member.name, emoji, added, at, f"{platform}:{event_id}")
        current = marks.get(new.key)
        if current is not None and current.position >= new.position:
            return  # an older event arriving late: the newer one stands
        before = stances_from_latest(marks.values(), rules.emoji).get(member.name)
        tx.put_mark(proposal.id, proposal.round, _stored(new), replace=current is not None)
        marks[new.key] = new
        stances = stances_from_latest(marks.values(), rules.emoji)
        if stances.get(member.name) == before:
            return  # e.g. a second consent emoji: nothing people see has changed
        tx.touch_cards(proposal.id)
        is_leader = any(member.name in names for names in leaders.values())
        if is_leader and stances.get(member.name) is Stance.OBJECT:
            self._ask_for_reason(tx, spec, proposal, member.name, at)
        outcome = decide(tally(rules, leaders, stances), rules, at_deadline=False)
        if outcome is not None:
            self._close(tx, spec, proposal, outcome, at)

    def _ask_for_reason(
        self,
        tx: UnitOfWork,
        spec: CircleSpec,
        proposal: Proposal,
        objector: str,
        at: datetime,
    ) -> None:
        notice = Notice(
            (
                self.mention(spec.name, objector),
                f" objects to proposal #{proposal.id}. What is your reason? ",
                self.mention(spec.name, proposal.author),
                ", as the author you may answer here or amend the proposal.",
            )
        )
        # Once per leader per round: toggling ✋, or object → consent → object, must not
        # ping the author again and again.
        key = f"objection:{proposal.id}:{proposal.round}:{objector}"
        self._to_thread(tx, spec, proposal.id, key, notice.to_json(), at)

    def _to_thread(
        self,
        tx: UnitOfWork,
        spec: CircleSpec,
        proposal_id: int,
        key: str,
        payload: dict[str, object],
        at: datetime,
    ) -> None:
        for platform, channel in self.channels(spec):
            tx.enqueue(
                key=f"{key}:{platform}",
                platform=platform,
                channel=channel,
                kind="thread",
                payload=payload,
                created_at=at,
                proposal_id=proposal_id,
            )

    # -- closing ---------------------------------------------------------------------

    def _close(
        self, tx: UnitOfWork, spec: CircleSpec, proposal: Proposal, status: Status, at: datetime
    ) -> None:
        # Recorded first: its unique source makes a second close fail before it writes.
        tx.record(
            circle_id=self._circle_ids[spec.name],
            kind="outcome",
            actor="circlebot",
            at=at,
            platform="core",
            event_id=f"outcome:{proposal.id}",
            proposal_id=proposal.id,
            round=proposal.round,
            detail={"status": status.value},
        )
        review_at = None
        if status is Status.PASSED and proposal.review:
            try:
                review_at = parse_when(proposal.review, at, ZoneInfo(spec.timezone))
            except DurationError:
                log.warning("proposal %s: unreadable review %r", proposal.id, proposal.review)
        tx.update_proposal(proposal.id, status=status.value, decided_at=at, review_at=review_at)
        self._changed.add(proposal.id)
        tx.touch_cards(proposal.id)
        self._to_thread(tx, spec, proposal.id, f"outcome:{proposal.id}", {"outcome": True}, at)

    def advance(self) -> list[int]:
        """Do what has fallen due: close proposals at their deadline, queue reminders,
        open reviews. Returns the ids of the proposals it closed or opened."""
        now = self.clock.now()
        touched: list[int] = []
        with self.repo.transaction() as tx:
            due = tx.due_proposals(now, [Status.OPEN.value, Status.DRAFT.value])
        for proposal in due:
            if proposal.circle_id not in self._circle_ids.values():
                continue  # a circle no longer configured
            with self.repo.transaction() as tx:
                current = tx.proposal(proposal.id)
                if current is None or Status(current.status).is_closed:
                    continue
                self._close_at_deadline(tx, current)
                touched.append(current.id)
        with self.repo.transaction() as tx:
            send_due_reminders(self, tx, now)
        for spec in self.specs.values():
            checkins.run_due(self, spec, now)
        with self.repo.transaction() as tx:
            reviews = tx.due_reviews(now)
        for decision in reviews:
            if decision.circle_id not in self._circle_ids.values():
                continue
            touched.append(self._open_review(decision, now))
        return touched

    def _close_at_deadline(self, tx: UnitOfWork, proposal: Proposal) -> Proposal:
        state = self.round_state(tx, proposal)
        status = (
            Status.NO_QUORUM
            if proposal.round == 0  # never co-sponsored: voting never opened
            else decide(state.result, state.rules, at_deadline=True)
        )
        assert status is not None
        self._close(tx, self.spec_of(proposal), proposal, status, proposal.deadline)
        closed = tx.proposal(proposal.id)
        assert closed is not None
        return closed

    def open_cards(self, platform: str, due_only: bool) -> list[Card]:
        """Posted cards of open proposals on a platform (only those past their deadline,
        with `due_only`), for reconciling."""
        now = self.clock.now()
        with self.repo.transaction() as tx:
            if due_only:
                found = tx.due_proposals(now, [Status.OPEN.value])
            else:
                found = tx.proposals(statuses=[Status.OPEN.value])
            cards = [card for p in found for card in tx.cards(p.id)]
        return [c for c in cards if c.platform == platform and c.message_ref is not None]

    def cursor(self, name: str) -> str | None:
        """Where an adapter resumes from (e.g. a Matrix sync token)."""
        with self.repo.transaction() as tx:
            return tx.cursor(name)

    def set_cursor(self, name: str, value: str) -> None:
        with self.repo.transaction() as tx:
            tx.set_cursor(name, value)

    def changed(self) -> set[int]:
        """Proposals opened, amended or closed since the last call: the runtime
        re-plans their jobs."""
        changed, self._changed = self._changed, set()
        return changed

    def mark_changed(self, proposal_id: int) -> None:
        self._changed.add(proposal_id)

    def jobs(self, proposal_ids: Iterable[int] | None = None) -> dict[int, Job | None]:
        """The wake-up job of each given proposal (of all live ones when None); None for
        a proposal with nothing ahead."""
        now = self.clock.now()
        with self.repo.transaction() as tx:
            if proposal_ids is None:
                found = tx.live_proposals()
                self._preload_rounds(tx)
            else:
                found = [p for p in map(tx.proposal, proposal_ids) if p is not None]
            known = set(self._circle_ids.values())
            return {
                p.id: proposal_job(self, tx, p, now) if p.circle_id in known else None
                for p in found
            }

    def _preload_rounds(self, tx: UnitOfWork) -> None:
        """Load every current round of the live proposals in one query (start-up)."""
        parsed: dict[str, Rules] = {}  # most rounds share their circle's rules
        for stored in tx.current_rounds():
            key = json.dumps(stored.rules, sort_keys=True)
            rules = parsed.get(key) or parsed.setdefault(key, Rules.from_json(stored.rules))
            self._rounds[(stored.proposal_id, stored.number)] = Frozen(
                rules, stored.leaders, stored.opened_at
            )

    def _open_review(self, decision: Proposal, now: datetime) -> int:
        spec = self.spec_of(decision)
        text = f"Review of decision #{decision.id}: keep, change or retire it? — {decision.text}"
        with self.repo.transaction() as tx:
            tx.update_proposal(decision.id, reviewed=True)
            known = any(m.name == decision.author for m in self._members[spec.name])
            author = decision.author if known else "circlebot"
            return self._open_proposal(
                tx,
                spec,
                author=author,
                text=text,
                deadline=spec.rules.default_deadline.after(now),
                review=None,
                now=now,
                platform="core",
                event_id=f"review:{decision.id}",
                review_of=decision.id,
            )

    # -- commands --------------------------------------------------------------------

    def command(self, event: CommandEvent) -> list[Reply]:
        spec = self.circle_for(event.platform, event.channel)
        if spec is None:
            return [Reply("This channel is not part of any circle, so I can't act here.", False)]
        try:
            parsed = cmd.parse_command(event.text)
        except cmd.CommandError as exc:
            return [Reply(str(exc), ok=False)]
        member = self.member_for(spec.name, event.platform, event.user)
        try:
            return [Reply(self._run(parsed, spec, member, event))]
        except Refusal as exc:
            return [Reply(str(exc), ok=False)]
        except Duplicate:
            return []  # a redelivered command: it was applied the first time

    def _run(
        self, parsed: cmd.Command, spec: CircleSpec, member: Member | None, event: CommandEvent
    ) -> str:
        from bot import views  # the read-only commands

        now = self.clock.now()
        match parsed:
            case cmd.Help(topic=topic):
                return cmd.help_text(topic)
            case cmd.Proposals():
                return views.open_proposals(self, spec)
            case cmd.Status(proposal_id=pid):
                return views.status(self, spec, self._proposal_in(spec, pid))
            case cmd.Decisions(count=count):
                return views.decisions(self, spec, count)
            case cmd.CircleShow():
                return views.circle(self, spec, now)
            case cmd.Checkin():
                return self._checkin_now(spec, member, now)
        actor = self._require_member(spec, member)
        with self.repo.transaction() as tx:
            if tx.seen(event.platform, event.event_id):
                raise Duplicate(event.event_id)  # applied the first time it came
            match parsed:
                case cmd.Propose(text=text, by=by, review=review, unread=unread):
                    done = self._propose(tx, spec, actor, text, by, review, now, event)
                    return done + cmd.unread_hint(unread)
                case cmd.Amend(proposal_id=pid, text=text, by=by, unread=unread):
                    done = self._amend(tx, spec, actor, pid, text, by, now, event)
                    return done + cmd.unread_hint(unread)
                case cmd.Withdraw(proposal_id=pid):
                    return self._withdraw(tx, spec, actor, pid, now, event)
                case cmd.Cosponsor(proposal_id=pid):
                    proposal = self._open_one(tx, spec, pid, allow_draft=True)
                    if proposal.status != Status.DRAFT:
                        raise Refusal(f"Proposal #{pid} is already open for answers.")
                    self._cosponsor(tx, spec, proposal, actor, now, event.platform, event.event_id)
                    return f"You co-sponsored proposal #{pid}; it is now open for answers."
                case cmd.SetStance(proposal_id=pid, stance=stance):
                    return self._set_stance(tx, spec, actor, pid, stance, now, event)
                case cmd.Away(until=until):
                    return membership.away(self, tx, spec, actor, until, now, event)
                case cmd.Back():
                    return membership.back(self, tx, spec, actor, now, event)
                case cmd.CircleAdd(user=user, side=side, role=role):
                    return membership.add(self, tx, spec, actor, user, side, role, now, event)
                case cmd.CircleRemove(user=user):
                    return membership.remove(self, tx, spec, actor, user, now, event)
        raise Refusal("I don't know how to do that yet. Try `help`.")

    def _checkin_now(self, spec: CircleSpec, member: Member | None, now: datetime) -> str:
        actor = self._require_member(spec, member)
        if spec.checkins is None:
            raise Refusal(f"The circle {spec.name} has no check-ins configured.")
        with self.repo.transaction() as tx:
            circle_id = self._circle_ids[spec.name]
            upcoming = checkins.upcoming_facilitator(self, tx, spec, now)
            if not self.is_admin(spec, actor) and (upcoming is None or upcoming != actor):
                who = upcoming.name if upcoming else "nobody"
                raise Refusal(
                    f"Only admins or the next facilitator ({who}) can start a check-in now."
                )
            if tx.open_checkins(circle_id):
                raise Refusal("A check-in is already open; reply in its thread.")
            checkin = checkins.start(self, tx, spec, now, now)
        return f"Check-in started; it is open until {local_time(checkin.closes_at, spec.timezone)}."

    def checkin_jobs(self) -> list[Job]:
        return checkins.jobs(self)

    def _require_member(self, spec: CircleSpec, member: Member | None) -> Member:
        if member is None:
            raise Refusal(
                f"You are not a member of the circle {spec.name}; ask one of its admins "
                f"({', '.join(spec.admins) or 'none configured'}) to add you."
            )
        return member

    def _proposal_in(self, spec: CircleSpec, proposal_id: int) -> Proposal:
        with self.repo.transaction() as tx:
            proposal = tx.proposal(proposal_id)
        if proposal is None or proposal.circle_id != self._circle_ids[spec.name]:
            raise Refusal(f"There is no proposal #{proposal_id} in this circle.")
        return proposal

    def _open_one(
        self, tx: UnitOfWork, spec: CircleSpec, proposal_id: int, allow_draft: bool
    ) -> Proposal:
        proposal = tx.proposal(proposal_id)
        if proposal is None or proposal.circle_id != self._circle_ids[spec.name]:
            raise Refusal(f"There is no proposal #{proposal_id} in this circle.")
        status = Status(proposal.status)
        if status.is_closed:
            raise Refusal(f"Proposal #{proposal_id} is already closed ({status.value}).")
        if self.clock.now() >= proposal.deadline:
            # advance() is about to close it with the outcome it had at its deadline.
            raise Refusal(f"Proposal #{proposal_id} reached its deadline; it is closing.")
        if status is Status.DRAFT and not allow_draft:
            raise Refusal(f"Proposal #{proposal_id} is a draft waiting for a co-sponsor.")
        return proposal

    def when(self, spec: CircleSpec, text: str, now: datetime, what: str) -> datetime:
        try:
            moment = parse_when(text, now, ZoneInfo(spec.timezone))
        except DurationError as exc:
            raise Refusal(str(exc)) from exc
        if moment <= now:
            raise Refusal(f"The {what} must be in the future ({text!r} is not).")
        return moment

    def is_admin(self, spec: CircleSpec, member: Member) -> bool:
        return identity.holds_admin(spec, member)

    def _propose(
        self,
        tx: UnitOfWork,
        spec: CircleSpec,
        actor: Member,
        text: str,
        by: str | None,
        review: str | None,
        now: datetime,
        event: CommandEvent,
    ) -> str:
        if not actor.is_leader:
            raise Refusal("Only leaders can open proposals; you are a member with a voice.")
        deadline = (
            self.when(spec, by, now, "deadline") if by else spec.rules.default_deadline.after(now)
        )
        if review:
            self.when(spec, review, now, "review date")
        pid = self._open_proposal(
            tx,
            spec,
            author=actor.name,
            text=text,
            deadline=deadline,
            review=review,
            now=now,
            platform=event.platform,
            event_id=event.event_id,
        )
        if spec.rules.require_cosponsor:
            return (
                f"Proposal #{pid} is a draft until a leader of another side co-sponsors it "
                f"(🤝 or `cosponsor {pid}`)."
            )
        return f"Proposal #{pid} is open until {local_time(deadline, spec.timezone)}."

    def _open_proposal(
        self,
        tx: UnitOfWork,
        spec: CircleSpec,
        *,
        author: str,
        text: str,
        deadline: datetime,
        review: str | None,
        now: datetime,
        platform: str,
        event_id: str,
        review_of: int | None = None,
    ) -> int:
        circle_id = self._circle_ids[spec.name]
        draft = spec.rules.require_cosponsor
        pid = tx.create_proposal(
            circle_id=circle_id,
            author=author,
            text=text,
            status=(Status.DRAFT if draft else Status.OPEN).value,
            created_at=now,
            deadline=deadline,
            review=review,
            review_of=review_of,
        )
        tx.record(
            circle_id=circle_id,
            kind="propose",
            actor=author,
            at=now,
            platform=platform,
            event_id=event_id,
            proposal_id=pid,
            detail={"text": text, "deadline": iso(deadline), "review": review},
        )
        self._changed.add(pid)
        if not draft:
            self._open_round(tx, spec, pid, 1, text, now)
        for card_platform, channel in self.channels(spec):
            tx.add_card(pid, card_platform, channel)
        return pid

    def _open_round(
        self, tx: UnitOfWork, spec: CircleSpec, pid: int, number: int, text: str, now: datetime
    ) -> None:
        leaders = frozen_leaders(spec, self._members[spec.name])
        rules = spec.rules.to_json()
        tx.open_round(pid, number, text, now, rules, leaders)
        # The history alone must reproduce every tally: it keeps what the round froze.
        tx.record(
            circle_id=self._circle_ids[spec.name],
            kind="round",
            actor="circlebot",
            at=now,
            platform="core",
            event_id=f"round:{pid}:{number}",
            proposal_id=pid,
            round=number,
            detail={"rules": rules, "leaders": leaders, "text": text},
        )

    def _amend(
        self,
        tx: UnitOfWork,
        spec: CircleSpec,
        actor: Member,
        pid: int,
        text: str,
        by: str | None,
        now: datetime,
        event: CommandEvent,
    ) -> str:
        proposal = self._open_one(tx, spec, pid, allow_draft=True)
        if actor.name != proposal.author and not self.is_admin(spec, actor):
            raise Refusal(f"Only the author ({proposal.author}) or an admin can amend #{pid}.")
        deadline = self.when(spec, by, now, "deadline") if by else proposal.deadline
        new_round = proposal.round + 1 if proposal.status == Status.OPEN else 0
        tx.record(
            circle_id=self._circle_ids[spec.name],
            kind="amend",
            actor=actor.name,
            at=now,
            platform=event.platform,
            event_id=event.event_id,
            proposal_id=pid,
            round=new_round,
            detail={"text": text, "deadline": iso(deadline), "previous": proposal.text},
        )
        tx.update_proposal(pid, text=text, deadline=deadline)
        self._changed.add(pid)
        if new_round:
            self._open_round(tx, spec, pid, new_round, text, now)
            frozen = self.frozen(tx, pid, new_round)
            notice = Notice(
                (
                    f"✏️ Proposal #{pid} was amended: round {new_round}. Answers were cleared; "
                    "please answer again: ",
                    *listing(
                        [
                            self.mention(spec.name, n)
                            for names in frozen.leaders.values()
                            for n in names
                        ]
                    ),
                )
            )
            self._to_thread(tx, spec, pid, f"amend:{pid}:{new_round}", notice.to_json(), now)
        tx.touch_cards(pid)
        if new_round:
            return f"Proposal #{pid} amended; round {new_round} is open."
        return f"Draft #{pid} amended."

    def _withdraw(
        self,
        tx: UnitOfWork,
        spec: CircleSpec,
        actor: Member,
        pid: int,
        now: datetime,
        event: CommandEvent,
    ) -> str:
        proposal = self._open_one(tx, spec, pid, allow_draft=True)
        if actor.name != proposal.author and not self.is_admin(spec, actor):
            raise Refusal(f"Only the author ({proposal.author}) or an admin can withdraw #{pid}.")
        tx.record(
            circle_id=self._circle_ids[spec.name],
            kind="withdraw",
            actor=actor.name,
            at=now,
            platform=event.platform,
            event_id=event.event_id,
            proposal_id=pid,
            round=proposal.round,
        )
        self._close(tx, spec, proposal, Status.WITHDRAWN, now)
        return f"Proposal #{pid} withdrawn."

    def _cosponsor(
        self,
        tx: UnitOfWork,
        spec: CircleSpec,
        proposal: Proposal,
        actor: Member,
        now: datetime,
        platform: str,
        event_id: str,
    ) -> None:
        author = next((m for m in self._members[spec.name] if m.name == proposal.author), None)
        if not actor.is_leader or (author is not None and author.side == actor.side):
            raise Refusal("A co-sponsor must be a leader of another side than the author's.")
        tx.record(
            circle_id=self._circle_ids[spec.name],
            kind="cosponsor",
            actor=actor.name,
            at=now,
            platform=platform,
            event_id=event_id,
            proposal_id=proposal.id,
            round=1,
        )
        tx.update_proposal(proposal.id, status=Status.OPEN.value, cosponsor=actor.name)
        self._changed.add(proposal.id)
        self._open_round(tx, spec, proposal.id, 1, proposal.text, now)
        tx.touch_cards(proposal.id)

    def _set_stance(
        self,
        tx: UnitOfWork,
        spec: CircleSpec,
        actor: Member,
        pid: int,
        stance: Stance,
        now: datetime,
        event: CommandEvent,
    ) -> str:
        proposal = self._open_one(tx, spec, pid, allow_draft=False)
        self._apply_mark(
            tx,
            spec,
            proposal,
            actor,
            emoji=stance_key(stance),
            added=True,
            at=now,
            platform=event.platform,
            event_id=event.event_id,
            actor=actor.name,
        )
        voice = "" if actor.is_leader else " (as a voice: only leaders' answers are counted)"
        return f"Recorded your answer on #{pid}: {stance.label}{voice}."

    def set_stance(self, event: ReactionEvent, stance: Stance) -> None:
        """A button press: behaves exactly like a reaction."""
        self.react(
            ReactionEvent(
                platform=event.platform,
                event_id=event.event_id,
                channel=event.channel,
                user=event.user,
                emoji=stance_key(stance),
                added=True,
                message_ref=event.message_ref,
                proposal_id=event.proposal_id,
                at=event.at,
            )
        )

    # -- shared with the commands in bot/membership.py ---------------------------------

    def record_command(
        self,
        tx: UnitOfWork,
        spec: CircleSpec,
        kind: str,
        member: str,
        now: datetime,
        event: CommandEvent,
        detail: dict[str, object] | None = None,
        actor: str | None = None,
    ) -> None:
        tx.record(
            circle_id=self._circle_ids[spec.name],
            kind=kind,
            actor=actor or member,
            member=member,
            at=now,
            platform=event.platform,
            event_id=event.event_id,
            detail=detail,
        )

    def reload_members(self, tx: UnitOfWork, spec: CircleSpec) -> None:
        circle_id = self._circle_ids[spec.name]
        self._members[spec.name] = tx.members(circle_id)
        self._former[spec.name] = tx.members(circle_id, former=True)


def frozen_leaders(spec: CircleSpec, members: Sequence[Member]) -> dict[str, list[str]]:
    return {
        side: [m.name for m in members if m.side == side and m.is_leader] for side in spec.sides
    }


def _mark(stored: StoredMark) -> Mark:
    return Mark(stored.member, stored.emoji, stored.added, stored.at, stored.order)


def _stored(mark: Mark) -> StoredMark:
    return StoredMark(mark.member, mark.emoji, mark.added, mark.at, mark.order)
