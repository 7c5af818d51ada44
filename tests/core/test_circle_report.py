"""The circle's own report through the core (SPEC "The circle's own report"): asked in
chat, privately for oneself, and posted on the circle's schedule once per fire."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.domain.circle import ReportSpec
from bot.domain.clock import ManualClock
from bot.domain.model import Stance
from bot.domain.stances import build_emoji_map
from bot.handlers.core import Core
from bot.queries.report import circle_report
from bot.state import outbox
from bot.state.outbox import ReportPost
from storage import open_repository
from storage.models import OutboxRow
from tests.core.conftest import Harness, make_spec

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def history(h: Harness) -> None:
    """ana proposes twice, cy objects, ana amends, everyone consents."""
    first = int(h.ok("ana", "propose Adopt the visiting policy by 3d").split("#")[1].split()[0])
    h.react("ana", "+1", first)
    h.react("cy", "raised_hand", first, at=h.tick(hours=1))
    h.ok("ana", f"amend {first} Adopt the policy, weekdays only")
    for person in ("ana", "ben", "cy", "dee"):
        h.react(person, "+1", first, at=h.tick(hours=1))
    h.ok("ana", "propose Paint the wall by 3d")
    h.tick(minutes=1)


def test_circle_report_in_chat_per_side_with_a_sentence_for_a_lopsided_figure(
    tmp_path: Path,
) -> None:
    h = Harness(f"sqlite:///{tmp_path}/r.db", [make_spec()])
    history(h)
    (reply,) = h.cmd("dee", "circle report")
    assert reply.ok and reply.report is not None
    sides = {side.side: side for side in reply.report.sides}
    assert set(sides) == {"milpa", "vera"}
    authored = {name: s.bars[0].value for name, s in sides.items()}
    assert authored["milpa"].startswith("2 (1 passed") and authored["vera"].startswith("0 (")
    assert "milpa authored 2 of 2 proposals." in reply.report.sentences
    assert "vera raised 1 of 1 objection." in reply.report.sentences
    assert "████" in reply.text and "milpa authored 2 of 2 proposals." in reply.text
    # Typed in Spanish, answered in dee's language; no person is named in it.
    (es,) = h.cmd("dee", "círculo informe 30d")
    assert es.report is not None and es.report.sentences == reply.report.sentences
    for person in ("ana", "ben", "cy", "dee"):
        assert person not in reply.text


def test_circle_report_me_counts_only_the_person(tmp_path: Path) -> None:
    h = Harness(f"sqlite:///{tmp_path}/r.db", [make_spec()])
    history(h)
    (reply,) = h.cmd("cy", "circle report me")
    assert reply.ok and reply.report is not None
    ((side),) = reply.report.sides
    assert side.side == "cy" and "only you see this" in reply.report.title
    bars = {bar.label: bar.value for bar in side.bars}
    assert bars["Objections, concerns"].startswith("1 objection (1 led to an amendment)")
    assert bars["Proposals authored"].startswith("0 (")


def test_a_bad_since_is_refused_and_a_stranger_cannot_ask_for_their_own(tmp_path: Path) -> None:
    h = Harness(f"sqlite:///{tmp_path}/r.db", [make_spec()])
    assert "could not read" in h.refused("ana", "circle report someday")
    assert "could not read" in h.refused("ana", "circle report 2099-01-01")
    assert "one date or span at most" in h.refused("ana", "circle report 30d me")
    assert h.refused("zed", "circle report me")


def reported(url: str) -> list[tuple[str, Any]]:
    with open_repository(url).engine.connect() as connection:
        rows = connection.execute(select(OutboxRow.key, OutboxRow.payload).order_by(OutboxRow.id))
        return [(key, payload) for key, payload in rows if key.startswith("report:")]


def test_the_scheduled_report_is_posted_once_per_fire_across_restarts_and_replicas(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/r.db"
    # 9:00 on the 1st of each month, in the circle's zone (Los Angeles), in Spanish.
    spec = replace(make_spec(), language="es", report=ReportSpec(schedule="0 9 1 * *"))
    h = Harness(url, [spec], clock=ManualClock(T0))
    h.core.advance()  # the schedule starts now
    history(h)
    first_fire = datetime(2026, 2, 1, 17, 0, tzinfo=UTC)  # 9:00 PST
    assert h.core.checkin_jobs()[-1].run_at == first_fire
    h.advance_to(first_fire - timedelta(minutes=1))
    assert reported(url) == []
    h.advance_to(first_fire)
    h.advance_to(first_fire + timedelta(minutes=5))
    # A second core on the same database (a restart, or a replica woken too) repeats nothing.
    other = Core(open_repository(url), [spec], ManualClock(first_fire + timedelta(minutes=9)))
    other.start()
    other.advance()
    posts = reported(url)
    assert [key for key, _ in posts] == [outbox.on("console", outbox.report("council", first_fire))]
    post = outbox.decode(posts[0][1])
    assert isinstance(post, ReportPost)
    assert post.message.title.startswith("📊 Informe del círculo: council")
    assert "milpa presentó 2 de 2 propuestas." in post.message.sentences
    # The next month fires again.
    h.advance_to(datetime(2026, 3, 1, 17, 0, tzinfo=UTC))
    assert len(reported(url)) == 2


def test_the_report_reads_the_same_on_sqlite_and_postgresql(db_url: str) -> None:
    """The store decides which reactions are stances (an emoji the circle maps, or one
    set by a command) and reads times and details itself, on each backend alike."""
    h = Harness(db_url, [make_spec()], clock=ManualClock(T0))
    history(h)
    h.react("ben", "tada", 2, at=h.tick(minutes=5))  # no stance: not read
    h.ok("ben", "object 2 too dark")  # a stance set by a command
    h.react("dee", "thinking_face", 2, at=h.tick(minutes=5))
    h.react("dee", "thinking_face", 2, added=False, at=h.tick(minutes=5))  # taken back
    spec = h.specs[0]
    found = circle_report(h.repo, spec, T0 - timedelta(days=1), h.clock.now()).to_json()
    milpa, vera = found["sides"]["milpa"], found["sides"]["vera"]
    assert (milpa["authored"], milpa["passed"], milpa["objections"]) == (2, 1, 1)
    assert (vera["objections"], vera["objections_then_amended"], vera["concerns"]) == (1, 1, 1)
    # Round 1 of proposal 1 closed by the amendment, round 2 when all consented.
    assert (milpa["asked"], milpa["answered_in_time"]) == (4, 3)
    assert (vera["asked"], vera["answered_in_time"]) == (4, 3)
    assert vera["median_answer_seconds"] == 10800  # cy 1h; in round 2 cy 3h, dee 4h


def test_an_emoji_counts_as_its_round_froze_it_after_the_circle_changes_its_map(
    db_url: str,
) -> None:
    """The circle's map changes between two proposals (✋ no longer objects; 👎 does): the
    report counts each reaction as its round's frozen rules did, as the tally did."""
    clock = ManualClock(T0)
    before = Harness(db_url, [make_spec()], clock=clock)
    first = int(before.ok("ana", "propose Adopt the visiting policy by 3d").split("#")[1][0])
    before.react("cy", "raised_hand", first, at=clock.advance(timedelta(hours=1)))
    changed = make_spec(emoji=build_emoji_map({Stance.OBJECT: ("-1",)}))
    after = Harness(db_url, [changed], clock=clock)
    # (A new core, as after a restart: its event ids are its own.)
    proposed = after.ok("ana", "propose Paint the wall by 3d", event_id="later-1")
    second = int(proposed.split("#")[1][0])
    after.react("cy", "-1", second, at=clock.advance(timedelta(hours=1)), event_id="later-2")
    hand = clock.advance(timedelta(hours=1))
    after.react("dee", "raised_hand", second, at=hand, event_id="later-3")  # no stance now
    found = circle_report(after.repo, changed, T0 - timedelta(days=1), clock.now()).to_json()
    assert found["sides"]["vera"]["objections"] == 2  # ✋ on the first, 👎 on the second
