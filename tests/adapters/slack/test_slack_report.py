"""The circle's own report on Slack, through the real Bolt app (signed requests) into a
real Core + Runtime, out to the fake Web API: Block Kit, answered to the asker alone."""

from __future__ import annotations

import json
from typing import Any

from tests.adapters.slack.conftest import CHANNEL, RigFactory
from tests.adapters.slack.fakeslack import eventually


def blocks_of(entry: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = entry.get("blocks")
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks or [])


async def test_circle_report_is_block_kit_to_the_asker_alone(make_rig: RigFactory) -> None:
    rig = await make_rig("http")
    card = await rig.propose("Rent the hall on Saturdays for the workshops")
    await rig.react("cy", "hand", card)
    await rig.command("dee", "/circle", "report")
    (answer,) = await eventually(
        lambda: [e for e in rig.fake.ephemeral if e["user"] == "UDEE"], what="the report"
    )
    blocks = blocks_of(answer)
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"].startswith("📊 Circle report: council")
    fields = [f["text"] for b in blocks if b["type"] == "section" for f in b.get("fields", [])]
    assert any(f.startswith("*Proposals authored*\n`██████████` 1 (") for f in fields)
    said = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    assert "• milpa authored 1 of 1 proposal." in "\n".join(said)
    assert "milpa authored 1 of 1 proposal." in answer["text"]  # the plain fallback

    await rig.command("cy", "/circle", "report me")
    (mine,) = await eventually(
        lambda: [e for e in rig.fake.ephemeral if e["user"] == "UCY"], what="cy's own"
    )
    assert "only you see this" in blocks_of(mine)[0]["text"]["text"]
    # Nothing of either went to the channel.
    assert not [m for m in rig.fake.channel_messages(CHANNEL) if "📊" in (m.text or "")]


async def test_a_scheduled_report_is_posted_in_the_channel_as_block_kit(
    make_rig: RigFactory,
) -> None:
    """What the scheduled report posts (the same message the outbox renders) goes to the
    circle's channel for everyone, as Block Kit with its plain fallback."""
    from datetime import UTC, datetime, timedelta

    from bot.domain.i18n import of
    from bot.queries.report import circle_report
    from bot.text.report import report_message

    rig = await make_rig("http")
    card = await rig.propose("Rent the hall on Saturdays for the workshops")
    await rig.react("cy", "hand", card)
    now = datetime.now(UTC)
    spec = rig.spec
    report = circle_report(rig.core.ctx.store, spec, now - timedelta(days=90), now)
    message = report_message(report, of(spec.reader), spec.timezone)
    await rig.adapter.post(CHANNEL, message, None, "outbox:report:council:test:slack")
    (posted,) = [m for m in rig.fake.channel_messages(CHANNEL) if "📊" in (m.text or "")]
    assert "milpa authored 1 of 1 proposal." in posted.text
    blocks = posted.blocks if isinstance(posted.blocks, list) else json.loads(posted.blocks)
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"].startswith("📊 Circle report: council")
