"""The commands people type (`/propose …` on Slack, `!propose …` on Matrix), parsed into
plain values. Pure: no I/O and no clock. WHENs are checked for shape and validity but
returned as text; the core resolves them against its clock and the circle's time zone."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

from bot.durations import (
    DURATION_SHAPE,
    MAX_YEARS,
    DurationError,
    OutOfRange,
    looks_like_when,
    parse_duration,
)
from bot.model import Role, Stance
from bot.text_safety import clean_text

MAX_TEXT = 3000  # characters in a proposal's text
MAX_LINE = 10_000  # characters in a whole command, checked before anything else
MAX_DECISIONS = 100
_MAX_ID_DIGITS = 9
# The forms `bot.durations.parse_when` accepts; a date-and-time WHEN that passes here is
# always understood there.
_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


class CommandError(ValueError):
    """A command typed wrongly. The message is short, says what is wrong and how to write
    it, and is meant to be shown to the person alone."""


# --- the commands -------------------------------------------------------------------


@dataclass(frozen=True)
class Propose:
    text: str
    by: str | None = None  # raw WHEN for the deadline
    review: str | None = None  # raw WHEN for the review date
    unread: str | None = None  # a trailing `by friday` kept as text (see unread_clause)


@dataclass(frozen=True)
class Amend:
    proposal_id: int
    text: str
    by: str | None = None  # raw WHEN; None keeps the current deadline
    unread: str | None = None  # a trailing `by friday` kept as text (see unread_clause)


@dataclass(frozen=True)
class Withdraw:
    proposal_id: int


@dataclass(frozen=True)
class Cosponsor:
    proposal_id: int


@dataclass(frozen=True)
class Proposals:
    pass


@dataclass(frozen=True)
class Status:
    proposal_id: int


@dataclass(frozen=True)
class Decisions:
    count: int = 10


@dataclass(frozen=True)
class Checkin:
    pass


@dataclass(frozen=True)
class Away:
    until: str  # raw WHEN


@dataclass(frozen=True)
class Back:
    pass


@dataclass(frozen=True)
class CircleShow:
    pass


@dataclass(frozen=True)
class CircleAdd:
    user: str  # a name, a Slack user id (from a mention) or a Matrix id
    side: str
    role: Role = Role.LEADER


@dataclass(frozen=True)
class CircleRemove:
    user: str


@dataclass(frozen=True)
class Help:
    topic: str | None = None  # a canonical command name, or None for everything


@dataclass(frozen=True)
class SetStance:
    """`consent ID`, `concern ID`, `stand_aside ID`, `object ID`: the same as reacting."""

    proposal_id: int
    stance: Stance


Command: TypeAlias = (
    Propose
    | Amend
    | Withdraw
    | Cosponsor
    | Proposals
    | Status
    | Decisions
    | Checkin
    | Away
    | Back
    | CircleShow
    | CircleAdd
    | CircleRemove
    | Help
    | SetStance
)


# --- help ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    usage: str
    who: str
    what: str


_ENTRIES: dict[str, _Entry] = {
    "propose": _Entry(
        "propose TEXT [by WHEN] [review WHEN]",
        "leaders",
        "open a proposal; `by` sets the deadline, `review` when to revisit it",
    ),
    "amend": _Entry(
        "amend ID TEXT [by WHEN]",
        "author, admins",
        "change the text; starts a new round and asks everyone again",
    ),
    "withdraw": _Entry("withdraw ID", "author, admins", "withdraw an open proposal"),
    "cosponsor": _Entry(
        "cosponsor ID", "leaders of another side", "co-sponsor a draft so voting opens"
    ),
    "consent": _Entry("consent ID", "leaders", "consent (same as reacting 👍 or ✅)"),
    "concern": _Entry("concern ID", "leaders", "consent with a concern (same as reacting 🤔)"),
    "stand_aside": _Entry("stand_aside ID", "leaders", "stand aside (same as reacting 😐)"),
    "object": _Entry("object ID", "leaders", "object; this blocks (same as reacting ✋ or 🛑)"),
    "proposals": _Entry("proposals", "anyone", "open proposals with their per-side tallies"),
    "status": _Entry("status ID", "anyone", "stances per side, round and deadline of one proposal"),
    "decisions": _Entry(
        "decisions [N]",
        "anyone",
        f"the last N closed proposals and their outcomes (default 10, at most {MAX_DECISIONS})",
    ),
    "checkin": _Entry("checkin", "admins, facilitator", "start a check-in now"),
    "away": _Entry("away UNTIL", "members", "skip me for facilitation and reminders until then"),
    "back": _Entry("back", "members", "include me again after away"),
    "circle": _Entry(
        "circle [add USER SIDE [leader|member] | remove USER]",
        "anyone; add and remove: admins",
        "show or change the circle",
    ),
    "help": _Entry("help [COMMAND]", "anyone", "this help, or help on one command"),
}

COMMAND_NAMES: tuple[str, ...] = tuple(_ENTRIES)

_ALIASES: dict[str, str] = {name: name for name in COMMAND_NAMES} | {
    "stand-aside": "stand_aside",
    "standaside": "stand_aside",
    "co-sponsor": "cosponsor",
    "check-in": "checkin",
}

_LEGEND = (
    "Reactions on a proposal (defaults): 👍/✅ consent · 🤔 concern (consent with a concern)"
    " · 😐 stand aside · ✋/🛑 object · 🤝 co-sponsor"
)
_WHEN_HELP = (
    "WHEN: a duration (90s, 2m, 72h, 3d, 1w, 6mo) or a date and time in the circle's"
    f" time zone (2026-12-01 17:00), at most {MAX_YEARS} years ahead."
)
_NOTATION = (
    _WHEN_HELP + " ID: a proposal number, 7 or #7."
    " USER: a name, a mention or a Matrix id (@ana:example.org)."
)


_CIRCLE_ADD = "circle add USER SIDE [leader|member]"
_CIRCLE_REMOVE = "circle remove USER"
_CIRCLE_LINES = (
    "• `circle` — anyone: sides, members, roles, next facilitator, schedule",
    f"• `{_CIRCLE_ADD}` — admins: add a member or change their side or role",
    f"• `{_CIRCLE_REMOVE}` — admins: remove a member",
)


def _line(name: str) -> str:
    if name == "circle":
        return "\n".join(_CIRCLE_LINES)
    entry = _ENTRIES[name]
    return f"• `{entry.usage}` — {entry.who}: {entry.what}"


HELP_TEXT: str = "\n".join(
    [
        "What I understand (type /COMMAND on Slack, !COMMAND on Matrix):",
        "Proposals",
        *(_line(n) for n in ("propose", "amend", "withdraw", "cosponsor")),
        "• `consent ID` · `concern ID` · `stand_aside ID` · `object ID` — leaders:"
        " answer a proposal, exactly like reacting",
        *(_line(n) for n in ("proposals", "status", "decisions")),
        "Circle",
        *(_line(n) for n in ("checkin", "away", "back", "circle", "help")),
        _LEGEND,
        _NOTATION,
    ]
)


def usage(name: str) -> str:
    """The syntax of one command (canonical name or alias), e.g. `amend ID TEXT [by WHEN]`."""
    return _ENTRIES[_ALIASES[name]].usage


def help_text(topic: str | None = None) -> str:
    """HELP_TEXT, or the help on one command (canonical name or alias)."""
    if topic is None:
        return HELP_TEXT
    name = _ALIASES[topic]
    extra = ""
    if name in ("propose", "amend", "away"):
        extra = "\n" + _WHEN_HELP
    elif name in ("consent", "concern", "stand_aside", "object"):
        extra = "\n" + _LEGEND
    return _line(name).removeprefix("• ") + extra


# --- parsing ------------------------------------------------------------------------

_HEAD = re.compile(r"(\S+)(?:\s+(.*))?\Z", re.DOTALL)
_TOKEN = re.compile(r"\S+")
_ARG = re.compile(r"<[^<>]*>|\S+")  # a Slack mention may hold spaces: <@U1|Ana Li>
_ID = re.compile(r"#?([0-9]+)")
_SLACK_MENTION = re.compile(r"<@([A-Za-z0-9]+)(?:\|[^>]*)?>")
_MATRIX_ID = re.compile(r"@[^\s:@]+:[^\s]+")
_NAME = re.compile(r"[\w.'-]+")


def parse_command(text: str) -> Command:
    """Parse what a person typed, with or without one leading `/` or `!`.

    Raises CommandError, with a message for the person, when it cannot be understood."""
    if len(text) > MAX_LINE:
        raise CommandError(
            f"that command is too long ({len(text)} characters); the limit is {MAX_LINE} characters"
        )
    line = text.replace("\r\n", "\n").replace("\r", "\n")
    _check_characters(line)
    # Control characters are refused above, with a reply; what is left that hides or
    # disguises text (zero-width, bidi overrides) goes, so that every argument, text and
    # name alike, is what it looks like. Also NFC: one spelling per name.
    line = clean_text(line).strip()
    if line[:1] in ("/", "!"):
        line = line[1:].lstrip()
    match = _HEAD.match(line)
    if match is None:
        raise CommandError('no command given. Try "help" to see what I understand.')
    word, rest = match.group(1).lower(), match.group(2) or ""
    if word == "stand":  # `stand aside 7`
        more = _HEAD.match(rest)
        if more is not None and more.group(1).lower() == "aside":
            word, rest = "stand_aside", more.group(2) or ""
    name = _ALIASES.get(word)
    if name is None:
        raise CommandError(_unknown("command", word, list(_ALIASES)) + ' Try "help".')
    return _PARSERS[name](rest)


def _check_characters(text: str) -> None:
    for char in text:
        if char in "\n\t":
            continue
        category = unicodedata.category(char)
        if category == "Cc":
            raise CommandError(
                f"the text contains a control character (U+{ord(char):04X}); please remove it"
            )
        if category == "Cs":
            raise CommandError(
                f"the text contains an invalid character (U+{ord(char):04X}); please remove it"
            )


def _quote(text: str, limit: int = 40) -> str:
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return f'"{shown}"'


def _unknown(kind: str, word: str, choices: list[str]) -> str:
    message = f"unknown {kind} {_quote(word)}"
    close = difflib.get_close_matches(word[:40], choices, n=1, cutoff=0.6)
    if close:
        return f"{message}; did you mean {_quote(_ALIASES.get(close[0], close[0]))}?"
    return message + "."


def _fail(name: str, problem: str) -> CommandError:
    return CommandError(f"{problem}: {usage(name)}")


def _parse_id(token: str, name: str) -> int:
    match = _ID.fullmatch(token)
    if match is None:
        raise _fail(name, f"{_quote(token)} is not a proposal id; use a number like 7 or #7")
    digits = match.group(1)
    if len(digits) > _MAX_ID_DIGITS or int(digits) == 0:
        raise _fail(name, f"there is no proposal {_quote(token)}")
    return int(digits)


def _only_id(name: str, rest: str) -> int:
    tokens = rest.split()
    if not tokens:
        raise _fail(name, f"{name} needs a proposal id")
    if len(tokens) > 1:
        hint = ""
        if name in ("consent", "concern", "stand_aside", "object"):
            hint = " (to explain, reply in the proposal's thread)"
        raise _fail(name, f"{name} takes only a proposal id{hint}")
    return _parse_id(tokens[0], name)


def _no_arguments(name: str, rest: str) -> None:
    if rest.strip():
        raise _fail(name, f"{name} takes no arguments")


def _check_text(text: str, name: str, what: str) -> str:
    text = text.strip()
    if not text:
        raise _fail(name, f"{name} needs {what}")
    if len(text) > MAX_TEXT:
        raise CommandError(f"the text is too long: {len(text)} characters; the limit is {MAX_TEXT}")
    return text


# What each keyword's WHEN sets, for the reply when its value cannot be right.
_WHEN_WHAT = {"by": "a deadline", "review": "a review date", "away": "the end of your time away"}
_WHEN_FORMS = "write a duration such as 3d, 72h or 6mo, or a date and time such as 2026-12-01 17:00"


def _check_when(when: str, keyword: str, name: str) -> str:
    """Validate a WHEN that has the right shape; return it in a form parse_when accepts.

    A WHEN in the bot's own forms whose value is impossible (`-1d`, `99999999d`, `0d`,
    `2026-02-30`) is refused, not kept as text: it was surely meant as the time, and a
    proposal opened with another deadline than the one meant costs everyone a round."""
    shown = when if len(when) <= 40 else when[:39] + "…"
    if DURATION_SHAPE.match(when):
        try:
            parse_duration(when)
        except OutOfRange:
            problem = (
                f"{_WHEN_WHAT[keyword]} must be in the future and within {MAX_YEARS} years; "
                + _WHEN_FORMS
            )
        except DurationError as exc:
            problem = str(exc)
        else:
            return when
        raise CommandError(f'"{keyword} {shown}": {problem}. Usage: {usage(name)}')
    normal = when.replace("T", " ")
    for fmt in _DATE_FORMATS:
        try:
            datetime.strptime(normal, fmt)
        except ValueError:
            continue
        return normal
    raise CommandError(
        f'"{keyword} {shown}": {shown} is not a real date and time; write it like '
        f"2026-12-01 17:00. Usage: {usage(name)}"
    )


def _split_clauses(rest: str, keywords: tuple[str, ...], name: str) -> tuple[str, dict[str, str]]:
    """Take `KEYWORD WHEN` clauses off the end of `rest`, in any order, each at most once.

    A keyword counts only when what follows it has the shape of a WHEN (one token like
    `3d`, or two like `2026-12-01 17:00`); otherwise it is part of the text."""
    tokens = list(_TOKEN.finditer(rest))
    found: dict[str, str] = {}
    end = len(tokens)
    progress = True
    while progress:
        progress = False
        for size in (2, 1):
            start = end - size - 1
            if start < 0:
                continue
            keyword = tokens[start].group().lower()
            if keyword not in keywords or keyword in found:
                continue
            when = " ".join(t.group() for t in tokens[start + 1 : end])
            if not looks_like_when(when):
                continue
            found[keyword] = _check_when(when, keyword, name)
            end = start
            progress = True
            break
    body = rest if end == len(tokens) else rest[: tokens[end].start()]
    return body, found


# Words people use for a time that a WHEN does not understand (a WHEN is `3d` or a date).
_TIMEISH = re.compile(
    r"(today|tonight|tomorrow|yesterday|noon|midnight|eod|eow|cob|weekend|"
    r"(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(day)?|wednesday|saturday|"
    r"jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|"
    r"sep(t|tember)?|oct(ober)?|nov(ember)?|dec(ember)?|"
    r"\d{1,2}(:\d{2})?(am|pm)|am|pm|\d{1,2}:\d{2}|\d{1,2}[/.]\d{1,2}([/.]\d{2,4})?|"
    r"\d{1,2}(st|nd|rd|th)|(\d+)?(days?|weeks?|months?|years?|hours?|minutes?|mins?|hrs?)|"
    # Numbers in units or forms a WHEN does not take: 100y, 1.5d, 1h30m, 2026-12-01 5pm.
    r"[+-]?\d+([.,]\d+)?(s|secs?|m|h|d|w|wks?|mo|mos|y|yrs?)|y|yrs?|"
    r"(\d+(mo|s|m|h|d|w)){2,}|\d{4,}-\d+-\d+)",
    re.IGNORECASE,
)


def unread_clause(body: str, keywords: tuple[str, ...]) -> str | None:
    """`by friday` at the end of the text: meant as a WHEN, surely, but not one we can
    read. It stays in the text; the reply says so, so nobody is surprised by the
    deadline actually set."""
    words = body.split()
    for size in (1, 2, 3, 4):
        if len(words) <= size:
            break
        keyword, tail = words[-size - 1].lower(), words[-size:]
        timeish = [w for w in tail if _TIMEISH.fullmatch(w)]
        filler = all(w in timeish or w.lower() in _FILLER or _NUMBER.fullmatch(w) for w in tail)
        if keyword in keywords and timeish and filler:
            return f"{keyword} {' '.join(tail)}"
    return None


def unread_hint(unread: str | None) -> str:
    """What to add to the reply when a `by friday` was kept as part of the text."""
    if unread is None:
        return ""
    keyword = unread.split()[0].lower()
    what = "review date" if keyword == "review" else "deadline"
    return (
        f' I kept "{unread}" as part of the text. To set the {what}, write `{keyword}` and '
        "a duration (3d, 72h) or a date and time (2026-12-01 17:00)."
    )


# Words that may stand around the time: `by the end of may`, `by next week`, `in 2 weeks`.
_FILLER = {"next", "this", "end", "of", "the", "at", "on", "in", "a", "an"}
_NUMBER = re.compile(r"[+-]?\d+([.,]\d+)?")


def _parse_user(token: str, name: str) -> str:
    slack = _SLACK_MENTION.fullmatch(token)
    if slack is not None:
        return slack.group(1)
    if _MATRIX_ID.fullmatch(token):
        return token
    plain = token[1:] if token.startswith("@") else token
    if _NAME.fullmatch(plain):
        return plain
    raise _fail(
        name,
        f"{_quote(token)} is not a person; use a name, a mention or a Matrix id (@ana:example.org)",
    )


def _propose(rest: str) -> Propose:
    body, found = _split_clauses(rest, ("by", "review"), "propose")
    text = _check_text(body, "propose", "the text of the proposal")
    unread = unread_clause(text, tuple(k for k in ("by", "review") if k not in found))
    return Propose(text=text, by=found.get("by"), review=found.get("review"), unread=unread)


def _amend(rest: str) -> Amend:
    match = _HEAD.match(rest)
    if match is None:
        raise _fail("amend", "amend needs a proposal id and the new text")
    proposal_id = _parse_id(match.group(1), "amend")
    body, found = _split_clauses(match.group(2) or "", ("by",), "amend")
    text = _check_text(body, "amend", "the new text after the proposal id")
    unread = None if "by" in found else unread_clause(text, ("by",))
    return Amend(proposal_id=proposal_id, text=text, by=found.get("by"), unread=unread)


def _away(rest: str) -> Away:
    when = " ".join(rest.split())
    if not when:
        raise _fail("away", "away needs the time you are back, e.g. away 1w")
    if not looks_like_when(when):
        raise _fail(
            "away",
            f"{_quote(when)} is not a time; use a duration (3d, 1w) "
            "or a date and time like 2026-12-01 17:00",
        )
    return Away(until=_check_when(when, "away", "away"))


def _decisions(rest: str) -> Decisions:
    tokens = rest.split()
    if not tokens:
        return Decisions()
    if len(tokens) > 1:
        raise _fail("decisions", "decisions takes at most one number")
    if not re.fullmatch(r"[0-9]+", tokens[0]):
        raise _fail("decisions", f"{_quote(tokens[0])} is not a number")
    count = int(tokens[0]) if len(tokens[0]) <= 6 else MAX_DECISIONS + 1
    if not 1 <= count <= MAX_DECISIONS:
        raise _fail("decisions", f"the number must be between 1 and {MAX_DECISIONS}")
    return Decisions(count=count)


def _circle(rest: str) -> CircleShow | CircleAdd | CircleRemove:
    tokens = _ARG.findall(rest)
    if not tokens:
        return CircleShow()
    sub, args = tokens[0].lower(), tokens[1:]
    if sub in ("show", "list") and not args:
        return CircleShow()
    if sub == "add":
        if len(args) not in (2, 3):
            raise CommandError(f"circle add needs a person and a side: {_CIRCLE_ADD}")
        role = Role.LEADER
        if len(args) == 3:
            try:
                role = Role(args[2].lower())
            except ValueError:
                raise CommandError(
                    f"the role must be leader or member, not {_quote(args[2])}: {_CIRCLE_ADD}"
                ) from None
        user = _parse_user(args[0], "circle")
        if not _NAME.fullmatch(args[1]):
            raise CommandError(f"{_quote(args[1])} is not a side name: {_CIRCLE_ADD}")
        return CircleAdd(user=user, side=args[1], role=role)
    if sub == "remove":
        if len(args) != 1:
            raise CommandError(f"circle remove needs one person: {_CIRCLE_REMOVE}")
        return CircleRemove(user=_parse_user(args[0], "circle"))
    if sub in ("show", "list"):
        raise _fail("circle", "circle takes no arguments after show")
    raise CommandError(
        _unknown("circle command", tokens[0][:40].lower(), ["add", "remove"])
        + f" Use: {usage('circle')}"
    )


def _help(rest: str) -> Help:
    tokens = rest.split()
    if not tokens:
        return Help()
    word = tokens[0].lower()
    if word[:1] in ("/", "!"):
        word = word[1:]
    if word == "stand" and len(tokens) > 1 and tokens[1].lower() == "aside":
        word = "stand_aside"
    topic = _ALIASES.get(word)
    if topic is None:
        raise CommandError(
            _unknown("help topic", word, list(_ALIASES)) + ' Type "help" to see every command.'
        )
    return Help(topic=topic)


def _stance(stance: Stance) -> Callable[[str], SetStance]:
    def parse(rest: str) -> SetStance:
        return SetStance(proposal_id=_only_id(stance.value, rest), stance=stance)

    return parse


def _simple(name: str, make: Callable[[], Command]) -> Callable[[str], Command]:
    def parse(rest: str) -> Command:
        _no_arguments(name, rest)
        return make()

    return parse


_PARSERS: dict[str, Callable[[str], Command]] = {
    "propose": _propose,
    "amend": _amend,
    "withdraw": lambda rest: Withdraw(_only_id("withdraw", rest)),
    "cosponsor": lambda rest: Cosponsor(_only_id("cosponsor", rest)),
    "consent": _stance(Stance.CONSENT),
    "concern": _stance(Stance.CONCERN),
    "stand_aside": _stance(Stance.STAND_ASIDE),
    "object": _stance(Stance.OBJECT),
    "proposals": _simple("proposals", Proposals),
    "status": lambda rest: Status(_only_id("status", rest)),
    "decisions": _decisions,
    "checkin": _simple("checkin", Checkin),
    "away": _away,
    "back": _simple("back", Back),
    "circle": _circle,
    "help": _help,
}
