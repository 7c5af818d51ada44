"""`circlebot export --format ics`: an iCalendar feed (RFC 5545, written with the
`icalendar` library) of what is ahead for the circles:

- each open proposal's (and draft's) deadline, with its circle and per-side tally so far;
- each passed decision's review date;
- each circle's next check-ins, from its cron schedule in its time zone.

A calendar that subscribes to the file, or imports it again, updates its events instead
of adding them twice: every event has a UID that the same database gives it in every
export, and that another deployment never gives (see bot.queries.decision_log.circle_key). A
proposal's SEQUENCE counts its amendments, so an amended deadline or text supersedes the
event a calendar holds; its DTSTAMP and LAST-MODIFIED are the time of the proposal's
newest history row, so exporting twice writes the same events. Times are in UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from bot.domain import i18n
from bot.domain.circle import CircleSpec
from bot.domain.cron import cron_schedule
from bot.domain.i18n import DEFAULT_LANGUAGE, Lang
from bot.domain.model import Status
from bot.domain.text_safety import clean_text
from bot.ports.store import Store
from bot.queries.decision_log import CircleFacts, Decision, circle_facts, decisions, read_proposals
from bot.text.messages import side_lines, tally_line

PRODID = "-//circlebot//decision calendar//EN"
UID_DOMAIN = "circlebot"
CHECKINS_AHEAD = 4  # upcoming check-ins per circle
SUMMARY_TEXT = 120  # characters of a proposal's text in an event's title


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def _one_line(text: str, limit: int = SUMMARY_TEXT) -> str:
    line = " ".join(clean_text(text).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def uid(kind: str, key: str) -> str:
    """`proposal-12-deadline.3f9a0c1b2d4e@circlebot`: what the event is, then whose."""
    return f"{kind}.{key}@{UID_DOMAIN}"


def _changed_at(d: Decision) -> datetime:
    """When the proposal last changed: its newest history row (a stance counts too: the
    tally in the description changes with it)."""
    moments: list[datetime] = [d.proposal.created_at, *(row["at"] for row in d.history)]
    return max(moments)


def _amendments(d: Decision) -> int:
    return sum(1 for row in d.history if row["kind"] == "amend")


def _description(d: Decision, lang: Lang, *extra: str) -> str:
    lines = [
        lang._("Circle: {circle}", circle=clean_text(d.circle)),
        "",
        clean_text(d.proposal.text),
        "",
        *extra,
    ]
    return "\n".join(lines).strip()


def _deadline_event(d: Decision, key: str, lang: Lang) -> Event:
    p = d.proposal
    event = Event()
    event.add("uid", uid(f"proposal-{p.id}-deadline", key))
    event.add("sequence", _amendments(d))
    changed = _utc(_changed_at(d))
    event.add("dtstamp", changed)
    event.add("last-modified", changed)
    event.add("created", _utc(p.created_at))
    event.add("dtstart", _utc(p.deadline))
    event.add(
        "summary",
        lang._("Proposal #{number} deadline: {text}", number=p.id, text=_one_line(p.text)),
    )
    if p.status is Status.DRAFT:
        so_far = lang._("A draft: voting opens once someone from another side co-sponsors it.")
    else:
        so_far = lang._(
            "Tally so far (round {round}): {tally}",
            round=p.round,
            tally=clean_text(tally_line(side_lines(d.result))),
        )
    event.add("description", _description(d, lang, so_far))
    event.add("categories", [lang._("Proposal deadline")])
    return event


def _review_event(d: Decision, key: str, lang: Lang) -> Event:
    p = d.proposal
    assert p.review_at is not None
    event = Event()
    event.add("uid", uid(f"proposal-{p.id}-review", key))
    event.add("sequence", 0)
    changed = _utc(_changed_at(d))
    event.add("dtstamp", changed)
    event.add("last-modified", changed)
    event.add("dtstart", _utc(p.review_at))
    event.add(
        "summary",
        lang._("Review of decision #{number}: {text}", number=p.id, text=_one_line(p.text)),
    )
    extra = [
        lang._("Tally: {tally}", tally=clean_text(tally_line(side_lines(d.result)))),
    ]
    if d.statement:
        extra += ["", lang._("Outcome statement: {text}", text=clean_text(d.statement))]
    event.add("description", _description(d, lang, *extra))
    event.add("categories", [lang._("Decision review")])
    return event


def _checkin_events(facts: CircleFacts, now: datetime, lang: Lang) -> list[Event]:
    spec = facts.checkins
    if spec is None or not spec.questions:
        return []
    # Each occurrence once (a repeated hour is one), each after the last: distinct UIDs.
    fires = cron_schedule(spec.schedule, ZoneInfo(facts.timezone)).next_fires(now, CHECKINS_AHEAD)
    events = []
    for index, fire in enumerate(fires):
        start = _utc(fire)
        question = spec.questions[(facts.checkins_held + index) % len(spec.questions)]
        event = Event()
        event.add("uid", uid(f"checkin-{start:%Y%m%dT%H%M%SZ}", facts.key))
        event.add("sequence", 0)
        event.add("dtstamp", _utc(now))
        event.add("dtstart", start)
        event.add("dtend", _utc(spec.open_for.after(fire)))
        event.add("summary", lang._("Check-in of circle {circle}", circle=clean_text(facts.name)))
        event.add(
            "description",
            lang._(
                "The question (they are used in turn): {question}",
                question=clean_text(question),
            ),
        )
        event.add("categories", [lang._("Check-in")])
        events.append(event)
    return events


def to_ics(
    repo: Store,
    circles: Sequence[CircleSpec],
    circle: str | None = None,
    language: str = DEFAULT_LANGUAGE,
    now: datetime | None = None,
) -> str:
    """The feed of `circle` (or every circle), its texts in `language`. Check-ins are the
    next few from `now` (default: the current time)."""
    lang = i18n.lang(language)
    now = now or datetime.now(UTC)
    facts = circle_facts(repo, circles, circle)
    keys = {f.name: f.key for f in facts}
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    name = lang._("Decision calendar")
    if circle is not None:
        name = lang._("{calendar}: {circle}", calendar=name, circle=clean_text(circle))
    calendar.add("x-wr-calname", name)
    live = read_proposals(repo, circles, circle, (Status.OPEN.value, Status.DRAFT.value))
    for d in sorted(live, key=lambda d: (d.proposal.deadline, d.proposal.id)):
        calendar.add_component(_deadline_event(d, keys[d.circle], lang))
    passed = [
        d
        for d in decisions(repo, circles, circle)
        if d.status is Status.PASSED and d.proposal.review_at is not None
    ]
    for d in sorted(passed, key=lambda d: (d.proposal.review_at or now, d.proposal.id)):
        calendar.add_component(_review_event(d, keys[d.circle], lang))
    for found in facts:
        for event in _checkin_events(found, now, lang):
            calendar.add_component(event)
    feed: bytes = calendar.to_ical()
    return feed.decode("utf-8")
