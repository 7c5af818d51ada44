"""Three real `circlebot run` processes on one PostgreSQL database, Slack over HTTP
against the fake Slack: commands and reactions spread over the replicas and sent twice
(to two replicas), the leader killed with SIGKILL mid-run and another replica's database
connections cut. Every reminder and every outcome happens exactly once, the tallies are
exact, and the takeover time is measured."""

from __future__ import annotations

import asyncio
import itertools
import re
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.adapters.slack.fakeslack import (
    FakeSlack,
    command_payload,
    event_envelope,
    eventually,
    new_event_id,
    reaction_event,
)
from tests.adapters.slack.processes import CHANNEL, SlackProcess
from tests.pgserver import PostgresServer

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PROPOSALS = 6
RULES = 'reminders = ["25s"]'


def start_replica(folder: Path, url: str, api: str, name: str) -> SlackProcess:
    return SlackProcess(folder, name, url, api, RULES, verbose=True)


@pytest.fixture
def database(postgres_server: PostgresServer) -> Iterator[str]:
    name = f"circlebot_rep_{uuid.uuid4().hex[:10]}"
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)


def rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


async def test_three_replicas_do_everything_once_across_a_killed_leader(
    fake: FakeSlack, tmp_path: Path, database: str
) -> None:
    replicas = [start_replica(tmp_path, database, fake.api_url, f"r{n}") for n in range(3)]
    try:
        for replica in replicas:
            await eventually(replica.ready, 60.0, f"replica {replica.pid} ready")
        leading = [r for r in replicas if await r.leads()]
        assert len(leading) == 1, "exactly one leader"
        leader = leading[0]
        others = [r for r in replicas if r is not leader]
        spread = itertools.cycle(replicas)

        # Proposals, each sent to one replica; then their cards.
        for n in range(PROPOSALS):
            payload = command_payload("/propose", f"Item {n} by 45s", "UANA", CHANNEL)
            assert (await next(spread).events.command(payload)).status == 200
        cards = await eventually(
            lambda: (
                len(fake.channel_messages(CHANNEL)) >= PROPOSALS and fake.channel_messages(CHANNEL)
            ),
            30.0,
            "every card",
        )
        number = {int(re.search(r"#(\d+)", c.text).group(1)): c.ts for c in cards}  # type: ignore[union-attr]
        posted = "SELECT count(*) FROM cards WHERE message_ref IS NOT NULL"
        await eventually(
            lambda: rows(database, posted)[0][0] == PROPOSALS, 30.0, "every card's ts kept"
        )
        await asyncio.sleep(3)  # a card posted twice would show by now
        assert len(fake.channel_messages(CHANNEL)) == PROPOSALS, "one card each"

        # Reactions: ana and cy consent on every proposal, dee objects on the last; each
        # event goes to two replicas (as a retry would).
        expected: dict[int, str] = {}
        for pid, ts in number.items():
            answers = [("UANA", "+1"), ("UCY", "+1")]
            if pid == PROPOSALS:
                answers.append(("UDEE", "raised_hand"))
            for user, emoji in answers:
                fake.react(CHANNEL, ts, user, emoji)  # what Slack shows, for read-back
                envelope = event_envelope(reaction_event(user, emoji, ts, CHANNEL), new_event_id())
                first, second = next(spread), next(spread)
                assert (await first.events.event(envelope)).status == 200
                assert (await second.events.event(envelope, retry=1)).status == 200
            expected[pid] = "blocked" if pid == PROPOSALS else "no_quorum"

        # The leader dies mid-run.
        leader.kill()
        killed_at = time.monotonic()
        survivors = others

        async def new_leader() -> bool:
            return any([await r.leads() for r in survivors])

        await eventually(new_leader, 30.0, "a new leader")
        takeover = time.monotonic() - killed_at
        print(f"\ntakeover after SIGKILL: {takeover:.1f} s")
        assert takeover < 15.0
        # Then every database connection of the survivors is cut (the new leader's lock
        # with them): they reconnect, and one of them leads again.
        cut = rows(
            database,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        print(f"connections cut: {cut[0][0]}")
        await eventually(new_leader, 30.0, "a leader after the cut")

        # Every proposal closes once; each outcome and each reminder goes out once.
        def closed() -> bool:
            found = rows(database, "SELECT id, status FROM proposals")
            return len(found) == PROPOSALS and all(s != "open" for _, s in found)

        await eventually(closed, 90.0, "every proposal closed")
        statuses = dict(rows(database, "SELECT id, status FROM proposals"))
        assert statuses == expected

        def outcomes() -> Counter[int]:
            found: Counter[int] = Counter()
            for pid, ts in number.items():
                found[pid] = sum(
                    1
                    for m in fake.thread(CHANNEL, ts)
                    if re.search(rf"Proposal #{pid} (passed|is blocked|closed without)", m.text)
                )
            return found

        await eventually(
            lambda: all(outcomes()[pid] >= 1 for pid in number), 60.0, "every outcome posted"
        )
        await asyncio.sleep(5)  # anything posted twice would show by now
        assert outcomes() == Counter(dict.fromkeys(number, 1))
        # ben and dee never answered (dee only on the last): each gets one DM per
        # proposal, at the 25s offset.
        for user, waiting in (("BEN", set(number)), ("DEE", set(number) - {PROPOSALS})):
            reminded = Counter(
                int(match.group(1))
                for m in fake.messages.get("D" + user, [])
                if (match := re.search(r"Proposal #(\d+)", m.text))
            )
            assert reminded == Counter(dict.fromkeys(waiting, 1)), (user, reminded)
        tallies = rows(
            database,
            "SELECT proposal_id, count(*) FROM marks WHERE added GROUP BY proposal_id",
        )
        assert {pid: count for pid, count in tallies} == {
            pid: 3 if pid == PROPOSALS else 2 for pid in number
        }
    finally:
        for replica in replicas:
            await replica.close()


async def test_a_leader_paused_past_its_lease_writes_nothing_and_steps_down(
    fake: FakeSlack, tmp_path: Path, database: str
) -> None:
    """SIGSTOP the leader: its connection still holds the lock, but it stops renewing its
    lease; another replica ends that connection and leads. A proposal falls due while
    the old leader sleeps; SIGCONT: it writes nothing, and steps down."""
    replicas = [start_replica(tmp_path, database, fake.api_url, f"r{n}") for n in range(2)]
    try:
        for replica in replicas:
            await eventually(replica.ready, 60.0, f"replica {replica.pid} ready")
        leading = [r for r in replicas if await r.leads()]
        assert len(leading) == 1
        leader = leading[0]
        other = next(r for r in replicas if r is not leader)
        payload = command_payload("/propose", "Paused by 20s", "UANA", CHANNEL)
        assert (await other.events.command(payload)).status == 200
        await eventually(lambda: fake.channel_messages(CHANNEL), 30.0, "the card")
        leader.process.send_signal(signal.SIGSTOP)
        paused_at = time.monotonic()
        try:
            await eventually(lambda: other.leads(), 40.0, "the other replica leading")
            print(f"\ntakeover from a paused leader: {time.monotonic() - paused_at:.1f} s")
            closed = "SELECT status FROM proposals WHERE id = 1"
            await eventually(lambda: rows(database, closed) == [("no_quorum",)], 60.0, "closed")
        finally:
            leader.process.send_signal(signal.SIGCONT)
        await eventually(
            lambda: "no longer leading the scheduled work" in leader.log.read_text(),
            30.0,
            "the old leader stepping down",
        )
        assert not await leader.leads()
        await asyncio.sleep(4)  # its next checks and ticks
        outcomes = [m for m in fake.thread(CHANNEL, fake.channel_messages(CHANNEL)[0].ts)]
        assert sum("Proposal #1 closed without" in m.text for m in outcomes) == 1
        fences = rows(database, "SELECT fence FROM leadership")
        assert fences == [(2,)]  # one takeover, no back-and-forth
    finally:
        for replica in replicas:
            await replica.close()


async def test_what_a_follower_received_is_reminded_and_closed_by_the_leader(
    fake: FakeSlack, tmp_path: Path, database: str
) -> None:
    """`/propose … by 20s` sent to the replica that does not lead: the leader reminds
    at its offset and closes it at its deadline, though its own process changed nothing."""
    replicas = [
        SlackProcess(tmp_path, f"r{n}", database, fake.api_url, 'reminders = ["10s"]', verbose=True)
        for n in range(2)
    ]
    try:
        for replica in replicas:
            await eventually(replica.ready, 60.0, f"replica {replica.pid} ready")
        leading = [r for r in replicas if await r.leads()]
        assert len(leading) == 1, "exactly one leader"
        [follower] = [r for r in replicas if r is not leading[0]]
        payload = command_payload("/propose", "Rem by 20s", "UANA", CHANNEL)
        sent = time.monotonic()
        assert (await follower.events.command(payload)).status == 200

        def reminded() -> bool:
            return all(
                any("Proposal #1" in m.text for m in fake.messages.get("D" + who, []))
                for who in ("ANA", "BEN", "CY", "DEE")
            )

        await eventually(reminded, 30.0, "the reminders at 10 s before the deadline")

        def status() -> str:
            return str(rows(database, "SELECT status FROM proposals WHERE id = 1")[0][0])

        await eventually(lambda: status() != "open", 40.0, "the proposal closed")
        late = time.monotonic() - sent - 20.0
        print(f"\nclosed {late:.1f} s after its deadline")
        assert status() == "no_quorum"
        assert late < 15.0
    finally:
        for replica in replicas:
            await replica.close()
