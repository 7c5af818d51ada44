"""A partnership's decision log made through the real core, for the export tests: circle
`council`, sides milpa and vera, two leaders each and a voice; a check-in every Monday.

    1  passed early, with a concern and a stand-aside, review in 6 months, and an outcome
       statement written twice
    2  hostile texts (proposal, statement, a voice's name); an objection; closed early
       with `close` by its author: blocked
    3  ana away with ben as her proxy: ben's consent counts for her too; passes early
    4  withdrawn
    5  amended, then no quorum at its deadline
    6  still open (not a decision; on the calendar)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.domain.circle import CheckinSpec, CircleSpec, MemberSpec, Rules
from bot.domain.clock import ManualClock
from bot.domain.durations import parse_duration
from bot.domain.events import CommandEvent, ReactionEvent
from bot.domain.model import Role
from bot.handlers.core import Core
from storage import open_repository
from storage.repository import Repository

T0 = datetime(2026, 1, 5, 17, 0, tzinfo=UTC)  # Mon, Jan 5, 2026, 9:00 AM in Los Angeles
# Each would mark the page (`data-pwned` on the body) if a browser ran it.
HOSTILE_TEXT = (
    "<script>document.body.setAttribute('data-pwned','1')</script> \"onerror=alert(2) "
    "Paint the <b>office</b> & hall"
)
HOSTILE_STATEMENT = (
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','2')\"> We talk again in February"
)
HOSTILE_NAME = '<i>mo</i>"onerror=alert(4)'
SPANISH_TEXT = "Alquilar el salón los sábados para los talleres"
STATEMENTS = (
    "Visits start on 2 February.",
    "Visits start on 2 February; ana and cy write the rota by the 20th.",
)


def spec(name: str = "council") -> CircleSpec:
    return CircleSpec(
        name=name,
        sides=("milpa", "vera"),
        members=(
            MemberSpec("ana", "milpa"),
            MemberSpec("ben", "milpa"),
            MemberSpec(HOSTILE_NAME, "milpa", Role.MEMBER),
            MemberSpec("cy", "vera"),
            MemberSpec("dee", "vera"),
        ),
        timezone="America/Los_Angeles",
        admins=("ana",),
        rules=Rules(allow_proxy=True),
        checkins=CheckinSpec(
            schedule="0 18 * * MON",
            questions=("How is the partnership going?", "What do you need from the other side?"),
            open_for=parse_duration("1d"),
        ),
    )


@dataclass
class Log:
    repo: Repository
    core: Core
    clock: ManualClock
    specs: list[CircleSpec]
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def at(self, **span: float) -> datetime:
        moment = self.clock.now() + timedelta(**span)
        self.clock.set(moment)
        self.core.advance()
        return moment

    def ok(self, user: str, text: str) -> str:
        [reply] = self.core.handle(
            CommandEvent("test", f"c{next(self.ids)}", "council", user, text, self.clock.now())
        )
        assert reply.ok, reply.text
        return reply.text

    def propose(self, user: str, text: str) -> int:
        reply = self.ok(user, f"propose {text}")
        return int(reply.split("#")[1].split()[0])

    def react(self, user: str, emoji: str, pid: int) -> None:
        self.core.handle(
            ReactionEvent(
                "test",
                f"r{next(self.ids)}",
                "council",
                user,
                emoji,
                True,
                proposal_id=pid,
                at=self.clock.now(),
            )
        )


def build(path: Path, start: datetime = T0) -> Log:
    """The log described above, on a fresh SQLite database at `path`."""
    repo = open_repository(f"sqlite:///{path}")
    clock = ManualClock(start)
    specs = [spec()]
    core = Core(repo, specs, clock)
    core.start()
    log = Log(repo, core, clock, specs)

    one = log.propose("ana", "Adopt the shared visiting policy, in English and Spanish review 6mo")
    log.at(minutes=30)
    log.react("ben", "+1", one)
    log.react("ana", "thinking_face", one)
    log.react(HOSTILE_NAME, "raised_hand", one)  # a voice: shown, not counted
    log.at(hours=2)
    log.react("cy", "+1", one)
    log.react("dee", "neutral_face", one)  # everyone answered: passes
    log.at(minutes=10)
    for text in STATEMENTS:
        log.ok("ana", f"outcome {one} {text}")
        log.at(minutes=5)

    two = log.propose("cy", HOSTILE_TEXT)
    log.at(minutes=20)
    log.react("dee", "raised_hand", two)
    log.react("ana", "+1", two)
    log.at(hours=1)
    log.ok("cy", f"close {two}")
    log.ok("cy", f"outcome {two} {HOSTILE_STATEMENT}")

    log.at(hours=1)
    log.ok("ana", "away 5d proxy ben")
    three = log.propose("ben", SPANISH_TEXT)
    log.at(minutes=15)
    log.react("cy", "+1", three)
    log.react("dee", "white_check_mark", three)
    log.at(minutes=15)
    log.react("ben", "+1", three)  # counts for ana too: passes

    log.at(hours=1)
    four = log.propose("ana", "Buy a van")
    log.at(minutes=10)
    log.ok("ana", f"withdraw {four}")

    five = log.propose("dee", "Meet on Saturdays by 2d")
    log.at(minutes=10)
    log.ok("dee", f"amend {five} Meet on Saturday mornings")
    log.react("cy", "+1", five)

    six = log.propose("cy", "Open a second office in the valley by 30d")
    log.at(minutes=5)
    log.react("dee", "+1", six)
    log.at(days=3)  # five reaches its deadline
    assert (one, two, three, four, five, six) == (1, 2, 3, 4, 5, 6)
    return log


def build_example(path: Path) -> Log:
    """A plainer log for the README's pictures (docs/decision-log.png, and the report at
    the top of the page: docs/circle-report.png): no hostile texts.

    python -m tests.cli.export_scenario /tmp/example.db > page.html
    chromium --headless --hide-scrollbars --window-size=1280,1500 \\
        --screenshot=docs/decision-log.png page.html
    chromium --headless --hide-scrollbars --window-size=1000,745 \\
        --screenshot=docs/circle-report.png page.html
    """
    repo = open_repository(f"sqlite:///{path}")
    clock = ManualClock(T0)
    plain = tuple(m for m in spec().members if m.name != HOSTILE_NAME)
    council = replace(spec(), members=(*plain, MemberSpec("marisol", "milpa", Role.MEMBER)))
    core = Core(repo, [council], clock)
    core.start()
    log = Log(repo, core, clock, [council])

    one = log.propose("ana", "Adopt the shared visiting policy, in English and Spanish review 6mo")
    log.at(minutes=40)
    log.react("ben", "+1", one)
    log.react("ana", "thinking_face", one)
    log.react("marisol", "+1", one)
    log.at(hours=2)
    log.react("cy", "+1", one)
    log.react("dee", "neutral_face", one)
    log.at(minutes=30)
    log.ok("ana", f"outcome {one} Visits start on 2 February; ana and cy write the rota.")

    log.at(hours=1)
    log.ok("ana", "away 5d proxy ben")
    two = log.propose("ben", SPANISH_TEXT)
    log.at(minutes=20)
    log.react("cy", "+1", two)
    log.react("dee", "white_check_mark", two)
    log.at(minutes=20)
    log.react("ben", "+1", two)

    log.at(hours=1)
    three = log.propose("cy", "Move the monthly assembly to Thursdays")
    log.at(minutes=30)
    log.react("dee", "raised_hand", three)
    log.react("ben", "+1", three)
    log.at(hours=1)
    log.ok("cy", f"close {three}")
    log.ok("cy", f"outcome {three} We keep Tuesdays; dee and ben look for a bigger room.")
    return log


if __name__ == "__main__":
    import sys

    from bot.queries.export import export_decisions

    example = build_example(Path(sys.argv[1]))
    # The report's period ends when the example does, so its charts show it.
    now = example.clock.now()
    sys.stdout.write(export_decisions(example.repo, example.specs, "html", now=now))
