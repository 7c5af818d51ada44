"""The console adapter: try the whole bot in a terminal, acting as any member.

    as ana: /propose Adopt the visiting policy by 3d
    as ben: react 1 +1
    as ben: unreact 1 +1
    as cy: /status 1
    as ana in council: /proposals      (when a person is in several circles)

In Spanish too: `como ana: /proponer …`, `reaccionar`, `quitar`, `responder`, `ayuda`,
`salir`. What the console itself says is in its circles' language (the first circle's);
what the core writes comes in its reader's language already.

Works with piped input too, and stops at the end of it."""

from __future__ import annotations

import asyncio
import itertools
import re
import sys
import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TextIO

from babel.numbers import format_decimal

from bot.config import Config, PlatformConfig
from bot.config.plugins import Platform
from bot.domain import identity
from bot.domain.api_calls import ApiCalls
from bot.domain.circle import CircleSpec
from bot.domain.diagnosis import Check, passed
from bot.domain.events import CommandEvent, ReactionEvent, ThreadReplyEvent
from bot.domain.i18n import DEFAULT_LANGUAGE, Lang, lang
from bot.ports.platform import CoreServices, EventSink, Message, PlatformTraits
from bot.text.messages import (
    Notice,
    ProposalCard,
    Reminder,
    Reply,
    role_label,
    status_label,
    tally_line,
)
from bot.text.render_text import card_text, message_text, reminder_direct_text

NAME = "console"
MAX_LINE = 20_000

# The console's own words, in English and Spanish: `as`/`como`, `in`/`en`, …
_LINE = re.compile(
    r"^(?:as|como)\s+(?P<who>[^\s:]+)(?:\s+(?:in|en)\s+(?P<circle>[^\s:]+))?\s*:\s*"
    r"(?P<rest>.*)$",
    re.S | re.I,
)
_ADD = ("react", "reaccionar")
_REMOVE = ("unreact", "quitar")
_REACT = re.compile(
    r"^(?P<verb>react|unreact|reaccionar|quitar)\s+#?(?P<id>\d{1,9})\s+(?P<emoji>\S+)\s*$", re.I
)
_REPLY = re.compile(r"^(?:reply|responder)\s+#?(?P<id>\d{1,9})\s+(?P<text>\S.*)$", re.I | re.S)
_HELP = ("help", "?", "ayuda")
_QUIT = ("quit", "exit", "salir")
# The console's own reference for a check-in's prompt (what `reply N` answers in).
_CHECKIN_REF = re.compile(r"^check-in (?P<id>\d+)$")


def usage(t: Lang) -> str:
    return t._(
        "circlebot console — act as any member of a circle:\n"
        "  as NAME: /propose TEXT [by WHEN]     any command, with or without the slash\n"
        "  as NAME: react ID EMOJI              e.g. react 1 +1, react 1 👍, react 1 raised_hand\n"
        "  as NAME: unreact ID EMOJI\n"
        "  as NAME: reply N TEXT                reply to check-in N\n"
        "  as NAME in CIRCLE: ...               when NAME is in several circles\n"
        "  help                                 this text;  quit (or end of input) to stop\n"
    )


def build_adapter(config: Config, env: Mapping[str, str]) -> ConsoleAdapter:
    """The console for the config's circles (it needs no secrets)."""
    return ConsoleAdapter(config.circles)


class ConsoleAdapter:
    platform = NAME
    edit_interval = 0.0
    redelivers = False
    private_replies = False  # one screen: every answer is printed for all

    def __init__(
        self,
        circles: Sequence[CircleSpec],
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        self.circles = list(circles)
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self._sink: EventSink | None = None
        # Event ids are unique forever (the database applies each once, across runs):
        # a per-run prefix keeps the second session's line 1 apart from the first's.
        self._run_id = uuid.uuid4().hex[:12]
        self._ids = itertools.count(1)
        self._stopped = asyncio.Event()
        self._api_calls = ApiCalls()
        # The console's own words: in its circles' language (the first circle's).
        self.t = lang(self.circles[0].language if self.circles else DEFAULT_LANGUAGE)

    # -- input -------------------------------------------------------------------

    async def start(self, sink: EventSink, services: CoreServices) -> None:
        self._sink = sink  # the console asks the core nothing: `services` is not needed
        if self.stdin.isatty():
            self.say(usage(self.t) + self._people())

    async def run(self) -> None:
        # Lines are read on a daemon thread: a stop (SIGTERM) must not wait for the next
        # line a person types.
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str] = asyncio.Queue()

        def read() -> None:
            try:
                for line in iter(self.stdin.readline, ""):
                    loop.call_soon_threadsafe(lines.put_nowait, line)
                loop.call_soon_threadsafe(lines.put_nowait, "")  # end of input
            except RuntimeError:
                return  # the bot stopped (its loop is closed): nobody is reading

        threading.Thread(target=read, name="console-input", daemon=True).start()
        while not self._stopped.is_set():
            line = await lines.get()
            if not line:
                return  # end of input
            if not await self.handle_line(line):
                return

    async def handle_line(self, line: str) -> bool:
        """Act on one typed line. False when the person asked to quit."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        t = self.t
        if line.lower() in _QUIT:
            return False
        if line.lower() in _HELP:
            self.say(usage(t) + self._people())
            return True
        if len(line) > MAX_LINE:
            self.say(
                t._(
                    "! That line is {length} characters; the limit is {limit}.",
                    length=format_decimal(len(line), locale=t.locale),
                    limit=format_decimal(MAX_LINE, locale=t.locale),
                )
            )
            return True
        match = _LINE.match(line)
        if not match:
            self.say(
                t._(
                    '! Start with who you are, e.g. "as ana: /propose Adopt the policy by 3d". '
                    'Type "help".'
                )
            )
            return True
        circle = self._circle_of(match["who"], match["circle"])
        if circle is None:
            return True
        rest = match["rest"].strip()
        event_id = f"c{self._run_id}-{next(self._ids)}"
        react = _REACT.match(rest)
        reply = _REPLY.match(rest)
        assert self._sink is not None, "start() first"
        if reply:
            # What everyone in the channel would see in the thread.
            where = t._(
                "{channel} check-in {number} thread", channel=circle.name, number=int(reply["id"])
            )
            self.say(f"[{where}] {match['who']}: {reply['text']}")
            await self._sink(
                ThreadReplyEvent(
                    NAME,
                    event_id,
                    circle.name,
                    match["who"],
                    thread_ref=_checkin_ref(int(reply["id"])),
                )
            )
        elif react:
            await self._sink(
                ReactionEvent(
                    platform=NAME,
                    event_id=event_id,
                    channel=circle.name,
                    user=match["who"],
                    emoji=react["emoji"],
                    added=react["verb"].lower() in _ADD,
                    message_ref=react["id"].lstrip("0") or "0",
                )
            )
        elif rest.split(maxsplit=1)[:1] and rest.split()[0].lower() in _ADD + _REMOVE:
            self.say(t._("! Use: react ID EMOJI, e.g. react 1 +1"))
        else:
            await self._sink(
                CommandEvent(NAME, event_id, circle.name, match["who"], rest.lstrip("/!"))
            )
        return True

    def _circle_of(self, who: str, wanted: str | None) -> CircleSpec | None:
        if wanted is not None:
            found = next((c for c in self.circles if c.name == wanted), None)
            if found is None:
                names = ", ".join(c.name for c in self.circles)
                self.say(
                    self.t._(
                        '! There is no circle "{name}"; circles: {names}.', name=wanted, names=names
                    )
                )
            return found
        mine = [c for c in self.circles if identity.same_name(c.members, who) is not None]
        if len(mine) > 1:
            names = ", ".join(c.name for c in mine)
            self.say(
                self.t._(
                    '! {who} is in several circles ({names}); say "as {who} in NAME: ...".',
                    who=who,
                    names=names,
                )
            )
            return None
        # Someone not in any circle still reaches the first one (and is told they are not
        # a member when it matters).
        return mine[0] if mine else self.circles[0]

    def _people(self) -> str:
        lines = []
        for circle in self.circles:
            people = ", ".join(
                f"{m.name} ({m.side}, {role_label(m.role, self.t)})" for m in circle.members
            )
            lines.append(self.t._("circle {name}: {people}", name=circle.name, people=people))
        return "\n".join(lines) + "\n"

    # -- output ------------------------------------------------------------------

    def say(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)

    async def stop(self) -> None:
        self._stopped.set()

    def readiness(self) -> str | None:
        return None  # the terminal is always there

    def api_calls(self) -> ApiCalls:
        return self._api_calls  # no platform API: always empty

    async def set_leading(self, leading: bool) -> None:
        return None  # one terminal, one process

    async def diagnose(self, services: CoreServices) -> list[Check]:
        return [passed("console: nothing to connect to (no [slack] or [matrix] in the config)")]

    async def post_card(
        self, channel: str, card: ProposalCard, key: str, since: datetime | None = None
    ) -> str:
        self.say(f"\n[{channel}] {card_text(card)}\n")
        return str(card.proposal_id)

    async def update_card(
        self, channel: str, message_ref: str, card: ProposalCard, key: str, version: int
    ) -> None:
        text = self.t._(
            "card #{number} ({status}): {tally}",
            number=card.proposal_id,
            status=status_label(card.status, self.t),
            tally=tally_line(card.sides),
        )
        self.say(f"[{channel}] {text}")

    async def post(
        self,
        channel: str,
        message: Message,
        thread_ref: str | None,
        key: str,
        since: datetime | None = None,
    ) -> str | None:
        t = self.t
        where = (
            t._("{channel} #{ref} thread", channel=channel, ref=thread_ref)
            if thread_ref
            else channel
        )
        if thread_ref and (prompt := _CHECKIN_REF.match(thread_ref)):
            where = t._(
                "{channel} check-in {number} thread", channel=channel, number=int(prompt["id"])
            )
        if isinstance(message, Reminder):
            for person in message.waiting:
                direct = reminder_direct_text(message, person)
                self.say(t._("[direct to {name}] {text}", name=person.member, text=direct))
        text = message_text(message)
        ref = key  # unique and stable: replies to it find their way back
        if isinstance(message, Notice) and message.checkin is not None:
            number = message.checkin
            text += "\n" + t._(
                '(check-in {number}: answer with "as NAME: reply {number} TEXT")', number=number
            )
            ref = _checkin_ref(number)
        self.say(f"[{where}] {text}")
        return ref

    async def reply_private(self, channel: str, user: str, reply: Reply) -> None:
        marker = "" if reply.ok else "! "
        self.say(self.t._("[only {name} sees] {text}", name=user, text=marker + reply.text))

    async def read_reactions(
        self, channel: str, message_ref: str
    ) -> list[tuple[str, str, datetime | None]] | None:
        return None  # the console keeps no reactions of its own: nothing to read back


def _checkin_ref(checkin_id: int) -> str:
    return f"check-in {checkin_id}"


# The console reads no section and no keys: its circles and people are their names.
TRAITS = PlatformTraits(NAME, by_name=True, title="console")
PLATFORM = Platform(PlatformConfig(), TRAITS, build_adapter)
