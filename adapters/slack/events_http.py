"""HTTP mode: Slack's requests arrive at /slack/events on our own aiohttp server. Each
request's signature is checked before anything reads the body; only then does Bolt see
it. The operators' paths (/healthz, /readyz, /metrics) are served here too, so a load
balancer in front of the Slack port can watch the bot.

With many workspaces (Bolt's OAuth flow) it also serves GET /slack/install and the
redirect path, in Socket Mode too (then without /slack/events): the installer's browser
comes there, not Slack, so those requests carry no signature; the one-time state in
their cookie and URL is what Bolt checks."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from adapters.slack.webapi import secrets_of_request
from bot.domain.errors import AppError
from bot.ports.platform import OPERATOR_PATHS, OperatorPage
from bot.ports.public_http import UNREADABLE, UnreadableRequests

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
SIGNATURE_MAX_AGE = 300  # seconds a signed request stays valid, as Slack documents
# Seconds a request's body may take to arrive once its headers did (Slack sends a few KB
# at once; a client that stops short of its Content-Length is not waited on forever).
BODY_TIMEOUT = 10.0


def signature_problem(
    secret: str, timestamp: str, signature: str, raw: bytes, now: float
) -> str | None:
    """Why a request is not Slack's (v0 signature, within five minutes); None if it is."""
    if not timestamp or not signature:
        return "no signature"
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return "malformed timestamp"
    if abs(now - int(timestamp)) > SIGNATURE_MAX_AGE:
        return "timestamp too old or ahead"
    key = secret.encode()
    base = b"v0:" + timestamp.encode() + b":" + raw
    expected = "v0=" + hmac.new(key, base, hashlib.sha256).hexdigest()
    if not key or not signature.isascii() or not hmac.compare_digest(expected, signature):
        return "bad signature"
    return None


class EventsServer:
    def __init__(
        self,
        app: AsyncApp,
        signing_secret: str,
        pages: Callable[[str], Awaitable[OperatorPage | None]],
        events: bool = True,
        body_timeout: float = BODY_TIMEOUT,
    ) -> None:
        self.app = app
        self.signing_secret = signing_secret
        self._pages = pages
        self.events = events  # False: Socket Mode brings them; only installs come here
        self.port: int | None = None  # the port really listened on
        self._runner: web.AppRunner | None = None
        self.body_timeout = body_timeout

    async def start(self, host: str, port: int) -> int:
        server = web.Application()
        if self.events:
            server.router.add_post(EVENTS_PATH, self._on_http)
        flow = self.app.oauth_flow
        if flow is not None:
            server.router.add_get(flow.install_path, self._on_install)
            server.router.add_get(flow.redirect_uri_path, self._on_redirect)
        for path in OPERATOR_PATHS:
            server.router.add_get(path, self._operator_page)
        runner = web.AppRunner(server, access_log=None, logger=UnreadableRequests())
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise AppError(f"slack.port: cannot listen on {host}:{port} ({exc})") from exc
        self._runner = runner
        sockets = [addr for addr in runner.addresses if isinstance(addr, tuple)]
        self.port = int(sockets[0][1]) if sockets else port
        paths = [EVENTS_PATH] if self.events else []
        if flow is not None:
            paths += [flow.install_path, flow.redirect_uri_path]
        log.info("slack: listening on http://%s:%s (%s)", host, self.port, ", ".join(paths))
        return self.port

    async def close(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _operator_page(self, request: web.Request) -> web.Response:
        page = await self._pages(request.path)
        if page is None:
            raise web.HTTPNotFound()
        return web.Response(
            status=page.status, body=page.body, headers={"Content-Type": page.content_type}
        )

    async def _on_install(self, request: web.Request) -> web.StreamResponse:
        """An install begins: a new one-time state, in a cookie and in the redirect to
        Slack's authorize page."""
        flow = self.app.oauth_flow
        assert flow is not None
        return await to_aiohttp_response(await flow.handle_installation(_bolt_get(request)))

    async def _on_redirect(self, request: web.Request) -> web.StreamResponse:
        """Slack sends the installer back: the state is checked and consumed, the code
        exchanged for the workspace's token, the installation kept. A request whose
        state is missing, unknown, used or expired changes nothing. Logged without its
        query (the code)."""
        flow = self.app.oauth_flow
        assert flow is not None
        # The code is a credential until it is exchanged (and the state until consumed):
        # Bolt and the SDK log them, with the request, when the exchange fails.
        query = request.query
        with secrets_of_request(*query.getall("code", []), *query.getall("state", [])):
            response = await flow.handle_callback(_bolt_get(request))
        log.info("slack: an install came back: %s", response.status)
        return await to_aiohttp_response(response)

    async def _on_http(self, request: web.Request) -> web.StreamResponse:
        """One request to /slack/events. Its signature is checked before anything reads
        the body (Bolt parses it first and would answer a malformed one with a 500 and a
        traceback); a refusal is logged in one line, never with the body or headers."""
        try:
            raw = await asyncio.wait_for(request.read(), self.body_timeout)
        except TimeoutError:  # a body that stops short of its length, and waits
            log.warning("slack: refused a request from %s: its body did not arrive", request.remote)
            return web.json_response({"error": "request timeout"}, status=408)
        except UNREADABLE as exc:  # cut off: the client is gone, nobody reads an answer
            log.warning(
                "slack: a request from %s was cut off: %s", request.remote, type(exc).__name__
            )
            return web.json_response({"error": "malformed request"}, status=400)
        problem = signature_problem(
            self.signing_secret,
            request.headers.get("X-Slack-Request-Timestamp", ""),
            request.headers.get("X-Slack-Signature", ""),
            raw,
            time.time(),
        )
        if problem is not None:
            log.warning("slack: refused a request from %s: %s", request.remote, problem)
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_request = AsyncBoltRequest(
                body=raw.decode("utf-8"),
                query=request.query_string,
                headers={name: request.headers.getall(name) for name in request.headers},
            )
            if not isinstance(bolt_request.body, dict) or not bolt_request.body:
                raise ValueError("not an object")
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # Signed by Slack, yet unreadable: nothing to retry, nothing to act on.
            log.warning("slack: a signed request could not be read: %s", type(exc).__name__)
            return web.json_response({"error": "malformed request"}, status=400)
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))


def _bolt_get(request: web.Request) -> AsyncBoltRequest:
    return AsyncBoltRequest(
        body="",
        query=request.query_string,
        headers={name: request.headers.getall(name) for name in request.headers},
    )
