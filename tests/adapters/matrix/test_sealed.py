"""Bookkeeping of encrypted events waiting for their room key (adapters/matrix/sealed.py)."""

from __future__ import annotations

from typing import Any

from adapters.matrix.sealed import SealedEvents

ROOM = "!room:example.org"


def encrypted(
    event_id: str, sender: str = "@ana:example.org", session: str = "s1", thread: str | None = None
) -> dict[str, Any]:
    content: dict[str, Any] = {
        "algorithm": "m.megolm.v1.aes-sha2",
        "ciphertext": "…",
        "sender_key": f"curve-{sender}",
        "session_id": session,
    }
    if thread is not None:
        content["m.relates_to"] = {"rel_type": "m.thread", "event_id": thread}
    return {"type": "m.room.encrypted", "event_id": event_id, "sender": sender, "content": content}


def test_an_event_waits_until_its_time_is_up_then_expires_once() -> None:
    sealed = SealedEvents(wait=10.0)
    assert sealed.next_due(0.0) is None
    assert sealed.add(ROOM, "#circle", encrypted("$a"), now=100.0) == []
    assert sealed.add(ROOM, "#circle", encrypted("$a"), now=101.0) == []  # replayed: once
    assert len(sealed) == 1
    assert sealed.next_due(104.0) == 6.0
    assert sealed.expired(109.9) == []
    [late] = sealed.expired(110.0)
    assert late.event_id == "$a" and late.channel == "#circle" and late.room == ROOM
    assert sealed.expired(200.0) == [] and len(sealed) == 0


def test_an_opened_event_no_longer_waits() -> None:
    sealed = SealedEvents(wait=10.0)
    sealed.add(ROOM, ROOM, encrypted("$a"), now=0.0)
    sealed.add(ROOM, ROOM, encrypted("$b"), now=5.0)
    first, second = list(sealed)
    sealed.opened(first)
    assert [s.event_id for s in sealed] == ["$b"]
    assert sealed.next_due(5.0) == 10.0
    assert sealed.expired(20.0) == [second]


def test_the_oldest_gives_up_first_when_too_many_wait() -> None:
    sealed = SealedEvents(wait=10.0, most=2)
    sealed.add(ROOM, ROOM, encrypted("$a"), now=0.0)
    sealed.add(ROOM, ROOM, encrypted("$b"), now=1.0)
    pushed = sealed.add(ROOM, ROOM, encrypted("$c"), now=2.0)
    assert [s.event_id for s in pushed] == ["$a"]
    assert [s.event_id for s in sealed] == ["$b", "$c"]


def test_the_sender_is_told_once_per_session() -> None:
    sealed = SealedEvents()
    sealed.add(ROOM, ROOM, encrypted("$a", session="s1"), now=0.0)
    sealed.add(ROOM, ROOM, encrypted("$b", session="s1"), now=0.0)
    sealed.add(ROOM, ROOM, encrypted("$c", session="s2"), now=0.0)
    sealed.add(ROOM, ROOM, encrypted("$d", sender="@ben:example.org", session="s1"), now=0.0)
    told = [sealed.first_to_tell(s) for s in sealed.expired(60.0)]
    assert told == [True, False, True, True]


def test_the_thread_of_an_encrypted_event_is_read_from_its_clear_relation() -> None:
    sealed = SealedEvents()
    sealed.add(ROOM, ROOM, encrypted("$a", thread="$card"), now=0.0)
    sealed.add(ROOM, ROOM, encrypted("$b"), now=0.0)
    assert [s.thread_root for s in sealed] == ["$card", None]
    assert [s.sender for s in sealed] == ["@ana:example.org"] * 2
