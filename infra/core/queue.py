"""The Celery configuration and the one way to enqueue work.

The API, the CLI and ingest publish by task name through :func:`send_job`, so they never import
the worker code (and its ffmpeg dependencies); ``workers.app`` builds the consuming app from the
same configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from celery import Celery
from kombu import Queue  # type: ignore[attr-defined]
from sqlalchemy.orm import Session

from infra.core.database import after_commit
from infra.core.settings import Settings

QUEUES = ("live", "vod", "replay", "analysis")
"""The workloads, by their plain names; on the broker each carries ``broker.namespace``."""

TASK_ROUTES = {
    "vantage.transcode_ladder": {"queue": "vod"},
    "vantage.encode_ladder_chunk": {"queue": "vod"},
    "vantage.encode_ladder_audio": {"queue": "vod"},
    "vantage.stitch_ladder": {"queue": "vod"},
    "vantage.make_proxy": {"queue": "vod"},
    "vantage.make_mezzanine": {"queue": "vod"},
    "vantage.transcode_live_segment": {"queue": "live"},
    "vantage.qc_asset": {"queue": "analysis"},
    "vantage.make_thumbnails": {"queue": "analysis"},
    "vantage.make_replay": {"queue": "replay"},
    "vantage.deliver_webhook": {"queue": "analysis"},
    "vantage.sync_event": {"queue": "analysis"},
}

JOB_TASKS = {
    "ladder": "vantage.transcode_ladder",
    "qc": "vantage.qc_asset",
    "proxy": "vantage.make_proxy",
    "thumbnails": "vantage.make_thumbnails",
    "mezzanine": "vantage.make_mezzanine",
    "replay": "vantage.make_replay",
    "sync": "vantage.sync_event",
}
"""The task that runs each kind of catalog job, for enqueueing, retries and the reconciler."""

WEBHOOK_TASK = "vantage.deliver_webhook"


def queue_name(settings: Settings, queue: str) -> str:
    """The broker's name for the workload ``queue``."""
    namespace = settings.broker.namespace
    return f"{namespace}.{queue}" if namespace else queue


def queue_of_job(kind: str) -> str | None:
    """The workload queue a kind of catalog job runs on (by its plain name)."""
    task = JOB_TASKS.get(kind)
    return TASK_ROUTES[task]["queue"] if task else None


def worker_queues(settings: Settings, queues: str) -> str:
    """The value of a worker's ``-Q`` for the plain, comma-separated ``queues``."""
    names = [name.strip() for name in queues.split(",") if name.strip()]
    unknown = [name for name in names if name not in QUEUES]
    if unknown or not names:
        raise ValueError(f"queues are {', '.join(QUEUES)}; not {', '.join(unknown) or 'none'}")
    return ",".join(queue_name(settings, name) for name in names)


def result_backend(settings: Settings) -> str:
    """Where chords keep their parts' results: the broker when it is Redis, else the catalog."""
    if settings.broker.result_backend:
        return settings.broker.result_backend
    if settings.broker.url.startswith(("redis", "rediss")):
        return settings.broker.url
    return "db+" + settings.database_url


def celery_config(settings: Settings) -> dict[str, Any]:
    """Reliability settings shared by producers and workers."""
    transport: dict[str, Any] = {}
    if settings.broker.url.startswith(("redis", "rediss")):
        transport["visibility_timeout"] = settings.broker.visibility_timeout_s
        # A broker that accepts connections but never answers (paused, overloaded) must not
        # hang whoever publishes: an API request waits seconds, not forever.
        transport["socket_timeout"] = settings.broker.publish_timeout_s
        transport["socket_connect_timeout"] = settings.broker.publish_timeout_s
    return {
        "broker_url": settings.broker.url,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": settings.broker.publish_timeout_s,
        # A publish retries briefly, then fails; the job stays queued in the catalog and the
        # reconciler sends it once the broker is back.
        "task_publish_retry_policy": {
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
        "broker_transport_options": transport,
        "result_backend": result_backend(settings),
        "result_backend_transport_options": transport,
        "result_expires": 24 * 3600,
        "result_extended": False,
        "task_queues": [
            Queue(queue_name(settings, name))  # type: ignore[no-untyped-call]
            for name in QUEUES
        ],
        "task_default_queue": queue_name(settings, "vod"),
        "task_routes": {
            task: {"queue": queue_name(settings, route["queue"])}
            for task, route in TASK_ROUTES.items()
        },
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_prefetch_multiplier": 1,
        "task_time_limit": settings.media.transcode_timeout_s + 300,
        "task_soft_time_limit": settings.media.transcode_timeout_s,
        "worker_hijack_root_logger": False,
    }


def make_celery(settings: Settings, name: str = "vantage") -> Celery:
    app = Celery(name)
    app.conf.update(celery_config(settings))
    return app


@lru_cache(maxsize=4)
def _producer(broker_url: str, settings_json: str) -> Celery:
    return make_celery(Settings.model_validate_json(settings_json), "vantage-producer")


def _app(settings: Settings) -> Celery:
    return _producer(settings.broker.url, settings.model_dump_json())


def send_job(
    settings: Settings, task_name: str, job_id: str, *, countdown: float | None = None
) -> None:
    """Publish ``task_name(job_id)``; call only after the job row is committed."""
    try:
        # No result is ever read from a job's task (the catalog holds the outcome), so the
        # result backend is not touched: publishing is one broker round trip.
        _app(settings).send_task(task_name, args=[job_id], countdown=countdown, ignore_result=True)
    except Exception:
        from infra.core.metrics import BROKER_ERRORS

        BROKER_ERRORS.labels(task_name).inc()
        raise


def send_webhook(settings: Settings, delivery_id: str, countdown: float | None = None) -> None:
    """Publish an attempt at a webhook delivery; call only after the delivery is committed."""
    send_job(settings, WEBHOOK_TASK, delivery_id, countdown=countdown)


def send_job_after_commit(
    session: Session, settings: Settings, task_name: str, job_id: str
) -> None:
    """Publish ``task_name(job_id)`` once ``session`` has committed the job's row."""

    def send() -> None:
        send_job(settings, task_name, job_id)

    send.__name__ = f"sending job {job_id} ({task_name})"
    after_commit(session, send)


def send_webhooks_after_commit(
    session: Session, settings: Settings, delivery_ids: Sequence[str]
) -> None:
    """Publish the webhook deliveries ``session`` wrote, once it has committed them."""
    ids = list(delivery_ids)

    def send_all() -> None:
        for delivery_id in ids:
            send_webhook(settings, delivery_id)

    if ids:
        after_commit(session, send_all)


def celery_signature(settings: Settings, task_name: str, kwargs: dict[str, Any]) -> Any:
    """A task signature by name, for building chords without importing the worker code."""
    return _app(settings).signature(task_name, kwargs=kwargs)


def chord_of(settings: Settings, header: list[Any], body: Any) -> None:
    """Run ``header`` in parallel, then ``body`` with the list of their results."""
    from celery import chord

    chord(header, app=_app(settings))(body)


def queue_depths(settings: Settings, timeout_s: float = 3.0) -> dict[str, int]:
    """Messages waiting on each workload's queue (by its plain name); a queue the broker has
    never seen holds none."""
    from kombu.exceptions import ChannelError

    depths: dict[str, int] = {}
    with _app(settings).connection_for_read() as connection:
        connection.ensure_connection(max_retries=1, timeout=timeout_s)
        channel = connection.default_channel
        for name in QUEUES:
            try:
                declared = channel.queue_declare(queue_name(settings, name), passive=True)
                depths[name] = int(declared.message_count)
            except ChannelError:
                depths[name] = 0
                channel = connection.channel()  # AMQP closes a channel on a missing queue
    return depths


def broker_ping(settings: Settings, timeout_s: float = 3.0) -> None:
    """Raise if the broker cannot be reached."""
    app = _app(settings)
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=timeout_s)
