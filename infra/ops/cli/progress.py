"""Progress bars for jobs that run on the workers."""

from __future__ import annotations

import time

from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from sqlalchemy.orm import Session, sessionmaker

from catalog import services
from catalog.models import JobStatus
from infra.core.database import session_scope
from infra.core.errors import ServiceUnavailable
from infra.ops.cli.common import err_console


def wait_for_jobs(
    sessions: sessionmaker[Session], job_ids: list[str], *, timeout_s: float = 1800
) -> bool:
    """Show a bar per job until all finish; True when all succeeded."""
    deadline = time.monotonic() + timeout_s
    with Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[state]}"),
        TimeElapsedColumn(),
        console=err_console,
    ) as progress:
        bars = {}
        with session_scope(sessions) as session:
            for job_id in job_ids:
                job = services.get_job(job_id, session=session)
                label = f"{job.kind.value} {job.subject or job_id[:8]}"[:28]
                bars[job_id] = progress.add_task(label, total=1.0, state=job.status.value)
        while True:
            states = {}
            with session_scope(sessions) as session:
                for job_id in job_ids:
                    job = services.get_job(job_id, session=session)
                    states[job_id] = job.status
                    state = job.status.value if not job.error else f"failed: {job.error[:60]}"
                    progress.update(bars[job_id], completed=job.progress, state=state)
            if all(s.finished for s in states.values()):
                return all(s is JobStatus.SUCCEEDED for s in states.values())
            if time.monotonic() > deadline:
                raise ServiceUnavailable(
                    f"jobs still running after {timeout_s:.0f} s; is a worker up? (vantage status)"
                )
            time.sleep(0.5)
