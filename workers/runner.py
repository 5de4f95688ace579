"""The one way a worker runs a catalog job: claim it, keep its heartbeat, run the work, record
the outcome, and sort failures into the input's fault (failed, final) and passing faults
(retried with backoff, then dead)."""

from __future__ import annotations

import enum
import logging
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from catalog import services
from catalog.models import Asset, Job, JobKind, utcnow
from infra.core import logs
from infra.core.database import after_commit, session_scope
from infra.core.errors import BadRequest, NotFound, VantageError
from infra.core.metrics import (
    JOB_OUTCOMES,
    JOB_SECONDS,
    REPLAY_TO_DOWNLOADABLE,
)
from infra.core.queue import send_webhooks_after_commit
from infra.core.storage import ObjectStore
from transcode.errors import FFmpegTimeout, TranscodeError
from transcode.probe import MediaInfo, probe, probe_url
from workers.context import WorkerContext

log = logging.getLogger(__name__)

Record = Callable[[Session], None]
"""Writes a job's results to the catalog, in the same transaction that marks it succeeded."""


class Outcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RETRY = "retry"
    DEAD = "dead"
    SKIPPED = "skipped"
    """Already done, running elsewhere, or unknown: a redelivered message."""
    DELEGATED = "delegated"
    """Handed to other tasks (a chord) that will finish the job."""


@dataclass
class JobRun:
    """What the work of one attempt needs: ids, the asset's original, a scratch folder."""

    ctx: WorkerContext
    job_id: str
    attempt: int
    asset_id: str
    event_id: str
    feed_id: str
    original_key: str
    scratch: Path
    options: dict[str, Any]
    feed_name: str
    event_profile: str | None
    delegated: bool = False
    _info: MediaInfo | None = field(default=None, repr=False)

    def original(self, *, verify: bool = True) -> tuple[Path, MediaInfo]:
        """The original, downloaded (checksum verified) into scratch and probed, once."""
        path = self.scratch / ("source" + Path(self.original_key).suffix)
        if self._info is None:
            self.ctx.store.get_file(self.original_key, path)
            self._info = probe(path, verify=verify)
        return path, self._info

    def remote(self, *, verify: bool = True) -> tuple[str, MediaInfo]:
        """A short-lived URL of the original and its probe, read by byte ranges: for work that
        need not hold the whole file (splitting it into chunks, measuring its loudness)."""
        url = self.ctx.store.presigned_get(
            self.original_key, expires_s=self.ctx.settings.media.transcode_timeout_s
        )
        size = self.ctx.store.head(self.original_key).size_bytes
        name = Path(self.original_key).name
        return url, probe_url(url, name=name, size_bytes=size, verify=verify)

    def progress(self, fraction: float) -> None:
        with session_scope(self.ctx.sessions) as session:
            services.set_job_progress(self.job_id, fraction, session=session)


Work = Callable[[JobRun], Record | None]
"""Runs one attempt. Returns the recorder of its results, or ``None`` when it delegated the rest
of the job (and its recording) to other tasks."""


def is_input_fault(exc: BaseException) -> bool:
    """True when another attempt would fail the same way: the media or the request is at fault.
    ffmpeg failing on a file that probed fine counts as the file's fault too."""
    if isinstance(exc, FFmpegTimeout):
        return False  # a less busy worker may finish it
    return isinstance(exc, TranscodeError | BadRequest | NotFound | ValueError)


def backoff_s(attempt: int, *, base_s: float = 10.0, cap_s: float = 600.0) -> float:
    """Seconds before attempt ``attempt + 1``: 10, 20, 40 ... up to ten minutes."""
    return float(min(cap_s, base_s * 2 ** max(0, attempt - 1)))


def reason_of(exc: BaseException) -> str:
    if isinstance(exc, VantageError | TranscodeError):
        return exc.detail
    return f"{type(exc).__name__}: {exc}"


NOTIFICATIONS = "webhook_deliveries"
"""Where a job's ``record`` leaves the webhook deliveries it queued; the runner hands them to the
session's after-commit outbox (``infra.core.database.after_commit``), so they are sent once the
record is committed."""


def notify_after_commit(session: Session, delivery_ids: list[str]) -> None:
    session.info.setdefault(NOTIFICATIONS, []).extend(delivery_ids)


def run_job(
    job_id: str,
    ctx: WorkerContext,
    work: Work,
    *,
    needs_asset: bool = True,
) -> Outcome:
    """Run ``work`` for job ``job_id`` and record what happened. Idempotent: the claim is a
    compare-and-set, so a redelivered message for a finished or running job does nothing.
    A job without an asset (a replay) has empty asset fields in its :class:`JobRun`."""
    started = time.monotonic()
    with logs.context(job_id=job_id), session_scope(ctx.sessions) as session:
        if not services.claim_job(job_id, session=session, stale_after_s=ctx.stale_after_s):
            log.info("job %s already done, running elsewhere or unknown", job_id)
            return Outcome.SKIPPED
        job = services.get_job(job_id, session=session)
        if job.attempts > job.max_attempts:
            services.retry_or_bury_job(job, job.error or "worker lost", session=session)
            clear_leftovers(session, ctx.store, job)
            return Outcome.DEAD
        attempt, options = job.attempts, dict(job.options or {})
        kind, ordered_at, subject = str(job.kind), job.created_at, job.subject or ""
        if job.asset_id is None:
            if needs_asset:
                services.finish_job(job, session=session, error="job has no asset")
                return Outcome.FAILED
            ids = ("", job.event_id or "", "", "")
            names: tuple[str, str | None] = ("", None)
        else:
            asset: Asset = services.get_asset(job.asset_id, session=session)
            feed = services.get_feed(asset.feed_id, session=session)
            event = services.get_event(asset.event_id, session=session)
            ids = (asset.id, asset.event_id, asset.feed_id, asset.original_key)
            names = (feed.name, event.profile)
    with logs.context(job_id=job_id, asset_id=ids[0], feed_id=ids[2]):
        outcome = _attempt(ctx, work, job_id, attempt, ids, names, options)
    observe(kind, outcome, time.monotonic() - started, ordered_at, subject)
    return outcome


def observe(
    kind: str, outcome: Outcome, seconds: float, ordered_at: datetime, subject: str
) -> None:
    """The attempt in the workers' series; a finished replay also as the latency its users
    feel, from the order to its outputs being downloadable (by replay kind, the first word of
    the job's subject)."""
    if outcome in (Outcome.SKIPPED, Outcome.DELEGATED):
        return
    JOB_SECONDS.labels(kind, outcome.value).observe(seconds)
    JOB_OUTCOMES.labels(kind, outcome.value).inc()
    if outcome is Outcome.SUCCEEDED and kind == JobKind.REPLAY:
        replay_kind = subject.split(" ", 1)[0] or "unknown"
        REPLAY_TO_DOWNLOADABLE.labels(replay_kind).observe((utcnow() - ordered_at).total_seconds())


def _attempt(
    ctx: WorkerContext,
    work: Work,
    job_id: str,
    attempt: int,
    ids: tuple[str, str, str, str],
    names: tuple[str, str | None],
    options: dict[str, Any],
) -> Outcome:
    with tempfile.TemporaryDirectory(prefix=f"vantage-{job_id[:8]}-") as scratch:
        run = JobRun(
            ctx=ctx,
            job_id=job_id,
            attempt=attempt,
            asset_id=ids[0],
            event_id=ids[1],
            feed_id=ids[2],
            original_key=ids[3],
            scratch=Path(scratch),
            options=options,
            feed_name=names[0],
            event_profile=names[1],
        )
        try:
            with heartbeat(ctx, job_id):
                record = work(run)
            if record is None:
                return Outcome.DELEGATED
            with session_scope(ctx.sessions) as session:
                record(session)
                services.finish_job(services.get_job(job_id, session=session), session=session)
                deliveries = session.info.pop(NOTIFICATIONS, [])
                send_webhooks_after_commit(session, ctx.settings, deliveries)
            return Outcome.SUCCEEDED
        except Exception as exc:  # noqa: BLE001 - every failure is recorded with its reason
            return record_failure(ctx, run, exc)


def record_failure(ctx: WorkerContext, run: JobRun, exc: BaseException) -> Outcome:
    """Record a failed attempt: failed for the input's faults, retried or dead for the rest.
    A job that ends here leaves nothing half-made (``services.leftovers_of``)."""
    reason = reason_of(exc)
    final = is_input_fault(exc)
    with session_scope(ctx.sessions) as session:
        job = services.get_job(run.job_id, session=session)
        if final:
            services.finish_job(job, session=session, error=reason)
            outcome = Outcome.FAILED
        else:
            outcome = (
                Outcome.RETRY
                if services.retry_or_bury_job(job, reason, session=session)
                else Outcome.DEAD
            )
        if outcome is not Outcome.RETRY:
            clear_leftovers(session, ctx.store, job)
    log.warning("job %s attempt %d: %s (%s)", run.job_id, run.attempt, reason, outcome.value)
    return outcome


def clear_leftovers(session: Session, store: ObjectStore, job: Job) -> None:
    """For a job that has just ended without a result (failed for good, or buried), by its
    worker or by the reconciler: its recording says why, and its partial outputs are removed
    once that is committed (``services.leftovers_of``)."""
    job_id, prefixes = job.id, services.leftovers_of(job, session=session)
    if prefixes:
        after_commit(session, lambda: _remove(store, job_id, prefixes))


def _remove(store: ObjectStore, job_id: str, prefixes: list[str]) -> None:
    """A store that fails here leaves them to ``vantage storage verify``, which lists the
    objects no row names."""
    for prefix in prefixes:
        try:
            removed = store.delete_prefix(prefix)
        except (VantageError, OSError, ClientError, BotoCoreError) as exc:
            log.warning("job %s: its partial outputs under %s stay: %s", job_id, prefix, exc)
        else:
            if removed:
                log.info("job %s: removed %d partial output(s) under %s", job_id, removed, prefix)


@contextmanager
def heartbeat(ctx: WorkerContext, job_id: str, every_s: float | None = None) -> Iterator[None]:
    """Beat the job's heartbeat from a thread while the work runs, so the reconciler can tell
    a long ffmpeg run from a dead worker."""
    interval = every_s or max(1.0, ctx.stale_after_s / 6)
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(interval):
            try:
                with session_scope(ctx.sessions) as session:
                    services.beat_job(job_id, session=session)
            except (OperationalError, VantageError) as exc:
                log.warning("job %s: heartbeat failed: %s", job_id, exc)

    thread = threading.Thread(target=beat, name=f"heartbeat-{job_id[:8]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
