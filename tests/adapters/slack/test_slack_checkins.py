"""A check-in on Slack: the prompt in the channel names the facilitator, replies in its
thread count, the nudge pings only the silent, the summary lands in the thread."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.circle import CheckinSpec
from bot.domain.durations import parse_duration
from tests.adapters.slack.conftest import CHANNEL, USERS, RigFactory, council
from tests.adapters.slack.fakeslack import event_envelope, eventually, slack_now


def thread_reply(user: str, thread_ts: str, text: str, **more: object) -> dict[str, object]:
    return {
        "type": "message",
        "channel": CHANNEL,
        "user": user,
        "text": text,
        "ts": slack_now(),
        "thread_ts": thread_ts,
        **more,
    }


async def test_checkin_replies_in_its_thread_count(make_rig: RigFactory) -> None:
    checkins = CheckinSpec(
        schedule="0 0 1 1 *",  # not during the test: started by command
        questions=("How are you arriving today?",),
        open_for=parse_duration("3s"),
        remind_after=parse_duration("1s"),
    )
    rig = await make_rig("http", spec=replace(council(), checkins=checkins))
    await rig.command("ana", "/circle", "checkin")
    prompt = await eventually(
        lambda: next((m for m in rig.fake.channel_messages(CHANNEL) if "Check-in" in m.text), None),
        what="the prompt",
    )
    assert "<@UANA>" in prompt.text  # the facilitator
    await rig.deliver.event(event_envelope(thread_reply(USERS["ben"], prompt.ts, "Here")))
    await rig.deliver.event(event_envelope(thread_reply(USERS["cy"], prompt.ts, "Me too")))
    # Not counted: a top-level message, a bot's message, an edit, a stranger.
    await rig.deliver.event(
        event_envelope(thread_reply(USERS["dee"], prompt.ts, "x", subtype="message_changed"))
    )
    await rig.deliver.event(event_envelope(thread_reply("UZED", prompt.ts, "hello")))

    def posted(needle: str) -> object:
        return next((m for m in rig.fake.thread(CHANNEL, prompt.ts) if needle in m.text), None)

    nudge = await eventually(lambda: posted("Still to hear from"), what="the nudge")
    assert "<@UANA>" in nudge.text and "<@UDEE>" in nudge.text and "<@UEVE>" in nudge.text
    assert "<@UBEN>" not in nudge.text and "<@UCY>" not in nudge.text
    summary = await eventually(lambda: posted("Check-in closed"), timeout=15, what="summary")
    assert "milpa 1/3 · vera 1/2 checked in" in summary.text
