"""Who a person is. On Slack and Matrix a person is their platform id, never a name
derived from it (`@ana:evil.org` is not `@ana:example.org`); a plain name, as typed on
the console or in a command, is compared in one Unicode form and without case, so
`Eve` and `eve`, or `josé` typed as NFC and as NFD, are one person."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Protocol, TypeVar

from bot.domain.circle import CircleSpec

# Matrix user ids: @localpart:server (the server may carry a port).
_MATRIX_ID = re.compile(r"^@[^\s:@]+:[A-Za-z0-9.\-\[\]]+(?::\d{1,5})?$")
# Slack user ids: U… or W… (enterprise), upper-case letters and digits.
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


class Person(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def slack(self) -> str | None: ...
    @property
    def matrix(self) -> str | None: ...


P = TypeVar("P", bound=Person)


def name_key(name: str) -> str:
    """The form two names are compared in."""
    return unicodedata.normalize("NFC", name).casefold()


def clean_name(name: str) -> str:
    """The form a name is stored in."""
    return unicodedata.normalize("NFC", name)


def is_matrix_id(text: str) -> bool:
    return bool(_MATRIX_ID.match(text))


def is_slack_id(text: str) -> bool:
    return bool(_SLACK_ID.match(text))


def find(people: Iterable[P], typed: str) -> P | None:
    """The person an admin means by `typed`: by platform id when it is one (ids are
    exact), else by name."""
    if is_matrix_id(typed):
        return next((p for p in people if p.matrix == typed), None)
    if is_slack_id(typed):
        return next((p for p in people if p.slack == typed), None)
    key = name_key(typed)
    return next((p for p in people if name_key(p.name) == key), None)


def same_name(people: Iterable[P], name: str) -> P | None:
    key = name_key(name)
    return next((p for p in people if name_key(p.name) == key), None)


def holds_admin(spec: CircleSpec, person: Person) -> bool:
    """Admin rights belong to the configured identity: the name listed in `admins`
    together with the platform ids the config gives that member. A newcomer who takes a
    free name (or an id's look-alike) does not inherit them."""
    for configured in spec.members:
        if configured.name not in spec.admins or name_key(configured.name) != name_key(person.name):
            continue
        if configured.slack and configured.slack != person.slack:
            continue
        if configured.matrix and configured.matrix != person.matrix:
            continue
        return True
    return False
