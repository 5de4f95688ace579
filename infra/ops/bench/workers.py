"""Benchmark-private Celery workers on a Redis database of the stack's broker that nothing else
uses, so the stack's own workers never take their work; emptied when the benchmark ends."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.orm import Session, sessionmaker

from catalog import services
from catalog.models import JobKind, utcnow
from infra.core.database import make_engine, make_session_factory, session_scope
from infra.core.errors import BadRequest, ServiceUnavailable, VantageError
from infra.core.queue import JOB_TASKS, make_celery, send_job, worker_queues
from infra.core.settings import Settings
from infra.core.storage import ObjectStore
from infra.ops.bench.media import fetch_rendition
from infra.ops.doctor import check_broker, check_database, check_storage
from ingest.files import FeedFile, ingest_files

BENCH_BROKER_DB = 14
"""The Redis database of the stack's broker that the benchmark's own workers consume."""


JobWaiter = Callable[[sessionmaker[Session], list[str]], bool]
"""Waits for catalog jobs (showing progress); True when all succeeded."""


def private_settings(settings: Settings, *, db: int, chunk_seconds: float) -> Settings:
    """The same catalog and store, with another database of the same Redis as broker and
    result backend, and chunks of ``chunk_seconds``."""
    if chunk_seconds <= 1:
        raise BadRequest("chunks must be longer than 1 s")
    url = urlsplit(settings.broker.url)
    if url.scheme not in ("redis", "rediss"):
        raise BadRequest(
            "bench chunked needs a Redis broker: its workers take a Redis database of their own"
        )
    if (url.path.strip("/") or "0") == str(db):
        raise BadRequest(f"the broker already uses Redis database {db}; pick another one")
    private_url = urlunsplit(url._replace(path=f"/{db}"))
    broker = settings.broker.model_copy(update={"url": private_url, "result_backend": private_url})
    media = settings.media.model_copy(update={"chunk_seconds": chunk_seconds})
    return settings.model_copy(update={"broker": broker, "media": media})


def settings_env(settings: Settings, inherited: Mapping[str, str]) -> dict[str, str]:
    """The environment that gives a child process exactly ``settings``: ``inherited`` without
    its ``VANTAGE_*`` variables, then every setting that is not ``None``."""
    env = {k: v for k, v in inherited.items() if not k.upper().startswith("VANTAGE_")}
    for name, value in settings.model_dump(mode="json").items():
        if isinstance(value, dict):
            for field, inner in value.items():
                if inner is not None:
                    env[f"VANTAGE_{name.upper()}__{field.upper()}"] = _env_text(inner)
        elif value is not None:
            env[f"VANTAGE_{name.upper()}"] = _env_text(value)
    return env


def _env_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def require_stack(settings: Settings, *, workers: bool = False) -> None:
    """Raise, saying to run ``vantage up``, unless the store, broker and catalog answer (and,
    with ``workers``, a worker consumes the ``vod`` queue)."""
    for check in (check_storage(settings), check_broker(settings)):
        if not check.ok:
            raise ServiceUnavailable(
                f"the stack is not running ({check.name}: {check.detail}). Start it with "
                "`vantage up` (with the same VANTAGE_* settings), then run this again"
            )
    catalog = check_database(settings)
    if not catalog.ok:
        raise ServiceUnavailable(
            f"the catalog is not ready ({catalog.name}: {catalog.detail}): {catalog.fix}, "
            "then run this again"
        )
    if workers and not _vod_workers(settings):
        raise ServiceUnavailable(
            "no worker consumes the vod queue: start the stack with `vantage up` "
            "(or run `vantage worker`), then run this again"
        )


def _vod_workers(settings: Settings) -> list[str]:
    app = make_celery(settings, "vantage-bench")
    try:
        queues = app.control.inspect(timeout=2.0).active_queues() or {}
    finally:
        app.close()
    return [name for name, found in queues.items() if any(q["name"] == "vod" for q in found)]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


@contextmanager
def bench_worker(
    settings: Settings, concurrency: int, log: Path, *, ready_s: float = 120
) -> Iterator[None]:
    """A Celery worker of ``concurrency`` prefork processes on the ``vod`` queue of
    ``settings``' broker, in its own process group, stopped (the whole group) on exit."""
    name = f"bench-c{concurrency}-{os.getpid()}"
    queues = worker_queues(settings, "vod")
    argv = [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-Q", queues]
    argv += ["-c", str(concurrency), "-P", "prefork", "-n", f"{name}@%h"]
    argv += ["--without-gossip", "--without-mingle", "--loglevel", "INFO"]
    app = make_celery(settings, "vantage-bench")
    try:
        others = _answering(app)
        if others:
            raise ServiceUnavailable(
                f"another worker ({', '.join(others)}) consumes the benchmark's broker database "
                f"({settings.broker.url.rsplit('/', 1)[-1]}); stop it or choose another one"
            )
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as handle:
            proc = subprocess.Popen(
                argv,
                env=settings_env(settings, os.environ),
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + ready_s
            while not any(n.startswith(name + "@") for n in _answering(app)):
                if proc.poll() is not None:
                    raise ServiceUnavailable(f"the benchmark's worker exited; see {log}")
                if time.monotonic() > deadline:
                    raise ServiceUnavailable(f"the benchmark's worker never got ready; see {log}")
            yield
        finally:
            _stop_group(proc)
    finally:
        app.close()


def _answering(app: Any) -> list[str]:
    replies = app.control.ping(timeout=1.0) or []
    return [name for reply in replies for name in reply]


def _stop_group(proc: subprocess.Popen[bytes], grace_s: float = 30) -> None:
    """Stop a process group this module started: TERM, then KILL after ``grace_s``."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _flush(settings: Settings) -> None:
    import redis

    client = redis.Redis.from_url(settings.broker.url)
    try:
        client.flushdb()
    finally:
        client.close()


class _Bench:
    """What the runs of one chunked benchmark share: the asset, the catalog, the store."""

    def __init__(self, settings: Settings, private: Settings, wait: JobWaiter) -> None:
        self.settings = settings
        self.private = private
        self.wait = wait
        self.sessions = make_session_factory(make_engine(settings.database_url))
        self.store = ObjectStore(settings.storage)
        self.event_id = ""
        self.asset_id = ""
        self.jobs: list[str] = []

    def ingest(self, source: Path, event_name: str) -> None:
        with session_scope(self.sessions) as session:
            self.event_id = services.create_event(event_name, session=session).id
        [outcome] = ingest_files(
            self.event_id,
            [FeedFile("bench", source)],
            settings=self.settings,
            sessions=self.sessions,
            store=self.store,
            enqueue=False,
        )
        if not outcome.ok or outcome.asset_id is None:
            raise VantageError(f"bench ingest failed: {outcome.error}")
        self.asset_id = outcome.asset_id

    def ladder(self, *, chunked: bool, workers: int) -> tuple[float, int | None]:
        """Create a ladder job, run it on a fresh worker of ``workers`` processes and return
        its wall time (sent to finished) and its chunks."""
        with session_scope(self.sessions) as session:
            asset = services.get_asset(self.asset_id, session=session)
            job_id = services.create_job(
                JobKind.LADDER,
                session=session,
                event_id=asset.event_id,
                feed_id=asset.feed_id,
                asset_id=asset.id,
                subject=f"{'chunked' if chunked else 'single'} -c {workers}",
                max_attempts=1,  # a retried job would not be timed fairly: fail instead
                options={"chunked": chunked},
            ).id
        self.jobs.append(job_id)
        log = self.settings.home / "log" / f"bench-worker-c{workers}.log"
        with bench_worker(self.private, workers, log):
            sent = utcnow()
            send_job(self.private, JOB_TASKS["ladder"], job_id)
            ok = self.wait(self.sessions, [job_id])
        with session_scope(self.sessions) as session:
            job = services.get_job(job_id, session=session)
            if not ok or job.finished_at is None:
                raise VantageError(f"ladder job {job_id} ended {job.status.value}: {job.error}")
            chunks = (job.output or {}).get("chunks")
            return (_aware(job.finished_at) - sent).total_seconds(), chunks

    def top_rendition(self, out: Path) -> Path:
        with session_scope(self.sessions) as session:
            asset = services.get_asset(self.asset_id, session=session)
            videos = [r for r in asset.renditions if r.kind == "video"]
            key = max(videos, key=lambda r: r.height or 0).playlist_key
        return fetch_rendition(self.store, key, out)

    def close(self) -> None:
        """Fail the benchmark's jobs that never finished (a worker stopped mid-job), so the
        stack's reconciler does not run them again on the stack's workers."""
        with session_scope(self.sessions) as session:
            for job_id in self.jobs:
                job = services.get_job(job_id, session=session)
                if not job.status.finished:
                    services.finish_job(job, session=session, error="the benchmark stopped")
