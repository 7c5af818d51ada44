"""The operators' HTTP server (`[server]`): is the process alive, is it ready, and its
numbers in Prometheus' text format.

- GET /healthz: 200 while the process runs.
- GET /readyz: 200 only once start-up has finished, and then only while the database
  answers, the bot has not been stopped by a lost database file, and the scheduler runs;
  else 503 with a JSON body naming what is not ready ("startup": "starting" before
  then). Every request checks anew, so a lost database shows at the next request.
- GET /metrics: `circlebot_*` metrics, read at scrape time from what the runtime, the
  adapters and the database know (prometheus-client's collector API; a registry per
  bot, so several bots in one process, as in tests, never share numbers).

OperatorPages answers the three paths as typed pages; OpsServer serves them on
`[server]`'s address, and an adapter with its own HTTP server (a platform's HTTP mode) serves
them there too, through bot.ports.platform.CoreServices.operator_page."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.domain.api_calls import ApiCalls, ApiOutcome
from bot.domain.errors import StorageUnavailable
from bot.domain.model import Status
from bot.ports.platform import OPERATOR_PATHS, OperatorPage
from bot.ports.public_http import UnreadableRequests
from bot.ports.storage_health import StorageHealth
from bot.state.context import Context

log = logging.getLogger(__name__)

DATABASE_TIMEOUT = 2.0  # seconds /readyz waits for the database before calling it down
OPEN = [Status.OPEN.value, Status.DRAFT.value]


@dataclass
class RuntimeFacts:
    """What the runtime counts as it goes, for /metrics and /readyz."""

    events: Counter[tuple[str, str]] = field(default_factory=Counter)  # (platform, kind)
    scheduler_running: Callable[[], bool] = lambda: False
    scheduled_jobs: Callable[[], int] = lambda: 0
    leader: Callable[[], bool] = lambda: True  # one process: always the leader
    adapters: Callable[[], dict[str, str | None]] = dict  # platform -> what is wrong
    api_calls: Callable[[], dict[str, ApiCalls]] = dict  # platform -> its API calls
    started: Callable[[], bool] = lambda: False  # start-up finished (not ready before)


API_METRICS = (  # name, help, the outcomes it counts
    ("circlebot_api_calls", "Calls to a platform's API", (ApiOutcome.OK, ApiOutcome.ERROR)),
    ("circlebot_api_errors", "Calls to a platform's API that failed", (ApiOutcome.ERROR,)),
    (
        "circlebot_api_rate_limits",
        "Rate-limit answers from a platform's API (each retried after the wait asked)",
        (ApiOutcome.RATE_LIMITED,),
    ),
)


class _Collector(Collector):
    def __init__(self, ctx: Context, facts: RuntimeFacts) -> None:
        self._ctx = ctx
        self._facts = facts

    def collect(self) -> Iterator[Metric]:
        events = CounterMetricFamily(
            "circlebot_events", "Inbound events handled", labels=["platform", "kind"]
        )
        for (platform, kind), count in sorted(self._facts.events.items()):
            events.add_metric([platform, kind], count)
        yield events
        duplicates = CounterMetricFamily(
            "circlebot_duplicates",
            "Redelivered events dropped (applied the first time they came)",
            labels=["platform"],
        )
        for platform, count in sorted(self._ctx.duplicates.items()):
            duplicates.add_metric([platform], count)
        yield duplicates
        yield from self._api_metrics()
        yield GaugeMetricFamily(
            "circlebot_scheduled_jobs", "Wake-ups the scheduler holds", self._facts.scheduled_jobs()
        )
        yield GaugeMetricFamily(
            "circlebot_leader",
            "1 on the replica that runs the scheduler, else 0",
            1 if self._facts.leader() else 0,
        )
        try:
            with self._ctx.store.transaction() as tx:
                open_count = tx.count_proposals(OPEN)
                pending, oldest = tx.outbox_backlog()
        except StorageUnavailable:
            return  # the database's numbers are missing: /readyz says why
        yield GaugeMetricFamily(
            "circlebot_open_proposals", "Proposals open or waiting for a co-sponsor", open_count
        )
        yield GaugeMetricFamily(
            "circlebot_outbox_pending", "Messages waiting to be posted", pending
        )
        age = (self._ctx.clock.now() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(
            "circlebot_outbox_oldest_age_seconds",
            "How long the oldest waiting message has waited",
            max(age, 0.0),
        )

    def _api_metrics(self) -> Iterator[Metric]:
        counts = {p: calls.snapshot() for p, calls in sorted(self._facts.api_calls().items())}
        for name, description, outcomes in API_METRICS:
            family = CounterMetricFamily(name, description, labels=["platform", "method"])
            for platform, by_method in counts.items():
                totals: Counter[str] = Counter()
                for (method, outcome), count in by_method.items():
                    if outcome in outcomes:
                        totals[method] += count
                for method, total in sorted(totals.items()):
                    family.add_metric([platform, method], total)
            yield family


class OperatorPages:
    """The answers to /healthz, /readyz and /metrics, wherever they are served."""

    def __init__(self, ctx: Context, health: StorageHealth, facts: RuntimeFacts) -> None:
        self._ctx = ctx
        self._health = health
        self._facts = facts
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Collector(ctx, facts))

    async def page(self, path: str) -> OperatorPage | None:
        if path == "/healthz":
            return _json(200, {"status": "ok"})
        if path == "/readyz":
            problems = await self.not_ready()
            if problems:
                return _json(503, {"status": "not ready", "not_ready": problems})
            return _json(200, {"status": "ready"})
        if path == "/metrics":
            body = await asyncio.to_thread(generate_latest, self.registry)
            return OperatorPage(200, CONTENT_TYPE_LATEST, body)
        return None

    async def not_ready(self) -> dict[str, str]:
        """What is not ready, each with why; empty when all is."""
        problems: dict[str, str] = {}
        if not self._facts.started():
            problems["startup"] = "starting"
        fatal = self._health.fatal
        if fatal is not None:
            problems["database"] = str(fatal)
        else:
            reason = await self._database_down()
            if reason is not None:
                problems["database"] = reason
        if not self._facts.scheduler_running():
            problems["scheduler"] = "not running"
        for platform, wrong in self._facts.adapters().items():
            if wrong is not None:
                problems[platform] = wrong
        return problems

    async def _database_down(self) -> str | None:
        def ping() -> None:
            with self._ctx.store.transaction() as tx:
                tx.circle_names()

        started = time.monotonic()
        try:
            # Its own thread: the core's may be busy, and readiness must not wait on it.
            await asyncio.wait_for(asyncio.to_thread(ping), DATABASE_TIMEOUT)
        except StorageUnavailable as exc:
            return exc.reason
        except TimeoutError:
            return f"no answer within {DATABASE_TIMEOUT:.0f} s"
        except Exception as exc:  # any other failure is not-ready too, said briefly
            return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        log.debug("readyz: database answered in %.3f s", time.monotonic() - started)
        return None


def _json(status: int, body: object) -> OperatorPage:
    return OperatorPage(status, "application/json", json.dumps(body).encode())


def respond(page: OperatorPage) -> web.Response:
    """An aiohttp response carrying `page`."""
    return web.Response(
        status=page.status, body=page.body, headers={"Content-Type": page.content_type}
    )


class OpsServer:
    """`[server]`: the operators' pages on their own address."""

    def __init__(self, host: str, port: int, pages: OperatorPages) -> None:
        self.host = host
        self.port = port
        self.pages = pages
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.add_routes([web.get(path, self._serve) for path in OPERATOR_PATHS])
        self._runner = web.AppRunner(app, access_log=None, logger=UnreadableRequests())
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server  # the bound port, when 0 asked for any free one
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        log.info("operators: http://%s:%s/healthz, /readyz, /metrics", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _serve(self, request: web.Request) -> web.Response:
        page = await self.pages.page(request.path)
        if page is None:
            raise web.HTTPNotFound()
        return respond(page)
