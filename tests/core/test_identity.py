"""A person is their platform id, never a name derived from it; admin rights belong to
the configured identity; names that differ only in case or Unicode form are one person."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from bot.domain.circle import CircleSpec, MemberSpec
from bot.domain.model import Role

HarnessFactory = Any  # tests/core/conftest.py: make_harness
CIRCLE = "council"
ROOM = f"!{CIRCLE}:example.org"


@pytest.fixture
def matrix_spec(make_spec: Callable[..., CircleSpec]) -> CircleSpec:
    members = (
        MemberSpec("ana", "milpa", Role.LEADER, handles={"matrix": "@ana:example.org"}),
        MemberSpec("ben", "milpa", Role.LEADER, handles={"matrix": "@ben:example.org"}),
        MemberSpec("cy", "vera", Role.LEADER, handles={"matrix": "@cy:example.org"}),
        MemberSpec("dee", "vera", Role.LEADER, handles={"matrix": "@dee:example.org"}),
    )
    return replace(make_spec(), members=members)


def test_a_lookalike_matrix_id_is_a_new_person(
    make_harness: HarnessFactory, matrix_spec: CircleSpec
) -> None:
    h = make_harness(specs=[matrix_spec], platforms=("matrix",))
    kw = {"channel": ROOM, "platform": "matrix"}
    reply = h.ok("@ana:example.org", "circle add @ana:evil.org vera member", **kw)
    assert "@ana:evil.org" in reply and "added as" in reply
    members = {m.name: m for m in h.core.directory.members(CIRCLE)}
    assert members["ana"].side == "milpa" and members["ana"].is_leader  # not moved
    assert members["ana"].handles.get("matrix") == "@ana:example.org"
    assert members["@ana:evil.org"].handles.get("matrix") == "@ana:evil.org"
    assert members["@ana:evil.org"].side == "vera"


def test_admin_rights_are_not_inherited_by_a_new_person_of_the_same_name(
    make_harness: HarnessFactory, matrix_spec: CircleSpec
) -> None:
    spec = replace(matrix_spec, admins=("ana", "ben"))
    h = make_harness(specs=[spec], platforms=("matrix",))
    kw = {"channel": ROOM, "platform": "matrix"}
    h.ok("@ben:example.org", "circle remove @ana:example.org", **kw)
    h.ok("@ben:example.org", "circle add @ana:evil.org milpa", **kw)
    refused = h.refused("@ana:evil.org", "circle add @eve:evil.org vera", **kw)
    assert "Only the circle's admins" in refused
    refused = h.refused("@ana:evil.org", "circle remove @ben:example.org", **kw)
    assert "Only the circle's admins" in refused
    # Typing her plain name brings back the removed ana herself (her own id), not a
    # newcomer; the look-alike stays without rights.
    h.ok("@ben:example.org", "circle add ana milpa", **kw)
    ana = next(m for m in h.core.directory.members(CIRCLE) if m.name == "ana")
    assert ana.handles.get("matrix") == "@ana:example.org"
    assert h.core.directory.is_admin(spec, ana)
    evil = next(
        m for m in h.core.directory.members(CIRCLE) if m.handles.get("matrix") == "@ana:evil.org"
    )
    assert evil.name == "@ana:evil.org" and not h.core.directory.is_admin(spec, evil)
    h.ok("@ana:example.org", "circle add @fay:example.org vera", **kw)


def test_case_and_unicode_forms_do_not_make_two_people(make_harness: HarnessFactory) -> None:
    h = make_harness()
    assert "eve is now a leader of vera" in h.ok("ana", "circle add Eve vera leader")
    nfc = unicodedata.normalize("NFC", "josé")
    nfd = unicodedata.normalize("NFD", "josé")
    assert nfc != nfd
    h.ok("ana", f"circle add {nfc} vera")
    assert "is now a member" in h.ok("ana", f"circle add {nfd} vera member")
    names = [m.name for m in h.core.directory.members(CIRCLE)]
    assert sorted(names) == sorted(["ana", "ben", "cy", "dee", "eve", nfc])
    # The console speaks as a person by any form of their name.
    assert h.ok(nfd, "proposals").startswith("No open proposals")
    assert h.ok("ANA", "circle add gus milpa member")
