"""Runs the bot: adapters in, core on its own thread, deliveries out, deadlines on time.

The core is synchronous; it runs on a single worker thread so database I/O never blocks
the event loop and writes never race each other."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]

from bot.config import ServerConfig
from bot.domain.errors import DatabaseReplaced, NotLeader, StorageUnavailable
from bot.domain.events import CommandEvent, InboundEvent, ReactionEvent, ThreadReplyEvent
from bot.handlers.engine import Engine
from bot.handlers.schedule import Job, JobKey, JobKind
from bot.ports.leadership import Lead, Leadership, SingleProcess, fenced
from bot.ports.platform import Adapter, NotAccepted, sender_for
from bot.runtime.dispatch import Dispatcher
from bot.runtime.logs import event_context
from bot.runtime.ops_server import OperatorPages, OpsServer, RuntimeFacts
from bot.runtime.services import RuntimeServices
from bot.runtime.stop_signal import StopSignal
from bot.text.messages import Reply

log = logging.getLogger(__name__)

T = TypeVar("T")
STOP_GRACE_SECONDS = 10.0
# A follower tries to take the lead this often, and a leader checks it still holds it:
# a dead leader is replaced within about this long.
LEAD_CHECK_SECONDS = 3.0
# A leader looks this often (locally, no round trip) whether its lock's connection was
# ended, to step down at once rather than at its next check.
LOST_LOCK_SECONDS = 0.2
# A leader looks this often (locally, no round trip) whether any replica changed what the
# schedule depends on (storage.schedule_watch): a change anywhere is planned within moments.
WATCH_SECONDS = 0.5
# And reads the whole schedule from the database again this often, whatever it heard: the
# safety net for a change it could not hear (its listening connection was down) and for a
# wall clock that jumped (the scheduler's timers wait on the monotonic clock).
SWEEP_SECONDS = 10.0
# An event stored this long ago and not applied yet was left by a replica that died:
# another one applies it (applying twice changes nothing: each event counts once).
ORPHAN_SECONDS = 10.0
EVENT_KINDS: dict[type, str] = {
    CommandEvent: "command",
    ReactionEvent: "reaction",
    ThreadReplyEvent: "thread_reply",
}
# A start-up step the database did not answer is tried again after this long, doubled
# each time up to the longest wait.
FIRST_RETRY_SECONDS = 0.5
LONGEST_RETRY_SECONDS = 5.0
# Starts that try to apply a stored event before it is given up on (one that keeps
# failing, or kills the process, must not stop the bot for good).
MAX_REPLAYS = 3


class _Sink:
    """The runtime as the adapters' EventSink."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def __call__(self, event: InboundEvent) -> Awaitable[None]:
        return self._runtime.apply_inbound(event)

    def accept(self, event: InboundEvent) -> Awaitable[bool]:
        return self._runtime.accept(event)


class Runtime:
    def __init__(
        self,
        core: Engine,
        adapters: Sequence[Adapter],
        closers: Sequence[Callable[[], None]] = (),
        server: ServerConfig | None = None,
        leadership: Leadership | None = None,
        prepare_store: Callable[[], None] | None = None,
    ) -> None:
        self.core = core
        # The store's first step on start (the wiring's migrations), waited for like
        # every other step when the database does not answer.
        self._prepare_store = prepare_store
        self._started = False  # start-up finished: /readyz may say ready
        # Several replicas on one PostgreSQL database: only the leader does the scheduled
        # work (bot.ports.leadership). One process on SQLite always leads.
        self.leadership: Leadership = leadership or SingleProcess()
        self._lead: Lead | None = None
        self._leading = asyncio.Lock()  # one leadership call at a time: one connection
        self._closers = list(closers)  # what to release when the bot stops (a file lock)
        self._fatal = asyncio.Event()  # set when the bot must stop: see Core.fatal
        self.adapters = {adapter.platform: adapter for adapter in adapters}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="core")
        self.dispatcher = Dispatcher(core.ctx, core.health, self.call, time.monotonic)
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._stopping = False
        self._wakeups: set[JobKey] = set()  # the wake-up jobs this runtime has scheduled
        # Changes any replica made to the schedule, heard by the leader (bot.ports.schedule_watch).
        self.watch = core.ctx.store.schedule_watch()
        # Per platform: delivery passes asked for, and the count the last pass covered.
        self._flush_asked: dict[str, int] = {}
        self._flush_done: dict[str, int] = {}
        self._flush_locks: dict[str, asyncio.Lock] = {}
        self._passes = 0  # delivery passes running
        self._idle = asyncio.Event()  # set while none runs
        self._idle.set()
        # Inbound events stored before they were acknowledged (see storage.inbox): how
        # many times each (platform, event_id) is waiting to be applied.
        self.inbox = core.ctx.store.inbound_log()
        self._accepted: dict[tuple[str, str], int] = {}
        self._replayed = asyncio.Event()  # what the last run left is applied
        self.sink = _Sink(self)
        # What operators see (/healthz, /readyz, /metrics): counted here, read when asked.
        self.facts = RuntimeFacts(
            scheduler_running=lambda: self.scheduler.running and not self._stopping,
            scheduled_jobs=lambda: len(self.scheduler.get_jobs()) if self.scheduler.running else 0,
            adapters=lambda: {p: a.readiness() for p, a in self.adapters.items()},
            leader=lambda: self._lead is not None,
            api_calls=lambda: {p: a.api_calls() for p, a in self.adapters.items()},
            started=lambda: self._started,
        )
        self.pages = OperatorPages(core.ctx, core.health, self.facts)
        # [server]: the pages on their own address (a platform's HTTP server serves them too).
        self.ops: OpsServer | None = None
        if server is not None:
            self.ops = OpsServer(server.host, server.port, self.pages)
        # The adapters' questions to the core (and their resume positions), answered on
        # the core's thread.
        self.services = RuntimeServices(self.core.ctx, self.call, self.pages.page)

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        # The caller's context goes along (the ids of the event in hand, for log lines).
        context = contextvars.copy_context()
        return await loop.run_in_executor(self._executor, context.run, function, *args)

    async def start(self) -> None:
        """Every step from the store's migrations to taking the lead; ready only after
        the last. A step the database does not answer is tried again until it does
        (/readyz says 503 meanwhile); cancelling it (a SIGTERM) leaves it at any step."""
        began = time.monotonic()
        if self.ops is not None:
            await self.ops.start()  # first: /healthz answers, and /readyz says why not yet
        prepare = self._prepare_store
        if prepare is not None:
            await self._patiently("opening the store", lambda: self.call(prepare))
        notes = await self._patiently("reading the circles", lambda: self.call(self.core.start))
        for note in notes:
            log.info("%s", note)
        # Read before any adapter can store something new.
        stored = await self._patiently("reading the inbox", self._load_inbox)
        if isinstance(self.leadership, SingleProcess):
            # Left by a process that died.
            await self._patiently("freeing claims", lambda: self.call(self.dispatcher.clear_claims))
        self.scheduler.start()
        for adapter in self.adapters.values():
            if not isinstance(self.leadership, SingleProcess):
                await adapter.set_leading(False)  # a follower until it takes the lead
            await adapter.start(self.sink, self.services)
        await self._patiently("applying stored events", lambda: self._replay(stored))
        # Events may have been missed while the bot was down: read the cards back.
        await self._patiently("reading the cards back", lambda: self.reconcile(due_only=False))
        await self._patiently("taking the lead", self._take_the_lead)
        self._every(SWEEP_SECONDS, self._sweep, "sweep")
        if not isinstance(self.leadership, SingleProcess):
            self._every(WATCH_SECONDS, self._hear_schedule_changes, "schedule-watch")
            self._every(LEAD_CHECK_SECONDS, self._watch_the_lead, "leadership")
            self._every(LOST_LOCK_SECONDS, self._notice_a_lost_lock, "lost-lock")
        self._started = True
        log.info("ready: started in %.1f s", time.monotonic() - began)

    def _every(self, seconds: float, work: Callable[[], Awaitable[None]], job_id: str) -> None:
        """Run `work` every `seconds`, one at a time: a late run is not queued behind it."""
        self.scheduler.add_job(
            work,
            "interval",
            seconds=seconds,
            id=job_id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )

    async def _patiently(self, what: str, step: Callable[[], Awaitable[T]]) -> T:
        """`step`, tried again with a growing wait while the database does not answer:
        one line when it stops answering, one when it answers again, no traceback."""
        wait = FIRST_RETRY_SECONDS
        down = False
        while True:
            try:
                done = await step()
            except DatabaseReplaced:
                raise  # nothing to wait for: the file is gone
            except StorageUnavailable as exc:
                if not down:
                    log.warning(
                        "database: no answer while %s (%s); start-up waits for it, "
                        "trying again every few seconds",
                        what,
                        exc.reason,
                    )
                    down = True
                await asyncio.sleep(wait)
                wait = min(wait * 2, LONGEST_RETRY_SECONDS)
                continue
            if down:
                log.warning("database: answers again; start-up goes on")
            return done

    async def _take_the_lead(self) -> None:
        """Lead if no other replica does: plan every wake-up, and do at once what fell
        due while nobody led."""
        lead = await asyncio.to_thread(self.leadership.acquire)
        if lead is None:
            return
        # Listen before reading the schedule below, so that no change falls between.
        await asyncio.to_thread(self.watch.changes)
        self._lead = lead
        if lead.fence is not None:
            log.info("leading the scheduled work (fencing number %d)", lead.fence)
        for adapter in self.adapters.values():
            await adapter.set_leading(True)
        await self.plan(None)  # and the check-ins, in the tick below
        # Anything that fell due while the bot was down happens now, once.
        await self.tick()

    async def _watch_the_lead(self) -> None:
        if self._stopping:
            return
        async with self._leading:
            if self._lead is None:
                await self._take_the_lead()
            elif not await asyncio.to_thread(self.leadership.still_held):
                await self._step_down(
                    "its lock's connection was lost, or another replica took over its lapsed lead"
                )
        await self._adopt_orphans()
        # Another replica may have queued what this one should send (or let go of
        # something it could not): every replica looks at the outbox this often.
        await self.flush()

    async def _notice_a_lost_lock(self) -> None:
        """Step down the moment the lock's connection is ended, not at the next check."""
        if self._lead is None or self._stopping or self._leading.locked():
            return
        async with self._leading:
            lost = self._lead is not None and self.leadership.signalled()
            if lost and not await asyncio.to_thread(self.leadership.still_held):
                await self._step_down("its lock's connection was ended")

    async def _hear_schedule_changes(self) -> None:
        """The leader plans what any replica changed (a proposal opened on a follower)."""
        if self._lead is None or self._stopping:
            return
        changes = await asyncio.to_thread(self.watch.changes)
        if changes.everything:
            await self.plan(None)
        elif changes.proposals:
            await self.plan(set(changes.proposals))
        if changes.everything or changes.checkins:
            await self._plan_checkins()

    async def _sweep(self) -> None:
        """The leader reads the whole schedule again from the database."""
        if self._lead is None or self._stopping:
            return
        await self.plan(None)
        await self._plan_checkins()

    async def _adopt_orphans(self) -> None:
        """Apply what a replica that died acknowledged but did not apply (a platform that never
        sends it again)."""
        try:
            found = await self.call(self.inbox.orphans, ORPHAN_SECONDS, MAX_REPLAYS)
        except StorageUnavailable as exc:  # the outage is told by the lead's own check
            log.debug("inbox: cannot look for orphans: %s", exc.reason)
            return
        for platform, event_id, why in found.dropped:
            log.error("%s: gave up on the stored event %s: %s", platform, event_id, why)
        for event in found.events:
            key = (event.platform, event.event_id)
            if key in self._accepted:
                continue  # this replica's own, still in hand (a slow answer): not an orphan
            self._accepted[key] = self._accepted.get(key, 0) + 1
            log.info("%s: applying %s, left by another replica", event.platform, event.event_id)
            await self.on_event(event, left=True)

    async def _step_down(self, why: str) -> None:
        """Stop doing scheduled work at once; another replica takes over."""
        if self._lead is None:
            return
        log.warning("no longer leading the scheduled work: %s", why)
        self._lead = None
        for adapter in self.adapters.values():
            await adapter.set_leading(False)
        await asyncio.to_thread(self.watch.close)  # a follower listens to nothing
        for key in list(self._wakeups):
            self._unschedule(key)

    async def run(self, stop: StopSignal | None = None) -> None:
        """Start, then serve until every adapter's run() returns (the console's ends with
        its input), the core cannot go on, or a SIGTERM asks to stop: at any moment,
        start-up included. `stop`: SIGTERM as caught by the caller since its first
        moment; without it, caught here for the time of the run."""
        own = stop is None
        if stop is None:
            stop = StopSignal()
            stop.catch()
        asked = asyncio.ensure_future(stop.wait())
        try:
            if not await self._start_unless_asked(asked):
                log.info("stopping on SIGTERM during start-up")
                return
            serving = asyncio.ensure_future(
                asyncio.gather(*(adapter.run() for adapter in self.adapters.values()))
            )
            fatal = asyncio.ensure_future(self._fatal.wait())
            waiting: list[asyncio.Future[Any]] = [serving, fatal, asked]
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if not fatal.done():
                fatal.cancel()
            if serving.done():
                serving.result()
                return
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving
            if self.core.fatal is not None:
                raise self.core.fatal
            # SIGTERM (systemd's stop) is a graceful stop: what is pending goes out first.
            log.info("stopping on SIGTERM: delivering what is pending first")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.flush(), STOP_GRACE_SECONDS)
        finally:
            asked.cancel()
            await self.stop()
            if own:
                stop.restore()

    async def _start_unless_asked(self, asked: asyncio.Future[None]) -> bool:
        """Whether start-up finished; False when a stop was asked first (start-up is
        then cancelled where it was: what it did stays done, the rest is done next time)."""
        starting = asyncio.ensure_future(self.start())
        await asyncio.wait([starting, asked], return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()  # what start-up raised (a token refused, a config error)
            return True
        starting.cancel()
        try:
            await starting
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # an adapter's own cleanup on being cancelled, say
            log.warning("start-up cut short: %s: %s", type(exc).__name__, exc)
        return False

    async def stop(self) -> None:
        self._stopping = True
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        # Let a delivery pass under way finish (within reason); what it leaves stays
        # pending in the database for the next start.
        if not self._idle.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), STOP_GRACE_SECONDS)
        for adapter in self.adapters.values():
            await adapter.stop()
        if self.ops is not None:
            await self.ops.stop()
        await self.inbox.close()
        self._lead = None
        await asyncio.to_thread(self.watch.close)
        await asyncio.to_thread(self.leadership.release)
        self._executor.shutdown(wait=True)
        self._release()

    def _release(self) -> None:
        for close in self._closers:
            close()
        self._closers.clear()

    async def on_event(self, event: InboundEvent, left: bool = False) -> None:
        """Apply one event and answer it. `left`: a stopped or dead process stored it and
        may have applied it without answering: a command already carried out is answered
        that it was (else a repeat is silent: the platform sent it twice)."""
        with event_context(event.platform, event.event_id):
            try:
                replies, refused, stored = await self._handle(event)
            except StorageUnavailable as exc:  # one line per outage, not a traceback each
                self.core.storage_failed(exc, f"{event.platform}:{event.event_id}")
                self._check_fatal()
                return
            except Exception:
                log.exception("could not handle %s:%s", event.platform, event.event_id)
                return
            adapter = self.adapters.get(event.platform)
            if refused and adapter is not None and adapter.redelivers:
                # Not stored in the inbox, and the platform sends it again (a syncing
                # sync, from the position it stored): it is tried again then, answered then.
                raise NotAccepted(f"{event.platform}:{event.event_id}")
            if adapter is not None and isinstance(event, CommandEvent):
                sender = sender_for(adapter, event.workspace)
                for reply in replies:
                    if left or not reply.repeat:
                        await sender.reply_private(event.channel, event.user, reply)
            elif adapter is not None and adapter.private_replies:
                # A reaction is answered only where nobody else sees the answer (a platform's
                # ephemeral messages); elsewhere it would be noise in the room.
                sender = sender_for(adapter, event.workspace)
                for reply in replies:
                    await sender.reply_private(event.channel, event.user, reply)
            if stored and not refused:
                # Applied and answered: its inbox row can go. Refused: the row stays, for
                # another replica (or the next start) to apply. Dying before this line
                # leaves the row, and the answer is given again (`left`).
                self.inbox.done(event.platform, event.event_id)
            if self._check_fatal():
                return
            await self.flush()
            await self.plan(self.core.changed())
            if self.core.checkins_changed():  # a reaction changes none: nothing to re-read
                await self._plan_checkins()

    def _check_fatal(self) -> bool:
        """True (and the bot stopping) when the core cannot go on."""
        if self.core.fatal is not None:
            self._stopping = True
            self._fatal.set()
        return self.core.fatal is not None

    # -- the inbox: events stored before they were acknowledged ------------------------

    async def accept(self, event: InboundEvent) -> bool:
        """Store `event` durably (EventSink.accept); the adapter then calls the sink,
        unless it was a repeat of an event taken before (False)."""
        try:
            taken = await self.inbox.store(event)
        except StorageUnavailable as exc:  # one line per outage, as for every other write
            self.core.storage_failed(exc, f"{event.platform}:{event.event_id}")
            raise NotAccepted(f"{event.platform}:{event.event_id}") from exc
        except Exception as exc:  # this one event cannot be stored (e.g. an id too long)
            log.error("%s: cannot store %s: %s", event.platform, event.event_id, exc)
            raise NotAccepted(f"{event.platform}:{event.event_id}") from exc
        self.core.health.worked()
        if not taken:
            self.core.ctx.duplicates[event.platform] += 1  # a repeat, dropped (/metrics)
            return False
        key = (event.platform, event.event_id)
        self._accepted[key] = self._accepted.get(key, 0) + 1
        return True

    async def apply_inbound(self, event: InboundEvent) -> None:
        """Apply an event from an adapter; a stored one after what the last run left."""
        if (event.platform, event.event_id) in self._accepted:
            await self._replayed.wait()
        await self.on_event(event)

    async def _handle(self, event: InboundEvent) -> tuple[list[Reply], bool, bool]:
        """The replies to `event`, whether the database refused it (then nothing of it
        was kept), and whether it was stored in the inbox."""
        self.facts.events[(event.platform, EVENT_KINDS[type(event)])] += 1
        key = (event.platform, event.event_id)
        try:
            replies, refused = await self.call(self._apply, event)
        finally:  # applied or not, no longer in hand
            waiting = self._accepted.get(key, 0)
            if waiting == 1:
                del self._accepted[key]
            elif waiting:
                self._accepted[key] = waiting - 1
        return replies, refused, waiting > 0

    def _apply(self, event: InboundEvent) -> tuple[list[Reply], bool]:
        """On the core's thread: apply `event`; whether the database refused it (the
        core says so and answers a command with why, but raises nothing)."""
        replies = self.core.handle(event)
        return replies, self.core.health.refused > 0

    async def _load_inbox(self) -> list[InboundEvent]:
        replay = await self.call(self.inbox.replay, MAX_REPLAYS)
        for platform, event_id, why in replay.dropped:
            log.error("%s: gave up on the stored event %s: %s", platform, event_id, why)
        for event in replay.events:
            key = (event.platform, event.event_id)
            self._accepted[key] = self._accepted.get(key, 0) + 1
        return replay.events

    async def _replay(self, stored: list[InboundEvent]) -> None:
        """Apply, in arrival order, what was acknowledged but not applied before the last
        stop; events arriving meanwhile wait for it."""
        began = time.monotonic()
        try:
            for event in stored:
                await self.on_event(event, left=True)
        finally:
            self._replayed.set()
        if stored:
            log.info(
                "applied %d event(s) received before the last stop in %.1f s",
                len(stored),
                time.monotonic() - began,
            )

    async def _plan_checkins(self) -> None:
        for job in await self.call(self.core.checkin_jobs):
            self._schedule(job, datetime.now(UTC), self.core.clock.now())

    async def flush(self) -> None:
        for adapter in self.adapters.values():
            await self._flush_one(adapter)

    async def _flush_one(self, adapter: Adapter) -> None:
        """A delivery pass for one platform that covers everything asked for until now.

        Passes never overlap (they could race each other). A caller that finds a pass
        running waits for it; if a pass that began after its request has run by then, it
        is covered and returns, so a burst of events makes a few passes, not one each."""
        platform = adapter.platform
        asked = self._flush_asked[platform] = self._flush_asked.get(platform, 0) + 1
        lock = self._flush_locks.setdefault(platform, asyncio.Lock())
        async with lock:
            if self._flush_done.get(platform, 0) >= asked or self._stopping:
                return
            covers = self._flush_asked[platform]
            self._passes += 1
            self._idle.clear()
            try:
                await self.dispatcher.flush(adapter)
            finally:
                self._flush_done[platform] = covers
                self._passes -= 1
                if not self._passes:
                    self._idle.set()
        again = self.dispatcher.again_in.get(platform)
        if again is not None and not self._stopping:
            # Held back (edit rate) or failed (backing off): try again then.
            self.scheduler.add_job(
                self._flush_one,
                "date",
                args=[adapter],
                run_date=datetime.now(UTC) + timedelta(seconds=again),
                id=f"flush:{platform}",
                replace_existing=True,
                misfire_grace_time=None,
            )

    async def tick(self) -> None:
        """Do what fell due (deadlines, reminders, reviews, check-ins), deliver it, and
        plan the next wake-ups."""
        lead = self._lead
        if self._stopping or lead is None:
            return  # a follower: the leader does what falls due
        await self.reconcile(due_only=True)  # platforms drop events: check before closing
        try:
            # Every transaction of it checks that this replica still leads.
            with fenced(lead.fence):
                await self.call(self.core.advance)
        except NotLeader as exc:
            await self._step_down(str(exc))
            return
        except StorageUnavailable as exc:
            self.core.storage_failed(exc, "what fell due")
            self._check_fatal()
            return  # nothing was decided; the next wake-up tries again
        except Exception:
            log.exception("could not advance the clock")
        await self.flush()
        await self.plan(self.core.changed())
        await self._plan_checkins()

    async def reconcile(self, due_only: bool) -> None:
        """Read back the reactions on open cards (those due now, or all) and apply what
        the event stream missed."""
        for adapter in self.adapters.values():
            cards = await self.call(self.core.open_cards, adapter.platform, due_only)
            for card in cards:
                assert card.message_ref is not None
                try:
                    workspace = await self.call(self.dispatcher.workspace_of_card, card)
                    sender = sender_for(adapter, workspace)
                    present = await sender.read_reactions(card.channel, card.message_ref)
                except Exception:
                    log.exception("%s: could not read reactions back", adapter.platform)
                    continue
                if present is None:
                    continue
                changed = await self.call(
                    self.core.reconcile, adapter.platform, card.message_ref, present
                )
                if changed:
                    log.info("%s: reconciled %d missed reaction(s)", adapter.platform, changed)

    async def plan(self, proposal_ids: set[int] | None = None) -> None:
        """(Re)build the wake-up jobs of these proposals (of all, when None) from the
        database. Job ids are deterministic, so re-planning replaces, never duplicates."""
        if (proposal_ids is not None and not proposal_ids) or self._lead is None:
            return
        planned = await self.call(self.core.jobs, proposal_ids)
        wall_now, core_now = datetime.now(UTC), self.core.clock.now()
        if proposal_ids is None:  # every live proposal was read: the others need no job
            scheduled = {key for key in self._wakeups if key.kind is JobKind.PROPOSAL}
            for key in scheduled:
                if isinstance(key.subject, int) and key.subject not in planned:
                    planned[key.subject] = None
        for pid, job in planned.items():
            if job is None:
                self._unschedule(JobKey(JobKind.PROPOSAL, pid))
            else:
                self._schedule(job, wall_now, core_now)

    def _schedule(self, job: Job, wall_now: datetime, core_now: datetime) -> None:
        """Add (or move) the wake-up job of `job.key`."""
        # Due times are on the core's clock; the scheduler waits on the wall clock.
        # A moment past the due time, so `<= now` holds in the database.
        wait = max(job.run_at - core_now, timedelta(0)) + timedelta(milliseconds=50)
        self.scheduler.add_job(
            self.tick,
            "date",
            run_date=wall_now + wait,
            id=job.key.id,
            replace_existing=True,
            misfire_grace_time=None,  # due while down or busy: still runs, once
            coalesce=True,
        )
        self._wakeups.add(job.key)

    def _unschedule(self, key: JobKey) -> None:
        """Remove the wake-up job of `key`, if it is still there (a fired one is not)."""
        if key in self._wakeups:
            self._wakeups.discard(key)
            if self.scheduler.get_job(key.id):
                self.scheduler.remove_job(key.id)
