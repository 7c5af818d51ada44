"""The Matrix adapter against a real Synapse homeserver, with real users: a whole
decision, reminders, refusals, what must never ping or inject, invitations, history
from before the bot joined, rate limits, reading reactions back, password logins and
check-ins (encrypted rooms: test_synapse_encryption.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from adapters.matrix import FatalMatrixError, MemoryCursors
from bot.domain.circle import CheckinSpec
from bot.domain.durations import parse_duration
from bot.domain.events import CommandEvent
from bot.domain.model import Stance, Status
from bot.queries import posts
from bot.text.messages import Notice, Reply
from storage import open_repository
from storage.inbox import Inbox
from tests.adapters.matrix.harness import (
    Cast,
    InProcessBot,
    Person,
    circle_spec,
    content,
    fresh_bot,
    has_id,
    in_thread_of,
    is_card,
    is_edit_of,
    relation,
    reply_to,
    shown,
)
from tests.synapse_server import SynapseServer

pytestmark = pytest.mark.slow


async def room_with_bot(people: dict[str, Person], cast: Cast, alias: str | None = None) -> str:
    """A room made by ana, with every member in it and the bot invited."""
    ana = people["ana"]
    room = await ana.create_room(
        invite=[cast.ben.user_id, cast.cy.user_id, cast.dee.user_id, cast.eve.user_id],
        alias=alias,
    )
    for name in ("ben", "cy", "dee", "eve"):
        await people[name].join(room)
    await ana.invite(room, cast.bot.user_id)
    return room


async def test_a_decision_from_proposal_to_outcome(
    synapse: SynapseServer, cast: Cast, people: dict[str, Person], db_path: Path
) -> None:
    ana, ben, cy, dee, eve = (people[n] for n in ("ana", "ben", "cy", "dee", "eve"))
    room = await room_with_bot(people, cast)
    bot = fresh_bot(synapse, cast, room, db_path)
    await bot.start()  # accepts the invitation: the room is configured
    try:
        await ana.wait_for(
            room,
            lambda e: (
                e.get("type") == "m.room.member"
                and e.get("state_key") == cast.bot.user_id
                and content(e).get("membership") == "join"
            ),
            "the bot joining",
        )
        command = await ana.say(room, "!propose Adopt the <visiting> policy by 2h")
        card_event = await cy.wait_for(room, is_card(cast.bot.user_id, 1), "the card")
        card = card_event["event_id"]
        body = content(card_event)["body"]
        assert "Adopt the <visiting> policy" in body
        assert "milpa 0/2 … · vera 0/2 …" in body
        assert "👍" in body and "✋" in body  # the legend
        html = content(card_event)["formatted_body"]
        assert "Adopt the &lt;visiting&gt; policy" in html
        assert content(card_event)["m.mentions"] == {}
        ok = await ana.wait_for(room, reply_to(cast.bot.user_id, command), "the answer")
        assert "Proposal #1 is open" in content(ok)["body"]
        assert content(ok)["msgtype"] == "m.notice"
        assert content(ok)["m.mentions"] == {"user_ids": [cast.ana.user_id]}

        await ana.react(room, card, "👍")
        await ben.react(room, card, "👍🏽")  # skin tones count like the base emoji
        await eve.react(room, card, "✋")  # not a member: never counts
        objection = await dee.react(room, card, "✋")
        await cy.react(room, card, "✅")
        await ben.wait_for(room, is_edit_of(cast.bot.user_id, card, "vera 1/2 ✋"), "the objection")
        asked = await cy.wait_for(
            room, in_thread_of(cast.bot.user_id, card, "objects to proposal #1"), "the question"
        )
        assert set(content(asked)["m.mentions"]["user_ids"]) == {
            cast.dee.user_id,
            cast.ana.user_id,
        }
        await dee.redact(room, objection)  # dee takes the objection back
        await ana.wait_for(
            room, is_edit_of(cast.bot.user_id, card, "milpa 2/2 ✓ · vera 1/2 …"), "the redaction"
        )
        consent = Stance.CONSENT
        assert bot.core.state(1).stances == {"ana": consent, "ben": consent, "cy": consent}

        await dee.react(room, card, "🤔")  # consent with a concern: it passes
        outcome = await ana.wait_for(
            room, in_thread_of(cast.bot.user_id, card, "Proposal #1 passed"), "the outcome"
        )
        assert "milpa 2/2 ✓ · vera 2/2 ✓" in content(outcome)["body"]
        assert "Consented with a concern: dee" in content(outcome)["body"]
        assert content(outcome)["m.mentions"] == {}
        final = await ana.wait_for(
            room, is_edit_of(cast.bot.user_id, card, "· passed ──"), "the final card"
        )
        assert "milpa 2/2 ✓ · vera 2/2 ✓" in shown(final)["body"]

        await ben.react(room, card, "🛑")  # after the close: recorded, changes nothing
        await ana.say(room, "!status 1")
        await ana.wait_for(
            room,
            lambda e: (
                e.get("sender") == cast.bot.user_id
                and "#1" in content(e).get("body", "")
                and "passed" in content(e).get("body", "")
                and relation(e).get("m.in_reply_to") is not None
                and e["event_id"] != ok["event_id"]
            ),
            "the status answer",
        )
        outcomes = [
            e for e in ana.events(room) if in_thread_of(cast.bot.user_id, card, "passed")(e)
        ]
        assert len(outcomes) == 1
        cards = [e for e in ana.events(room) if is_card(cast.bot.user_id)(e)]
        assert len(cards) == 1
        assert bot.core.state(1).proposal.status == Status.PASSED
    finally:
        await bot.stop()


async def proposal_on_the_card(
    people: dict[str, Person], cast: Cast, room: str, text: str = "Adopt it by 2h"
) -> str:
    await people["ana"].say(room, f"!propose {text}")
    card = await people["ana"].wait_for(room, is_card(cast.bot.user_id), "the card")
    return str(card["event_id"])


async def test_a_reminder_mentions_exactly_the_people_waiting(
    synapse: SynapseServer, cast: Cast, people: dict[str, Person], db_path: Path
) -> None:
    ana, ben = people["ana"], people["ben"]
    room = await room_with_bot(people, cast)
    bot = fresh_bot(synapse, cast, room, db_path)
    await bot.start()
    try:
        card = await proposal_on_the_card(people, cast, room)
        await ana.react(room, card, "👍")
        await people["cy"].react(room, card, "✅")
        await ben.wait_for(room, is_edit_of(cast.bot.user_id, card, "vera 1/2"), "the tally")
        # Through the real outbox and dispatcher, as the core's reminder jobs will.
        with bot.core.repo.transaction() as tx:
            tx.enqueue(
                key="reminder:1:1h:matrix",
                platform="matrix",
                channel=room,
                kind="thread",
                payload={"reminder": True},
                created_at=bot.core.clock.now(),
                proposal_id=1,
            )
        assert bot.runtime is not None
        await bot.runtime.flush()
        reminder = await ben.wait_for(
            room, in_thread_of(cast.bot.user_id, card, "⏰ Proposal #1 closes"), "the reminder"
        )
        body = content(reminder)
        assert body["m.mentions"] == {"user_ids": sorted([cast.ben.user_id, cast.dee.user_id])}
        assert body["msgtype"] == "m.text"  # an m.notice would not notify them
        assert "Waiting on milpa (1 of 2), vera (1 of 2): @ben, @dee" in body["body"]
        html = body["formatted_body"]
        assert f"https://matrix.to/#/{cast.ben.user_id}" in html
        assert f"https://matrix.to/#/{cast.dee.user_id}" in html
        assert cast.ana.user_id not in html and cast.cy.user_id not in html

        # A retried send (same key) is the same event: the homeserver deduplicates it.
        message = posts.reminder(bot.core.ctx, 1)
        assert message is not None
        assert bot.adapter is not None
        first = await bot.adapter.post(room, message, card, "outbox:retry-me")
        again = await bot.adapter.post(room, message, card, "outbox:retry-me")
        assert first == again
        await ben.wait_for(room, lambda e: e.get("event_id") == first, "the retried reminder")
        assert [e.get("event_id") for e in ben.events(room)].count(first) == 1
    finally:
        await bot.stop()


async def test_refusals_are_short_replies_to_the_person(
    synapse: SynapseServer, cast: Cast, people: dict[str, Person], db_path: Path
) -> None:
    ana, eve = people["ana"], people["eve"]
    room = await room_with_bot(people, cast)
    bot = fresh_bot(synapse, cast, room, db_path)
    await bot.start()
    try:
        wrong = await ana.say(room, "!withdraw 7")
        answer = content(await ana.wait_for(room, reply_to(cast.bot.user_id, wrong), "refusal"))
        assert answer["msgtype"] == "m.notice"
        assert "There is no proposal #7" in answer["body"] and "⚠️" in answer["body"]
        assert answer["m.mentions"] == {"user_ids": [cast.ana.user_id]}

        stranger = await eve.say(room, "!propose Let me in")
        answer = content(await eve.wait_for(room, reply_to(cast.bot.user_id, stranger), "no"))
        assert "not a member" in answer["body"]
        assert answer["m.mentions"] == {"user_ids": [cast.eve.user_id]}

        gibberish = await ana.say(room, "!frobnicate now")
        answer = content(await ana.wait_for(room, reply_to(cast.bot.user_id, gibberish), "?"))
        assert "help" in answer["body"].lower()

        await ana.say(room, "just talking, no prefix")
        await ana.say(room, "!! not a command either")
        card = await proposal_on_the_card(people, cast, room)
        # A command typed in the card's thread is answered in that thread.
        threaded = await people["ben"].say_in_thread(room, card, "!status 1")
        answer = await people["ben"].wait_for(room, reply_to(cast.bot.user_id, threaded), "status")
        assert relation(answer)["rel_type"] == "m.thread"
        assert relation(answer)["event_id"] == card
        assert bot.core.state(1).proposal.author == "ana"
        with bot.core.repo.transaction() as tx:
            assert tx.proposal(2) is None  # nothing else was proposed
    finally:
        await bot.stop()


async def test_peoples_text_cannot_ping_the_room_or_inject_markup(
    synapse: SynapseServer, cast: Cast, people: dict[str, Person], db_path: Path
) -> None:
    ana = people["ana"]
    room = await room_with_bot(people, cast)
    bot = fresh_bot(synapse, cast, room, db_path)
    await bot.start()
    try:
        text = '@room look <a href="https://evil.example">here</a> <img src=x onerror=1> & more'
        await ana.say(room, f"!propose {text} by 2h")
        card = content(await ana.wait_for(room, is_card(cast.bot.user_id), "the card"))
        assert card["m.mentions"] == {}
        assert "@room" not in card["body"] and "@\u2060room" in card["body"]
        html = card["formatted_body"]
        assert "<a href" not in html and "<img" not in html
        assert "&lt;a href=&quot;https://evil.example&quot;&gt;" in html
        assert "&amp; more" in html and "@room" not in html

        # An admin adds eve with a pill: the bot reads the Matrix id behind it.
        pill = f'<a href="https://matrix.to/#/{cast.eve.user_id}">Eve Example</a>'
        added = await ana.say(
            room, "!circle add Eve Example milpa member", f"!circle add {pill} milpa member"
        )
        answer = content(await ana.wait_for(room, reply_to(cast.bot.user_id, added), "added"))
        # A person added by Matrix id is named by that whole id (never "eve", a name
        # a look-alike id on another server would give too).
        added_as = f"{cast.eve.user_id} is added as a member of milpa"
        assert added_as in answer["body"], answer["body"]
    finally:
        await bot.stop()


async def test_history_from_before_the_bot_joined_is_not_acted_on(
    synapse: SynapseServer, cast: Cast, people: dict[str, Person], db_path: Path
) -> None:
    ana, eve = people["ana"], people["eve"]
    room = await ana.create_room()
    await ana.say(room, "!propose Old business from before the bot by 2h")
    elsewhere = await eve.create_room(invite=[cast.bot.user_id])
    bot = fresh_bot(synapse, cast, room, db_path)
    await bot.start()
    try:
        await ana.invite(room, cast.bot.user_id)
        await ana.wait_for(
            room,
            lambda e: (
                e.get("state_key") == cast.bot.user_id and content(e).get("membership") == "join"
            ),
            "the bot accepting the invitation",
        )
        # An invitation to a room that is not configured is declined.
        await eve.wait_for(
            elsewhere,
            lambda e: (
                e.get("state_key") == cast.bot.user_id and content(e).get("membership") == "leave"
            ),
            "the bot declining",
        )
        await ana.say(room, "!propose New business by 2h")
        card = content(await ana.wait_for(room, is_card(cast.bot.user_id), "the card"))
        assert "New business" in card["body"]
        with bot.core.repo.transaction() as tx:
            first = tx.proposal(1)
            assert first is not None and first.text == "New business"
            assert tx.proposal(2) is None
    finally:
        await bot.stop()


async def test_rate_limits_are_waited_out_and_nothing_doubles(
    synapse: SynapseServer, cast: Cast, people: dict[str, Person], db_path: Path
) -> None:
    ana = people["ana"]
    room = await room_with_bot(people, cast)
    bot = fresh_bot(synapse, cast, room, db_path)
    adapter = await bot.start()
    synapse.override_ratelimit(cast.bot.user_id, per_second=1, burst=1)
    try:
        refs = [
            await adapter.post(room, Notice.text(f"note {n}"), None, f"outbox:limited:{n}")
            for n in range(4)
        ]
        assert adapter.stats["rate_limited"] >= 1  # M_LIMIT_EXCEEDED came, and was waited out
        for n, ref in enumerate(refs):
            event = await ana.wait_for(room, has_id(str(ref)), "note")
            assert content(event)["body"] == f"note {n}"
            assert content(event)["msgtype"] == "m.notice"
            assert content(event)["m.mentions"] == {}
        bodies = [content(e).get("body") for e in ana.events(room)]
        assert all(bodies.count(f"note {n}") == 1 for n in range(4))
    finally:
        synapse.clear_ratelimit(cast.bot.user_id)
        await bot.stop()


async def test_reactions_missed_while_down_are_read_back_on_start(
    synapse: SynapseServer, cast: Cast, people: dict[str, Person], db_path: Path
) -> None:
    ana, dee, ben = people["ana"], people["dee"], people["ben"]
    room = await room_with_bot(people, cast)
    # The sync position is kept in memory only: a restart has lost the stream, and only
    # reading the card's reactions back can tell what happened.
    bot = fresh_bot(synapse, cast, room, db_path)
    await bot.start(cursors=MemoryCursors())
    card = await proposal_on_the_card(people, cast, room)
    await bot.stop()

    await ana.react(room, card, "👍")
    gone = await ben.react(room, card, "👍")
    await ben.redact(room, gone)
    await dee.react(room, card, "✋")
    adapter = await bot.start(cursors=MemoryCursors())
    try:
        present = await adapter.read_reactions(room, card)
        assert present is not None
        assert sorted((user, key) for user, key, _ in present) == [
            (cast.ana.user_id, "👍"),
            (cast.dee.user_id, "✋"),
        ]
        assert all(when is not None for _, _, when in present)
        await ana.wait_for(
            room, is_edit_of(cast.bot.user_id, card, "milpa 1/2 … · vera 0/2 ✋"), "reconciled"
        )
    finally:
        await bot.stop()


async def test_a_password_login_keeps_its_device_across_restarts(
    synapse: SynapseServer, cast: Cast, people: dict[str, Person], db_path: Path
) -> None:
    room = await room_with_bot(people, cast)
    store = MemoryCursors()
    bot = InProcessBot(synapse, cast.bot, [circle_spec(cast, room)], db_path)
    first = await bot.start(access_token=None, password=cast.bot.password, cursors=store)
    assert first.client is not None
    device, token = first.client.device_id, first.client.access_token
    await bot.stop()
    second = await bot.start(access_token=None, password=cast.bot.password, cursors=store)
    try:
        assert second.client is not None
        assert (second.client.device_id, second.client.access_token) == (device, token)
        assert device in store.values[second.session_name]
        assert token not in store.values[second.session_name]  # kept sealed, never in clear
        await proposal_on_the_card(people, cast, room)
    finally:
        await bot.stop()


async def test_an_answer_outside_the_handling_of_its_command_still_reaches_the_person(
    synapse: SynapseServer, cast: Cast, people: dict[str, Person], db_path: Path
) -> None:
    ana = people["ana"]
    room = await room_with_bot(people, cast)
    # A command the last run stored but did not apply: the next start applies it, and
    # this adapter never saw the event, so there is nothing to reply to.
    repo = open_repository(f"sqlite:///{db_path}")
    stored = CommandEvent("matrix", "$stored-before-the-stop", room, cast.ana.user_id, "proposals")
    Inbox(repo.engine).write([stored])
    repo.engine.dispose()
    bot = fresh_bot(synapse, cast, room, db_path)
    await bot.start()
    try:
        replayed = await ana.wait_for(
            room,
            lambda e: (
                e.get("sender") == cast.bot.user_id
                and "No open proposals" in str(content(e).get("body"))
            ),
            "the answer to the stored command",
        )
        assert content(replayed)["msgtype"] == "m.notice"
        assert content(replayed)["m.mentions"] == {"user_ids": [cast.ana.user_id]}
        assert "m.relates_to" not in content(replayed)
        assert content(replayed)["body"].startswith(f"{cast.ana.user_id}: ")

        # A live command, answered while it is handled, and once more afterwards.
        command = await ana.say(room, "!proposals")
        await ana.wait_for(room, reply_to(cast.bot.user_id, command), "the answer")
        assert bot.adapter is not None
        await bot.adapter.reply_private(room, cast.ana.user_id, Reply("One more thing"))
        later = await ana.wait_for(
            room,
            lambda e: reply_to(cast.bot.user_id, command)(e) and "One more thing" in str(e),
            "the later answer",
        )
        assert content(later)["m.mentions"] == {"user_ids": [cast.ana.user_id]}
    finally:
        await bot.stop()


async def test_a_wrong_access_token_stops_the_start_with_a_clear_message(
    synapse: SynapseServer, cast: Cast, db_path: Path
) -> None:
    bot = InProcessBot(synapse, cast.bot, [circle_spec(cast, "!nowhere:localhost")], db_path)
    with pytest.raises(FatalMatrixError, match="refused MATRIX_ACCESS_TOKEN"):
        await bot.start(access_token="syt_not_a_token")
    someone_else = synapse.login(cast.eve).access_token
    with pytest.raises(FatalMatrixError, match="belongs to @eve:localhost"):
        await bot.start(access_token=someone_else)


async def test_a_checkin_collects_replies_from_its_thread(
    synapse: SynapseServer, cast: Cast, people: dict[str, Person], db_path: Path
) -> None:
    ana, ben = people["ana"], people["ben"]
    room = await room_with_bot(people, cast)
    checkins = CheckinSpec(
        schedule="0 0 1 1 *",  # not during the test: it is started by command
        questions=("How are you arriving today?",),
        open_for=parse_duration("4s"),
        remind_after=parse_duration("2s"),
    )
    spec = replace(circle_spec(cast, room), checkins=checkins)
    bot = InProcessBot(synapse, synapse.login(cast.bot), [spec], db_path)
    await bot.start()
    try:
        started = await ana.say(room, "!checkin")
        await ana.wait_for(room, reply_to(cast.bot.user_id, started), "the confirmation")
        prompt = await ben.wait_for(
            room,
            lambda e: (
                e.get("sender") == cast.bot.user_id
                and "☀️ Check-in: How are you arriving today?" in str(content(e).get("body"))
            ),
            "the prompt",
        )
        assert content(prompt)["m.mentions"] == {"user_ids": [cast.ana.user_id]}  # facilitator
        await ben.say_in_thread(room, str(prompt["event_id"]), "Arriving tired but glad")
        nudge = await ben.wait_for(
            room, in_thread_of(cast.bot.user_id, str(prompt["event_id"]), "Still to hear"), "nudge"
        )
        # ben replied: everyone else is nudged, and only they are mentioned.
        assert content(nudge)["m.mentions"] == {
            "user_ids": sorted([cast.ana.user_id, cast.cy.user_id, cast.dee.user_id])
        }
        summary = await ben.wait_for(
            room, in_thread_of(cast.bot.user_id, str(prompt["event_id"]), "closed"), "summary"
        )
        assert "milpa 1/2 · vera 0/2 checked in" in content(summary)["body"]
    finally:
        await bot.stop()
