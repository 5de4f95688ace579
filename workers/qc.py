"""The QC job: loudness and black/freeze/silence detection over an asset's original."""

from __future__ import annotations

from sqlalchemy.orm import Session

from catalog import services
from transcode.qc import run_qc
from workers.context import WorkerContext
from workers.runner import JobRun, Outcome, Record, run_job


def run_qc_job(job_id: str, ctx: WorkerContext) -> Outcome:
    """Run QC job ``job_id``. Idempotent: the report replaces the asset's previous one."""
    return run_job(job_id, ctx, _qc)


def _qc(run: JobRun) -> Record:
    source, info = run.original(verify=False)
    report = run_qc(
        run.ctx.ffmpeg, source, info, timeout_s=run.ctx.settings.media.transcode_timeout_s
    )

    def record(session: Session) -> None:
        services.get_asset(run.asset_id, session=session).qc = report.as_dict()

    return record
