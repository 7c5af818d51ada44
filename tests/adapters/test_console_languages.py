"""Whole decisions on the console in a Spanish circle, and in a mixed one: the real
runtime and core on SQLite, a clock the test moves (reminders and the deadline fall due
when it says)."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.console import ConsoleAdapter
from bot.domain.circle import CircleSpec, MemberSpec, Rules
from bot.domain.clock import ManualClock
from bot.domain.durations import parse_duration
from bot.domain.model import Role
from bot.handlers.core import Core
from bot.runtime.runner import Runtime
from storage import open_repository

T0 = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # a Monday


def circle(language: str, **own: tuple[str | None, str | None]) -> CircleSpec:
    """milpa (ana, ben) and vera (cy, dee) lead, eve is a voice; `own` gives a member
    their own (language, timezone)."""
    people = [("ana", "milpa", Role.LEADER), ("ben", "milpa", Role.LEADER)]
    people += [("cy", "vera", Role.LEADER), ("dee", "vera", Role.LEADER)]
    people += [("eve", "milpa", Role.MEMBER)]
    return CircleSpec(
        name="consejo",
        sides=("milpa", "vera"),
        members=tuple(
            MemberSpec(name, side, role, language=own.get(name, (None, None))[0],
                       timezone=own.get(name, (None, None))[1])
            for name, side, role in people
        ),
        timezone="America/Los_Angeles",
        admins=("ana",),
        rules=Rules(reminders=(parse_duration("1h"),)),
        language=language,
    )  # fmt: skip


class Console:
    def __init__(self, runtime: Runtime, adapter: ConsoleAdapter, clock: ManualClock) -> None:
        self.runtime, self.adapter, self.clock = runtime, adapter, clock
        self.out = adapter.stdout
        assert isinstance(self.out, io.StringIO)

    async def say(self, *lines: str) -> str:
        """Type the lines; what the console showed meanwhile."""
        start = len(self.out.getvalue())
        for line in lines:
            await self.adapter.handle_line(line)
            await self.runtime.flush()
        return self.out.getvalue()[start:]

    async def wait(self, span: timedelta) -> str:
        """Let time pass: what fell due happens."""
        start = len(self.out.getvalue())
        self.clock.advance(span)
        await self.runtime.tick()
        await self.runtime.flush()
        return self.out.getvalue()[start:]


@pytest.fixture
async def make_console(tmp_path: Path) -> AsyncIterator[object]:
    made: list[Runtime] = []

    async def build(spec: CircleSpec) -> Console:
        clock = ManualClock(T0)
        url = f"sqlite:///{tmp_path}/bot{len(made)}.db"
        core = Core(open_repository(url), [spec], clock, ["console"])
        adapter = ConsoleAdapter([spec], stdin=io.StringIO(""), stdout=io.StringIO())
        runtime = Runtime(core, [adapter])
        await runtime.start()
        made.append(runtime)
        return Console(runtime, adapter, clock)

    yield build
    for runtime in made:
        await runtime.stop()


async def whole_decision(console: Console) -> str:
    said = await console.say(
        "as ana: /propose Adoptar la política de visitas by 3h",
        "as ana: react 1 +1",
        "as cy: react 1 raised_hand",  # an objection: the prompt asks why
        "as eve: react 1 thinking_face",  # a voice
        "as dee: react 1 +1",
    )
    said += await console.wait(timedelta(hours=2, minutes=1))  # the 1h reminder (ben)
    said += await console.say("as cy: unreact 1 raised_hand", "as cy: react 1 +1")
    said += await console.wait(timedelta(hours=1))  # the deadline: ben never answered
    said += await console.say(
        "as ana: /status 1", "as ben: /help", "as ben: /decisions", "as ana: /proposals"
    )
    return said


async def test_the_harness_runs_a_whole_decision_in_english(make_console: object) -> None:
    console = await make_console(circle("en"))  # type: ignore[operator]
    said = await whole_decision(console)
    assert "Proposal #1" in said
    assert re.search(r"⏰ Proposal #1 closes .*@ben", said), said
    assert "closed without quorum" in said, said  # ben never answered


# Words of the English texts that have no business in a Spanish conversation (names,
# emoji, numbers, zone abbreviations and the proposal's own words are not in it).
ENGLISH = set(
    """the and proposal proposals answer answered answers by closes closed close passed
    blocked waiting consent consented concern concerns object objected objection stand
    aside stood round tally deadline decided decision decisions only sees open until your
    you is are was were with without of to who what help status quorum voices voice draft
    withdrawn reason why please co sponsor reminder everyone nobody side sides leaders leader
    member members circle type commands command react reactions on in at for not yet from
    this that Mon Tue Wed Thu Fri Sat Sun Jan Feb Apr Jun Jul Aug Sep Oct Nov Dec""".split()  # noqa: SIM905
)


def english_words(text: str) -> list[str]:
    text = re.sub(r"(?i)check-in", "", text)  # the same word in both (docs/glossary.md)
    return sorted({w for w in re.findall(r"[A-Za-zÁÉÍÓÚÑáéíóúñü]+", text) if w in ENGLISH})


async def test_a_whole_decision_in_a_spanish_circle_has_no_english(make_console: object) -> None:
    console = await make_console(circle("es"))  # type: ignore[operator]
    said = await console.say(
        "as ana: /proponer Adoptar la política de visitas hasta 3h",
        "as ana: react 1 +1",
        "as cy: react 1 raised_hand",
        "as eve: react 1 thinking_face",
        "as dee: react 1 +1",
    )
    said += await console.wait(timedelta(hours=2, minutes=1))
    said += await console.say("as cy: unreact 1 raised_hand", "as cy: react 1 +1")
    said += await console.wait(timedelta(hours=1))
    said += await console.say(
        "as ana: /estado 1", "as ben: /ayuda", "as ben: /decisiones", "as ana: /propuestas"
    )
    assert "Propuesta" in said and "¿" in said, said
    assert english_words(said) == [], said


async def test_a_spanish_speaker_in_an_english_circle(make_console: object) -> None:
    """ben reads Spanish in Madrid: his private replies and his reminder are Spanish, in
    his time zone; the circle's card and thread stay English, in the circle's."""
    console = await make_console(circle("en", ben=("es", "Europe/Madrid")))  # type: ignore[operator]
    said = await console.say(
        "as ana: /propose Adopt the visiting policy by 3h",
        "as ana: react 1 +1",
        "as cy: react 1 +1",
        "as dee: react 1 +1",
    )
    said += await console.wait(timedelta(hours=2, minutes=1))  # ben has not answered
    said += await console.say("as ben: /status 1", "as ben: /frobnicate")
    lines = said.splitlines()
    card = "\n".join(lines[lines.index("[consejo] ── Proposal #1 by ana · open ──") :][:8])
    assert "Round 1 · answer by Mon, Mar 2, 2026, 12:00\u202fPM PST" in card
    assert english_words(card.replace("Adopt the visiting policy", "")) != []  # English
    direct = next(line for line in lines if line.startswith("[direct to ben]"))
    assert direct.startswith(
        "[direct to ben] ⏰ La propuesta #1 cierra el lun, 2 de mar de 2026, 9:00\u202fp.m. CET"
    )
    assert "[consejo #1 thread] ⏰ Proposal #1 closes Mon, Mar 2, 2026, 12:00\u202fPM PST" in said
    # The console's own framing ("[only ben sees]") is in the console's language.
    private = said[said.index("[only ben sees]") :].replace("[only ben sees]", "")
    assert "Plazo: lun, 2 de mar de 2026, 9:00\u202fp.m. CET" in private
    assert english_words(private.replace("Adopt the visiting policy", "")) == [], private


async def test_one_deadline_read_in_two_zones_across_their_dst_changes(
    make_console: object,
) -> None:
    """ben types a date in Madrid's time; ana reads it in Los Angeles's. Between now
    (2 March) and the deadline (30 March) both zones move to summer time, on different
    days (8 March in the US, 29 March in Europe)."""
    console = await make_console(circle("en", ben=("es", "Europe/Madrid")))  # type: ignore[operator]
    said = await console.say("as ben: /proponer Otra cosa hasta 2026-03-30 17:00")
    assert (
        "[only ben sees] La propuesta #1 está abierta hasta el lun, 30 de mar de 2026, "
        "5:00\u202fp.m. CEST" in said
    )
    assert "answer by Mon, Mar 30, 2026, 8:00\u202fAM PDT" in said  # the circle's card: 15:00 UTC
    ana = await console.say("as ana: /status 1")
    ben = await console.say("as ben: /estado 1")
    assert "Deadline: Mon, Mar 30, 2026, 8:00\u202fAM PDT" in ana, ana
    assert "Plazo: lun, 30 de mar de 2026, 5:00\u202fp.m. CEST" in ben, ben
    # The same instant: 17:00 CEST is 15:00 UTC is 08:00 PDT.
    winter = await console.say("as ben: /proponer Antes del cambio hasta 2026-03-27 17:00")
    assert (
        "vie, 27 de mar de 2026, 5:00\u202fp.m. CET" in winter
    )  # Madrid still on winter time: 16:00 UTC
    assert "Fri, Mar 27, 2026, 9:00\u202fAM PDT" in winter
