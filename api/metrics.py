"""What the API tells Prometheus: every request counted and timed by its route template (never by
its raw path, so ids do not explode the series), and the installation's levels read from the
catalog and the broker at scrape time. ``GET /metrics`` is for operators (the ``operate`` scope),
never for broadcasters."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import OPERATE
from catalog.models import Feed, Job
from infra.core import logs
from infra.core.metrics import HTTP_REQUESTS, HTTP_SECONDS, exposition
from infra.core.queue import queue_depths
from infra.core.settings import Settings

log = logging.getLogger(__name__)

REQUEST_ID = "X-Request-Id"


class RequestMetrics:
    """Counts and times each request by its route template, and gives it a request id (the
    caller's ``X-Request-Id`` when it is sane, else a new one) carried by every log line written
    while it is answered and returned in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        status = 500
        started = time.perf_counter()

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append(
                    (REQUEST_ID.lower().encode(), request_id.encode())
                )
            await send(message)

        with logs.context(request_id=request_id):
            try:
                await self.app(scope, receive, answer)
            finally:
                route = scope.get("route")
                template = getattr(route, "path", None) or "unmatched"
                HTTP_REQUESTS.labels(template, scope["method"], str(status)).inc()
                HTTP_SECONDS.labels(template, scope["method"]).observe(
                    time.perf_counter() - started
                )


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if 0 < len(text) <= 64 and all(c.isalnum() or c in "-_." for c in text):
                return text
    return uuid.uuid4().hex


class InstallationCollector(Collector):
    """Levels read at scrape time: jobs by kind and state (dead ones included), feeds by state
    with each live feed's segment lag, and the messages waiting on each queue."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings

    def collect(self) -> Iterator[Any]:
        jobs = GaugeMetricFamily(
            "vantage_jobs", "Catalog jobs by kind and state.", labels=["kind", "state"]
        )
        feeds = GaugeMetricFamily("vantage_feeds", "Feeds by state.", labels=["state"])
        lag = GaugeMetricFamily(
            "vantage_feed_lag_seconds",
            "How far each enabled feed's last segment is behind its source.",
            labels=["feed", "event"],
        )
        with self.sessions() as session:
            for kind, state, count in session.execute(
                select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)
            ):
                jobs.add_metric([str(kind), str(state)], count)
            for feed_state, feeds_in_it in session.execute(
                select(Feed.state, func.count()).group_by(Feed.state)
            ):
                feeds.add_metric([str(feed_state)], feeds_in_it)
            for feed_id, event_id, lag_s in session.execute(
                select(Feed.id, Feed.event_id, Feed.lag_s).where(
                    Feed.enabled.is_(True), Feed.lag_s.is_not(None)
                )
            ):
                lag.add_metric([feed_id, event_id], float(lag_s or 0.0))
        yield jobs
        yield feeds
        yield lag
        depth = GaugeMetricFamily(
            "vantage_queue_messages", "Messages waiting on each queue.", labels=["queue"]
        )
        up = GaugeMetricFamily("vantage_broker_up", "1 when the broker answered this scrape.")
        try:
            for queue, count in queue_depths(self.settings).items():
                depth.add_metric([queue], count)
            up.add_metric([], 1)
        except Exception as exc:  # noqa: BLE001 - a broker away is reported as a series
            log.warning("metrics: queue depths unavailable: %s", type(exc).__name__)
            up.add_metric([], 0)
        yield depth
        yield up


router = APIRouter(tags=["operations"])


@router.get("/metrics", dependencies=[OPERATE], response_class=Response)
def metrics(request: Request) -> Response:
    """The API's series in Prometheus' text format, for operators' scrapers."""
    registry: CollectorRegistry = request.app.state.metrics
    body, content_type = exposition(registry)
    return Response(body, media_type=content_type)


def install(app: Any, settings: Settings) -> None:
    """Count every request and serve ``/metrics``: the process's own series plus the catalog's
    and the broker's levels, collected in a registry of this app (apps made in one process,
    as tests do, each report their own catalog)."""
    registry = CollectorRegistry()
    registry.register(_Default())
    registry.register(InstallationCollector(app.state.sessions, settings))
    app.state.metrics = registry
    app.add_middleware(RequestMetrics)
    app.include_router(router)


class _Default(Collector):
    """The process-wide series (requests, storage and broker errors) of the default registry."""

    def collect(self) -> Iterator[Any]:
        yield from REGISTRY.collect()
