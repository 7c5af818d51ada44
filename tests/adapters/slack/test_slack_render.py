"""Slack renderings: people's text can never ping a channel, cards fit Block Kit's limits,
the tally is per side, and `/circle SUBCOMMAND` maps onto the core's commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.slack import render
from adapters.slack.listeners import circle_text, slack_time
from bot.domain.i18n import Reader, lang
from bot.domain.model import Stance, Status
from bot.text.grammar import MAX_TEXT
from bot.text.home import Home, HomeCircle, HomeProposal
from bot.text.messages import Mention, Notice, Outcome, ProposalCard, Reminder, Reply, SideLine

T0 = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)


def side(name: str, consenting: int, waiting: tuple[str, ...] = (), **more: object) -> SideLine:
    values: dict[str, object] = {
        "side": name,
        "leaders": 2,
        "responded": 2 - len(waiting),
        "consenting": consenting,
        "consents": consenting >= 1 and not waiting,
        "quorum": not waiting,
        "objecting": (),
        "standing_aside": (),
        "concerns": (),
        "waiting": waiting,
    }
    values.update(more)
    return SideLine(**values)  # type: ignore[arg-type]


def card(text: str, status: Status = Status.OPEN, **more: object) -> ProposalCard:
    values: dict[str, object] = {
        "proposal_id": 7,
        "circle": "council",
        "text": text,
        "author": "ana",
        "status": status,
        "round": 1,
        "deadline": T0 + timedelta(days=3),
        "timezone": "America/Los_Angeles",
        "sides": (side("milpa", 2), side("vera", 1, ("dee",))),
    }
    values.update(more)
    return ProposalCard(**values)  # type: ignore[arg-type]


def all_text(blocks: list[dict[str, object]]) -> str:
    found = []
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict):
            found.append(str(text["text"]))
        for element in block.get("elements", []) or []:  # type: ignore[attr-defined]
            if isinstance(element, dict) and isinstance(element.get("text"), dict):
                found.append(str(element["text"]["text"]))
            elif isinstance(element, dict) and "text" in element:
                found.append(str(element["text"]))
    return "\n".join(found)


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("<!channel> vote now", "&lt;!channel&gt; vote now"),
        ("<!here|here> and <!everyone>", "&lt;!here|here&gt; and &lt;!everyone&gt;"),
        ("ping <!subteam^S123|@leads>", "ping &lt;!subteam^S123|@leads&gt;"),
        ("<@U0ANA> decides", "&lt;@U0ANA&gt; decides"),
        ("fish & chips > salad", "fish &amp; chips &gt; salad"),
        ("already &amp; escaped", "already &amp;amp; escaped"),
        ("@channel @HERE @everyone", "@\u2060channel @\u2060HERE @\u2060everyone"),
        ("email me@channels.org", "email me@channels.org"),
    ],
)
def test_people_cannot_ping_or_inject_markup(typed: str, shown: str) -> None:
    assert render.escape(typed) == shown
    blocks = render.card_blocks(card(typed))
    everything = all_text(blocks) + render.card_fallback(card(typed))
    assert "<!" not in everything.replace("<!date^", "")
    assert "<@" not in everything


def test_user_text_is_verbatim_so_slack_does_not_parse_it() -> None:
    blocks = render.card_blocks(card("see #general and https://example.org"))
    sections = [b for b in blocks if b["type"] == "section"]
    assert all(b["text"]["verbatim"] is True for b in sections)


def test_the_longest_text_fits_in_sections_whatever_it_escapes_to() -> None:
    text = ("&<>" * (MAX_TEXT // 3 + 1))[:MAX_TEXT]  # escapes to ~4.7 times as long
    blocks = render.card_blocks(card(text))
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"][:-1]  # not tally
    assert len(sections) >= 4
    assert all(len(s) <= render.SECTION_LIMIT for s in sections)
    assert render.unescape("".join(sections)) == text  # nothing lost, no entity split
    assert len(blocks) <= 50
    assert len(render.card_fallback(card(text))) <= render.TEXT_LIMIT


def test_long_text_splits_at_line_breaks() -> None:
    text = "\n".join(f"line {n} " + "x" * 90 for n in range(60))
    pieces = render.split_text(render.escape(text))
    assert len(pieces) == 2 and all(len(p) <= 3000 for p in pieces)
    assert all(p.startswith("line ") for p in pieces)
    assert "\n".join(pieces) == text


def test_the_card_shows_a_per_side_tally_and_buttons_while_open() -> None:
    blocks = render.card_blocks(card("Adopt the visiting policy"))
    text = all_text(blocks)
    assert "*Tally*  *milpa* 2/2 ✓ · *vera* 1/2 …" in text
    assert "Waiting on: dee" in text
    assert "3/" not in text  # never a head-count across sides
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == [
        "circlebot_stance:consent",
        "circlebot_stance:concern",
        "circlebot_stance:stand_aside",
        "circlebot_stance:object",
    ]
    assert all(e["value"] == "7" for e in actions["elements"])
    assert "confirm" in actions["elements"][3]  # an objection is confirmed first
    closed = render.card_blocks(card("x", Status.BLOCKED, decided_at=T0))
    assert not [b for b in closed if b["type"] == "actions"]
    assert "✋ Blocked" in all_text(closed)


def test_a_draft_card_has_only_a_co_sponsor_button() -> None:
    blocks = render.card_blocks(card("Adopt it", Status.DRAFT, needs_cosponsor=True))
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    (button,) = actions["elements"]
    assert button["action_id"] == render.COSPONSOR_ACTION == "circlebot_cosponsor"
    assert button["value"] == "7"
    assert "press Co-sponsor" in all_text(blocks)


def test_home_answer_buttons_name_the_card_they_answer() -> None:
    value = render.home_answer_value("CCOUNCIL", "1712345678.000200")
    assert render.card_of_home_answer(value) == ("CCOUNCIL", "1712345678.000200")
    for bad in ("", "CCOUNCIL", "a b c", "7"):
        assert render.card_of_home_answer(bad) is None
    buttons = render.stance_buttons(7, value, lang("en"))
    assert [b["value"] for b in buttons] == [value] * 4
    assert "proposal #7" in str(buttons[3]["confirm"])


def test_names_from_the_config_are_escaped_too() -> None:
    sides = (side("<!here>", 1), side("vera", 1))
    text = all_text(render.card_blocks(card("x", sides=sides)))
    assert "*&lt;!here&gt;* 1/2" in text


def test_notices_ping_only_the_mentions_the_core_asked_for() -> None:
    notice = Notice(
        (
            Mention("dee", handles={"slack": "UDEE"}),
            " objects <!channel>. ",
            Mention("zed"),
            " has no Slack id.",
        )
    )
    assert render.notice_text(notice) == "<@UDEE> objects &lt;!channel&gt;. zed has no Slack id."


def test_reminders_name_people_in_the_thread_and_ping_nobody() -> None:
    reminder = Reminder(
        proposal_id=7,
        text="Adopt <!here> it",
        deadline=T0,
        timezone="UTC",
        waiting=(Mention("dee", handles={"slack": "UDEE"}), Mention("<b>", handles={})),
        sides=(side("milpa", 2), side("vera", 1, ("dee", "<b>"))),
        late=True,
    )
    thread = render.reminder_thread_text(reminder)
    assert "Waiting on vera (2 of 2): dee, &lt;b&gt;" in thread
    assert "<@" not in thread and "late" in thread
    direct = render.reminder_direct_text(reminder, "https://x.slack.com/archives/C1/p1")
    assert "&lt;!here&gt;" in direct and "<https://x.slack.com/archives/C1/p1|" in direct


def test_outcome_and_replies() -> None:
    outcome = Outcome(
        proposal_id=7,
        text="t",
        status=Status.BLOCKED,
        round=2,
        sides=(side("milpa", 2), side("vera", 0, objecting=("dee",))),
        decided_at=T0,
        objectors=("dee",),
    )
    text = render.outcome_text(outcome)
    assert text.startswith("*✋ Proposal #7 is blocked* (round 2)\n*milpa* 2/2 ✓ · *vera* 0/2 ✋")
    assert "Objected: dee" in text
    assert render.reply_text(Reply('unknown command "<!channel>"', ok=False)) == (
        '⚠️ unknown command "&lt;!channel&gt;"'
    )


@pytest.mark.parametrize(
    ("typed", "core"),
    [
        ("", "circle"),
        ("status 7", "status 7"),
        ("add <@U1|ana> milpa", "circle add <@U1|ana> milpa"),
        ("remove <@U1>", "circle remove <@U1>"),
        ("Add ana vera member", "circle Add ana vera member"),
        ("help", "help"),
        ("help propose", "help propose"),
        ("proposals", "proposals"),
        ("  decisions 5 ", "decisions 5"),
        ("stand aside 3", "stand aside 3"),
        ("circle", "circle"),
        ("agregar <@U1|ana> milpa líder", "círculo agregar <@U1|ana> milpa líder"),
        ("Quitar <@U1>", "círculo Quitar <@U1>"),
        ("ver", "círculo ver"),
        ("propuestas", "propuestas"),
        ("estado 7", "estado 7"),
    ],
)
def test_circle_subcommands_map_onto_core_commands(typed: str, core: str) -> None:
    assert circle_text(typed) == core


def test_slack_escaped_command_text_is_restored() -> None:
    assert render.unescape("fish &amp; chips &lt;3 &gt; <@U1|ana>") == "fish & chips <3 > <@U1|ana>"


def test_modal_and_its_values() -> None:
    view = render.propose_modal("C1", MAX_TEXT)
    assert view["private_metadata"] == "C1"
    text_input = next(b for b in view["blocks"] if b["block_id"] == "text")
    assert text_input["element"]["max_length"] == MAX_TEXT
    state = {"values": {"text": {"value": {"value": "  Plant beans  "}}, "title": {}}}
    assert render.modal_values({"state": state}) == {
        "title": "",
        "text": "Plant beans",
        "deadline": "",
        "review": "",
    }


def test_buttons_and_timestamps() -> None:
    assert render.stance_of_action("circlebot_stance:stand_aside") is Stance.STAND_ASIDE
    assert render.stance_of_action("circlebot_stance:maybe") is None
    assert render.stance_of_action("other") is None
    assert slack_time("1767636000.000200") == datetime(2026, 1, 5, 18, 0, 0, 200, tzinfo=UTC)
    assert slack_time(None) is None and slack_time("soon") is None


def test_the_home_tab_stays_within_slacks_block_limit() -> None:
    proposals = tuple(
        HomeProposal(
            proposal_id=n,
            text=f"Proposal {n} <!channel>",
            author="ana",
            status=Status.OPEN,
            round=1,
            deadline=T0,
            sides=(side("milpa", 1), side("vera", 0, ("cy",))),
            my_stance=None,
            counted=True,
            channel="C1",
            message_ref=f"1.{n}",
        )
        for n in range(1, 151)
    )
    home = Home((HomeCircle("council", "UTC", "milpa", "leader", None, proposals),))
    view = render.home_view(home, lambda p: f"https://x/{p.proposal_id}")
    assert view["type"] == "home" and len(view["blocks"]) <= render.HOME_BLOCK_LIMIT
    text = all_text(view["blocks"])
    assert "Waiting for your answer (150)" in text
    assert "more: use `/circle proposals`" in text
    assert "<!channel>" not in text
    for block in view["blocks"]:
        assert len(all_text([block])) <= render.SECTION_LIMIT
    # Each shown open proposal has its answer buttons right under it.
    rows = [b for b in view["blocks"] if b["type"] == "actions"]
    assert rows and rows[0]["block_id"] == "home_stances:1"
    assert rows[0]["elements"][0]["value"] == "C1 1.1"


def test_the_home_tab_offers_buttons_only_where_an_answer_can_go() -> None:
    def proposal(n: int, status: Status, ref: str | None) -> HomeProposal:
        return HomeProposal(
            proposal_id=n,
            text=f"Proposal {n}",
            author="ana",
            status=status,
            round=1 if status is Status.OPEN else 0,
            deadline=T0,
            sides=(side("milpa", 1), side("vera", 0, ("cy",))),
            my_stance=None,
            counted=True,
            channel="C1" if ref else None,
            message_ref=ref,
        )

    found = (proposal(1, Status.OPEN, "1.1"), proposal(2, Status.DRAFT, "1.2"))
    unposted = (proposal(3, Status.OPEN, None),)
    home = Home((HomeCircle("council", "UTC", "milpa", "leader", None, found + unposted),))
    view = render.home_view(home, lambda p: None)
    rows = [b["block_id"] for b in view["blocks"] if b["type"] == "actions"]
    assert rows == ["home_stances:1"]  # not a draft, not a card not posted yet


def test_proxies_statement_and_who_closed_it_on_every_platform() -> None:
    from adapters.matrix import render as matrix_render
    from bot.text.render_text import card_text as console_card
    from bot.text.render_text import outcome_text as console_outcome

    proxied = side("milpa", 1, objecting=("ana", "ben"), proxied=(("ana", "ben"),))
    closed = card(
        "Adopt it",
        Status.BLOCKED,
        sides=(proxied, side("vera", 2)),
        decided_at=T0,
        statement="<b>Kept</b> as it is; cy tells the partners",
        closed_by="ana",
    )
    slack = all_text(render.card_blocks(closed))
    assert "Objecting: ben (for ana), ben" in slack
    assert "By proxy: ben (for ana)" in slack
    assert "Closed before its deadline by ana." in slack
    assert "*Outcome statement*  &lt;b&gt;Kept&lt;/b&gt; as it is; cy tells the partners" in slack
    matrix = matrix_render.card_content(closed)
    assert "By proxy: ben (for ana)" in matrix["formatted_body"]
    assert "Outcome statement: &lt;b&gt;Kept&lt;/b&gt; as it is" in matrix["formatted_body"]
    assert "Closed before its deadline by ana." in matrix["body"]
    console = console_card(closed)
    assert "By proxy: ben (for ana)" in console and "Outcome statement: <b>Kept</b>" in console
    outcome = Outcome(
        proposal_id=7,
        text="t",
        status=Status.BLOCKED,
        round=1,
        sides=(proxied, side("vera", 2)),
        decided_at=T0,
        objectors=("ana", "ben"),
        reader=closed.reader,
    )
    assert "Objected: ben (for ana), ben" in render.outcome_text(outcome)
    assert "Objected: ben (for ana), ben" in matrix_render.outcome_content(outcome)["body"]
    assert "Objected: ben (for ana), ben" in console_outcome(outcome)
    es = card("Adoptar", Status.BLOCKED, sides=(proxied,), reader=Reader("es"))
    assert "ben (por ana)" in all_text(render.card_blocks(es))
