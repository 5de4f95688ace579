"""The series Vantage exports in Prometheus' text format, in one place, so the API, the workers
and the Grafana dashboard (``infra/deploy/grafana/vantage.json``) agree on every name.

Counters and histograms are observed where things happen (a request answered, a job finished, a
webhook attempt, a storage or broker error). Levels that live in the catalog or on the broker
(jobs by state, feeds, queue depth) are read when scraped, by the API's collector
(:mod:`api.metrics`), so every API process reports the same truth.

Workers run tasks in forked child processes: with a worker metrics port set, ``workers.app``
sets ``PROMETHEUS_MULTIPROC_DIR`` before anything imports prometheus-client, and each child's
samples are written to files there that the worker's metrics port sums (prometheus-client's
multiprocess mode).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Latency buckets: an API answer (milliseconds) up to a long transcode (hours).
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_JOB_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0, 10800.0)
_CLIP_BUCKETS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 60.0, 300.0)

HTTP_REQUESTS = Counter(
    "vantage_http_requests",
    "API requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "vantage_http_request_seconds",
    "Time to answer an API request, by route template and method.",
    ["route", "method"],
    buckets=_REQUEST_BUCKETS,
)
JOB_SECONDS = Histogram(
    "vantage_job_seconds",
    "Time one attempt at a job took on a worker, by job kind and outcome.",
    ["kind", "outcome"],
    buckets=_JOB_BUCKETS,
)
JOB_OUTCOMES = Counter(
    "vantage_job_attempts",
    "Attempts at jobs finished on workers, by job kind and outcome (dead: every attempt spent).",
    ["kind", "outcome"],
)
REPLAY_TO_DOWNLOADABLE = Histogram(
    "vantage_replay_order_to_downloadable_seconds",
    "From a replay's order to its outputs being downloadable: the action-to-clip latency.",
    ["replay_kind"],
    buckets=_CLIP_BUCKETS,
)
LIVE_TIME_TO_PLAYABLE = Histogram(
    "vantage_live_segment_to_playable_seconds",
    "From a live segment's arrival in storage to its renditions being playable.",
    buckets=_CLIP_BUCKETS,
)
STORAGE_ERRORS = Counter(
    "vantage_storage_errors",
    "Object-store calls that failed (a server error or no answer), by S3 operation.",
    ["operation"],
)
BROKER_ERRORS = Counter(
    "vantage_broker_errors",
    "Messages the broker did not take, by task.",
    ["task"],
)
WEBHOOK_DELIVERIES = Counter(
    "vantage_webhook_attempts",
    "Webhook delivery attempts, by outcome (delivered, retry, failed: attempts spent).",
    ["outcome"],
)


def multiprocess_registry() -> CollectorRegistry:
    """A registry that sums the samples every process wrote under the shared folder."""
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def process_exited(pid: int) -> None:
    """Drop a finished process's live gauges (its counters and histograms stay counted)."""
    if os.environ.get(MULTIPROCESS_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def exposition(registry: CollectorRegistry = REGISTRY) -> tuple[bytes, str]:
    """The text a scrape gets, and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST
