"""The sync job: each feed of an event is measured against a reference feed, from audio or
from motion, and moved on the event clock by the offset found (see :mod:`ingest.clock_sync`)."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy.orm import Session

from catalog import services
from ingest.clock_sync import sync_event
from workers.context import WorkerContext
from workers.runner import JobRun, Outcome, Record, run_job


def run_sync_job(job_id: str, ctx: WorkerContext) -> Outcome:
    """Run sync job ``job_id``. Idempotent in effect: a redelivered message for a finished job
    does nothing (the claim), and measuring feeds already in line moves them by about nothing."""
    return run_job(job_id, ctx, _sync, needs_asset=False)


def _sync(run: JobRun) -> Record:
    window_s = float(run.options.get("window_s", 20.0))
    reference = run.options.get("reference")
    run.progress(0.05)
    moved = sync_event(
        run.event_id,
        sessions=run.ctx.sessions,
        store=run.ctx.store,
        ffmpeg=run.ctx.ffmpeg,
        reference=str(reference) if reference else None,
        window_s=window_s,
    )

    def record(session: Session) -> None:
        job = services.get_job(run.job_id, session=session)
        job.output = {"feeds": [asdict(feed) for feed in moved]}

    return record
