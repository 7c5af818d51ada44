"""The command parser: every command, every error, and arbitrary input; in English and
in Spanish."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import adapters.matrix
import adapters.slack
from bot.domain.durations import DurationError, parse_when
from bot.domain.i18n import Lang, lang
from bot.domain.identity import Handle
from bot.domain.intents import (
    Amend,
    Away,
    Back,
    Checkin,
    CircleAdd,
    CircleRemove,
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
from bot.domain.text_safety import BIDI_CONTROLS, INVISIBLE, ZWJ, ZWNJ, clean_text
from bot.text.grammar import COMMAND_NAMES, ENGLISH, MAX_TEXT, SPANISH, command_name, lookup
from bot.text.help import HELP_TEXT, help_text, usage
from bot.text.parsing import CommandError, Field, parse_command

# How the chat platforms write a person, as their plug-ins say.
PEOPLE = [adapters.slack.TRAITS.person, adapters.matrix.TRAITS.person]
SLACK_U123ABC = Handle("slack", "U123ABC")


def error(text: str) -> str:
    with pytest.raises(CommandError) as info:
        parse_command(text, people=PEOPLE)
    message = str(info.value)
    assert message
    assert "Traceback" not in message
    return message


IN_RANGE = "must be in the future and within 10 years"


# --- propose ------------------------------------------------------------------------


def test_propose_plain_text() -> None:
    assert parse_command("propose Adopt the visiting policy") == Propose(
        "Adopt the visiting policy", None, None
    )


@pytest.mark.parametrize("prefix", ["", "/", "!", "  /", "! "])
def test_one_leading_slash_or_bang_is_tolerated(prefix: str) -> None:
    assert parse_command(f"{prefix}propose Hello") == Propose("Hello", None, None)


def test_propose_by_duration() -> None:
    assert parse_command("propose Adopt it by 3d") == Propose("Adopt it", "3d", None)


@pytest.mark.parametrize(
    ("text", "body", "role", "when"),
    [
        ("propose Adopt the plan by Friday", "Adopt the plan", "by", "Friday"),
        ("propose Ship it by 5pm", "Ship it", "by", "5pm"),
        ("propose Decide by 12/01", "Decide", "by", "12/01"),
        ("propose Go by 3 days", "Go", "by", "3 days"),
        ("propose Meet by 5 pm", "Meet", "by", "5 pm"),
        ("propose Read chapter 3d by Friday", "Read chapter 3d", "by", "Friday"),
        ("propose Go by next Friday 5:30 pm", "Go", "by", "next Friday 5:30 pm"),
        ("propose Keep the van review in 6 months", "Keep the van", "review", "in 6 months"),
        (
            "amend 2 Adopt the plan, revised by tomorrow",
            "Adopt the plan, revised",
            "by",
            "tomorrow",
        ),
    ],
)
def test_a_time_as_people_write_it_is_read(text: str, body: str, role: str, when: str) -> None:
    parsed = parse_command(text)
    assert isinstance(parsed, Propose | Amend)
    assert parsed.text == body
    assert getattr(parsed, role) == when


@pytest.mark.parametrize(
    ("text", "words", "field"),
    [
        ("propose Meet by next week", "week", Field.DEADLINE),
        ("propose Share it by the end of may", "may", Field.DEADLINE),
        ("propose Hire two people by the 15th", "15th", Field.DEADLINE),
        ("propose Keep the van by 3d review next year", "year", Field.REVIEW),
        ("propose Adopt it by fridya 5pm", "fridya", Field.DEADLINE),
        ("amend 2 Adopt the plan by tomorow", "tomorow", Field.DEADLINE),
    ],
)
def test_a_time_we_cannot_read_is_refused_naming_the_words(
    text: str, words: str, field: Field
) -> None:
    with pytest.raises(CommandError) as info:
        parse_command(text)
    assert f'could not read "{words}" as a date or time' in str(info.value)
    assert '"Friday 5pm"' in str(info.value)  # examples of what reads
    assert info.value.field is field


@pytest.mark.parametrize(
    "text",
    [
        "propose Stand by me",
        "propose Buy supplies by the bucket",
        "propose Sell eggs by the dozen",
        "propose Paint the wall by the door",
        "propose Do it by monday by 3d",  # a deadline was given after it
        "propose friday",  # no keyword
    ],
)
def test_text_that_does_not_look_like_a_time_stays_in_the_proposal(text: str) -> None:
    parsed = parse_command(text)
    assert isinstance(parsed, Propose)
    assert text.removeprefix("propose ").startswith(parsed.text)


def test_propose_review() -> None:
    assert parse_command("propose Adopt it review 6mo") == Propose("Adopt it", None, "6mo")


def test_propose_by_then_review() -> None:
    assert parse_command("propose Adopt it by 72h review 6mo") == Propose("Adopt it", "72h", "6mo")


def test_propose_review_then_by() -> None:
    assert parse_command("propose Adopt it review 6mo by 72h") == Propose("Adopt it", "72h", "6mo")


def test_propose_by_date_and_time() -> None:
    assert parse_command("propose Adopt it by 2026-12-01 17:00") == Propose(
        "Adopt it", "2026-12-01 17:00", None
    )


def test_propose_by_date_and_time_with_review_in_either_order() -> None:
    expected = Propose("Adopt it", "2026-12-01 17:00", "2027-06-01")
    assert parse_command("propose Adopt it by 2026-12-01 17:00 review 2027-06-01") == expected
    assert parse_command("propose Adopt it review 2027-06-01 by 2026-12-01 17:00") == expected


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2026-12-01", "2026-12-01"),
        ("2026-12-01T17:00", "2026-12-01 17:00"),
        ("2026-12-01T17:00:30", "2026-12-01 17:00:30"),
        ("2026-1-5 9:00", "2026-1-5 9:00"),
    ],
)
def test_propose_date_only_and_iso_t_form(when: str, expected: str) -> None:
    assert parse_command(f"propose X by {when}") == Propose("X", expected, None)


@pytest.mark.parametrize(
    "when", ["3d", "90s", "2m", "72h", "1w", "6mo", "2026-12-01 17:00", "2026-12-01T17:00:30"]
)
def test_returned_whens_are_understood_by_parse_when(when: str) -> None:
    command = parse_command(f"propose X by {when} review {when}")
    assert isinstance(command, Propose)
    now = datetime(2026, 1, 5, 10, tzinfo=UTC)
    for raw in (command.by, command.review):
        assert raw is not None
        parse_when(raw, now, ZoneInfo("America/Los_Angeles"))


def test_keywords_and_units_are_case_insensitive() -> None:
    assert parse_command("propose X BY 3D Review 6MO") == Propose("X", "3D", "6MO")


@pytest.mark.parametrize(
    "text",
    [
        "Hire a coordinator by the board",
        "Decide by consensus",
        "Stand by our partners",
        "Put it up for review",
        "review the budget",
        "by",
        "Finish by 2026",
    ],
)
def test_by_and_review_that_are_not_clauses_stay_in_the_text(text: str) -> None:
    parsed = parse_command(f"propose {text}")
    assert isinstance(parsed, Propose)
    assert (parsed.text, parsed.by, parsed.review) == (text, None, None)


def test_by_in_the_middle_stays_in_the_text() -> None:
    assert parse_command("propose Decide by 3d whether to hire") == Propose(
        "Decide by 3d whether to hire", None, None
    )


def test_natural_by_before_a_real_clause() -> None:
    assert parse_command("propose Hire a coordinator by the board by 3d") == Propose(
        "Hire a coordinator by the board", "3d", None
    )


def test_only_the_last_clause_of_each_kind_is_taken() -> None:
    assert parse_command("propose Pay the invoice by 2026-12-01 by 3d") == Propose(
        "Pay the invoice by 2026-12-01", "3d", None
    )


def test_propose_keeps_case_and_newlines_and_trims() -> None:
    command = parse_command("PROPOSE   First line\n\tSecond Line  \n by 3d \n")
    assert command == Propose("First line\n\tSecond Line", "3d", None)


def test_crlf_is_a_newline() -> None:
    assert parse_command("propose a\r\nb\rc") == Propose("a\nb\nc", None, None)


def test_propose_text_may_be_long_up_to_the_limit() -> None:
    text = "x" * MAX_TEXT
    assert parse_command(f"propose {text} by 3d") == Propose(text, "3d", None)


def test_propose_text_over_the_limit_is_refused_with_both_numbers() -> None:
    message = error("propose " + "x" * (MAX_TEXT + 1))
    assert "too long" in message
    assert str(MAX_TEXT) in message
    assert str(MAX_TEXT + 1) in message


@pytest.mark.parametrize("text", ["propose", "propose   ", "propose \n\t", "propose by 3d"])
def test_propose_without_text_is_refused(text: str) -> None:
    message = error(text)
    assert "propose needs the text" in message
    assert "propose TEXT [by WHEN] [review WHEN]" in message


def test_propose_with_only_clauses_is_refused() -> None:
    assert "needs the text" in error("propose by 3d review 6mo")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("propose X by 0d", IN_RANGE),
        ("propose X review 0mo", IN_RANGE),
        ("propose X by 2026-13-45 10:00", "not a real date"),
        ("propose X by 2026-02-30", "not a real date"),
        ("propose X by 2026-12-01 25:00", "not a real date"),
        ("propose X review 2026-12-01 17:99", "not a real date"),
        ("propose X by 999999w", IN_RANGE),
        ("propose X by 999999mo", IN_RANGE),
    ],
)
def test_invalid_when_is_refused(text: str, expected: str) -> None:
    message = error(text)
    assert expected in message
    assert "Usage: propose TEXT [by WHEN] [review WHEN]" in message


@pytest.mark.parametrize(
    ("text", "clause", "what"),
    [
        ("propose t by -1d", "by -1d", "a deadline"),
        ("propose t by 99999999d", "by 99999999d", "a deadline"),
        ("propose t by 9" + "9" * 5000 + "d", "by 9999", "a deadline"),  # no int() overflow
        ("propose t by 3660d", "by 3660d", "a deadline"),  # just over ten years
        ("propose t by 121mo", "by 121mo", "a deadline"),
        ("propose t by 0d", "by 0d", "a deadline"),
        ("propose t by -6 mo", "by -6 mo", "a deadline"),
        ("propose t review -6mo", "review -6mo", "a review date"),
        ("propose t by 3d review 99999999w", "review 99999999w", "a review date"),
        ("amend 3 t by -1d", "by -1d", "a deadline"),
        ("amend 3 t by 99999999d", "by 99999999d", "a deadline"),
        ("away -1d", "away -1d", "the end of your time away"),
        ("away 99999999d", "away 99999999d", "the end of your time away"),
    ],
)
def test_a_when_out_of_range_is_refused_and_says_so(text: str, clause: str, what: str) -> None:
    message = error(text)
    assert f"{what} {IN_RANGE}" in message
    assert message.startswith(f'"{clause}')
    assert "3d" in message and "2026-12-01 17:00" in message  # the accepted forms
    assert "Usage:" in message


@pytest.mark.parametrize(
    "text",
    ["propose t by +3d", "amend 3 t by +3d", "away +3d"],
)
def test_a_signed_duration_is_refused(text: str) -> None:
    assert "without the sign" in error(text)


@pytest.mark.parametrize(
    ("text", "unread"),
    [
        ("propose t by 100y", "by 100y"),
        ("propose t by 2yrs", "by 2yrs"),
        ("propose t by 1.5d", "by 1.5d"),
        ("propose t by 1h30m", "by 1h30m"),
        ("amend 3 t by 100y", "by 100y"),
    ],
)
def test_a_time_in_units_we_do_not_read_is_refused(text: str, unread: str) -> None:
    with pytest.raises(CommandError) as info:
        parse_command(text)
    assert str(info.value).startswith(f'"{unread}": ')


@pytest.mark.parametrize(
    "text",
    ["propose X by 10000-01-01", "propose X by 0000-01-01 10:00", "propose X by 99999-12-31"],
)
def test_a_date_beyond_the_calendar_is_refused(text: str) -> None:
    assert "not a real date" in error(text)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["by", "review"]),
    st.from_regex(r"[+-]?[0-9]{1,12} ?(s|m|h|d|w|mo|y)", fullmatch=True)
    | st.from_regex(r"[0-9]{4,6}-[0-9]{1,3}-[0-9]{1,3}( [0-9]{1,2}:[0-9]{2})?", fullmatch=True),
)
def test_a_trailing_when_is_set_refused_or_named_never_lost(keyword: str, when: str) -> None:
    try:
        parsed = parse_command(f"propose t {keyword} {when}")
    except CommandError as exc:
        assert str(exc).startswith(f'"{keyword} ')
        return
    assert isinstance(parsed, Propose)
    if getattr(parsed, keyword) is not None:
        now = datetime(2026, 1, 5, 10, tzinfo=UTC)
        raw = getattr(parsed, keyword)
        try:  # a date is checked against the clock by the core, through parse_when
            moment = parse_when(raw, now, ZoneInfo("Pacific/Kiritimati"))
        except DurationError as exc:
            assert "far away" in str(exc) or "10 years" in str(exc)
        else:
            assert moment.year < 2037
    else:
        raise AssertionError(f"neither read nor refused: {parsed}")


def test_invalid_when_names_the_clause() -> None:
    assert '"by 2026-13-45 10:00"' in error("propose X by 2026-13-45 10:00")
    assert '"review 0d"' in error("propose X by 3d review 0d")


# --- amend --------------------------------------------------------------------------


def test_amend() -> None:
    assert parse_command("amend 7 Adopt the visiting policy, revised") == Amend(
        7, "Adopt the visiting policy, revised", None
    )


def test_amend_with_hash_id_and_deadline() -> None:
    assert parse_command("amend #7 New text by 2026-12-01 17:00") == Amend(
        7, "New text", "2026-12-01 17:00"
    )


def test_amend_keeps_a_natural_by_and_review() -> None:
    assert parse_command("amend 7 Approved by the board review 6mo") == Amend(
        7, "Approved by the board review 6mo", None
    )


def test_amend_multiline_text() -> None:
    assert parse_command("amend 7\nline one\nline two") == Amend(7, "line one\nline two", None)


@pytest.mark.parametrize("text", ["amend", "amend  "])
def test_amend_without_anything(text: str) -> None:
    assert error(text) == ("amend needs a proposal id and the new text: amend ID TEXT [by WHEN]")


def test_amend_without_text() -> None:
    message = error("amend 7")
    assert "new text" in message
    assert "amend ID TEXT [by WHEN]" in message
    assert "new text" in error("amend #7 by 3d")


def test_amend_without_id() -> None:
    message = error("amend New text")
    assert '"New" is not a proposal id' in message
    assert "amend ID TEXT [by WHEN]" in message


def test_amend_text_checks() -> None:
    assert "too long" in error("amend 7 " + "y" * (MAX_TEXT + 5))
    assert parse_command("amend 7 bad\x00text") == Amend(7, "badtext")
    assert IN_RANGE in error("amend 7 text by 0d")


# --- ids ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("withdraw 7", Withdraw(7)),
        ("withdraw #7", Withdraw(7)),
        ("cosponsor 12", Cosponsor(12)),
        ("co-sponsor #12", Cosponsor(12)),
        ("status 3", Status(3)),
        ("status #3", Status(3)),
        ("status 003", Status(3)),
    ],
)
def test_id_commands(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize("name", ["withdraw", "cosponsor", "status"])
def test_id_commands_need_an_id(name: str) -> None:
    message = error(name)
    assert f"{name} needs a proposal id" in message
    assert f"{name} ID" in message


@pytest.mark.parametrize("name", ["withdraw", "cosponsor", "status"])
def test_id_commands_take_only_an_id(name: str) -> None:
    assert "takes only a proposal id" in error(f"{name} 7 please")


@pytest.mark.parametrize("token", ["seven", "#", "#x", "7a", "-7", "1.5", "٣", "<#C123|general>"])
def test_bad_ids(token: str) -> None:
    assert "is not a proposal id" in error(f"status {token}")


@pytest.mark.parametrize("token", ["0", "#0", "99999999999", "1" * 5000])
def test_ids_that_cannot_exist(token: str) -> None:
    assert "there is no proposal" in error(f"status {token}")


# --- stances ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "stance"),
    [
        ("consent 7", Stance.CONSENT),
        ("concern #7", Stance.CONCERN),
        ("stand_aside 7", Stance.STAND_ASIDE),
        ("stand-aside 7", Stance.STAND_ASIDE),
        ("standaside 7", Stance.STAND_ASIDE),
        ("stand aside #7", Stance.STAND_ASIDE),
        ("Stand Aside 7", Stance.STAND_ASIDE),
        ("object 7", Stance.OBJECT),
        ("OBJECT #7", Stance.OBJECT),
        ("!consent 7", Stance.CONSENT),
    ],
)
def test_set_stance(text: str, stance: Stance) -> None:
    assert parse_command(text) == SetStance(7, stance)


def test_stance_needs_an_id() -> None:
    message = error("object")
    assert "object needs a proposal id" in message
    assert "object ID" in message


def test_a_stance_keeps_the_reason_typed_after_the_id() -> None:
    assert parse_command("concern 7 the budget is unclear") == SetStance(
        7, Stance.CONCERN, reason="the budget is unclear"
    )
    assert parse_command("object #7   it  breaks the budget.") == SetStance(
        7, Stance.OBJECT, reason="it breaks the budget."
    )


# --- simple commands ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("proposals", Proposals()),
        ("Proposals", Proposals()),
        ("checkin", Checkin()),
        ("check-in", Checkin()),
        ("back", Back()),
        ("BACK  ", Back()),
        ("circle", CircleShow()),
        ("circle show", CircleShow()),
        ("help", Help(None)),
    ],
)
def test_commands_without_arguments(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize("name", ["proposals", "checkin", "back"])
def test_commands_without_arguments_refuse_arguments(name: str) -> None:
    message = error(f"{name} now")
    assert f"{name} takes no arguments" in message


def test_circle_show_refuses_arguments() -> None:
    assert "no arguments" in error("circle show all")


# --- decisions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count"),
    [("decisions", 10), ("decisions 1", 1), ("decisions 25", 25), ("decisions 100", 100)],
)
def test_decisions(text: str, count: int) -> None:
    assert parse_command(text) == Decisions(count)


@pytest.mark.parametrize("n", ["0", "101", "500", "9" * 50])
def test_decisions_out_of_range(n: str) -> None:
    message = error(f"decisions {n}")
    assert "between 1 and 100" in message
    assert "decisions [N]" in message


@pytest.mark.parametrize(
    ("text", "count", "words"),
    [
        ("decisions ten", 10, ("ten",)),
        ("decisions 2.5", 10, ("2.5",)),
        ("decisions visiting policy", 10, ("visiting", "policy")),
        ("decisions 5 visiting", 5, ("visiting",)),
        ("decisiones 3 política", 3, ("política",)),
        ("decisions 5 6", 5, ("6",)),
    ],
)
def test_decisions_with_words_search(text: str, count: int, words: tuple[str, ...]) -> None:
    assert parse_command(text) == Decisions(count=count, words=words)


def test_decisions_search_words_are_bounded() -> None:
    assert "at most 10 words" in error("decisions " + " ".join(["w"] * 11))
    assert "at most 10 words" in error("decisions 3 " + " ".join(["w"] * 11))


# --- away ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "until"),
    [
        ("away 1w", "1w"),
        ("away 3D", "3D"),
        ("away 2026-12-01 17:00", "2026-12-01 17:00"),
        ("away 2026-12-01", "2026-12-01"),
        ("away   2026-12-01    17:00 ", "2026-12-01 17:00"),
    ],
)
def test_away(text: str, until: str) -> None:
    assert parse_command(text) == Away(until)


def test_away_needs_a_time() -> None:
    message = error("away")
    assert "away needs" in message
    assert "away UNTIL" in message


@pytest.mark.parametrize(
    ("text", "until"), [("away tomorrow", "tomorrow"), ("away 3 days", "3 days")]
)
def test_away_as_people_write_it(text: str, until: str) -> None:
    assert parse_command(text) == Away(until)


@pytest.mark.parametrize(("text", "words"), [("away next week", "week"), ("away fridya", "fridya")])
def test_away_with_something_that_is_not_a_time(text: str, words: str) -> None:
    assert f'could not read "{words}" as a date or time' in error(text)


@pytest.mark.parametrize(
    ("text", "expected"), [("away 0d", IN_RANGE), ("away 2026-02-30", "not a real date")]
)
def test_away_with_an_invalid_time(text: str, expected: str) -> None:
    assert expected in error(text)


# --- circle -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("circle add ana milpa", CircleAdd("ana", "milpa", Role.LEADER)),
        ("circle add ana milpa leader", CircleAdd("ana", "milpa", Role.LEADER)),
        ("circle add ana milpa member", CircleAdd("ana", "milpa", Role.MEMBER)),
        ("CIRCLE ADD Ana MILPA Member", CircleAdd("Ana", "MILPA", Role.MEMBER)),
        ("circle add <@U123ABC> vera", CircleAdd(SLACK_U123ABC, "vera")),
        ("circle add <@U123ABC|ana> vera", CircleAdd(SLACK_U123ABC, "vera")),
        ("circle add <@U123ABC|Ana Li> vera member", CircleAdd(SLACK_U123ABC, "vera", Role.MEMBER)),
        (
            "circle add @ana:example.org vera",
            CircleAdd(Handle("matrix", "@ana:example.org"), "vera"),
        ),
        ("circle add @ana vera", CircleAdd("ana", "vera")),
        ("circle add ana.lopez-r vera", CircleAdd("ana.lopez-r", "vera")),
        ("circle remove ana", CircleRemove("ana")),
        ("circle remove <@W0ABC|ben>", CircleRemove(Handle("slack", "W0ABC"))),
        (
            "circle Remove @ben:matrix.example.org",
            CircleRemove(Handle("matrix", "@ben:matrix.example.org")),
        ),
    ],
)
def test_circle_membership(text: str, expected: Command) -> None:
    assert parse_command(text, people=PEOPLE) == expected


@pytest.mark.parametrize("text", ["circle add", "circle add ana", "circle add ana milpa leader x"])
def test_circle_add_with_wrong_arguments(text: str) -> None:
    message = error(text)
    assert "circle add needs a person and a side" in message
    assert "circle add USER SIDE [leader|member]" in message


def test_circle_add_with_a_bad_role() -> None:
    message = error("circle add ana milpa boss")
    assert "leader or member" in message
    assert '"boss"' in message


def test_circle_add_with_a_bad_user_or_side() -> None:
    assert "is not a person" in error("circle add <#C123|general> milpa")
    assert "is not a side" in error("circle add ana <milpa>")


@pytest.mark.parametrize("text", ["circle remove", "circle remove ana ben"])
def test_circle_remove_with_wrong_arguments(text: str) -> None:
    assert "circle remove USER" in error(text)


def test_circle_unknown_subcommand_suggests() -> None:
    message = error("circle ad ana milpa")
    assert 'unknown circle command "ad"; did you mean "add"?' in message
    assert "unknown circle command" in error("circle frobnicate")


# --- help ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("help propose", "propose"),
        ("help /propose", "propose"),
        ("help !AMEND", "amend"),
        ("help stand-aside", "stand_aside"),
        ("help stand aside", "stand_aside"),
        ("help circle add", "circle"),
        ("Help", None),
    ],
)
def test_help(text: str, topic: str | None) -> None:
    assert parse_command(text) == Help(topic)


def test_help_unknown_topic() -> None:
    assert 'unknown help topic "propse"; did you mean "propose"?' in error("help propse")
    assert "unknown help topic" in error("help me")


def test_help_text_lists_every_command_and_who() -> None:
    for name in COMMAND_NAMES:
        assert f"`{command_name(name, 'en')}" in HELP_TEXT, name
    for who in ("leaders", "anyone", "admins", "author", "facilitator", "members"):
        assert who in HELP_TEXT
    for part in ("propose TEXT [by WHEN] [review WHEN]", "circle add USER SIDE [leader|member]"):
        assert part in HELP_TEXT
    for emoji in ("👍", "✅", "🤔", "😐", "✋", "🛑"):
        assert emoji in HELP_TEXT


def test_help_text_per_topic_and_usage() -> None:
    assert help_text() == HELP_TEXT
    assert "propose TEXT [by WHEN] [review WHEN]" in help_text("propose")
    assert "2026-12-01 17:00" in help_text("propose")
    assert "😐" in help_text("stand-aside")
    assert "circle remove USER" in help_text("circle")
    assert usage("amend") == "amend ID TEXT [by WHEN]"
    for name in COMMAND_NAMES:
        assert help_text(name)
        assert parse_command(f"help {name}") == Help(name)


def test_command_names() -> None:
    assert set(COMMAND_NAMES) == {
        "propose",
        "amend",
        "withdraw",
        "cosponsor",
        "consent",
        "concern",
        "stand_aside",
        "object",
        "proposals",
        "status",
        "decisions",
        "checkin",
        "away",
        "back",
        "close",
        "outcome",
        "circle",
        "help",
    }


# --- unknown commands, empty input, characters and size -----------------------------


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("propse", "propose"),
        ("Propos", "propose"),
        ("ammend", "amend"),
        ("withdrew", "withdraw"),
        ("proposal", "proposals"),
        ("decision", "decisions"),
        ("stauts", "status"),
        ("consnet", "consent"),
        ("objet", "object"),
        ("cosponser", "cosponsor"),
        ("stand_asid", "stand aside"),
        ("check", "checkin"),
    ],
)
def test_typos_suggest_the_right_command(typo: str, meant: str) -> None:
    message = error(f"{typo} 7")
    assert message == f'unknown command "{typo.lower()}"; did you mean "{meant}"? Try "help".'


def test_unknown_command_without_suggestion() -> None:
    assert error("xyzzy") == 'unknown command "xyzzy". Try "help".'


def test_unknown_long_command_word_is_shortened() -> None:
    message = error("q" * 5000)
    assert len(message) < 200
    assert "unknown command" in message


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "/", "!", "/  "])
def test_empty_input(text: str) -> None:
    assert "no command given" in error(text)


def test_double_prefix_is_not_a_command() -> None:
    assert 'did you mean "propose"' in error("//propose X")


CONTROLS = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0)) if chr(c) not in "\n\t\r"]


@pytest.mark.parametrize("char", CONTROLS)
def test_a_stray_control_character_is_removed_not_the_proposal(char: str) -> None:
    """Pasted text brings control characters along; the proposal is opened without them."""
    parsed = parse_command(f"propose Adopt{char}it by 3d")
    assert isinstance(parsed, Propose)
    assert parsed.by == "3d"
    # Those that break a line in the text they were pasted from (vertical tab, form
    # feed, next line) still break it; the others are gone.
    expected = "Adopt\nit" if char in "\x0b\x0c\x85" else "Adoptit"
    assert parsed.text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("propose \x1b[31mRed\x1b[0m alert", Propose("[31mRed[0m alert")),
        ("propose line one\x0bline two", Propose("line one\nline two")),
        ("propose \x00\x07", None),  # nothing left: no text
        ("status\x00 7", Status(7)),
        ("object 7\x07", SetStance(7, Stance.OBJECT)),
        ("outcome 7 done\x7f", OutcomeStatement(7, "done")),
        ("away 3\x00d", Away("3d")),
    ],
)
def test_control_characters_never_reach_what_is_parsed(text: str, expected: Command | None) -> None:
    if expected is None:
        assert "needs the text" in error(text)
        return
    parsed = parse_command(text)
    assert parsed == expected
    for value in vars(parsed).values():
        if isinstance(value, str):
            assert not any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in value)


def test_lone_surrogates_are_refused() -> None:
    assert "U+D800" in error("propose a\ud800b")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "propose Pay the invoice \u202eexe.fdp\u202c today",
            Propose("Pay the invoice exe.fdp today"),
        ),
        ("propose a\u2066b\u2069c\u200ed\u200ff\u061cg", Propose("abcdfg")),
        ("propose a\u200bb\u2060c\ufeffd\u00ade", Propose("abcde")),
        ("propose \u200b\u200b", None),  # nothing visible left: no text
        ("propose jose\u0301", Propose("jos\u00e9")),
        ("amend 7 new\u202e text by 3d", Amend(7, "new text", "3d")),
        ("pro\u200bpose X", Propose("X")),
        ("\ufeffpropose X", Propose("X")),
        ("status 7\u200b", Status(7)),
        ("propose X by\u200b 3d", Propose("X", "3d")),
        ("circle add a\u200bna milpa", CircleAdd("ana", "milpa")),
        ("circle add jose\u0301 vera member", CircleAdd("jos\u00e9", "vera", Role.MEMBER)),
        ("circle add ana mil\u202epa", CircleAdd("ana", "milpa")),
        ("circle remove \u2066ben\u2069", CircleRemove("ben")),
        (
            "circle add @a\u200bna:example.org vera",
            CircleAdd(Handle("matrix", "@ana:example.org"), "vera"),
        ),
        ("away 1\u200bw", Away("1w")),
    ],
)
def test_hidden_and_bidi_characters_are_removed_from_what_is_typed(
    text: str, expected: Command | None
) -> None:
    if expected is None:
        assert "needs the text" in error(text)
    else:
        assert parse_command(text, people=PEOPLE) == expected


def test_scripts_and_emoji_sequences_are_kept() -> None:
    text = "می\u200cخواهم · שלום · 👩\u200d👩\u200d👧 · 🏳\ufe0f\u200d🌈 · क्\u200dष"
    assert parse_command(f"propose {text}") == Propose(text)


def test_tabs_newlines_and_emoji_are_fine() -> None:
    text = "Adopt\tthe 👍🏽 policy\nwith a family 👨‍👩‍👧 and café"
    assert parse_command(f"propose {text}") == Propose(text, None, None)


@pytest.mark.parametrize("size", [10_001, 100_000, 1_000_000])
def test_huge_input_is_refused_before_it_is_read(size: int) -> None:
    # Refused on its length alone, before any parsing (no timing bound: see above).
    for text in ("propose " + "by 3d " * (size // 6), "x" * size, "\x00" * size):
        message = error(text)
        assert "too long" in message
        assert "10000" in message


def test_input_at_the_line_limit_is_refused_or_parsed() -> None:
    # (No timing here: a shared test machine makes any bound flaky. Parsing is linear;
    # 499 clauses take a few milliseconds.)
    assert "too long: 9953 characters" in error("propose " + "by 3d " * 1660)
    command = parse_command("propose " + "by 3d " * 499)
    assert isinstance(command, Propose)
    assert command.by == "3d"
    assert command.text.endswith("by 3d")


def test_commands_are_frozen() -> None:
    command = parse_command("status 7")
    with pytest.raises(AttributeError):
        command.proposal_id = 8  # type: ignore[misc,union-attr]


def test_command_error_is_a_value_error() -> None:
    assert issubclass(CommandError, ValueError)


# --- properties ---------------------------------------------------------------------

_WORDS = st.sampled_from(
    [
        *COMMAND_NAMES,
        "by",
        "review",
        "#7",
        "7",
        "3d",
        "0d",
        "2026-12-01",
        "17:00",
        "add",
        "remove",
        "leader",
        "<@U1|a>",
        "@a:b.c",
        "stand",
        "aside",
        "\n",
        " ",
        "/",
        "!",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.lists(_WORDS, max_size=12).map(" ".join)))
def test_arbitrary_text_parses_or_raises_command_error(text: str) -> None:
    try:
        command = parse_command(text)
    except CommandError as exc:
        assert str(exc)
        return
    assert isinstance(
        command,
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
        | CircleAdd
        | CircleRemove
        | Help
        | SetStance,
    )


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\r"),
        min_size=1,
        max_size=300,
    ).filter(lambda s: s.strip())
)
def test_proposal_text_round_trips(text: str) -> None:
    try:
        command = parse_command(f"propose {text}")
    except CommandError as exc:
        assert not clean_text(text).strip(), exc  # only hidden characters: no text left
        return
    assert isinstance(command, Propose)
    if command.by is None and command.review is None:
        assert command.text == clean_text(text).strip()
    else:
        assert clean_text(text).strip().startswith(command.text)


_HIDDEN = st.sampled_from(sorted(BIDI_CONTROLS | INVISIBLE | {ZWJ, ZWNJ}))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["propose", "amend 7", "circle add", "circle remove", "away", "status"]),
    st.lists(st.one_of(_WORDS, _HIDDEN, st.text(max_size=5)), min_size=1, max_size=8).map("".join),
)
def test_no_parsed_text_or_name_holds_a_hidden_character(head: str, rest: str) -> None:
    text = f"{head} {rest}"
    try:
        command = parse_command(text)
    except CommandError:
        return
    values = [v for v in vars(command).values() if isinstance(v, str)]
    for value in values:
        assert not set(value) & (BIDI_CONTROLS | INVISIBLE), (text, command)
        assert clean_text(value) == value


# --- Spanish ------------------------------------------------------------------------

ES = lang("es")


def error_in(speech: Lang, text: str) -> str:
    with pytest.raises(CommandError) as info:
        parse_command(text, speech)
    return str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("proponer Adoptar la política", Propose("Adoptar la política")),
        ("proponer Adoptar la política hasta 3d", Propose("Adoptar la política", "3d")),
        ("/proponer Adoptar hasta 2026-12-01 17:00", Propose("Adoptar", "2026-12-01 17:00")),
        ("proponer Adoptar revisar 6me hasta 1sem", Propose("Adoptar", "1sem", "6me")),
        ("PROPONER Adoptar HASTA 3d REVISAR 6mo", Propose("Adoptar", "3d", "6mo")),
        ("proponer Abrir hasta las nueve", Propose("Abrir hasta las nueve")),
        ("enmendar 7 Texto nuevo hasta 5d", Amend(7, "Texto nuevo", "5d")),
        ("enmendar #7 Texto revisar 6me", Amend(7, "Texto revisar 6me")),  # amend: no review
        ("retirar 7", Withdraw(7)),
        ("copatrocinar #7", Cosponsor(7)),
        ("propuestas", Proposals()),
        ("estado 7", Status(7)),
        ("decisiones", Decisions()),
        ("decisiones 5", Decisions(5)),
        ("ausente 1sem", Away("1sem")),
        ("ausente 2026-12-01 17:00", Away("2026-12-01 17:00")),
        ("vuelvo", Back()),
        ("círculo", CircleShow()),
        ("circulo", CircleShow()),
        ("Círculo ver", CircleShow()),
        ("círculo agregar ana milpa", CircleAdd("ana", "milpa", Role.LEADER)),
        ("circulo añadir ana milpa miembro", CircleAdd("ana", "milpa", Role.MEMBER)),
        ("círculo agregar ana milpa líder", CircleAdd("ana", "milpa", Role.LEADER)),
        ("círculo agregar ana milpa lider", CircleAdd("ana", "milpa", Role.LEADER)),
        ("circle add ana milpa miembro", CircleAdd("ana", "milpa", Role.MEMBER)),
        ("círculo quitar ana", CircleRemove("ana")),
        ("consiento 7", SetStance(7, Stance.CONSENT)),
        ("inquietud #7", SetStance(7, Stance.CONCERN)),
        ("aparte 7", SetStance(7, Stance.STAND_ASIDE)),
        ("Objeto 7", SetStance(7, Stance.OBJECT)),
        ("ayuda", Help(None, "es")),
        ("ayuda proponer", Help("propose", "es")),
        ("ayuda propose", Help("propose", "en")),
        ("help enmendar", Help("amend", "es")),
        ("ayuda círculo", Help("circle", "es")),
        ("checkin", Checkin()),
    ],
)
def test_spanish_commands(text: str, expected: Command) -> None:
    assert parse_command(text) == expected
    assert parse_command(text, ES) == expected


@pytest.mark.parametrize(
    ("text", "role", "when"),
    [
        ("proponer Pintar la oficina hasta el viernes", "by", "el viernes"),
        ("proponer Pintar hasta mañana", "by", "mañana"),
        ("proponer Comprar una camioneta revisar en 6 meses", "review", "en 6 meses"),
        ("enmendar 2 Otro texto hasta el 15 de mayo", "by", "el 15 de mayo"),
        ("proponer Pintar hasta el 15/12 a las 5 p. m.", "by", "el 15/12 a las 5 p. m."),
    ],
)
def test_a_spanish_time_is_read(text: str, role: str, when: str) -> None:
    parsed = parse_command(text, ES)
    assert isinstance(parsed, Propose | Amend)
    assert getattr(parsed, role) == when


def test_a_spanish_time_we_cannot_read_is_refused_in_spanish() -> None:
    with pytest.raises(CommandError) as info:
        parse_command("proponer Pintar hasta el viernez", ES)
    assert "No pude leer «viernez» como fecha u hora" in str(info.value)
    assert "«el viernes 17:00»" in str(info.value)


def test_a_spanish_speaker_gets_errors_in_spanish_with_the_names_they_typed() -> None:
    assert error_in(ES, "proponer") == (
        "proponer necesita el texto de la propuesta: proponer TEXTO [hasta CUÁNDO] [revisar CUÁNDO]"
    )
    assert error_in(ES, "propose") == (
        "propose necesita el texto de la propuesta: propose TEXT [by WHEN] [review WHEN]"
    )
    assert error_in(ES, "estado siete") == (
        '"siete" no es el número de una propuesta; usa un número como 7 o #7: estado ID'
    )
    assert error_in(ES, "proponer X hasta 0d").startswith(
        '"hasta 0d": el plazo debe estar en el futuro y a no más de 10 años;'
    )
    assert error_in(ES, "ausente -1d").startswith('"ausente -1d": el fin de tu ausencia')
    assert error_in(ES, "proponer X hasta +3d") == (
        "\"hasta +3d\": '+3d' no es una duración; escríbela sin el signo. "
        "Uso: proponer TEXTO [hasta CUÁNDO] [revisar CUÁNDO]"
    )
    assert (
        error_in(ES, "")
        == 'no escribiste ningún comando. Prueba con "ayuda" para ver lo que entiendo.'
    )
    assert error_in(ES, "xyzzy") == 'no conozco el comando "xyzzy". Prueba con "ayuda".'
    assert error_in(ES, "ayuda xyzzy") == (
        'no tengo ayuda sobre "xyzzy". Escribe "ayuda" para ver la lista de comandos.'
    )
    assert error_in(ES, "círculo agregar ana milpa jefa") == (
        'el rol debe ser líder o miembro, no "jefa": círculo agregar USUARIO PARTE [líder|miembro]'
    )
    assert error_in(ES, "propose a\ud800b") == (
        "el texto contiene un carácter no válido (U+D800); quítalo, por favor"
    )


def test_a_suggestion_is_looked_for_first_in_the_readers_language() -> None:
    assert error("objet 7") == 'unknown command "objet"; did you mean "object"? Try "help".'
    assert error_in(ES, "objet 7") == (
        'no conozco el comando "objet"; ¿quisiste decir "objeción"? Prueba con "ayuda".'
    )
    assert 'did you mean "propose"?' in error("proponr X")
    assert '¿quisiste decir "proponer"?' in error_in(ES, "proponr X")
    assert 'did you mean "copatrocinar"?' in error("copatrocina 7")  # none in English
    assert '¿quisiste decir "círculo"?' in error_in(ES, "circlo")


def test_help_explains_in_the_readers_language_with_the_names_of_the_word_typed() -> None:
    spanish_names = help_text(None, ES, "es")
    english_names = help_text(None, ES, "en")
    for name, word in SPANISH.names.items():
        assert f"`{word}" in spanish_names, name
    for name in COMMAND_NAMES:
        assert f"`{ENGLISH.names[name]}" in english_names, name
    assert "proponer TEXTO [hasta CUÁNDO] [revisar CUÁNDO]" in spanish_names
    assert "propose TEXT [by WHEN] [review WHEN]" in english_names
    for text in (spanish_names, english_names):
        assert text.startswith("Lo que entiendo")
        assert "What I understand" not in text
    assert help_text(None, lang("en"), "es").startswith("What I understand (type /COMANDO")
    assert "1sem, 6me" in help_text("propose", ES, "es")
    assert help_text() == HELP_TEXT
    assert usage("propose", "es") == "proponer TEXTO [hasta CUÁNDO] [revisar CUÁNDO]"
    assert usage("proponer") == "propose TEXT [by WHEN] [review WHEN]"


def test_every_command_has_a_name_and_a_syntax_in_both_languages() -> None:
    for grammar in (ENGLISH, SPANISH):
        assert set(grammar.names) == set(COMMAND_NAMES) == set(grammar.usage)
        for name, word in grammar.names.items():
            assert grammar.usage[name].startswith(word)
            found = lookup(word)
            assert found is not None and found[0] == name
    assert command_name("circle", "es") == "círculo"
    assert command_name("help", "fr") == "help"  # a language without command words


def test_a_proposal_given_by_fields_names_the_field_of_each_error() -> None:
    from bot.text.parsing import Field, propose_from_fields

    assert propose_from_fields("Adopt it", "3d", "6mo") == Propose("Adopt it", "3d", "6mo")
    cases = [("", None, None, Field.TEXT), ("x" * 5000, None, None, Field.TEXT)]
    cases += [
        ("Adopt it", "-1d", None, Field.DEADLINE),
        ("Adopt it", "3d", "2026-02-30", Field.REVIEW),
    ]
    for text, by, review, field in cases:
        with pytest.raises(CommandError) as raised:
            propose_from_fields(text, by, review)
        assert raised.value.field is field
    # A text that ends like a WHEN stays text: only the deadline field sets one.
    assert propose_from_fields("Meet by 3d", None, None).by is None


def test_an_unread_when_carries_the_proposal_as_typed_for_the_form() -> None:
    from bot.text.parsing import Draft

    with pytest.raises(CommandError) as info:
        parse_command("propose Paint the office by fridya 5pm review 6mo")
    assert info.value.draft == Draft("Paint the office", "fridya 5pm", "6mo")
    with pytest.raises(CommandError) as info:
        parse_command("proponer Pintar la oficina hasta el viernez", ES)
    assert info.value.draft == Draft("Pintar la oficina", "el viernez", None)
    with pytest.raises(CommandError) as info:
        parse_command("propose x by 0d")  # read, but impossible: no form for that
    assert info.value.draft is None
