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
        "stand_aside": "stand_aside",
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
        "consent": "consent ID",
        "concern": "concern ID",
        "stand_aside": "stand_aside ID",
        "object": "object ID",
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
        "stand_aside": "aparte",
        "object": "objeto",
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
        "consent": "consiento ID",
        "concern": "inquietud ID",
        "stand_aside": "aparte ID",
        "object": "objeto ID",
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
        "stand-aside": "stand_aside",
        "standaside": "stand_aside",
        "co-sponsor": "cosponsor",
        "check-in": "checkin",
    },
    "es": {"co-patrocinar": "cosponsor"},
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


def lookup(word: str) -> tuple[str, str] | None:
    """The command a typed word names, and the language of that word; None if none."""
    return ALIASES.get(word_key(word))


def english() -> Lang:
    return lang(DEFAULT_LANGUAGE)
