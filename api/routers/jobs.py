"""Background jobs: state, progress and the reason a job failed."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import EDIT, OPERATE
from api.builders import job_out
from api.deps import JobsDep, SessionDep
from api.schemas import JobOut
from catalog import services
from infra.core.errors import Conflict
from infra.core.queue import JOB_TASKS

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], dependencies=[EDIT])
"""Jobs are the host's business: staff only (broadcasters follow their replays' progress)."""


@router.get("", response_model=list[JobOut])
def list_jobs(session: SessionDep, event_id: str | None = None) -> list[JobOut]:
    """Jobs, oldest first, optionally for one event."""
    return [job_out(j) for j in services.list_jobs(session=session, event_id=event_id)]


@router.get("/{job_id}", response_model=JobOut)
def get_job(job_id: str, session: SessionDep) -> JobOut:
    """One job."""
    return job_out(services.get_job(job_id, session=session))


@router.post("/{job_id}/retry", response_model=JobOut, status_code=202, dependencies=[OPERATE])
def retry_job(job_id: str, session: SessionDep, jobs: JobsDep) -> JobOut:
    """Queue a failed or dead job again with a fresh set of attempts (409 while it runs)."""
    job = services.get_job(job_id, session=session)
    task = JOB_TASKS.get(job.kind.value)
    if task is None:
        raise Conflict(f"a {job.kind.value} job cannot be retried from here")
    services.requeue_job(job, session=session)
    jobs.send(task, job.id)
    return job_out(job)
