"""Dates typed across a daylight-saving change, read in the typist's zone: a wall time
the zone skips (the hour lost when clocks go forward) is refused with the reason and
changes nothing; one it repeats (the hour lived twice when clocks go back) is the first
of the two, and the answer says so. For every WHEN: `by`/`hasta`, `review`/`revisar`,
`away`/`ausente`, in English and in Spanish. The core's clock is the harness's T0
(January 2026); the circle is in America/Los_Angeles."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from tests.core.conftest import CIRCLE, MEMBERS, Harness, HarnessFactory, make_spec

# America/Los_Angeles in 2027: clocks go forward at 02:00 on 14 March (02:00-02:59 never
# happen), and back at 02:00 on 7 November (01:00-01:59 happen twice, PDT then PST).
SKIPPED = "2027-03-14 02:30"
REPEATED = "2027-11-07 01:30"
FIRST = datetime(2027, 11, 7, 8, 30, tzinfo=UTC)  # 01:30 PDT; 01:30 PST is 09:30 UTC

SKIPPED_EN = (
    "'2027-03-14 02:30' does not exist in America/Los_Angeles: that day the clocks go "
    "forward from 02:00 to 03:00. Choose a time before or after the change."
)
SKIPPED_ES = (
    "'2027-03-14 02:30' no existe en America/Los_Angeles: ese día los relojes se "
    "adelantan de las 02:00 a las 03:00. Elige una hora antes o después del cambio."
)
REPEATED_EN = (
    "'2027-11-07 01:30' happens twice in America/Los_Angeles, as the clocks go back that "
    "night; it is read as the first time: Sun, Nov 7, 2027, 1:30\u202fAM PDT."
)
REPEATED_ES = (
    "'2027-11-07 01:30' ocurre dos veces en America/Los_Angeles, porque esa noche los "
    "relojes se atrasan; se toma la primera vez: dom, 7 de nov de 2027, 1:30\u202fa.m. PDT."
)


@pytest.fixture
def es(make_harness: HarnessFactory) -> Harness:
    return make_harness(specs=[dataclasses.replace(make_spec(), language="es")])


@pytest.mark.parametrize(
    "command",
    [
        f"propose Adopt the policy by {SKIPPED}",
        f"propose Adopt the policy review {SKIPPED}",
        f"propose Adopt the policy by 3d review {SKIPPED}",
        f"away {SKIPPED}",
        f"amend 1 Adopt the policy, revised by {SKIPPED}",
    ],
)
def test_a_skipped_wall_time_is_refused_and_changes_nothing(h: Harness, command: str) -> None:
    h.propose("ana")
    before = h.snapshot()
    assert h.refused("ana", command) == SKIPPED_EN
    assert h.snapshot() == before


@pytest.mark.parametrize(
    "command",
    [
        f"proponer Adoptar la política hasta {SKIPPED}",
        f"proponer Adoptar la política revisar {SKIPPED}",
        f"ausente {SKIPPED}",
        f"enmendar 1 Adoptar la política, revisada hasta {SKIPPED}",
        f"propose Adopt the policy by {SKIPPED}",  # English words, a Spanish reader
    ],
)
def test_a_skipped_wall_time_is_refused_in_spanish(es: Harness, command: str) -> None:
    es.ok("ana", "proponer Adoptar la política")
    before = es.snapshot()
    assert es.refused("ana", command) == SKIPPED_ES
    assert es.snapshot() == before


def test_the_hour_after_the_gap_is_accepted(h: Harness) -> None:
    reply = h.ok("ana", "propose Adopt the policy by 2027-03-14 03:30")
    assert h.proposal(1).deadline == datetime(2027, 3, 14, 10, 30, tzinfo=UTC)
    assert reply == "Proposal #1 is open until Sun, Mar 14, 2027, 3:30\u202fAM PDT (Pacific Time)."


def test_a_repeated_wall_time_is_the_first_and_the_answer_says_so(h: Harness) -> None:
    reply = h.ok("ana", f"propose Adopt the policy by {REPEATED}")
    assert h.proposal(1).deadline == FIRST
    assert reply == (
        "Proposal #1 is open until Sun, Nov 7, 2027, 1:30\u202fAM PDT (Pacific Time). "
        + REPEATED_EN
    )
    reply = h.ok("ana", f"amend 1 Adopt the policy, revised by {REPEATED}")
    assert reply.endswith(" " + REPEATED_EN)
    reply = h.ok("ben", f"away {REPEATED}")
    assert reply == (
        "You are away until Sun, Nov 7, 2027, 1:30\u202fAM PDT (Pacific Time): no facilitation or "
        "reminders. " + REPEATED_EN
    )
    ben = next(m for m in h.core.directory.members(CIRCLE) if m.name == "ben")
    assert ben.away_until == FIRST


def test_a_repeated_review_date_is_the_first(h: Harness) -> None:
    reply = h.ok("ana", f"propose Buy a van by 3d review {REPEATED}")
    assert reply.endswith(" " + REPEATED_EN)
    for name in ("ana", "ben", "cy", "dee"):
        h.ok(name, "consent 1")
    assert h.proposal(1).review_at == FIRST


def test_a_repeated_wall_time_in_spanish(es: Harness) -> None:
    reply = es.ok("ana", f"proponer Adoptar la política hasta {REPEATED}")
    assert es.proposal(1).deadline == FIRST
    assert reply == (
        "La propuesta #1 está abierta hasta el dom, 7 de nov de 2027, "
        "1:30\u202fa.m. PDT (hora del Pacífico). " + REPEATED_ES
    )
    assert es.ok("ben", f"ausente {REPEATED}").endswith(" " + REPEATED_ES)


def test_the_gap_is_the_typists_own_zone(make_harness: HarnessFactory) -> None:
    """Madrid skips 02:00-02:59 on 28 March 2027; Los Angeles does not."""
    members = tuple(
        dataclasses.replace(m, timezone="Europe/Madrid") if m.name == "ana" else m for m in MEMBERS
    )
    h = make_harness(specs=[dataclasses.replace(make_spec(), members=members)])
    assert h.refused("ana", "propose Adopt the policy by 2027-03-28 02:30") == (
        "'2027-03-28 02:30' does not exist in Europe/Madrid: that day the clocks go "
        "forward from 02:00 to 03:00. Choose a time before or after the change."
    )
    h.ok("ben", "propose Adopt the policy by 2027-03-28 02:30")
    assert h.proposal(1).deadline == datetime(2027, 3, 28, 9, 30, tzinfo=UTC)
