"""Open App Home tabs kept current (adapters/slack/home_watch.py): the pacing on its own,
then through the real Bolt app."""

from __future__ import annotations

import asyncio

from adapters.slack.home_watch import HomeWatch
from tests.adapters.slack.conftest import Rig
from tests.adapters.slack.fakeslack import event_envelope, eventually, home_opened


class Published(list[str]):
    """The users whose tab was published, in order."""

    async def publish(self, user: str) -> None:
        self.append(user)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_watched_tab_is_republished_once_per_interval_with_the_latest_last() -> None:
    clock = Clock()
    published = Published()
    watch = HomeWatch(published.publish, interval=0.2, watch=60.0, clock=clock)
    watch.changed(["UBEN"])  # never opened: nothing to keep current
    assert watch.pending == 0
    watch.opened("UBEN")
    watch.changed(["UBEN", "UCY"])
    watch.changed(["UBEN"])  # coalesced with the one already coming
    assert watch.pending == 1
    await eventually(lambda: published == ["UBEN"], 5.0, "the republish")
    assert watch.pending == 0
    clock.now += 0.2  # its turn has come again: at once
    watch.changed(["UBEN"])
    await eventually(lambda: published == ["UBEN", "UBEN"], 5.0, "the second republish")


async def test_a_tab_opened_long_ago_is_no_longer_watched() -> None:
    clock = Clock()
    published = Published()
    watch = HomeWatch(published.publish, interval=0.0, watch=60.0, clock=clock)
    watch.opened("UBEN")
    clock.now += 61
    assert watch.watching() == []
    watch.opened("UCY")  # also forgets those past their time
    assert watch.watching() == ["UCY"]
    watch.changed(["UBEN"])
    assert watch.pending == 0


async def test_a_failed_republish_is_logged_and_does_not_stop_the_next() -> None:
    calls: list[str] = []

    async def publish(user: str) -> None:
        calls.append(user)
        if len(calls) == 1:
            raise RuntimeError("slack is down")

    watch = HomeWatch(publish, interval=0.0)
    watch.opened("UBEN")
    watch.changed(["UBEN"])
    await eventually(lambda: calls == ["UBEN"] and watch.pending == 0, 5.0, "the failure")
    watch.changed(["UBEN"])
    await eventually(lambda: watch.republished == 1, 5.0, "the next republish")


async def test_refreshing_at_once_replaces_the_republish_waiting_its_turn() -> None:
    published = Published()
    watch = HomeWatch(published.publish, interval=60.0)
    watch.opened("UBEN")
    watch.changed(["UBEN"])  # waits its turn: a minute
    assert watch.pending == 1
    await watch.refresh_now("UBEN")  # ben pressed a button on his tab
    assert published == ["UBEN"] and watch.pending == 0


async def test_close_cancels_what_is_waiting() -> None:
    published = Published()
    watch = HomeWatch(published.publish, interval=0.0)  # due at the next turn
    watch.opened("UBEN")
    watch.changed(["UBEN"])
    assert watch.pending == 1
    await watch.close()  # it awaits the task: uncancelled, it would publish here
    await asyncio.sleep(0)
    assert published == [] and watch.pending == 0


async def test_an_open_home_tab_follows_the_tally(http_rig: Rig) -> None:
    rig = http_rig
    rig.adapter.home_watch.interval = 0.1
    card = await rig.propose("Adopt the visiting policy by 3d")
    await rig.deliver.event(event_envelope(home_opened("UBEN")))
    await rig.deliver.event(event_envelope(home_opened("UZED")))  # in no circle
    await eventually(lambda: len(rig.fake.published) == 2, what="the two Home tabs")

    await rig.react("cy", "+1", card)
    await rig.shows(card, "*milpa* 0/2 … · *vera* 1/2 …")

    def bens_latest() -> str:
        views = [p for p in rig.fake.published if p["user_id"] == "UBEN"]
        return str(views[-1]["view"]["blocks"])

    await eventually(lambda: "*vera* 1/2" in bens_latest(), what="ben's tab, current")
    assert [p["user_id"] for p in rig.fake.published].count("UZED") == 1  # not a member
