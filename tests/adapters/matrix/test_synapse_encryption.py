"""Encrypted rooms against a real Synapse, with encrypting users: a whole decision, a
restart on the same key store, a message the bot cannot decrypt, and a room the bot
cannot read without the e2e extra."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.matrix import e2e
from bot.domain.model import Status
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
    until,
)
from tests.synapse_server import SynapseServer

pytestmark = pytest.mark.slow


@pytest.fixture
async def ana(
    e2e: None, synapse: SynapseServer, cast: Cast, tmp_path: Path
) -> AsyncIterator[Person]:
    """ana on an encrypting device (her own key store), not the plain client of `people`."""
    (tmp_path / "ana-keys").mkdir()
    person = Person(synapse.url, synapse.login(cast.ana), store_path=tmp_path / "ana-keys")
    await person.start()
    try:
        yield person
    finally:
        await person.close()


@pytest.fixture
def bot_keys(tmp_path: Path) -> Path:
    """matrix.store_path: the bot's own key store."""
    (tmp_path / "bot-keys").mkdir()
    return tmp_path / "bot-keys"


async def test_an_encrypted_room_without_encryption_support_is_named_at_start(
    synapse: SynapseServer,
    cast: Cast,
    people: dict[str, Person],
    db_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As without the e2e extra (matrix-nio[e2e]) installed, whether or not it is here.
    monkeypatch.setattr(e2e, "E2E_AVAILABLE", False)
    room = await people["ana"].create_room(invite=[cast.bot.user_id], encrypted=True)
    bot = fresh_bot(synapse, cast, room, db_path)
    with caplog.at_level(logging.ERROR, logger="adapters.matrix"):
        adapter = await bot.start()
    try:
        assert room in adapter.encrypted_rooms
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert any(room in e and "encrypted" in e and "circlebot[e2e]" in e for e in errors)
    finally:
        await bot.stop()


def encrypted(event: dict[str, object]) -> bool:
    return event.get("type") == "m.room.encrypted"


async def test_a_decision_in_an_encrypted_room(
    synapse: SynapseServer,
    cast: Cast,
    people: dict[str, Person],
    db_path: Path,
    ana: Person,
    bot_keys: Path,
) -> None:
    """ana writes from an encrypting device; ben, cy and dee have none (they react only:
    reactions are not encrypted in Matrix). The bot reads ana's command, posts its card,
    edits and outcome encrypted, and shares its room keys with ana's device."""
    ben, cy, dee = people["ben"], people["cy"], people["dee"]
    room = await ana.create_room(
        invite=[cast.ben.user_id, cast.cy.user_id, cast.dee.user_id], encrypted=True
    )
    for person in (ben, cy, dee):
        await person.join(room)
    await ana.invite(room, cast.bot.user_id)
    bot = fresh_bot(synapse, cast, room, db_path, store_path=bot_keys)
    adapter = await bot.start()
    try:
        assert room in adapter.encrypted_rooms
        assert adapter.client is not None and adapter.client.olm is not None
        bot_device = adapter.client.device_id
        assert bot_device
        await ana.wait_for(
            room,
            lambda e: (
                e.get("state_key") == cast.bot.user_id and content(e).get("membership") == "join"
            ),
            "the bot joining",
        )
        # ana's device must know the bot's device to give it her room key.
        await ana.wait_for_device(cast.bot.user_id, bot_device)

        command = await ana.say(room, "!propose Adopt the sealed policy by 2h")
        assert encrypted(await ben.wait_for(room, has_id(command), "the command"))
        card_event = await ana.wait_for(room, is_card(cast.bot.user_id, 1), "the card")
        card = str(card_event["event_id"])
        assert "Adopt the sealed policy" in content(card_event)["body"]
        assert encrypted(await ben.wait_for(room, has_id(card), "the card, sealed"))
        ok = await ana.wait_for(room, reply_to(cast.bot.user_id, command), "the answer")
        assert "Proposal #1 is open" in content(ok)["body"]

        reaction = await ana.react(room, card, "👍")
        seen = await ben.wait_for(room, has_id(reaction), "ana's reaction")
        assert seen["type"] == "m.reaction"  # annotations stay in the clear
        await ben.react(room, card, "👍")
        await cy.react(room, card, "✅")
        await dee.react(room, card, "🤔")
        outcome = await ana.wait_for(
            room, in_thread_of(cast.bot.user_id, card, "Proposal #1 passed"), "the outcome"
        )
        assert "milpa 2/2 ✓ · vera 2/2 ✓" in content(outcome)["body"]
        sealed = await ben.wait_for(room, has_id(str(outcome["event_id"])), "sealed outcome")
        assert encrypted(sealed)
        # The relation stays readable to the server (threads, edits), the text does not.
        assert relation(sealed)["rel_type"] == "m.thread"
        assert relation(sealed)["event_id"] == card
        assert "body" not in content(sealed)
        final = await ana.wait_for(
            room, is_edit_of(cast.bot.user_id, card, "· passed ──"), "the final card"
        )
        assert "milpa 2/2 ✓ · vera 2/2 ✓" in shown(final)["body"]
        assert bot.core.state(1).proposal.status == Status.PASSED

        present = await adapter.read_reactions(room, card)
        assert present is not None
        assert sorted((user, key) for user, key, _ in present) == sorted(
            [
                (cast.ana.user_id, "👍"),
                (cast.ben.user_id, "👍"),
                (cast.cy.user_id, "✅"),
                (cast.dee.user_id, "🤔"),
            ]
        )
    finally:
        await bot.stop()


async def test_a_restart_in_an_encrypted_room_keeps_its_keys(
    synapse: SynapseServer,
    cast: Cast,
    people: dict[str, Person],
    db_path: Path,
    ana: Person,
    bot_keys: Path,
) -> None:
    """The bot stops and starts again on the same device and key store: a command sent
    encrypted while it was down is read on its return, and what it sends next can still
    be read by the people in the room."""
    ben = people["ben"]
    room = await ana.create_room(invite=[cast.ben.user_id], encrypted=True)
    await ben.join(room)
    await ana.invite(room, cast.bot.user_id)
    device = synapse.login(cast.bot)  # one device for both runs
    spec = [circle_spec(cast, room)]
    keys = bot_keys
    bot = InProcessBot(synapse, device, spec, db_path, store_path=keys)
    adapter = await bot.start()
    try:
        assert adapter.client is not None
        first_device = adapter.client.device_id
        assert first_device == device.device_id
        await ana.wait_for_device(cast.bot.user_id, first_device)
        await ana.say(room, "!propose Before the restart by 2h")
        await ana.wait_for(room, is_card(cast.bot.user_id, 1), "the first card")
    finally:
        await bot.stop()

    # While the bot is away, ana writes again (same room key, which the bot stored).
    command = await ana.say(room, "!propose While the bot was away by 2h")
    assert encrypted(await ben.wait_for(room, has_id(command), "the sealed command"))

    again = InProcessBot(synapse, device, spec, db_path, store_path=keys)
    adapter = await again.start()
    try:
        assert adapter.client is not None and adapter.client.olm is not None
        assert adapter.client.device_id == first_device  # no new device to trust
        card_event = await ana.wait_for(room, is_card(cast.bot.user_id, 2), "the second card")
        assert "While the bot was away" in content(card_event)["body"]
        sealed = await ben.wait_for(room, has_id(str(card_event["event_id"])), "sealed card")
        assert encrypted(sealed)
        assert again.core.state(2).proposal.status == Status.OPEN
    finally:
        await again.stop()


async def test_a_message_the_bot_cannot_decrypt_gets_one_answer_per_session(
    synapse: SynapseServer,
    cast: Cast,
    people: dict[str, Person],
    db_path: Path,
    ana: Person,
    bot_keys: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """ana's client refuses to share its room key with the bot's device (blacklisted):
    her command cannot be read. After waiting for the key in vain, the bot tells her so,
    once for that session however many messages it hides, and nothing takes effect."""
    ben = people["ben"]
    room = await ana.create_room(invite=[cast.ben.user_id], encrypted=True)
    await ben.join(room)
    await ana.invite(room, cast.bot.user_id)
    bot = fresh_bot(synapse, cast, room, db_path, store_path=bot_keys)
    adapter = await bot.start()
    adapter.sealed.wait = 1.0  # seconds to wait for a key that will not come
    try:
        assert adapter.client is not None and adapter.client.device_id
        bot_device = adapter.client.device_id
        await ana.wait_for_device(cast.bot.user_id, bot_device)
        ana.client.blacklist_device(ana.client.device_store[cast.bot.user_id][bot_device])

        with caplog.at_level(logging.WARNING, logger="adapters.matrix"):
            command = await ana.say(room, "!propose Nobody can read this by 2h")
            answer = await ana.wait_for(
                room, reply_to(cast.bot.user_id, command), "the bot saying it cannot read"
            )
            assert "could not read your encrypted message" in content(answer)["body"]
            assert content(answer)["m.mentions"] == {"user_ids": [cast.ana.user_id]}
            told = time.monotonic()

            second = await ana.say(room, "!propose Nor this by 2h")
            await until(lambda: adapter.stats["undecryptable"] >= 2, "the second to expire")
        # Both were dealt with (that counter moves last): one session, one answer.
        assert adapter.stats["unreadable_answered"] == 1
        answers = [
            e
            for e in ana.events(room, since=told)
            if e.get("sender") == cast.bot.user_id and e.get("type") != "m.room.member"
        ]
        assert answers == [], answers
        warned = [r.getMessage() for r in caplog.records]
        assert any(command in w and cast.ana.user_id in w for w in warned)
        assert any(second in w for w in warned)
        with pytest.raises(KeyError):
            bot.core.state(1)  # nothing was proposed
    finally:
        await bot.stop()
