"""`circlebot simulate`: scripted scenarios run on the real engine, printed as JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError, load_config, parse_circle
from bot.domain.clock import ManualClock
from bot.domain.durations import parse_when
from bot.domain.events import CommandEvent, ReactionEvent
from bot.handlers.core import Core
from bot.wiring.cli import main_simulate, run_scenario
from bot.wiring.simulate import ScenarioError, deadline_clause
from storage import open_repository

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "scenarios"

OPENED = "2026-01-05T10:00:00Z"
DEADLINE = "2026-01-08T10:00:00Z"


def circle(rules: str = "", timezone: str = "UTC") -> str:
    """Two sides with two leaders each, and one member with a voice on each side."""
    return f"""\
[circle]
name = "council"
timezone = "{timezone}"
sides = ["milpa", "vera"]
admins = ["ben"]
[circle.rules]
{rules}
[[circle.members]]
name = "ana"
side = "milpa"
role = "leader"
[[circle.members]]
name = "ben"
side = "milpa"
role = "leader"
[[circle.members]]
name = "mo"
side = "milpa"
role = "member"
[[circle.members]]
name = "cy"
side = "vera"
role = "leader"
[[circle.members]]
name = "dee"
side = "vera"
role = "leader"
[[circle.members]]
name = "vi"
side = "vera"
role = "member"
"""


def proposal(
    author: str = "ana",
    text: str = "Adopt the new visiting policy",
    opened_at: str = f'"{OPENED}"',
    deadline: str = f'"{DEADLINE}"',
) -> str:
    return f"""\
[proposal]
author = "{author}"
text = {json.dumps(text, ensure_ascii=False)}
opened_at = {opened_at}
deadline = {deadline}
"""


def event(at: str, user: str, **action: str) -> str:
    lines = ["[[events]]", f'at = "{at}"', f'user = "{user}"']
    lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in action.items()]
    return "\n".join(lines) + "\n"


def t(day: int, hour: int, minute: int = 0) -> str:
    return f"2026-01-{day:02d}T{hour:02d}:{minute:02d}:00Z"


def write(tmp_path: Path, *parts: str, name: str = "scenario.toml") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def simulate(tmp_path: Path, *parts: str) -> dict[str, Any]:
    if not parts or not parts[0].startswith("[circle]"):
        parts = (circle(), proposal(), *parts)
    return run_scenario(write(tmp_path, *parts))


def everyone(*, day: int = 5, start: int = 11, emoji: str = "+1", skip: str = "") -> list[str]:
    names = [n for n in ("ana", "ben", "cy", "dee") if n not in skip.split(",")]
    return [event(t(day, start + i), name, react=emoji) for i, name in enumerate(names)]


# --------------------------------------------------------------------------- outcomes


def test_the_spec_example_passes_early_at_the_last_needed_reaction(tmp_path: Path) -> None:
    result = simulate(
        tmp_path,
        event(t(5, 11), "ben", react="thinking_face"),
        event(t(5, 12), "ana", react="+1"),
        event(t(5, 13), "cy", react="+1"),
        event(t(5, 14), "dee", react="white_check_mark"),
    )
    assert result["status"] == "passed"
    assert result["round"] == 1
    assert result["decided_at"] == "2026-01-05T14:00:00Z"
    assert result["sides"]["milpa"] == {
        "leaders": 2,
        "responded": 2,
        "consent": 1,
        "concern": 1,
        "stand_aside": 0,
        "object": 0,
        "quorum": True,
        "consents": True,
    }
    assert result["sides"]["vera"]["consent"] == 2
    assert result["stances"] == {
        "ana": "consent",
        "ben": "concern",
        "cy": "consent",
        "dee": "consent",
    }
    assert result["proposal"] == {
        "id": 1,
        "text": "Adopt the new visiting policy",
        "author": "ana",
        "opened_at": OPENED,
        "deadline": DEADLINE,
        "cosponsor": None,
        "closed_by": None,
        "statement": None,
    }
    assert result["objectors"] == []
    assert result["concerns"] == ["ben"]
    assert result["warnings"] == []


def test_an_objection_does_not_close_early_and_blocks_at_the_deadline(tmp_path: Path) -> None:
    result = simulate(tmp_path, *everyone(skip="dee"), event(t(5, 20), "dee", react="raised_hand"))
    assert result["status"] == "blocked"
    assert result["decided_at"] == DEADLINE
    assert result["objectors"] == ["dee"]
    assert result["stances"]["dee"] == "object"
    assert result["sides"]["vera"]["object"] == 1
    assert result["sides"]["vera"]["consents"] is False
    assert result["sides"]["milpa"]["consents"] is True


def test_a_side_that_does_not_answer_means_no_quorum(tmp_path: Path) -> None:
    result = simulate(tmp_path, *everyone(skip="cy,dee"))
    assert result["status"] == "no_quorum"
    assert result["decided_at"] == DEADLINE
    assert result["sides"]["vera"]["quorum"] is False
    assert result["sides"]["vera"]["responded"] == 0
    assert result["sides"]["milpa"]["consents"] is True


def test_a_side_whose_leaders_all_stand_aside_has_not_consented(tmp_path: Path) -> None:
    result = simulate(
        tmp_path,
        *everyone(skip="cy,dee"),
        *everyone(start=15, emoji="neutral_face", skip="ana,ben"),
    )
    assert result["status"] == "no_quorum"
    assert result["decided_at"] == DEADLINE  # everyone answered, yet no early close
    vera = result["sides"]["vera"]
    assert (vera["quorum"], vera["consents"], vera["stand_aside"]) == (True, False, 2)
    assert result["standing_aside"] == ["cy", "dee"]


def test_one_stand_aside_with_one_consent_still_carries_the_side(tmp_path: Path) -> None:
    result = simulate(tmp_path, *everyone(skip="dee"), event(t(5, 20), "dee", react="😐"))
    assert result["status"] == "passed"
    assert result["decided_at"] == "2026-01-05T20:00:00Z"
    assert result["standing_aside"] == ["dee"]


def test_quorum_one_half_passes_at_the_deadline_with_one_leader_per_side(tmp_path: Path) -> None:
    result = simulate(
        tmp_path,
        circle(rules="quorum = 0.5"),
        proposal(),
        event(t(5, 11), "ana", react="+1"),
        event(t(5, 12), "cy", react="+1"),
    )
    assert result["status"] == "passed"
    assert result["decided_at"] == DEADLINE  # not complete, so no early close
    assert all(side["quorum"] and side["responded"] == 1 for side in result["sides"].values())


def test_early_close_off_waits_for_the_deadline(tmp_path: Path) -> None:
    result = simulate(tmp_path, circle(rules="early_close = false"), proposal(), *everyone())
    assert (result["status"], result["decided_at"]) == ("passed", DEADLINE)


def test_min_consent_per_side_two(tmp_path: Path) -> None:
    result = simulate(
        tmp_path,
        circle(rules="min_consent_per_side = 2"),
        proposal(),
        *everyone(skip="dee"),
        event(t(5, 20), "dee", react="neutral_face"),
    )
    assert result["status"] == "no_quorum"
    assert result["sides"]["vera"]["consents"] is False


def test_amend_starts_round_two_and_clears_the_stances(tmp_path: Path) -> None:
    result = simulate(
        tmp_path,
        *everyone(skip="dee"),
        event(t(5, 20), "dee", react="raised_hand"),
        event(t(6, 9), "ana", command="amend", text="Adopt the visiting policy, revised"),
        event(t(6, 10), "cy", react="+1"),
    )
    assert result["status"] == "no_quorum"
    assert result["round"] == 2
    assert result["stances"] == {"cy": "consent"}
    assert result["proposal"]["text"] == "Adopt the visiting policy, revised"
    assert result["proposal"]["deadline"] == DEADLINE  # the deadline stays
    assert result["objectors"] == []


def test_after_an_amendment_everyone_answers_again_and_it_passes(tmp_path: Path) -> None:
    result = simulate(
        tmp_path,
        event(t(5, 11), "dee", react="raised_hand"),
        event(t(5, 12), "ana", command="amend", text="Revised"),
        *everyone(start=13),
    )
    assert (result["status"], result["round"], result["decided_at"]) == (
        "passed",
        2,
        "2026-01-05T16:00:00Z",
    )


def test_withdraw_closes_it_and_later_reactions_change_nothing(tmp_path: Path) -> None:
    result = simulate(
        tmp_path,
        event(t(5, 11), "ana", react="+1"),
        event(t(5, 12), "ana", command="withdraw"),
        *everyone(start=13),
    )
    assert result["status"] == "withdrawn"
    assert result["decided_at"] == "2026-01-05T12:00:00Z"
    assert result["stances"] == {"ana": "consent"}
    assert len(result["warnings"]) == 4
    assert all("already withdrawn" in w for w in result["warnings"])


def test_a_refused_command_is_a_warning_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        circle(),
        proposal(),
        event(t(5, 11), "cy", command="withdraw"),  # not the author, not an admin
        event(t(5, 12), "dee", command="amend", text="Mine now"),
        event(t(5, 13), "cy", command="cosponsor"),  # not a draft
    )
    assert main_simulate(path) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["status"] == "no_quorum"
    assert result["round"] == 1
    assert len(result["warnings"]) == 3
    assert "events[0] (2026-01-05T11:00:00Z): withdraw by cy refused" in result["warnings"][0]
    assert "Only the author (ana) or an admin" in result["warnings"][0]
    assert "events[1]" in result["warnings"][1] and "amend by dee refused" in result["warnings"][1]
    assert "already open" in result["warnings"][2]
    assert err.count("circlebot: warning: events[") == 3


def test_an_admin_may_withdraw(tmp_path: Path) -> None:
    result = simulate(tmp_path, event(t(5, 11), "ben", command="withdraw"))
    assert result["status"] == "withdrawn"


def test_cosponsor_required_reactions_before_it_do_not_count(tmp_path: Path) -> None:
    result = simulate(
        tmp_path,
        circle(rules="require_cosponsor = true"),
        proposal(),
        event(t(5, 11), "ana", react="+1"),  # a draft: not counted
        event(t(5, 12), "cy", command="cosponsor"),
        *everyone(start=13, skip="ana"),
    )
    assert result["status"] == "no_quorum"  # ana's early 👍 did not count
    assert result["round"] == 1
    assert result["proposal"]["cosponsor"] == "cy"
    assert "ana" not in result["stances"]
    assert result["sides"]["milpa"]["responded"] == 1
    assert any("draft" in w and "events[0]" in w for w in result["warnings"])


def test_cosponsor_by_handshake_then_everyone_answers(tmp_path: Path) -> None:
    result = simulate(
        tmp_path,
        circle(rules="require_cosponsor = true"),
        proposal(),
        event(t(5, 11), "ben", react="handshake"),  # same side as the author
        event(t(5, 12), "dee", react="🤝"),
        *everyone(start=13),
    )
    assert (result["status"], result["decided_at"]) == ("passed", "2026-01-05T16:00:00Z")
    assert result["proposal"]["cosponsor"] == "dee"
    assert len(result["warnings"]) == 1
    assert "events[0]" in result["warnings"][0] and "did not co-sponsor" in result["warnings"][0]


def test_a_draft_never_cosponsored_closes_without_quorum(tmp_path: Path) -> None:
    result = simulate(
        tmp_path, circle(rules="require_cosponsor = true"), proposal(), *everyone(start=11)
    )
    assert (result["status"], result["round"]) == ("no_quorum", 0)
    assert result["stances"] == {}
    assert result["decided_at"] == DEADLINE


def test_skin_tones_and_unicode_map_like_their_base(tmp_path: Path) -> None:
    result = simulate(
        tmp_path,
        event(t(5, 11), "ana", react="👍🏽"),
        event(t(5, 12), "ben", react="+1::skin-tone-5"),
        event(t(5, 13), "cy", react=":thinking_face:"),
        event(t(5, 14), "dee", react="✋🏿"),
        event(t(5, 15), "mo", react="✅"),
        event(t(5, 16), "vi", react="🎉"),  # not a stance: ignored
    )
    assert result["stances"] == {
        "ana": "consent",
        "ben": "consent",
        "mo": "consent",
        "cy": "concern",
        "dee": "object",
    }
    assert result["status"] == "blocked"


def test_unreact_falls_back_to_the_previous_stance_still_present(tmp_path: Path) -> None:
    result = simulate(
        tmp_path,
        *everyone(skip="dee"),
        event(t(5, 20), "dee", react="+1"),  # passes here...
    )
    assert result["decided_at"] == "2026-01-05T20:00:00Z"
    result = simulate(
        tmp_path,
        event(t(5, 10, 30), "dee", react="thinking_face"),
        event(t(5, 10, 40), "dee", react="raised_hand"),  # the most recent: an objection
        *everyone(skip="dee"),  # complete, but blocked: no early pass
        event(t(5, 17), "dee", unreact="raised_hand"),  # back to 🤔: passes now
    )
    assert (result["status"], result["decided_at"]) == ("passed", "2026-01-05T17:00:00Z")
    assert result["stances"]["dee"] == "concern"


def test_unreacting_the_only_stance_leaves_none(tmp_path: Path) -> None:
    result = simulate(
        tmp_path,
        event(t(5, 11), "cy", react="+1"),
        event(t(5, 12), "cy", unreact="+1"),
    )
    assert "cy" not in result["stances"]
    assert result["sides"]["vera"]["responded"] == 0


def test_voices_are_shown_but_never_counted(tmp_path: Path) -> None:
    result = simulate(
        tmp_path,
        event(t(5, 10, 30), "mo", react="raised_hand"),
        event(t(5, 10, 45), "vi", react="octagonal_sign"),
        *everyone(),
    )
    assert result["status"] == "passed"
    assert result["decided_at"] == "2026-01-05T14:00:00Z"
    assert result["stances"]["mo"] == "object" and result["stances"]["vi"] == "object"
    assert result["objectors"] == []
    assert all(side["object"] == 0 for side in result["sides"].values())


def test_events_of_the_same_instant_apply_in_scenario_order(tmp_path: Path) -> None:
    # Twelve events, so that event ids 9 and 10 compare in scenario order, not as text.
    filler = [event(t(5, 10, m), "mo", react="eyes") for m in range(1, 10)]
    result = simulate(
        tmp_path,
        *filler,
        event(t(5, 11), "cy", react="raised_hand"),  # events[9]
        event(t(5, 11), "cy", react="+1"),  # events[10], same instant, the newer one
        event(t(5, 11), "cy", unreact="raised_hand"),  # events[11]
    )
    assert result["stances"]["cy"] == "consent"


def test_a_deadline_that_passed_before_an_event_closes_first(tmp_path: Path) -> None:
    result = simulate(
        tmp_path,
        *everyone(skip="dee"),
        event("2026-01-09T10:00:00Z", "dee", react="+1"),
    )
    assert (result["status"], result["decided_at"]) == ("no_quorum", DEADLINE)
    assert "dee" not in result["stances"]
    assert "already no_quorum" in result["warnings"][0]


def test_toml_datetimes_and_offsets_are_accepted(tmp_path: Path) -> None:
    result = simulate(
        tmp_path,
        circle(),
        proposal(opened_at="2026-01-05T10:00:00Z", deadline="2026-01-08T11:00:00+01:00"),
        event("2026-01-05T12:00:00+01:00", "ana", react="+1"),
    )
    assert result["proposal"]["opened_at"] == OPENED
    assert result["proposal"]["deadline"] == DEADLINE
    assert result["stances"] == {"ana": "consent"}


@pytest.mark.parametrize("timezone", ["UTC", "America/Los_Angeles", "Asia/Kathmandu"])
@pytest.mark.parametrize(
    "deadline",
    [
        "2026-01-05T10:00:01Z",
        "2026-01-05T11:30:00Z",
        "2026-01-08T10:00:00Z",
        "2026-01-20T10:00:07Z",  # 15 days and 7 seconds: too many seconds for one duration
        "2026-11-01T09:30:00Z",  # across a change of daylight saving time
        "2027-03-14T10:00:00Z",
    ],
)
def test_the_deadline_is_exactly_the_scenarios(
    tmp_path: Path, timezone: str, deadline: str
) -> None:
    result = simulate(tmp_path, circle(timezone=timezone), proposal(deadline=f'"{deadline}"'))
    assert result["proposal"]["deadline"] == deadline
    assert result["decided_at"] == deadline


def test_deadline_clause_falls_back_to_a_local_time_for_long_odd_spans() -> None:
    opened = datetime(2026, 1, 5, 10, tzinfo=UTC)
    deadline = opened + timedelta(days=15, seconds=7)
    zone = "America/Los_Angeles"
    clause = deadline_clause(opened, deadline, zone)
    assert clause == "2026-01-20 02:00:07"
    assert parse_when(clause, opened, ZoneInfo(zone)) == deadline
    assert deadline_clause(opened, opened + timedelta(hours=72), zone) == "3d"
    assert deadline_clause(opened, opened + timedelta(microseconds=5), zone) is None


def test_a_proposal_text_with_unicode_and_several_lines(tmp_path: Path) -> None:
    text = 'Adopt "la política" de visitas, 2026 ✊🏽\nSecond line: by the book'
    result = simulate(tmp_path, circle(), proposal(text=text), *everyone())
    assert result["proposal"]["text"] == text
    assert result["status"] == "passed"


def test_a_file_with_windows_line_endings(tmp_path: Path) -> None:
    text = circle() + proposal() + 'text = """First line\nsecond line"""\n'
    text = text.replace('text = "Adopt the new visiting policy"\n', "")
    path = tmp_path / "crlf.toml"
    path.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    result = run_scenario(path)
    assert result["proposal"]["text"] == "First line\nsecond line"


def test_sides_with_unequal_numbers_of_leaders_warn_and_weigh_the_same(tmp_path: Path) -> None:
    lopsided = """\
[circle]
name = "pair"
sides = ["a", "b"]
[[circle.members]]
name = "x"
side = "a"
[[circle.members]]
name = "y"
side = "a"
[[circle.members]]
name = "z"
side = "b"
"""
    result = simulate(
        tmp_path,
        lopsided,
        proposal(author="x"),
        event(t(5, 11), "x", react="+1"),
        event(t(5, 12), "z", react="+1"),
        event(t(5, 13), "y", react="+1"),
    )
    assert (result["status"], result["decided_at"]) == ("passed", "2026-01-05T13:00:00Z")
    assert result["sides"]["b"]["leaders"] == 1
    assert any("unequal numbers of leaders" in w for w in result["warnings"])


# --------------------------------------------------------------------------- invalid

INVALID: list[tuple[str, tuple[str, ...], str]] = [
    ("unknown top key", (circle(), proposal(), "[extra]\nx = 1\n"), "extra: unknown key"),
    ("no circle", (proposal(),), "circle: missing"),
    ("no proposal", (circle(),), "proposal: missing"),
    (
        "unknown proposal key",
        (circle(), proposal() + 'titel = "x"\n'),
        "proposal.titel: unknown key",
    ),
    (
        "missing deadline",
        (circle(), proposal().replace(f'deadline = "{DEADLINE}"\n', "")),
        "proposal.deadline: missing",
    ),
    (
        "missing author",
        (circle(), proposal().replace('author = "ana"\n', "")),
        "proposal.author: missing",
    ),
    (
        "deadline before opening",
        (circle(), proposal(deadline=f'"{OPENED}"')),
        "proposal.deadline: 2026-01-05T10:00:00Z must be after proposal.opened_at",
    ),
    (
        "author not a member",
        (circle(), proposal(author="zed")),
        'proposal.author: "zed" is not a member of the circle',
    ),
    (
        "author is a voice",
        (circle(), proposal(author="mo")),
        'proposal.author: "mo" is a member with a voice',
    ),
    (
        "text read as a review clause",
        (circle(), proposal(text="Decide what to review 6mo")),
        "proposal.text: ends with words the propose command reads as a clause",
    ),
    (
        "user not a member",
        (
            circle(),
            proposal(),
            event(t(5, 11), "ana", react="+1"),
            event(t(5, 12), "zed", react="+1"),
        ),
        'events[1].user: "zed" is not a member of the circle',
    ),
    (
        "out of order",
        (
            circle(),
            proposal(),
            event(t(5, 11), "ana", react="+1"),
            event(t(5, 10, 30), "cy", react="+1"),
        ),
        "events[1].at: must be in time order "
        "(2026-01-05T10:30:00Z comes after 2026-01-05T11:00:00Z)",
    ),
    (
        "before opening",
        (circle(), proposal(), event(t(5, 9), "ana", react="+1")),
        "events[0].at: 2026-01-05T09:00:00Z is before the proposal opens",
    ),
    (
        "no action",
        (circle(), proposal(), event(t(5, 11), "ana")),
        "events[0]: needs one of react, unreact or command",
    ),
    (
        "two actions",
        (circle(), proposal(), event(t(5, 11), "ana", react="+1", command="withdraw")),
        "events[0]: has both react and command",
    ),
    (
        "unknown command",
        (circle(), proposal(), event(t(5, 11), "ana", command="vote")),
        'events[0].command: "vote" is not a scenario command; use amend, withdraw, cosponsor, '
        "close, outcome, away, back",
    ),
    (
        "amend without text",
        (circle(), proposal(), event(t(5, 11), "ana", command="amend")),
        "events[0].text: missing; amend needs the new text",
    ),
    (
        "text on a withdraw",
        (circle(), proposal(), event(t(5, 11), "ana", command="withdraw", text="why")),
        'events[0].text: only command = "amend" or "outcome" takes a text',
    ),
    (
        "amend text read as a deadline",
        (circle(), proposal(), event(t(5, 11), "ana", command="amend", text="Do it by 3d")),
        "events[0].text: ends with words the amend command reads as a new deadline",
    ),
    (
        "away without until",
        (circle(), proposal(), event(t(5, 11), "ana", command="away", proxy="ben")),
        "events[0].until: away needs until",
    ),
    (
        "a proxy on a reaction",
        (circle(), proposal(), event(t(5, 11), "ana", react="+1", proxy="ben")),
        'events[0].proxy: only command = "away" takes proxy, not react',
    ),
    (
        "a proxy who is not a member",
        (
            circle(),
            proposal(),
            event(t(5, 11), "ana", command="away", until=t(7, 0), proxy="zed"),
        ),
        'events[0].proxy: "zed" is not a member of the circle',
    ),
    (
        "outcome without text",
        (circle(), proposal(), event(t(5, 11), "ana", command="outcome")),
        "events[0].text: missing; outcome needs the outcome statement",
    ),
    (
        "unknown event key",
        (circle(), proposal(), event(t(5, 11), "ana", emoji="+1")),
        "events[0].emoji: unknown key; known keys: at, user, react, unreact, command, text, "
        "until, proxy",
    ),
    (
        "empty emoji",
        (circle(), proposal(), event(t(5, 11), "ana", react=" ")),
        "events[0].react: must not be empty",
    ),
    (
        "bad timestamp",
        (circle(), proposal(), event("yesterday", "ana", react="+1")),
        'events[0].at: "yesterday" is not a date and time',
    ),
    (
        "timestamp without a zone",
        (circle(), proposal(), event("2026-01-05T11:00:00", "ana", react="+1")),
        "events[0].at: 2026-01-05T11:00:00 has no time zone",
    ),
    (
        "TOML local date-time",
        (circle(), proposal(opened_at="2026-01-05T10:00:00")),
        "proposal.opened_at: 2026-01-05T10:00:00 has no time zone",
    ),
    (
        "TOML date without a time",
        (circle(), proposal(deadline="2026-01-08")),
        "proposal.deadline: 2026-01-08 has no time of day",
    ),
    (
        "number as timestamp",
        (circle(), proposal(deadline="1767866400")),
        "proposal.deadline: expected a date and time like 2026-01-05T10:00:00Z, got an integer",
    ),
    (
        "events not an array of tables",
        ('events = "none"\n', circle(), proposal()),
        "events: expected an array of tables",
    ),
    (
        "circle with one side",
        (circle().replace('["milpa", "vera"]', '["milpa"]'), proposal()),
        "circle.sides: a circle needs at least two sides",
    ),
    (
        "member on an unknown side",
        (circle().replace('side = "vera"', 'side = "verra"', 1), proposal()),
        'circle.members[3].side: "verra" is not one of milpa, vera',
    ),
    (
        "quorum out of range",
        (circle(rules="quorum = 1.5"), proposal()),
        "circle.rules.quorum",
    ),
    (
        "the host's time zone",
        (circle(timezone="localtime"), proposal()),
        'circle.timezone: "localtime" is not a known time zone',
    ),
    (
        "a time zone file's path",
        (circle(timezone="posix/Europe/Madrid"), proposal()),
        'circle.timezone: "posix/Europe/Madrid" is not a known time zone',
    ),
    (
        "unknown circle key",
        (circle().replace('timezone = "UTC"', 'tz = "UTC"'), proposal()),
        "circle.tz: unknown key",
    ),
]


@pytest.mark.parametrize(
    ("parts", "message"),
    [pytest.param(parts, message, id=name) for name, parts, message in INVALID],
)
def test_an_invalid_scenario_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], parts: tuple[str, ...], message: str
) -> None:
    path = write(tmp_path, *parts)
    with pytest.raises(ScenarioError) as caught:
        run_scenario(path)
    assert str(caught.value) == f"{path}: {caught.value.key}: {caught.value.problem}"
    assert message in str(caught.value)
    assert main_simulate(path) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"circlebot: {caught.value}\n"
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('["milpa", "vera"]', '["milpa", "Milpa"]'),
        ('side = "vera"', 'side = "verra"'),
        ('role = "member"', 'role = "voice"'),
        ('admins = ["ben"]', 'admins = ["zed"]'),
        ('name = "ana"', 'name = "a\u202ena"'),
        ("[circle.rules]\n", '[circle.rules]\nquorum = "2/0"\n'),
        ("[circle.rules]\n", '[circle.rules]\nreminders = ["1h", "60m"]\n'),
        ('timezone = "UTC"', 'timezone = "Mars/Olympus"'),
    ],
)
def test_a_circle_key_fails_the_same_in_a_scenario_and_in_a_config(
    tmp_path: Path, old: str, new: str
) -> None:
    bad = circle().replace(old, new, 1)
    assert bad != circle()
    scenario = write(tmp_path, bad, proposal())
    with pytest.raises(ScenarioError) as in_scenario:
        run_scenario(scenario)
    # The same table as the config's first [[circles]] entry.
    as_config = bad.replace("[circle]", "[[circles]]").replace("[circle.", "[circles.")
    config = write(tmp_path, as_config, name="config.toml")
    with pytest.raises(ConfigError) as in_config:
        load_config(config)
    assert in_scenario.value.problem == in_config.value.problem
    assert in_scenario.value.key is not None and in_config.value.key is not None
    assert in_scenario.value.key.removeprefix("circle") == in_config.value.key.removeprefix(
        "circles[0]"
    )


def test_hidden_characters_in_a_scenario_are_spelled_out_in_messages(tmp_path: Path) -> None:
    path = write(tmp_path, circle(), proposal(), event(t(5, 11), "a\u202ena", react="+1"))
    with pytest.raises(ScenarioError) as caught:
        run_scenario(path)
    assert caught.value.key == "events[0].user"
    assert "\u202e" not in str(caught.value)
    assert '"a\\u202ena" is not a member of the circle' in str(caught.value)


def test_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main_simulate(tmp_path / "nope.toml") == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "nope.toml: no such file" in err


def test_bad_toml_syntax_exits_2_with_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, circle(), proposal(), "[[events]\nat = 1\n")
    assert main_simulate(path) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{path}, line " in err and "invalid TOML" in err


def test_invalid_utf8_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('[circle]\nname = "caf\u00e9"\n'.encode("latin-1"))
    assert main_simulate(path) == 2
    assert "not valid UTF-8 text" in capsys.readouterr().err


# --------------------------------------------------------------------------- examples, CLI


def test_the_example_scenarios_run() -> None:
    passes = run_scenario(EXAMPLES / "council-passes.toml")
    assert (passes["status"], passes["decided_at"]) == ("passed", "2026-01-05T14:00:00Z")
    assert passes["stances"]["mo"] == "object"  # a voice, not counted
    assert passes["warnings"] == []
    blocked = run_scenario(EXAMPLES / "council-blocked.toml")
    assert (blocked["status"], blocked["round"]) == ("blocked", 2)
    assert blocked["decided_at"] == "2026-01-08T10:00:00Z"
    assert blocked["objectors"] == ["dee"]
    assert blocked["warnings"] == []
    proxy = run_scenario(EXAMPLES / "council-proxy.toml")
    assert (proxy["status"], proxy["decided_at"]) == ("passed", "2026-01-05T14:00:00Z")
    assert proxy["proxied"] == {"cy": "dee"}
    assert proxy["stances"]["cy"] == "consent"
    assert proxy["warnings"] == []
    closed = run_scenario(EXAMPLES / "council-close.toml")
    assert (closed["status"], closed["decided_at"]) == ("passed", "2026-01-06T09:00:00Z")
    assert closed["proposal"]["closed_by"] == "ana"
    assert closed["proposal"]["statement"].startswith("Meetings move to Thursdays")
    assert closed["warnings"] == []


def test_a_proxy_from_another_side_or_with_the_rule_off_is_a_warning(tmp_path: Path) -> None:
    away = event(t(5, 11), "cy", command="away", until=t(7, 0), proxy="ana")
    out = simulate(tmp_path, circle("allow_proxy = true"), proposal(), away)
    assert out["proxied"] == {}
    assert "away by cy refused: ana is on milpa" in out["warnings"][0]
    off = event(t(5, 11), "cy", command="away", until=t(7, 0), proxy="dee")
    out = simulate(tmp_path, off)
    assert "does not use proxies" in out["warnings"][0]


def test_an_away_leaders_own_answer_wins_over_the_proxys(tmp_path: Path) -> None:
    out = simulate(
        tmp_path,
        circle("allow_proxy = true\nearly_close = false"),
        proposal(),
        event(t(5, 11), "cy", command="away", until=t(9, 0), proxy="dee"),
        event(t(5, 12), "dee", react="+1"),
        event(t(5, 13), "cy", react="raised_hand"),
    )
    assert out["status"] == "blocked"
    assert out["stances"]["cy"] == "object" and out["proxied"] == {}


def test_close_and_outcome_by_someone_else_are_warnings(tmp_path: Path) -> None:
    out = simulate(
        tmp_path,
        event(t(5, 11), "cy", command="close"),
        event(t(5, 12), "cy", command="outcome", text="Nope"),
    )
    assert out["status"] == "no_quorum"  # at the deadline: nobody answered
    assert "close by cy refused: Only the author (ana) or an admin" in out["warnings"][0]
    assert "outcome by cy refused" in out["warnings"][1]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.wiring.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cli_prints_only_json_on_stdout(tmp_path: Path) -> None:
    done = _cli("simulate", str(EXAMPLES / "council-passes.toml"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "passed"
    assert done.stderr == ""

    path = write(tmp_path, circle(), proposal(), event(t(5, 11), "cy", command="withdraw"))
    done = _cli("simulate", str(path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "no_quorum"
    assert done.stderr.startswith("circlebot: warning: events[0]")


def test_the_cli_exits_2_on_an_invalid_scenario(tmp_path: Path) -> None:
    path = write(tmp_path, circle(), proposal(), event(t(5, 11), "zed", react="+1"))
    done = _cli("simulate", str(path))
    assert done.returncode == 2
    assert done.stdout == ""
    assert (
        done.stderr == f'circlebot: {path}: events[0].user: "zed" is not a member of the circle '
        "(members: ana, ben, mo, cy, dee, vi)\n"
    )
    missing = _cli("simulate", str(tmp_path / "missing.toml"))
    assert (missing.returncode, missing.stdout) == (2, "")
    assert "Traceback" not in missing.stderr


# --------------------------------------------------------------------------- core, found here


# A reaction stamped after the deadline but handled before advance() closed the proposal
# (after downtime, a platform may deliver such reactions first).
def test_core_a_reaction_after_the_deadline_does_not_undo_the_deadline_outcome(
    tmp_path: Path,
) -> None:
    spec, _ = parse_circle(
        {
            "name": "council",
            "sides": ["milpa", "vera"],
            "members": [
                {"name": name, "side": side}
                for name, side in (
                    ("ana", "milpa"),
                    ("ben", "milpa"),
                    ("cy", "vera"),
                    ("dee", "vera"),
                )
            ],
        },
        "circle",
    )
    opened = datetime(2026, 1, 5, 10, tzinfo=UTC)
    deadline = opened + timedelta(days=1)
    repo = open_repository(f"sqlite:///{tmp_path}/core.db")
    try:
        clock = ManualClock(opened)
        core = Core(repo, [spec], clock)
        core.start()
        [reply] = core.handle(CommandEvent("test", "p", "council", "ana", "propose Policy by 1d"))
        assert reply.ok, reply.text

        def react(event_id: str, user: str, emoji: str, when: datetime) -> None:
            clock.set(when)
            core.handle(
                ReactionEvent(
                    "test", event_id, "council", user, emoji, True, proposal_id=1, at=when
                )
            )

        for index, name in enumerate(("ana", "ben", "cy")):
            react(f"r{index}", name, "+1", opened + timedelta(hours=1 + index))
        react("r3", "dee", "raised_hand", opened + timedelta(hours=5))
        # The deadline passes with dee objecting; before advance() runs, dee changes to 👍.
        react("r4", "dee", "+1", deadline + timedelta(seconds=1))
        core.advance()
        proposal = core.state(1).proposal
        assert (proposal.status, proposal.decided_at) == ("blocked", deadline)
    finally:
        repo.engine.dispose()
