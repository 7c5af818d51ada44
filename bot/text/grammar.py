"""The words of each language for the commands: their names, the syntax shown for
them, the keywords inside them, and the other names and spellings people use. These are
what people type, not prose: they live here, beside the parser that reads them, not in
the message catalogue."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.i18n import DEFAULT_LANGUAGE, Lang, lang
from bot.domain.model import Role

# Limits of what a command may hold.
MAX_TEXT = 3000  # characters in a proposal's text
MAX_LINE = 10_000  # characters in a whole command, checked before anything else
MAX_DECISIONS = 100
MAX_SEARCH_WORDS = 10


@dataclass(frozen=True)
class Grammar:
    """One language's words for the commands: their names, the syntax shown for them,
    and the keywords inside them. These are what people type, not prose: they live here,
    beside the parser that reads them, not in the message catalogue."""

    names: Mapping[str, str]  # canonical name -> the name in this language
    usage: Mapping[str, str]  # canonical name -> its syntax
    by: str
    review: str
    add: str
    remove: str
    show: str
    leader: str
    member: str
    when: str  # the WHEN of the syntax
    user: str
    side: str
    command: str
    durations: str  # examples of durations
    away_example: str
    proxy: str  # the keyword before the proxy in `away UNTIL proxy USER`
    words: str  # the WORDS of `decisions [N] [WORDS]`
    # `circle report [SINCE]`, `circle report me`
    report: str = "report"
    me: str = "me"
    since: str = "SINCE"

    @property
    def circle_add(self) -> str:
        return (
            f"{self.names['circle']} {self.add} {self.user} {self.side} "
            f"[{self.leader}|{self.member}]"
        )

    @property
    def circle_report(self) -> str:
        return f"{self.names['circle']} {self.report} [{self.since} | {self.me}]"

    @property
    def circle_remove(self) -> str:
        return f"{self.names['circle']} {self.remove} {self.user}"


ENGLISH = Grammar(
    names={
        "propose": "propose",
        "amend": "amend",
        "withdraw": "withdraw",
        "cosponsor": "cosponsor",
        "close": "close",
        "outcome": "outcome",
        "consent": "consent",
        "concern": "concern",
        "stand_aside": "stand aside",
        "object": "object",
        "proposals": "proposals",
        "status": "status",
        "decisions": "decisions",
        "checkin": "checkin",
        "away": "away",
        "back": "back",
        "circle": "circle",
        "help": "help",
    },
    usage={
        "propose": "propose TEXT [by WHEN] [review WHEN]",
        "amend": "amend ID TEXT [by WHEN]",
        "withdraw": "withdraw ID",
        "cosponsor": "cosponsor ID",
        "close": "close ID",
        "outcome": "outcome ID TEXT",
        "consent": "consent ID [REASON]",
        "concern": "concern ID [REASON]",
        "stand_aside": "stand aside ID [REASON]",
        "object": "object ID [REASON]",
        "proposals": "proposals",
        "status": "status ID",
        "decisions": "decisions [N] [WORDS]",
        "checkin": "checkin",
        "away": "away UNTIL [proxy USER]",
        "back": "back",
        "circle": "circle [add USER SIDE [leader|member] | remove USER]",
        "help": "help [COMMAND]",
    },
    by="by",
    review="review",
    add="add",
    remove="remove",
    show="show",
    leader="leader",
    member="member",
    when="WHEN",
    user="USER",
    side="SIDE",
    command="COMMAND",
    durations="90s, 2m, 72h, 3d, 1w, 6mo",
    away_example="away 1w",
    proxy="proxy",
    words="WORDS",
)

SPANISH = Grammar(
    names={
        "propose": "proponer",
        "amend": "enmendar",
        "withdraw": "retirar",
        "cosponsor": "copatrocinar",
        "close": "cerrar",
        "outcome": "resultado",
        "consent": "consiento",
        "concern": "inquietud",
        "stand_aside": "me hago a un lado",
        "object": "objeción",
        "proposals": "propuestas",
        "status": "estado",
        "decisions": "decisiones",
        "checkin": "checkin",
        "away": "ausente",
        "back": "vuelvo",
        "circle": "círculo",
        "help": "ayuda",
    },
    usage={
        "propose": "proponer TEXTO [hasta CUÁNDO] [revisar CUÁNDO]",
        "amend": "enmendar ID TEXTO [hasta CUÁNDO]",
        "withdraw": "retirar ID",
        "cosponsor": "copatrocinar ID",
        "close": "cerrar ID",
        "outcome": "resultado ID TEXTO",
        "consent": "consiento ID [MOTIVO]",
        "concern": "inquietud ID [MOTIVO]",
        "stand_aside": "me hago a un lado ID [MOTIVO]",
        "object": "objeción ID [MOTIVO]",
        "proposals": "propuestas",
        "status": "estado ID",
        "decisions": "decisiones [N] [PALABRAS]",
        "checkin": "checkin",
        "away": "ausente CUÁNDO [suplente USUARIO]",
        "back": "vuelvo",
        "circle": "círculo [agregar USUARIO PARTE [líder|miembro] | quitar USUARIO]",
        "help": "ayuda [COMANDO]",
    },
    by="hasta",
    review="revisar",
    add="agregar",
    remove="quitar",
    show="ver",
    leader="líder",
    member="miembro",
    when="CUÁNDO",
    user="USUARIO",
    side="PARTE",
    command="COMANDO",
    durations="90s, 2m, 72h, 3d, 1sem, 6me",
    away_example="ausente 1sem",
    proxy="suplente",
    words="PALABRAS",
    report="informe",
    me="yo",
    since="DESDE",
)

GRAMMARS: dict[str, Grammar] = {"en": ENGLISH, "es": SPANISH}


def grammar(language: str) -> Grammar:
    """The command words of a language (English for one the commands are not in)."""
    return GRAMMARS.get(language, ENGLISH)


def command_name(name: str, language: str) -> str:
    """A command's name in a language: `command_name("propose", "es") == "proponer"`."""
    return grammar(language).names[name]


COMMAND_NAMES: tuple[str, ...] = tuple(ENGLISH.names)


def word_key(word: str) -> str:
    """A typed word as it is looked up: lower case, without accents (`Círculo`,
    `circulo` and `CIRCULO` are one word)."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


# Other ways people write a command's name, by language.
_MORE_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "stand_aside": "stand_aside",
        "stand-aside": "stand_aside",
        "standaside": "stand_aside",
        "co-sponsor": "cosponsor",
        "check-in": "checkin",
    },
    "es": {
        "co-patrocinar": "cosponsor",
        "aparte": "stand_aside",
        "objeto": "object",
    },
}

# Every way of saying a stance, by language: the label every screen shows for it (the
# command's name above, `stance_label` in bot.text.messages) first, then the synonyms
# people use (SPEC, "How people write"). A phrase is looked up word by word, without
# case or accents; the longest one that matches wins (`consent with concern 7`).
STANCE_PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "consent": ("consent", "agree", "yes", "i consent", "i agree"),
        "concern": (
            "concern",
            "consent with concern",
            "consent with a concern",
            "concerned",
        ),
        "stand_aside": (
            "stand aside",
            "stand_aside",
            "stand-aside",
            "standaside",
            "abstain",
            "i stand aside",
            "i abstain",
        ),
        "object": ("object", "objection", "block", "i object"),
    },
    "es": {
        "consent": ("consiento", "de acuerdo", "acepto", "sí", "estoy de acuerdo"),
        "concern": (
            "inquietud",
            "consiento con inquietud",
            "consiento con una inquietud",
            "preocupación",
            "tengo una inquietud",
        ),
        "stand_aside": (
            "me hago a un lado",
            "hacerse a un lado",
            "me hago aparte",
            "aparte",
            "me abstengo",
            "abstención",
        ),
        "object": ("objeción", "objeto", "me opongo", "bloqueo", "bloqueo la propuesta"),
    },
}

# Every name and alias, as looked up -> (canonical name, language). A word both
# languages share (`checkin`) is taken as English.
ALIASES: dict[str, tuple[str, str]] = {}
for _language, _grammar in GRAMMARS.items():
    for _name, _word in _grammar.names.items():
        ALIASES.setdefault(word_key(_word), (_name, _language))
    for _word, _name in _MORE_NAMES.get(_language, {}).items():
        ALIASES.setdefault(word_key(_word), (_name, _language))

# Keywords inside propose and amend -> what they set.
BY_WORDS = {"by", "hasta"}
REVIEW_WORDS = {"review", "revisar"}
PROPOSE_KEYWORDS = BY_WORDS | REVIEW_WORDS
# The keyword before the proxy in `away UNTIL proxy USER`, in either language.
PROXY_WORDS = {"proxy", "suplente"}
# Words after `circle`, in either language (looked up without accents).
CIRCLE_ADD = {"add", "agregar", "anadir"}
CIRCLE_REMOVE = {"remove", "quitar"}
CIRCLE_SHOW = {"show", "list", "ver", "mostrar"}
CIRCLE_REPORT = {"report", "informe"}
REPORT_ME = {"me", "mine", "yo", "mio"}
ROLES = {
    "leader": Role.LEADER,
    "lider": Role.LEADER,
    "member": Role.MEMBER,
    "miembro": Role.MEMBER,
}


# Each stance phrase as looked up (its words' keys) -> (canonical stance name, language).
# A phrase both languages share is taken as English.
STANCE_WORDS: dict[tuple[str, ...], tuple[str, str]] = {}
for _language, _phrases in STANCE_PHRASES.items():
    for _name, _spellings in _phrases.items():
        for _phrase in _spellings:
            STANCE_WORDS.setdefault(tuple(word_key(w) for w in _phrase.split()), (_name, _language))
LONGEST_STANCE = max(len(words) for words in STANCE_WORDS)

# Punctuation people put around a command (`¿ayuda?`, `¡objeto 7!`) that says nothing.
LEADING_MARKS = "¿¡"
TRAILING_MARKS = "?!.,;:"


def bare(word: str) -> str:
    """A typed word without the marks around it: `¿ayuda?` -> `ayuda`."""
    return word.lstrip(LEADING_MARKS).rstrip(TRAILING_MARKS)


def stance_phrase(words: list[str]) -> tuple[str, str, int] | None:
    """The stance the first words name: (canonical name, language, how many words),
    the longest phrase that matches; None if they name no stance."""
    keys = [word_key(bare(w)) for w in words[:LONGEST_STANCE]]
    for size in range(len(keys), 0, -1):
        found = STANCE_WORDS.get(tuple(keys[:size]))
        if found is not None:
            return found[0], found[1], size
    return None


def lookup(word: str) -> tuple[str, str] | None:
    """The command a typed word names, and the language of that word; None if none."""
    return ALIASES.get(word_key(bare(word)))


def english() -> Lang:
    return lang(DEFAULT_LANGUAGE)
