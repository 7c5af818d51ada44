"""The Matrix adapter's pure parts, without a homeserver: rendering (escaping, mentions,
threads, edits), transaction ids, translating timeline events, back-off, building the
adapter from the config and the environment."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Mapping
from datetime import UTC, datetime

import pytest

from adapters.matrix import MatrixAdapter, MemoryCursors, build_adapter, inbound, render
from adapters.matrix.adapter import Answering
from adapters.matrix.config import MatrixConfig
from adapters.matrix.errors import MatrixError
from adapters.matrix.sync import Backoff
from bot.config import parse_config
from bot.domain.errors import AppError
from bot.domain.events import CommandEvent, ReactionEvent
from bot.domain.model import Status
from bot.text.messages import Mention, Notice, ProposalCard, Reminder, Reply, SideLine
from tests.adapters.services import NoCore

ME = "@circlebot:example.org"
ROOM = "!room:example.org"
DEADLINE = datetime(2026, 1, 8, 10, 0, tzinfo=UTC)


def side(name: str, consenting: int, waiting: tuple[str, ...] = ()) -> SideLine:
    return SideLine(
        side=name,
        leaders=2,
        responded=2 - len(waiting),
        consenting=consenting,
        consents=consenting == 2,
        quorum=not waiting,
        objecting=(),
        standing_aside=(),
        concerns=(),
        waiting=waiting,
    )


def card(text: str = "Adopt the policy") -> ProposalCard:
    return ProposalCard(
        proposal_id=1,
        circle="council",
        text=text,
        author="ana",
        status=Status.OPEN,
        round=1,
        deadline=DEADLINE,
        timezone="UTC",
        sides=(side("milpa", 2), side("vera", 1, ("dee",))),
    )


def test_the_card_has_a_plain_body_and_escaped_html_and_pings_nobody() -> None:
    content = render.card_content(card("Hello @room <script>alert(1)</script> & <b>bold</b>"))
    assert content["m.mentions"] == {}
    assert content["msgtype"] == "m.text"
    body, html = content["body"], content["formatted_body"]
    assert "milpa 2/2 ✓ · vera 1/2 …" in body
    assert "Proposal #1 by ana" in body and "Waiting on: dee" in body
    assert "@room" not in body and "@\u2060room" in body
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;bold" in html
    assert "@room" not in html
    assert "Thu, Jan 8, 2026, 10:00\u202fAM UTC" in html


def test_a_very_long_proposal_is_shortened_on_the_card() -> None:
    content = render.card_content(card("x" * 50_000))
    edit = render.edit_content("$card", content)
    assert len(str(edit).encode()) < 60_000
    assert "shortened" in content["body"]


def test_an_edit_replaces_the_card_and_mentions_nobody_new() -> None:
    new = render.card_content(card())
    edit = render.edit_content("$card", new)
    assert edit["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$card"}
    assert edit["m.new_content"] == new and edit["m.new_content"]["m.mentions"] == {}
    assert edit["m.mentions"] == {}
    assert edit["body"].startswith("* ")


def test_thread_posts_relate_to_the_card() -> None:
    content = render.in_thread(render.notice_content(Notice.text("hi")), "$card")
    assert content["m.relates_to"]["rel_type"] == "m.thread"
    assert content["m.relates_to"]["event_id"] == "$card"
    assert content["m.relates_to"]["m.in_reply_to"] == {"event_id": "$card"}


def test_notices_mention_exactly_their_people() -> None:
    notice = Notice(
        (
            Mention("dee", handles={"matrix": "@dee:example.org"}),
            " objects. ",
            Mention("ana", handles={"matrix": "@ana:example.org"}),
            ", and <zed> too ",
            Mention("zed"),  # no Matrix id: named, not pinged
        )
    )
    content = render.notice_content(notice)
    assert content["m.mentions"] == {"user_ids": ["@ana:example.org", "@dee:example.org"]}
    assert content["msgtype"] == "m.text"  # a notice would not notify them
    assert content["body"] == "@dee objects. @ana, and <zed> too @zed"
    assert 'href="https://matrix.to/#/@dee:example.org"' in content["formatted_body"]
    assert "&lt;zed&gt;" in content["formatted_body"]
    quiet = render.notice_content(Notice.text("nobody to ping"))
    assert quiet["m.mentions"] == {} and quiet["msgtype"] == "m.notice"


def test_a_reminder_mentions_exactly_the_waiting_people() -> None:
    reminder = Reminder(
        proposal_id=1,
        text="Adopt it",
        deadline=DEADLINE,
        timezone="UTC",
        waiting=(
            Mention("ben", handles={"matrix": "@ben:x.org"}),
            Mention("dee", handles={"matrix": "@dee:x.org"}),
        ),
        sides=(side("milpa", 1, ("ben",)), side("vera", 1, ("dee",))),
    )
    content = render.reminder_content(reminder)
    assert content["m.mentions"] == {"user_ids": ["@ben:x.org", "@dee:x.org"]}
    assert "milpa (1 of 2), vera (1 of 2)" in content["body"]


def test_a_private_reply_answers_the_command_and_mentions_its_author() -> None:
    content = render.reply_content("@ana:x.org", Reply("No `such` thing", ok=False), "$cmd", None)
    assert content["msgtype"] == "m.notice"
    assert content["m.mentions"] == {"user_ids": ["@ana:x.org"]}
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$cmd"}}
    assert "<code>such</code>" in content["formatted_body"] and "⚠️" in content["body"]
    threaded = render.reply_content("@ana:x.org", Reply("ok"), "$cmd", "$root")
    assert threaded["m.relates_to"]["rel_type"] == "m.thread"
    assert threaded["m.relates_to"]["event_id"] == "$root"


def test_transaction_ids_are_stable_distinct_and_url_safe() -> None:
    keys = ["card:1:matrix", "card:1:matrix:v2", "outbox:outcome:1:matrix", "a/b c?d#é"]
    ids = [render.txn_id(key) for key in keys]
    assert ids == [render.txn_id(key) for key in keys]
    assert len(set(ids)) == len(ids)
    assert all(all(c.isalnum() or c in "._=-" for c in txn) for txn in ids)


def event(
    kind: str, content: Mapping[str, object], sender: str = "@ana:x.org"
) -> dict[str, object]:
    return {
        "type": kind,
        "event_id": "$e1",
        "sender": sender,
        "origin_server_ts": 1_767_607_200_000,
        "content": content,
    }


def test_commands_lose_their_prefix_and_keep_their_source() -> None:
    found = inbound.translate(
        event("m.room.message", {"msgtype": "m.text", "body": "!status 1"}), ROOM, "!", ME
    )
    assert found is not None
    command, root = found
    assert command == CommandEvent(
        "matrix", "$e1", ROOM, "@ana:x.org", "status 1", at=datetime(2026, 1, 5, 10, tzinfo=UTC)
    )
    assert root is None


@pytest.mark.parametrize(
    "content",
    [
        {"msgtype": "m.text", "body": "hello"},  # no prefix
        {"msgtype": "m.notice", "body": "!status 1"},  # bots talk in notices
        {"msgtype": "m.text", "body": "!!"},
        {
            "msgtype": "m.text",
            "body": "* !propose again",
            "m.new_content": {"msgtype": "m.text", "body": "!propose again"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$old"},
        },
    ],
)
def test_what_is_not_a_command(content: dict[str, object]) -> None:
    assert inbound.translate(event("m.room.message", content), ROOM, "!", ME) is None


def test_the_bot_never_hears_itself() -> None:
    mine = event("m.room.message", {"msgtype": "m.text", "body": "!help"}, sender=ME)
    assert inbound.translate(mine, ROOM, "!", ME) is None


def test_pills_become_matrix_ids_and_reply_quotes_go() -> None:
    html = (
        "<mx-reply><blockquote>earlier <a href='https://matrix.to/#/@x:y'>x</a></blockquote>"
        "</mx-reply>!circle add "
        '<a href="https://matrix.to/#/%40eve%3Aexample.org">Eve Example</a> milpa'
    )
    content = {
        "msgtype": "m.text",
        "body": "> <@x:y> earlier\n\n!circle add Eve Example milpa",
        "format": "org.matrix.custom.html",
        "formatted_body": html,
        "m.relates_to": {"rel_type": "m.thread", "event_id": "$root"},
    }
    found = inbound.translate(event("m.room.message", content), ROOM, "!", ME)
    assert found is not None
    command, root = found
    assert isinstance(command, CommandEvent)
    assert command.text == "circle add @eve:example.org milpa"
    assert root == "$root"
    plain = {"msgtype": "m.text", "body": "> <@x:y> earlier\n\n!status 2"}
    found = inbound.translate(event("m.room.message", plain), ROOM, "!", ME)
    assert found is not None and isinstance(found[0], CommandEvent)
    assert found[0].text == "status 2"


def test_a_longer_prefix_works() -> None:
    content = {"msgtype": "m.text", "body": "cb: proposals"}
    found = inbound.translate(event("m.room.message", content), ROOM, "cb:", ME)
    assert found is not None and isinstance(found[0], CommandEvent)
    assert found[0].text == "proposals"


def test_reactions_and_redactions() -> None:
    relation = {"rel_type": "m.annotation", "event_id": "$card", "key": "👍🏽"}
    found = inbound.translate(event("m.reaction", {"m.relates_to": relation}), ROOM, "!", ME)
    assert found is not None
    assert found[0] == ReactionEvent(
        platform="matrix",
        event_id="$e1",
        channel=ROOM,
        user="@ana:x.org",
        emoji="👍🏽",
        added=True,
        message_ref="$card",
        at=datetime(2026, 1, 5, 10, tzinfo=UTC),
    )
    old_style = {**event("m.room.redaction", {}), "redacts": "$reaction"}
    new_style = event("m.room.redaction", {"redacts": "$reaction"})  # room version 11+
    for redaction in (old_style, new_style):
        found = inbound.translate(redaction, ROOM, "!", ME)
        assert found is not None
        removal = found[0]
        assert isinstance(removal, ReactionEvent)
        assert (removal.added, removal.removes, removal.emoji) == (False, "$reaction", "")
    redacted = event("m.reaction", {})  # already redacted when it arrived: nothing
    assert inbound.translate(redacted, ROOM, "!", ME) is None


def test_history_before_the_bots_own_join_is_dropped() -> None:
    before = event("m.room.message", {"msgtype": "m.text", "body": "!propose old"})
    join = {
        "type": "m.room.member",
        "state_key": ME,
        "sender": ME,
        "event_id": "$join",
        "content": {"membership": "join"},
        "unsigned": {"prev_content": {"membership": "invite"}},
    }
    rename = {**join, "unsigned": {"prev_content": {"membership": "join"}}}
    after = {**before, "event_id": "$after"}
    assert inbound.since_join([before, join, after], ME) == [after]
    assert inbound.since_join([before, rename, after], ME) == [before, rename, after]


def test_backoff_is_bounded_and_never_zero() -> None:
    backoff = Backoff(first=1.0, most=8.0)
    delays = [backoff.next() for _ in range(10)]
    assert all(0.5 <= d <= 10.0 for d in delays)
    assert delays[-1] >= 6.0  # reached the ceiling (with jitter)
    backoff.reset()
    assert backoff.next() <= 1.25


def test_matrix_errors_say_whether_to_retry() -> None:
    assert MatrixError("x", 429, "M_LIMIT_EXCEEDED", "", 500).rate_limited
    assert MatrixError("x", 502, None, "").transient
    assert not MatrixError("x", 403, "M_FORBIDDEN", "").transient
    assert MatrixError("x", 401, "M_UNKNOWN_TOKEN", "").unauthorized


CONFIG = {
    "matrix": {"homeserver": "https://matrix.example.org", "user_id": ME},
    "circles": [
        {
            "name": "council",
            "matrix_room": ROOM,
            "sides": ["milpa", "vera"],
            "members": [
                {"name": "ana", "side": "milpa", "matrix": "@ana:example.org"},
                {"name": "cy", "side": "vera", "matrix": "@cy:example.org"},
            ],
        }
    ],
}


def test_build_adapter_needs_a_token_or_a_password() -> None:
    config = parse_config(CONFIG)
    with pytest.raises(AppError, match=r"MATRIX_ACCESS_TOKEN.*MATRIX_PASSWORD"):
        build_adapter(config, {})
    adapter = build_adapter(config, {"MATRIX_ACCESS_TOKEN": "syt_secret"})
    assert adapter.platform == "matrix" and adapter.edit_interval == 3.0
    assert adapter.circles == {ROOM: "council"}
    assert build_adapter(config, {"MATRIX_PASSWORD": "pw"}).password == "pw"


async def test_an_unreachable_homeserver_is_retried_with_backoff_not_spun_on() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = MatrixConfig(homeserver=f"http://127.0.0.1:{port}", user_id=ME)
    circles = parse_config(CONFIG).circles
    adapter = MatrixAdapter(
        config,
        circles,
        access_token="t",
        cursors=MemoryCursors(),
        first_backoff=0.05,
        max_backoff=0.2,
    )
    seen: list[object] = []

    async def sink(event: object) -> None:
        seen.append(event)

    await adapter.start(sink, NoCore())  # does not fail: the loop keeps trying
    assert adapter.ready.is_set() and not adapter.connected.is_set()
    runner = asyncio.create_task(adapter.run())
    for _ in range(200):
        if adapter.stats["connection_errors"] >= 3:
            break
        await asyncio.sleep(0.05)  # polling a condition
    assert 3 <= adapter.stats["connection_errors"] <= 20  # backing off, not spinning
    assert adapter.readiness() == "not synced with the homeserver yet"  # for /readyz
    adapter.sync.synced_at = time.monotonic() - 61
    assert adapter.readiness() == "last sync 61 s ago"
    adapter.sync.synced_at = time.monotonic()
    assert adapter.readiness() is None
    await adapter.stop()
    await asyncio.wait_for(runner, timeout=5)
    assert seen == []


def test_an_answer_replies_to_the_persons_last_command_in_that_room() -> None:
    answering = Answering(most=2)
    first = CommandEvent("matrix", "$one", ROOM, "@ana:example.org", "status 1")
    answering.heard(first, "$root")
    assert answering.reply_to(ROOM, "@ana:example.org") == ("$one", "$root", "reply:$one:1")
    # Later answers to it still reply to it, each with a key of its own.
    assert answering.reply_to(ROOM, "@ana:example.org") == ("$one", "$root", "reply:$one:2")
    # Nobody's command heard here: no event to reply to, and a fresh key.
    command, root, key = answering.reply_to(ROOM, "@cy:example.org")
    assert (command, root) == (None, None) and key.startswith("reply:")
    assert key != answering.reply_to(ROOM, "@cy:example.org")[2]
    # Bounded: the least recently heard is forgotten first.
    answering.heard(CommandEvent("matrix", "$two", ROOM, "@cy:example.org", "help"), None)
    answering.heard(CommandEvent("matrix", "$three", "!other:x", "@cy:example.org", "help"), None)
    assert answering.reply_to(ROOM, "@ana:example.org")[0] is None
    assert answering.reply_to(ROOM, "@cy:example.org")[:2] == ("$two", None)
