"""The invariants, checked after a run against the model: what was acknowledged was
applied once; each tally and outcome is the model's; each deadline closed once and in
time; each reminder, outcome and check-in posted once; nothing contradicts an outcome."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tests.faults.cluster import REMINDER_SECONDS, ZONE
from tests.faults.model import (
    LEADERS,
    REACTION_STANCES,
    SLACK_IDS,
    ProposalModel,
    base_reaction,
    minute_fires,
)

if TYPE_CHECKING:
    from tests.faults.harness import Run, Sent

CLOSE_WITHIN = 15.0
# A reminder is owed once a leader has been up this long before its deadline: one lead
# check, and a delivery pass.
REMIND_WITHIN = 3.0
SLACK = 0.5 + 1.0  # the monitor's poll, and a leader sample's own lag
QUIET = 1.5  # an answer this close to a reminder: who is waiting is moot
OUTCOME_WORDS = {
    "passed": "passed",
    "blocked": "is blocked",
    "no_quorum": "closed without",  # quorum, or consent: whichever the tally lacked
}


@dataclass
class Violation:
    invariant: str
    detail: str

    def __str__(self) -> str:
        return f"{self.invariant}: {self.detail}"


def instant(value: Any) -> float:
    """A database or export time (naive: UTC) as seconds."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return float(value.timestamp())


class Checks:
    def __init__(self, run: Run) -> None:
        self.run = run
        self.found: list[Violation] = []
        self.checked = run.result.checked
        fake = run.cluster.fake
        # Every message Slack shows, by the idempotency key it carries; and when a post
        # with that key was first tried (real time).
        self.posts: dict[str, list[Any]] = {}
        for messages in fake.messages.values():
            for message in messages:
                key = ((message.metadata or {}).get("event_payload") or {}).get("key")
                if key:  # the outbox's keys, as the dispatcher passes them on
                    self.posts.setdefault(str(key).removeprefix("outbox:"), []).append(message)
        self.first_try: dict[str, float] = {}
        wall = time.time() - time.monotonic()  # the fake stamps calls on the monotonic clock
        for call in fake.calls_to("chat.postMessage"):
            meta = call.params.get("metadata") or {}
            key = (meta.get("event_payload") or {}).get("key") if isinstance(meta, dict) else None
            if key and str(key).removeprefix("outbox:") not in self.first_try:
                self.first_try[str(key).removeprefix("outbox:")] = call.at + wall

    def violation(self, invariant: str, detail: str) -> None:
        self.found.append(Violation(invariant, detail))

    def all(self) -> list[Violation]:
        run = self.run
        history = self.history = Counter(
            event_id
            for (event_id,) in run.rows("SELECT event_id FROM history WHERE kind <> 'round'")
        )
        proposals = {
            row[0]: row for row in run.rows("SELECT id, status, round, deadline FROM proposals")
        }
        exported = {d["id"]: d for d in run.export()}
        outcomes = Counter(
            pid for (pid,) in run.rows("SELECT proposal_id FROM history WHERE kind = 'outcome'")
        )
        self.commands_once(history)
        for index, pid in sorted(run.pids.items()):
            if pid not in proposals:
                continue
            model = self.model(index, history)
            self.proposal(pid, model, proposals[pid], exported.get(pid), outcomes[pid])
        for pid, row in proposals.items():
            if row[1] == "open":
                self.violation("deadline closed once", f"proposal #{pid} never closed")
        self.checkins()
        return self.found

    # -- acknowledged commands -------------------------------------------------------------

    def commands_once(self, history: Counter[str]) -> None:
        run = self.run
        texts = Counter(text for (text,) in run.rows("SELECT text FROM rounds WHERE number = 1"))
        for sent in run.sent:
            action = sent.action
            if sent.acked is None:
                continue
            self.checked["commands"] += 1
            if action.kind == "propose":
                made = texts[f"Item {run.plan.seed}-{action.proposal}"]
                if made > 1 or (sent.acked and made != 1):
                    self.violation(
                        "acked applied once",
                        f"propose {action.proposal} (acked={sent.acked}) made {made} proposals",
                    )
            elif action.kind in ("react", "button", "unreact"):
                seen = history[sent.event_id]
                wanted = seen == 1 if action.kind != "unreact" else seen <= 1
                if seen > 1 or (sent.acked and not wanted):
                    self.violation(
                        "acked applied once",
                        f"{action.kind} {action.emoji} by {action.user} on item "
                        f"{action.proposal} (acked={sent.acked}) recorded {seen} times",
                    )

    # -- the model -----------------------------------------------------------------------------

    def model(self, index: int, history: Counter[str], until: float | None = None) -> ProposalModel:
        """Replay what landed on this proposal in the platform's order, up to its deadline
        (where it closes), or as it stood at bot time `until`."""
        run = self.run
        propose = next(
            s for s in run.sent if s.action.kind == "propose" and s.action.proposal == index
        )
        model = ProposalModel(propose.action.user)
        deadline = run.deadlines[index] if until is None else until
        steps: list[Sent] = []
        for sent in run.sent:
            if sent.action.proposal != index or sent.acked is None or sent.action.kind == "propose":
                continue
            if sent.action.kind in ("react", "unreact", "button"):
                if history[sent.event_id] or sent.acked:
                    steps.append(sent)
                elif sent.action.kind != "button" and sent.at < deadline:
                    # Slack shows the reaction though its event never landed: whether
                    # the bot's read-back of the card ran before the close decides.
                    model.uncertain.append(f"{sent.action.kind} shown but never delivered")
                # A button press no replica took: Slack tells the person; nothing changed.
            elif sent.acked:
                steps.append(sent)
            else:
                model.uncertain.append(f"{sent.action.kind} not acknowledged")
        commands = [s.at for s in steps if s.action.kind in ("close", "amend")]
        for sent in steps:
            if any(sent.at < at < sent.done_at for at in commands):
                # Slack resent it past a close or an amend (its first replica was down):
                # it reached the bot after them, and counts as it arrived, not as sent.
                model.uncertain.append(f"{sent.action.kind} delivered after a command")
        for sent in sorted(steps, key=lambda s: s.at):
            action = sent.action
            if sent.at >= deadline:
                break
            if action.kind == "button":
                model.react(action.user, f"button:{action.emoji}", action.emoji, True, sent.at)
            elif action.kind in ("react", "unreact"):
                stance = REACTION_STANCES[base_reaction(action.emoji)]
                key = base_reaction(action.emoji)
                model.react(action.user, key, stance, action.kind == "react", sent.at)
            elif action.kind == "amend":
                if action.user == model.author:
                    model.amend()
            elif action.kind == "close":
                model.close_now(action.user, sent.at)
        if until is None:
            model.reach_deadline(deadline)
        return model

    # -- one proposal ---------------------------------------------------------------------------

    def proposal(
        self,
        pid: int,
        model: ProposalModel,
        row: tuple[Any, ...],
        exported: dict[str, Any] | None,
        outcome_rows: int,
    ) -> None:
        run = self.run
        index = next(i for i, p in run.pids.items() if p == pid)
        _, status, round_number, deadline = row
        if status == "open":
            return  # reported by all()
        if outcome_rows != 1:
            self.violation("deadline closed once", f"#{pid}: {outcome_rows} outcome records")
        if model.uncertain:
            self.checked["tallies unchecked"] += 1
        else:
            self.checked["tallies"] += 1
            if status != model.status or round_number != len(model.rounds):
                self.violation(
                    "tally equals model",
                    f"#{pid}: status {status} round {round_number}, model {model.status} "
                    f"round {len(model.rounds)}",
                )
            elif exported is not None:
                shown = _export_stances(exported)
                wanted = model.round.stances()
                if shown != wanted:
                    self.violation("tally equals model", f"#{pid}: stances {shown}, model {wanted}")
        # In time: a close at the deadline within 15 s of a leader being up after it.
        at_deadline = model.closed_by is None and model.closed_at == instant(deadline)
        if at_deadline and not model.uncertain:
            self.checked["deadlines timed"] += 1
            due = run.clock.real_at(instant(deadline))
            seen = run.closed_seen.get(pid)
            bound = self.leader_bound(due)
            if seen is not None and bound is not None and seen > bound + CLOSE_WITHIN + SLACK:
                self.violation(
                    "closed within 15 s",
                    f"#{pid}: closed {seen - due:.1f} s after its deadline, "
                    f"{seen - bound:.1f} s after a leader was up",
                )
        self.posts_of(pid, index, status, instant(deadline), model)

    def leader_up_for(self, start: float, end: float, seconds: float) -> bool:
        """Whether one leader stretch within [start, end] lasted `seconds`: a leader that
        is killed or paused within a second of taking over, seconds before a deadline,
        may leave a reminder unsent (the next finds the proposal closed)."""
        began: float | None = None
        for at, up in self.run.leader_samples:
            if at > end:
                break
            if up and at >= start:
                began = at if began is None else began
                if at - began >= seconds:
                    return True
            elif not up:
                began = None
        return began is not None and end - began >= seconds

    def leader_bound(self, since: float) -> float | None:
        """The first moment from `since` that a leader was up and stayed up 15 s."""
        start: float | None = None
        for at, up in self.run.leader_samples:
            if at < since - POLL_SLACK:
                continue
            if up and start is None:
                start = max(at, since)
            elif not up and start is not None:
                if at - start >= CLOSE_WITHIN:
                    return start
                start = None
        return start

    def posts_of(
        self, pid: int, index: int, status: str, deadline: float, model: ProposalModel
    ) -> None:
        run = self.run
        self.checked["outcomes"] += 1
        key = f"outcome:{pid}:slack"
        outcome = self.posts.get(key, [])
        if len(outcome) != 1:
            self.violation("outcome posted once", f"#{pid}: outcome posted {len(outcome)} times")
        elif OUTCOME_WORDS[status] not in outcome[0].text:
            self.violation("outcome posted once", f"#{pid} is {status}: {outcome[0].text[:80]!r}")
        # Reminders: due `REMINDER_SECONDS` before the deadline, if still open with
        # someone waiting; the thread post and one DM each, once.
        remind_at = deadline - REMINDER_SECONDS
        prefix = f"reminder:{pid}:"
        thread = [k for k in self.posts if k.startswith(prefix) and ":dm:" not in k]
        dms = Counter(
            k.rsplit(":dm:", 1)[1] for k in self.posts if k.startswith(prefix) and ":dm:" in k
        )
        times = Counter({k: len(self.posts[k]) for k in self.posts if k.startswith(prefix)})
        for k, n in times.items():
            if n > 1:
                self.violation("reminder posted once", f"#{pid}: {k} posted {n} times")
        before = self.model(index, self.history, remind_at - QUIET)
        after = self.model(index, self.history, remind_at + QUIET)
        opened_at = next(
            (s.at for s in run.sent if s.action.kind == "propose" and s.action.proposal == index),
            0.0,
        )
        due_real = run.clock.real_at(remind_at)
        window_up = self.leader_up_for(due_real, run.clock.real_at(deadline) - 1, REMIND_WITHIN)
        if model.uncertain or remind_at <= opened_at:
            return
        self.checked["reminders"] += 1
        open_then = before.status == "open" and after.status == "open"
        waiting = before.waiting() & after.waiting()
        maybe = before.waiting() | after.waiting()
        # A reminder sent late (no leader was up at its time) names who was waiting when
        # it went out: an amend in between asked everyone again.
        for k in times:
            tried = self.first_try.get(k)
            if tried is not None:
                then = run.clock.bot_at(tried)
                maybe |= self.model(index, self.history, then - QUIET).waiting()
                maybe |= self.model(index, self.history, then + QUIET).waiting()
        if open_then and waiting and window_up and not thread:
            due, closes = (_wall(due_real), _wall(run.clock.real_at(deadline)))
            self.violation(
                "reminder posted once",
                f"#{pid}: no reminder (waiting: {sorted(waiting)}; due {due}, deadline {closes}"
                " by the wall clock, as the logs write it)",
            )
        if before.status != "open" and after.status != "open" and thread:
            self.violation(
                "reminder posted once", f"#{pid}: reminded after it closed ({before.status})"
            )
        for name in LEADERS:
            got = dms.get(SLACK_IDS[name], 0)
            if got and name not in maybe:
                self.violation("reminder posted once", f"#{pid}: {name} reminded after answering")
            if thread and name in waiting and not got and open_then:
                self.violation("reminder posted once", f"#{pid}: {name} waiting, no reminder")
        # Nothing after the outcome says otherwise: no reminder, no new round.
        if outcome:
            posted = self.first_try.get(key)
            for k in self.posts:
                later = k.startswith((prefix, f"amend:{pid}:"))
                if later and posted is not None and self.first_try.get(k, 0) > posted:
                    self.violation(
                        "nothing contradicts an outcome", f"#{pid}: {k} after the outcome"
                    )

    # -- check-ins ------------------------------------------------------------------------------

    def checkins(self) -> None:
        run = self.run
        rows = run.rows("SELECT id, scheduled_for, started_at, closes_at, closed_at FROM checkins")
        zone = ZoneInfo(ZONE)
        starts = [instant(r[1]) for r in rows]
        for scheduled, n in Counter(starts).items():
            if n > 1:
                when = datetime.fromtimestamp(scheduled, zone)
                self.violation("check-in once", f"{n} check-ins for {when:%H:%M %Z}")
        begin = run.clock.changes[0][1] + run.started
        end = run.clock.now()
        fires = {f.timestamp() for f in minute_fires(zone, _utc(begin - 120), _utc(end))}
        for cid, scheduled, _started, closes, closed in rows:
            self.checked["check-ins"] += 1
            when = datetime.fromtimestamp(instant(scheduled), zone)
            if instant(scheduled) not in fires:
                self.violation(
                    "check-in once", f"#{cid} fired for {when:%H:%M %Z} (fold {when.fold})"
                )
            prompts = len(self.posts.get(f"checkin:{cid}:slack", []))
            if prompts != 1:
                self.violation("check-in once", f"#{cid} prompt posted {prompts} times")
            summaries = len(self.posts.get(f"checkin-close:{cid}:slack", []))
            if closed is not None and summaries != 1:
                self.violation("check-in once", f"#{cid} summary posted {summaries} times")
            if closed is None and run.clock.now() > instant(closes) + CLOSE_WITHIN + 5:
                self.violation("check-in once", f"#{cid} never closed")
        # Liveness: a fire time the clock went through, with a leader up for 15 s after
        # it and no check-in open then, has its check-in.
        spans = [(instant(r[2]), instant(r[4]) if r[4] else instant(r[3])) for r in rows]
        jumps = [(since, offset) for since, offset in run.clock.changes[1:]]
        for fire in sorted(fires):
            real = run.clock.real_at(fire)
            jumped = any(abs(real - since) < 1.0 for since, _ in jumps)
            if jumped or real < run.started + 5 or real > run.leader_samples[-1][0] - 20:
                continue
            bound = self.leader_bound(real)
            if bound is None or bound > real + 1:
                continue
            if any(s - 1 <= fire <= e + 1 for s, e in spans):
                continue
            self.checked["check-in fire times"] += 1
            if fire not in starts:
                when = datetime.fromtimestamp(fire, zone)
                self.violation("check-in once", f"no check-in for {when:%Y-%m-%d %H:%M %Z}")


POLL_SLACK = 1.0


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _export_stances(decision: dict[str, Any]) -> dict[str, str]:
    """Each leader's stance as the export shows it for the final round."""
    found: dict[str, str] = {}
    for side in (decision.get("sides") or {}).values():
        names = side.get("names") or {}
        for stance in ("consent", "concern", "stand_aside", "object"):
            for name in names.get(stance, []):
                found[str(name)] = stance
    return {name: stance for name, stance in found.items() if name in LEADERS}


def _wall(real: float) -> str:
    """A real time as the processes' log lines write it (UTC), to find them there."""
    return datetime.fromtimestamp(real, UTC).strftime("%H:%M:%S.%f")[:-3]
