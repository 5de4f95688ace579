"""Background jobs: state, progress and the reason a job failed."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep
from api.schemas import JobOut, job_out
from catalog import services

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get("", response_model=list[JobOut])
def list_jobs(session: SessionDep, event_id: str | None = None) -> list[JobOut]:
    """Jobs, oldest first, optionally for one event."""
    return [job_out(j) for j in services.list_jobs(session=session, event_id=event_id)]


@router.get("/{job_id}", response_model=JobOut)
def get_job(job_id: str, session: SessionDep) -> JobOut:
    """One job."""
    return job_out(services.get_job(job_id, session=session))
