"""HTTP mode: requests that are malformed, unsigned or badly signed. The signature is
checked first, whatever the body: a bad or missing signature or timestamp gets 401, a
correctly signed body that cannot be read gets 400. Each refusal is one short log line,
with no traceback and never the body or the signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.parse

import pytest

from adapters.slack.events_http import EVENTS_PATH
from tests.adapters.slack.conftest import Rig
from tests.adapters.slack.fakeslack import (
    SIGNING_SECRET,
    command_payload,
    event_envelope,
    reaction_event,
)
from tests.junk_requests import Junk, assert_no_traceback, junk, send

MARK = "BODY-MARKER-7f3a"  # in every body: must never reach the log

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# (name, body, content type)
MALFORMED: list[tuple[str, bytes, str]] = [
    ("truncated JSON", f'{{"type": "event_callback", "note": "{MARK}"'.encode(), JSON),
    ("JSON that is not an object", f'["{MARK}", 1]'.encode(), JSON),
    ("JSON null", b"null", JSON),
    ("payload field that is not JSON", f"payload=%7B{MARK}".encode(), FORM),
    (
        "payload field with a JSON list",
        urllib.parse.urlencode({"payload": json.dumps([MARK])}).encode(),
        FORM,
    ),
    ("not UTF-8", b"\xff\xfe" + MARK.encode() + b"\xc3", JSON),
    ("empty", b"", JSON),
]
WELL_FORMED: list[tuple[str, bytes, str]] = [
    (
        "event",
        json.dumps(event_envelope(reaction_event("UANA", MARK, "1.000001"))).encode(),
        JSON,
    ),
    (
        "command",
        urllib.parse.urlencode(command_payload("/propose", MARK, "UANA")).encode(),
        FORM,
    ),
]


async def _post(
    rig: Rig, body: bytes, content_type: str, headers: dict[str, str] | None = None
) -> int:
    assert rig.http is not None
    sent = {"Content-Type": content_type, **(headers or {})}
    async with rig.http.session.post(rig.http.url, data=body, headers=sent) as response:
        await response.read()
        return response.status


def _signed(body: bytes, stamp: str | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """Signed over the raw bytes, as Slack signs (the body need not be UTF-8)."""
    stamp = stamp or str(int(time.time()))
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + digest}


def _assert_quiet(caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    for record in caplog.records:
        text = record.getMessage()
        assert record.exc_info is None, f"a traceback was logged: {text}"
        assert "Traceback" not in text, text
        assert MARK not in text, f"a body was logged: {text}"
        for secret in secrets:
            assert secret not in text, f"a header was logged: {text}"


@pytest.mark.parametrize(("name", "body", "content_type"), MALFORMED, ids=[m[0] for m in MALFORMED])
async def test_a_malformed_body_is_400_when_signed_and_401_when_not(
    http_rig: Rig, caplog: pytest.LogCaptureFixture, name: str, body: bytes, content_type: str
) -> None:
    rig = http_rig
    calls, inbound = len(rig.fake.calls), rig.adapter.inbound
    caplog.set_level(logging.DEBUG)
    caplog.clear()

    signed = _signed(body)
    assert await _post(rig, body, content_type, signed) == 400
    assert await _post(rig, body, content_type) == 401  # no signature at all
    forged = _signed(body + b" ")  # the signature of another body
    assert await _post(rig, body, content_type, forged) == 401

    _assert_quiet(caplog, signed["X-Slack-Signature"], forged["X-Slack-Signature"])
    refusals = [r for r in caplog.records if r.name.startswith("adapters.slack")]
    assert len(refusals) == 3 and all("\n" not in r.getMessage() for r in refusals)
    assert rig.adapter.inbound == inbound and len(rig.fake.calls) == calls


@pytest.mark.parametrize(
    ("name", "body", "content_type"),
    MALFORMED + WELL_FORMED,
    ids=[m[0] for m in MALFORMED + WELL_FORMED],
)
async def test_a_bad_timestamp_or_signature_header_is_401_whatever_the_body(
    http_rig: Rig, caplog: pytest.LogCaptureFixture, name: str, body: bytes, content_type: str
) -> None:
    rig = http_rig
    calls, inbound = len(rig.fake.calls), rig.adapter.inbound
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    now = int(time.time())
    variants = [
        {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"},
        _signed(body, stamp="12abc"),  # signed, but the timestamp is no number
        _signed(body, stamp=" " + str(now)),
        _signed(body, stamp="9" * 40),  # a number no clock reaches
        _signed(body, stamp=str(now - 3600)),  # stale
        {"X-Slack-Request-Timestamp": str(now)},  # no signature
        {"X-Slack-Signature": _signed(body)["X-Slack-Signature"]},  # no timestamp
        {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v0=ünïcode"},
        {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v1=deadbeef"},
    ]
    for headers in variants:
        assert await _post(rig, body, content_type, headers) == 401, headers
    _assert_quiet(caplog, *(h.get("X-Slack-Signature", "v0=00") for h in variants[1:5]))
    assert rig.adapter.inbound == inbound and len(rig.fake.calls) == calls


async def test_a_rejected_request_is_not_logged_with_its_body_even_verbose(
    http_rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """At DEBUG (more than -v), Bolt's own logger included."""
    rig = http_rig
    caplog.set_level(logging.DEBUG)
    for logger in ("circlebot.slack.bolt", "slack_bolt", "aiohttp"):
        caplog.set_level(logging.DEBUG, logger=logger)
    caplog.clear()
    for _, body, content_type in WELL_FORMED:
        forged = _signed(body, secret="not-the-secret")
        assert await _post(rig, body, content_type, forged) == 401
    _assert_quiet(caplog)
    assert len(caplog.records) == 2


@pytest.mark.parametrize("what", junk(EVENTS_PATH), ids=lambda j: j.name)
async def test_junk_on_the_slack_port_is_4xx_and_one_warning_at_most(
    http_rig: Rig, caplog: pytest.LogCaptureFixture, what: Junk
) -> None:
    rig = http_rig
    assert rig.adapter.port is not None
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    status = await send(rig.adapter.port, what)
    if what.answerable:
        assert status is not None and 400 <= status < 500, status
    else:
        assert status is None or 400 <= status < 500, status
    assert_no_traceback(caplog)
    # The bot still answers.
    answer = await rig.command("ana", "/circle", "help")
    assert answer.status == 200
