"""The commands as typed values (intents): what a person asked for, parsed from what
they typed (bot.text.parsing) or handed over by an adapter from a form or a button (a
CommandEvent's `intent`). The core routes each type to its handler. In the domain layer
so that an event can carry one and the inbox can keep it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum
from typing import Any, TypeAlias

from bot.domain.i18n import DEFAULT_LANGUAGE
from bot.domain.identity import Handle, PersonRef
from bot.domain.model import Role, Stance


@dataclass(frozen=True)
class Propose:
    text: str
    by: str | None = None  # raw WHEN for the deadline
    review: str | None = None  # raw WHEN for the review date


@dataclass(frozen=True)
class Amend:
    proposal_id: int
    text: str
    by: str | None = None  # raw WHEN; None keeps the current deadline


@dataclass(frozen=True)
class Withdraw:
    proposal_id: int


@dataclass(frozen=True)
class Cosponsor:
    proposal_id: int


@dataclass(frozen=True)
class Close:
    """`close ID`: decide now, by the rule applied at the deadline."""

    proposal_id: int


@dataclass(frozen=True)
class OutcomeStatement:
    """`outcome ID TEXT`: what was decided and who does what, once it is closed."""

    proposal_id: int
    text: str


@dataclass(frozen=True)
class Proposals:
    pass


@dataclass(frozen=True)
class Status:
    proposal_id: int


@dataclass(frozen=True)
class Decisions:
    count: int = 10
    words: tuple[str, ...] = ()  # only decisions whose text or statement has them all


@dataclass(frozen=True)
class Checkin:
    pass


@dataclass(frozen=True)
class Away:
    until: str  # raw WHEN
    proxy: PersonRef | None = None  # a name, or a platform handle


@dataclass(frozen=True)
class Back:
    pass


@dataclass(frozen=True)
class CircleShow:
    pass


@dataclass(frozen=True)
class CircleReport:
    """`circle report [SINCE]`, `circle report me`: the circle's own report (SINCE as
    typed, read against the clock by the handler), or the person's own figures."""

    since: str | None = None
    me: bool = False


@dataclass(frozen=True)
class CircleAdd:
    user: PersonRef  # a name, or a platform handle (from a mention, a user id)
    side: str
    role: Role = Role.LEADER


@dataclass(frozen=True)
class CircleRemove:
    user: PersonRef


@dataclass(frozen=True)
class Help:
    topic: str | None = None  # a canonical command name, or None for everything
    # The language of the command names to list: that of the word typed (`ayuda`, or the
    # topic's `ayuda propose`).
    names: str = DEFAULT_LANGUAGE


@dataclass(frozen=True)
class SetStance:
    """`consent ID [REASON]`, `concern ID …`, `stand aside ID …`, `object ID …` (or any
    other word for a stance): the same as reacting, with the reason, if given, on record."""

    proposal_id: int
    stance: Stance
    reason: str | None = None  # as typed after the id


Command: TypeAlias = (
    Propose
    | Amend
    | Withdraw
    | Cosponsor
    | Close
    | OutcomeStatement
    | Proposals
    | Status
    | Decisions
    | Checkin
    | Away
    | Back
    | CircleShow
    | CircleReport
    | CircleAdd
    | CircleRemove
    | Help
    | SetStance
)


# -- as stored: an intent an adapter handed over waits in the inbox like any event ------

_BY_NAME: dict[str, type[Command]] = {
    cls.__name__: cls
    for cls in (
        Propose,
        Amend,
        Withdraw,
        Cosponsor,
        Close,
        OutcomeStatement,
        Proposals,
        Status,
        Decisions,
        Checkin,
        Away,
        Back,
        CircleShow,
        CircleReport,
        CircleAdd,
        CircleRemove,
        Help,
        SetStance,
    )
}
_ENUMS: dict[str, type[Enum]] = {"role": Role, "stance": Stance}


def to_record(intent: Command) -> dict[str, Any]:
    """The intent as plain JSON values, with its type's name."""
    values = {f.name: getattr(intent, f.name) for f in fields(intent)}
    for name, value in values.items():
        if isinstance(value, Handle):  # a person by their platform id
            values[name] = {"platform": value.platform, "id": value.id}
    return {"type": type(intent).__name__, **values}


def from_record(record: dict[str, Any]) -> Command:
    """The intent `to_record` wrote. ValueError for a type this version does not know."""
    cls = _BY_NAME.get(str(record.get("type")))
    if cls is None:
        raise ValueError(f"not an intent this version knows: {record.get('type')!r}")
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in record:
            continue
        value = record[f.name]
        if f.name in _ENUMS and value is not None:
            value = _ENUMS[f.name](value)
        elif isinstance(value, list):
            value = tuple(value)
        elif isinstance(value, dict):
            value = Handle(str(value["platform"]), str(value["id"]))
        values[f.name] = value
    return cls(**values)
