"""The whole ladder job, timed in-process against the configured store and catalog."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from catalog import services
from catalog.models import JobStatus
from infra.core.database import session_scope
from infra.core.errors import VantageError
from infra.core.settings import Settings
from ingest.files import FeedFile, ingest_files
from workers.context import build_context
from workers.ladder import run_ladder_job
from workers.runner import Outcome


def ladder_task_runner(settings: Settings, source: Path) -> Callable[[], None]:
    """Ingest ``source`` once (not timed), then return a callable that runs its ladder job."""
    ctx = build_context(settings)
    with session_scope(ctx.sessions) as session:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
        event_id = services.create_event(f"bench {stamp}", session=session).id
    [outcome] = ingest_files(
        event_id,
        [FeedFile("bench", source)],
        settings=settings,
        sessions=ctx.sessions,
        store=ctx.store,
        enqueue=False,
    )
    if outcome.ladder_job_id is None:
        raise VantageError(f"bench ingest failed: {outcome.error}")
    job_id = outcome.ladder_job_id

    def run() -> None:
        with session_scope(ctx.sessions) as session:
            job = services.get_job(job_id, session=session)
            if job.status is not JobStatus.QUEUED:  # each timed run starts the job afresh
                services.requeue_job(job, session=session)
        if run_ladder_job(job_id, ctx) is not Outcome.SUCCEEDED:
            raise VantageError("ladder job failed during the benchmark")

    return run
