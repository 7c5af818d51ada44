"""Reading a command as typed (`/propose …` on a chat platform, `proponer …` in any
circle) into an intent (bot.domain.intents). Pure: no I/O and no clock. WHENs are checked
for shape and validity but returned as text; the core resolves them against its clock
and the time zone of whoever typed them.

A CommandError is written in the language of the person who typed (the `speech` given to
parse_command, English unless told) and names the commands in the language of the word
they typed: `proponer` is answered with `proponer TEXTO [hasta CUÁNDO] …`."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.durations import (
    DURATION_SHAPE,
    MAX_YEARS,
    DurationError,
    OutOfRange,
    looks_like_when,
    parse_duration,
    reads_as_when,
    unreadable_message,
)
from bot.domain.i18n import Lang
from bot.domain.identity import PersonReader, PersonRef
from bot.domain.intents import (
    Amend,
    Away,
    Back,
    Checkin,
    CircleAdd,
    CircleRemove,
    CircleReport,
    CircleShow,
    Close,
    Command,
    Cosponsor,
    Decisions,
    Help,
    OutcomeStatement,
    Proposals,
    Propose,
    SetStance,
    Status,
    Withdraw,
)
from bot.domain.model import Role, Stance
from bot.domain.text_safety import clean_text
from bot.domain.written_when import Unreadable, near_date_word, read_written
from bot.text.grammar import (
    ALIASES,
    BY_WORDS,
    CIRCLE_ADD,
    CIRCLE_REMOVE,
    CIRCLE_REPORT,
    CIRCLE_SHOW,
    ENGLISH,
    LEADING_MARKS,
    MAX_DECISIONS,
    MAX_LINE,
    MAX_SEARCH_WORDS,
    MAX_TEXT,
    PROPOSE_KEYWORDS,
    PROXY_WORDS,
    REPORT_ME,
    REVIEW_WORDS,
    ROLES,
    SPANISH,
    TRAILING_MARKS,
    bare,
    command_name,
    english,
    grammar,
    lookup,
    stance_phrase,
    word_key,
)

_MAX_ID_DIGITS = 9
_MAX_WHEN_WORDS = 9  # `el próximo viernes a las 5 de la tarde`
# The forms `bot.domain.durations.parse_when` accepts; a date-and-time WHEN that passes here is
# always understood there, unless the reader's zone skips that wall time (a daylight-saving
# gap), which only the core, knowing the zone, can tell.
_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


class Field(StrEnum):
    """The part of a proposal an error is about, so that a form shows it under that
    field."""

    TEXT = "text"
    DEADLINE = "deadline"
    REVIEW = "review"


_FIELD_OF_ROLE = {"by": Field.DEADLINE, "review": Field.REVIEW}


@dataclass(frozen=True)
class Draft:
    """A proposal as typed, split into the form's fields, for a form to open with when a
    WHEN in it could not be read: the text, and the words typed for each WHEN."""

    text: str
    by: str | None = None
    review: str | None = None


class CommandError(ValueError):
    """A command typed wrongly. The message is short, says what is wrong and how to write
    it, and is meant to be shown to the person alone. `field`: the part it is about,
    when it is one of a proposal's; `draft`: the proposal as typed, when only a WHEN in
    it could not be read."""

    def __init__(
        self, message: str, field: Field | None = None, draft: Draft | None = None
    ) -> None:
        super().__init__(message)
        self.field = field
        self.draft = draft


_HEAD = re.compile(r"(\S+)(?:\s+(.*))?\Z", re.DOTALL)
_TOKEN = re.compile(r"\S+")
_ARG = re.compile(r"<[^<>]*>|\S+")  # a mention may hold spaces: <@U1|Ana Li>
_ID = re.compile(r"#?([0-9]+)")
_NAME = re.compile(r"[\w.'-]+")


def parse_command(
    text: str, speech: Lang | None = None, people: Sequence[PersonReader] = ()
) -> Command:
    """Parse what a person typed, with or without one leading `/` or `!`, in English or
    in Spanish. `people`: how the platforms write a person (a mention, a user id), the
    first that reads a token as one wins; any other person is a name.

    Raises CommandError, with a message for the person in `speech` (English unless
    given), when it cannot be understood."""
    say = speech or english()
    if len(text) > MAX_LINE:
        raise CommandError(
            say._(
                "that command is too long ({length} characters); the limit is {limit} characters",
                length=len(text),
                limit=MAX_LINE,
            )
        )
    _check_characters(text, say)
    # Control characters pasted along with the text, and whatever else hides or disguises
    # it (zero-width, bidi overrides), go: a stray one must not cost anyone their
    # proposal, and none reaches a post. Every argument, text and name alike, is then what
    # it looks like. Also NFC: one spelling per name.
    line = clean_text(text).strip()
    if line[:1] in ("/", "!"):
        line = line[1:].lstrip()
    line = line.lstrip(LEADING_MARKS).lstrip()
    stance = _stance_command(line, say)
    if stance is not None:
        return stance
    match = _HEAD.match(line)
    if match is None:
        raise CommandError(
            say._(
                'no command given. Try "{help}" to see what I understand.',
                help=command_name("help", say.code),
            )
        )
    word, rest = bare(match.group(1).lower()) or match.group(1).lower(), match.group(2) or ""
    found = lookup(word)
    if found is None:
        raise CommandError(
            _unknown(say, "command", word)
            + " "
            + say._('Try "{help}".', help=command_name("help", say.code))
        )
    name, names = found
    return _PARSERS[name](_Parser(say, names, people), rest)


def _check_characters(text: str, say: Lang) -> None:
    """Refuse a lone surrogate: it is no character at all, so the text came broken."""
    for char in text:
        if unicodedata.category(char) == "Cs":
            raise CommandError(
                say._(
                    "the text contains an invalid character (U+{code}); please remove it",
                    code=_code_point(char),
                )
            )


def _code_point(char: str) -> str:
    return format(ord(char), "04X")


def _shown(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _closest(word: str, choices: dict[str, list[str]], first: str) -> str | None:
    """The choice nearest to a mistyped word, looked for first among the words of the
    language `first` (the reader's), then in the others: `objet` is `object` to one
    reader, `objeto` to another."""
    key = word_key(word[:40])
    for language in [first, *(other for other in choices if other != first)]:
        words = {word_key(w): w for w in choices.get(language, [])}
        close = difflib.get_close_matches(key, list(words), n=1, cutoff=0.6)
        if close:
            return words[close[0]]
    return None


def _command_choices() -> dict[str, list[str]]:
    """Every way of writing each command, by language, for suggestions."""
    found: dict[str, list[str]] = {}
    for key, (_name, language) in ALIASES.items():
        found.setdefault(language, []).append(key)
    return found


def _unknown(say: Lang, kind: str, word: str) -> str:
    """`unknown command "propse"; did you mean "propose"?` (or without the suggestion)."""
    if kind == "circle command":
        choices = {
            "en": [ENGLISH.add, ENGLISH.remove],
            "es": [SPANISH.add, SPANISH.remove],
        }
        suggestion = _closest(word, choices, say.code)
    else:
        close = _closest(word, _command_choices(), say.code)
        suggestion = None
        if close is not None:
            name, language = ALIASES[close]
            suggestion = command_name(name, language)
    shown = _shown(word)
    if suggestion is None:
        if kind == "command":
            return say._('unknown command "{word}".', word=shown)
        if kind == "help topic":
            return say._('unknown help topic "{word}".', word=shown)
        return say._('unknown circle command "{word}".', word=shown)
    if kind == "command":
        return say._(
            'unknown command "{word}"; did you mean "{suggestion}"?',
            word=shown,
            suggestion=suggestion,
        )
    if kind == "help topic":
        return say._(
            'unknown help topic "{word}"; did you mean "{suggestion}"?',
            word=shown,
            suggestion=suggestion,
        )
    return say._(
        'unknown circle command "{word}"; did you mean "{suggestion}"?',
        word=shown,
        suggestion=suggestion,
    )


class _Parser:
    """What parsing one command needs besides the text: the language to explain in
    (`say`) and that of the command word typed (`names`), for the syntax it shows."""

    def __init__(self, say: Lang, names: str, people: Sequence[PersonReader] = ()) -> None:
        self.say = say
        self.names = names
        self.words = grammar(names)
        self.people = people

    def name(self, name: str) -> str:
        return self.words.names[name]

    def usage(self, name: str) -> str:
        return self.words.usage[name]

    def fail(self, name: str, problem: str, field: Field | None = None) -> CommandError:
        return CommandError(
            self.say._("{problem}: {usage}", problem=problem, usage=self.usage(name)), field
        )

    def parse_id(self, token: str, name: str) -> int:
        match = _ID.fullmatch(token.rstrip(TRAILING_MARKS) or token)
        if match is None:
            raise self.fail(
                name,
                self.say._(
                    '"{token}" is not a proposal id; use a number like 7 or #7',
                    token=_shown(token),
                ),
            )
        digits = match.group(1)
        if len(digits) > _MAX_ID_DIGITS or int(digits) == 0:
            raise self.fail(name, self.say._('there is no proposal "{token}"', token=_shown(token)))
        return int(digits)

    def only_id(self, name: str, rest: str) -> int:
        tokens = rest.split()
        if not tokens:
            raise self.fail(name, self.say._("{name} needs a proposal id", name=self.name(name)))
        if len(tokens) > 1:
            problem = self.say._("{name} takes only a proposal id", name=self.name(name))
            raise self.fail(name, problem)
        return self.parse_id(tokens[0], name)

    def no_arguments(self, name: str, rest: str) -> None:
        if rest.strip():
            raise self.fail(name, self.say._("{name} takes no arguments", name=self.name(name)))

    def check_text(self, text: str, name: str) -> str:
        text = text.strip()
        if not text:
            if name == "propose":
                problem = self.say._("{name} needs the text of the proposal", name=self.name(name))
            elif name == "outcome":
                problem = self.say._(
                    "{name} needs the outcome statement after the proposal id",
                    name=self.name(name),
                )
            else:
                problem = self.say._(
                    "{name} needs the new text after the proposal id", name=self.name(name)
                )
            raise self.fail(name, problem, Field.TEXT)
        if len(text) > MAX_TEXT:
            raise CommandError(
                self.say._(
                    "the text is too long: {length} characters; the limit is {limit}",
                    length=len(text),
                    limit=MAX_TEXT,
                ),
                Field.TEXT,
            )
        return text

    def out_of_range(self, role: str) -> str:
        """Why a WHEN's value cannot be right: what it sets, and the forms to use."""
        if role == "review":
            return self.say._(
                "a review date must be in the future and within {years} years; write a "
                "duration such as 3d, 72h or 6mo, or a date and time such as 2026-12-01 17:00",
                years=MAX_YEARS,
            )
        if role == "away":
            return self.say._(
                "the end of your time away must be in the future and within {years} years; "
                "write a duration such as 3d, 72h or 6mo, or a date and time such as "
                "2026-12-01 17:00",
                years=MAX_YEARS,
            )
        return self.say._(
            "a deadline must be in the future and within {years} years; write a duration "
            "such as 3d, 72h or 6mo, or a date and time such as 2026-12-01 17:00",
            years=MAX_YEARS,
        )

    def check_when(self, when: str, keyword: str, role: str, name: str) -> str:
        """Validate a WHEN that has the right shape; return it in a form parse_when
        accepts.

        A WHEN in the bot's own forms whose value is impossible (`-1d`, `99999999d`,
        `0d`, `2026-02-30`) is refused, not kept as text: it was surely meant as the
        time, and a proposal opened with another deadline than the one meant costs
        everyone a round."""
        clause = f"{keyword} {_shown(when)}"
        if DURATION_SHAPE.match(when):
            try:
                parse_duration(when, self.say)
            except OutOfRange:
                problem = self.out_of_range(role)
            except DurationError as exc:
                problem = str(exc)
            else:
                return when
            raise CommandError(
                self.say._(
                    '"{clause}": {problem}. Usage: {usage}',
                    clause=clause,
                    problem=problem,
                    usage=self.usage(name),
                ),
                _FIELD_OF_ROLE.get(role),
            )
        normal = when.replace("T", " ")
        for fmt in _DATE_FORMATS:
            try:
                datetime.strptime(normal, fmt)
            except ValueError:
                continue
            return normal
        if not looks_like_when(when):
            try:
                read_written(when, self.say.code)
            except Unreadable as exc:
                raise self.unreadable(clause, exc.words, role, name) from exc
            return " ".join(when.split())
        raise CommandError(
            self.say._(
                '"{clause}": {when} is not a real date and time; write it like '
                "2026-12-01 17:00. Usage: {usage}",
                clause=clause,
                when=_shown(when),
                usage=self.usage(name),
            ),
            _FIELD_OF_ROLE.get(role),
        )

    def unreadable(self, clause: str, words: str, role: str, name: str) -> CommandError:
        """Date-like words that cannot be read: nothing is opened, and the person is told
        which words, with examples in their language."""
        return CommandError(
            self.say._(
                '"{clause}": {problem}. Usage: {usage}',
                clause=clause,
                problem=unreadable_message(self.say, words),
                usage=self.usage(name),
            ),
            _FIELD_OF_ROLE.get(role, Field.DEADLINE),
        )

    def refuse_unread(
        self, body: str, keywords: set[str], name: str, found: dict[str, str]
    ) -> None:
        """`by viernez` at the end of the text: date-like words after a keyword that no
        clause took. Posting them as text would misread the deadline: refused, with the
        proposal as typed (`found`: the WHENs that were read) for a form to open with."""
        unread = unread_clause(body, keywords)
        if unread is None:
            return
        keyword, _, when = unread.partition(" ")
        role = "review" if keyword.lower() in REVIEW_WORDS else "by"
        error = self.unreadable(unread, _unread_words(when, self.say.code), role, name)
        fields = {**found, role: when}
        text = body.strip()[: -len(unread)].rstrip()
        error.draft = Draft(text, fields.get("by"), fields.get("review"))
        raise error

    def split_clauses(self, rest: str, keywords: set[str], name: str) -> tuple[str, dict[str, str]]:
        """Take `KEYWORD WHEN` clauses off the end of `rest`, in any order, each kind at
        most once (`by` or `hasta`; `review` or `revisar`), in either language.

        A keyword counts only when what follows it is a WHEN: one token like `3d`, two
        like `2026-12-01 17:00`, or up to _MAX_WHEN_WORDS as people write one (`el 15 de
        diciembre a las 5 p. m.`), the longest that reads; otherwise it is part of the
        text."""
        tokens = list(_TOKEN.finditer(rest))
        found: dict[str, str] = {}
        end = len(tokens)
        progress = True
        while progress:
            progress = False
            for size in range(_MAX_WHEN_WORDS, 0, -1):
                start = end - size - 1
                if start < 0:
                    continue
                keyword = tokens[start].group().lower()
                role = "review" if keyword in REVIEW_WORDS else "by"
                if keyword not in keywords or role in found:
                    continue
                when = " ".join(t.group() for t in tokens[start + 1 : end])
                if not (size <= 2 and looks_like_when(when)) and not reads_as_when(
                    when, self.say.code
                ):
                    continue
                found[role] = self.check_when(when, keyword, role, name)
                end = start
                progress = True
                break
        body = rest if end == len(tokens) else rest[: tokens[end].start()]
        return body, found

    def parse_user(self, token: str, name: str) -> PersonRef:
        for reader in self.people:
            handle = reader(token)
            if handle is not None:
                return handle
        plain = token[1:] if token.startswith("@") else token
        if _NAME.fullmatch(plain):
            return plain
        raise self.fail(
            name,
            self.say._(
                '"{token}" is not a person; use a name or a mention',
                token=_shown(token),
            ),
        )


# Words people use for a time that a WHEN does not understand (a WHEN is `3d` or a date),
# in English and in Spanish.
_TIMEISH = re.compile(
    r"(today|tonight|tomorrow|yesterday|noon|midnight|eod|eow|cob|weekend|"
    r"(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(day)?|wednesday|saturday|"
    r"jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|"
    r"sep(t|tember)?|oct(ober)?|nov(ember)?|dec(ember)?|"
    r"\d{1,2}(:\d{2})?(am|pm)|am|pm|[ap]\.|m\.|[ap]\.m\.|\d{1,2}:\d{2}|\d{1,2}[/.]\d{1,2}([/.]\d{2,4})?|"
    r"\d{1,2}(st|nd|rd|th)|(\d+)?(days?|weeks?|months?|years?|hours?|minutes?|mins?|hrs?)|"
    # Numbers in units or forms a WHEN does not take: 100y, 1.5d, 1h30m, 2026-12-01 5pm.
    r"[+-]?\d+([.,]\d+)?(s|secs?|m|h|d|w|wks?|mo|mos|y|yrs?)|y|yrs?|"
    r"(\d+(mo|s|m|h|d|w)){2,}|\d{4,}-\d+-\d+|"
    # The same in Spanish: hasta el viernes, hasta mañana, revisar en 6 meses.
    r"hoy|mañana|manana|ayer|mediod[ií]a|medianoche|"
    r"lunes|martes|mi[ée]rcoles|jueves|viernes|s[áa]bado|domingo|"
    r"enero|febrero|marzo|abril|mayo|junio|julio|agosto|sep?tiembre|octubre|noviembre|"
    r"diciembre|(\d+)?(d[íi]as?|semanas?|mes(es)?|a[ñn]os?|horas?|minutos?))",
    re.IGNORECASE,
)

# Words that may stand around the time: `by the end of may`, `by next week`, `in 2 weeks`,
# `hasta el fin de mes`, `revisar en 6 meses`, `hasta la próxima semana`.
_FILLER = {
    *("next", "this", "end", "of", "the", "at", "on", "in", "a", "an"),
    *("el", "la", "los", "las", "de", "del", "al", "en", "un", "una", "fin", "final"),
    *("este", "esta", "próximo", "próxima", "proximo", "proxima", "que", "viene"),
}
_NUMBER = re.compile(r"[+-]?\d+([.,]\d+)?")


def _unread_words(when: str, language: str) -> str:
    """The words of `when` that could not be read (all of it if it reads: then it was
    not where a WHEN goes)."""
    try:
        read_written(when, language)
    except Unreadable as exc:
        return exc.words
    return when


def unread_clause(body: str, keywords: tuple[str, ...] | set[str]) -> str | None:
    """`by fridya` (`hasta el viernez`) at the end of the text: date-like words after a
    keyword, meant as a WHEN, surely, but not one that reads; None when the words after
    every keyword look like text (`Paint the wall by the door`)."""
    words = body.split()
    for size in range(1, _MAX_WHEN_WORDS + 1):
        if len(words) <= size:
            break
        keyword, tail = words[-size - 1].lower(), words[-size:]
        timeish = [w for w in tail if _TIMEISH.fullmatch(w) or near_date_word(w)]
        filler = all(w in timeish or w.lower() in _FILLER or _NUMBER.fullmatch(w) for w in tail)
        if keyword in keywords and timeish and filler:
            return f"{keyword} {' '.join(tail)}"
    return None


def _propose(p: _Parser, rest: str) -> Propose:
    body, found = p.split_clauses(rest, PROPOSE_KEYWORDS, "propose")
    text = p.check_text(body, "propose")
    left = {k for k in PROPOSE_KEYWORDS if ("review" if k in REVIEW_WORDS else "by") not in found}
    p.refuse_unread(text, left, "propose", found)
    return Propose(text=text, by=found.get("by"), review=found.get("review"))


def propose_from_fields(
    text: str, by: str | None, review: str | None, speech: Lang | None = None
) -> Propose:
    """A proposal given field by field (a form) rather than typed as one line: the same
    rules as `propose TEXT by WHEN review WHEN`, and each error names its field. A WHEN
    given must have a WHEN's shape (see looks_like_when); the caller says so first."""
    say = speech or english()
    p = _Parser(say, say.code)
    _check_characters(text, say)
    body = p.check_text(clean_text(text), "propose")
    found: dict[str, str] = {}
    for role, when in (("by", by), ("review", review)):
        if when:
            _check_characters(when, say)
            keyword = p.words.review if role == "review" else p.words.by
            found[role] = p.check_when(" ".join(clean_text(when).split()), keyword, role, "propose")
    return Propose(text=body, by=found.get("by"), review=found.get("review"))


def _amend(p: _Parser, rest: str) -> Amend:
    match = _HEAD.match(rest)
    if match is None:
        raise p.fail(
            "amend", p.say._("{name} needs a proposal id and the new text", name=p.name("amend"))
        )
    proposal_id = p.parse_id(match.group(1), "amend")
    body, found = p.split_clauses(match.group(2) or "", BY_WORDS, "amend")
    text = p.check_text(body, "amend")
    if "by" not in found:
        p.refuse_unread(text, BY_WORDS, "amend", found)
    return Amend(proposal_id=proposal_id, text=text, by=found.get("by"))


def _outcome(p: _Parser, rest: str) -> OutcomeStatement:
    match = _HEAD.match(rest)
    if match is None:
        raise p.fail(
            "outcome",
            p.say._("{name} needs a proposal id and the outcome statement", name=p.name("outcome")),
        )
    proposal_id = p.parse_id(match.group(1), "outcome")
    return OutcomeStatement(proposal_id, p.check_text(match.group(2) or "", "outcome"))


def _away(p: _Parser, rest: str) -> Away:
    tokens = _ARG.findall(rest)
    proxy = None
    if len(tokens) >= 2 and word_key(tokens[-2]) in PROXY_WORDS:
        proxy = p.parse_user(tokens[-1], "away")
        rest = " ".join(tokens[:-2])
    elif tokens and word_key(tokens[-1]) in PROXY_WORDS:
        raise p.fail(
            "away",
            p.say._("name the person after {proxy}", proxy=tokens[-1]),
        )
    when = " ".join(rest.split())
    if not when:
        raise p.fail(
            "away",
            p.say._(
                "{name} needs the time you are back, e.g. {example}",
                name=p.name("away"),
                example=p.words.away_example,
            ),
        )
    if not looks_like_when(when) and not reads_as_when(when, p.say.code):
        try:
            read_written(when, p.say.code)
        except Unreadable as exc:
            words = exc.words
        else:
            words = when
        raise p.fail("away", unreadable_message(p.say, _shown(words)))
    return Away(until=p.check_when(when, p.name("away"), "away", "away"), proxy=proxy)


def _decisions(p: _Parser, rest: str) -> Decisions:
    """`decisions`, `decisions 5`, `decisions visiting policy`, `decisions 5 visiting`:
    a leading number is how many; every other word must be found."""
    tokens = rest.split()
    if not tokens or not re.fullmatch(r"[0-9]+", tokens[0]):
        words = tuple(tokens)
        if len(words) > MAX_SEARCH_WORDS:
            raise p.fail(
                "decisions",
                p.say._("search with at most {most} words", most=MAX_SEARCH_WORDS),
            )
        return Decisions(words=words)
    count = int(tokens[0]) if len(tokens[0]) <= 6 else MAX_DECISIONS + 1
    if not 1 <= count <= MAX_DECISIONS:
        raise p.fail(
            "decisions",
            p.say._("the number must be between 1 and {most}", most=MAX_DECISIONS),
        )
    if len(tokens) - 1 > MAX_SEARCH_WORDS:
        raise p.fail(
            "decisions", p.say._("search with at most {most} words", most=MAX_SEARCH_WORDS)
        )
    return Decisions(count=count, words=tuple(tokens[1:]))


def _circle(p: _Parser, rest: str) -> CircleShow | CircleReport | CircleAdd | CircleRemove:
    tokens = _ARG.findall(rest)
    if not tokens:
        return CircleShow()
    sub, args = word_key(tokens[0]), tokens[1:]
    words = p.words
    if sub in CIRCLE_SHOW and not args:
        return CircleShow()
    if sub in CIRCLE_REPORT:
        if len(args) > 1:
            raise CommandError(
                p.say._(
                    "{command} takes one date or span at most: {usage}",
                    command=f"{words.names['circle']} {words.report}",
                    usage=words.circle_report,
                )
            )
        if args and word_key(args[0]) in REPORT_ME:
            return CircleReport(me=True)
        return CircleReport(since=args[0] if args else None)
    if sub in CIRCLE_ADD:
        command = f"{words.names['circle']} {words.add}"
        if len(args) not in (2, 3):
            raise CommandError(
                p.say._(
                    "{command} needs a person and a side: {usage}",
                    command=command,
                    usage=words.circle_add,
                )
            )
        role = Role.LEADER
        if len(args) == 3:
            found = ROLES.get(word_key(args[2]))
            if found is None:
                raise CommandError(
                    p.say._(
                        'the role must be {leader} or {member}, not "{role}": {usage}',
                        leader=words.leader,
                        member=words.member,
                        role=_shown(args[2]),
                        usage=words.circle_add,
                    )
                )
            role = found
        user = p.parse_user(args[0], "circle")
        if not _NAME.fullmatch(args[1]):
            raise CommandError(
                p.say._(
                    '"{side}" is not a side name: {usage}',
                    side=_shown(args[1]),
                    usage=words.circle_add,
                )
            )
        return CircleAdd(user=user, side=args[1], role=role)
    if sub in CIRCLE_REMOVE:
        if len(args) != 1:
            command = f"{words.names['circle']} {words.remove}"
            raise CommandError(
                p.say._(
                    "{command} needs one person: {usage}",
                    command=command,
                    usage=words.circle_remove,
                )
            )
        return CircleRemove(user=p.parse_user(args[0], "circle"))
    if sub in CIRCLE_SHOW:
        raise p.fail(
            "circle",
            p.say._(
                "{name} takes no arguments after {show}",
                name=words.names["circle"],
                show=tokens[0].lower(),
            ),
        )
    unknown = _unknown(p.say, "circle command", tokens[0][:40].lower())
    raise CommandError(unknown + " " + p.say._("Use: {usage}", usage=p.usage("circle")))


def _help(p: _Parser, rest: str) -> Help:
    tokens = rest.split()
    if not tokens:
        return Help(names=p.names)
    word = tokens[0].lower()
    if word[:1] in ("/", "!"):
        word = word[1:]
    phrase = stance_phrase(tokens)
    if phrase is not None:
        return Help(topic=phrase[0], names=phrase[1])
    found = lookup(word)
    if found is None:
        raise CommandError(
            _unknown(p.say, "help topic", word)
            + " "
            + p.say._('Type "{help}" to see every command.', help=p.name("help"))
        )
    return Help(topic=found[0], names=found[1])


def _stance_command(line: str, say: Lang) -> SetStance | None:
    """`object 7`, `¡me opongo #7!`, `inquietud 7 me preocupa el costo`: a stance in any
    of its words (bot.text.grammar.STANCE_PHRASES), the proposal's id, and an optional
    reason, kept as written. None when the line does not start with a stance."""
    words = line.split()
    found = stance_phrase(words)
    if found is None:
        return None
    name, language, size = found
    p = _Parser(say, language)
    # What follows the stance's words: the id, then the reason.
    after = _after_words(line, size)
    match = _HEAD.match(after)
    if match is None:
        raise p.fail(name, p.say._("{name} needs a proposal id", name=p.name(name)))
    proposal_id = p.parse_id(match.group(1), name)
    reason = " ".join((match.group(2) or "").split()) or None
    if reason is not None and len(reason) > MAX_TEXT:
        raise CommandError(
            p.say._(
                "the reason is too long: {length} characters; the limit is {limit}",
                length=len(reason),
                limit=MAX_TEXT,
            )
        )
    return SetStance(proposal_id=proposal_id, stance=Stance(name), reason=reason)


def _after_words(line: str, count: int) -> str:
    """`line` without its first `count` words."""
    tokens = list(_TOKEN.finditer(line))
    return line[tokens[count].start() :] if len(tokens) > count else ""


def _simple(name: str, make: Callable[[], Command]) -> Callable[[_Parser, str], Command]:
    def parse(p: _Parser, rest: str) -> Command:
        p.no_arguments(name, rest)
        return make()

    return parse


_PARSERS: dict[str, Callable[[_Parser, str], Command]] = {
    "propose": _propose,
    "amend": _amend,
    "withdraw": lambda p, rest: Withdraw(p.only_id("withdraw", rest)),
    "cosponsor": lambda p, rest: Cosponsor(p.only_id("cosponsor", rest)),
    "close": lambda p, rest: Close(p.only_id("close", rest)),
    "outcome": _outcome,
    "proposals": _simple("proposals", Proposals),
    "status": lambda p, rest: Status(p.only_id("status", rest)),
    "decisions": _decisions,
    "checkin": _simple("checkin", Checkin),
    "away": _away,
    "back": _simple("back", Back),
    "circle": _circle,
    "help": _help,
}
