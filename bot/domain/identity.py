"""Who a person is. On a chat platform a person is their id there (their handle), never
a name derived from it (`@ana:evil.org` is not `@ana:example.org`); a plain name, as
typed on the console or in a command, is compared in one Unicode form and without case,
so `Eve` and `eve`, or `josé` typed as NFC and as NFD, are one person."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

from bot.domain.circle import CircleSpec


@dataclass(frozen=True)
class Handle:
    """A person's id on one platform, as that platform's adapter read it from what was
    typed (a mention, a user id)."""

    platform: str
    id: str

    def __str__(self) -> str:
        return self.id


# Who a command names: a name as typed, or a platform's handle.
PersonRef = str | Handle
# A platform's way of writing a person in a command: a token → their handle, or None.
PersonReader = Callable[[str], Handle | None]


class Handled(Protocol):
    """Whatever carries a person's ids per platform (a member, a mention)."""

    @property
    def handles(self) -> Mapping[str, str]: ...


class Person(Handled, Protocol):
    @property
    def name(self) -> str: ...


P = TypeVar("P", bound=Person)


def name_key(name: str) -> str:
    """The form two names are compared in."""
    return unicodedata.normalize("NFC", name).casefold()


def clean_name(name: str) -> str:
    """The form a name is stored in."""
    return unicodedata.normalize("NFC", name)


def find(people: Iterable[P], typed: PersonRef) -> P | None:
    """The person an admin means by `typed`: by platform handle when it is one (handles
    are exact), else by name."""
    if isinstance(typed, Handle):
        return next((p for p in people if p.handles.get(typed.platform) == typed.id), None)
    key = name_key(typed)
    return next((p for p in people if name_key(p.name) == key), None)


def same_name(people: Iterable[P], name: str) -> P | None:
    key = name_key(name)
    return next((p for p in people if name_key(p.name) == key), None)


def holds_admin(spec: CircleSpec, person: Person) -> bool:
    """Admin rights belong to the configured identity: the name listed in `admins`
    together with the platform handles the config gives that member. A newcomer who
    takes a free name (or a handle's look-alike) does not inherit them."""
    for configured in spec.members:
        if configured.name not in spec.admins or name_key(configured.name) != name_key(person.name):
            continue
        if any(person.handles.get(platform) != id for platform, id in configured.handles.items()):
            continue
        return True
    return False
