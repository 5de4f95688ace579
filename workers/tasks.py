"""Thin Celery tasks: ids in, the job runner does the work and records the outcome."""

from __future__ import annotations

from workers.app import app
from workers.context import get_context
from workers.ladder import run_ladder_job
from workers.live import run_live_segment
from workers.qc import run_qc_job


@app.task(name="vantage.transcode_ladder")  # type: ignore[untyped-decorator]
def transcode_ladder(job_id: str) -> str:
    """Build the ABR ladder of the job's asset. Idempotent: see :func:`run_ladder_job`."""
    return run_ladder_job(job_id, get_context()).value


@app.task(name="vantage.transcode_live_segment")  # type: ignore[untyped-decorator]
def transcode_live_segment(segment_id: str) -> int:
    """Encode a landed live segment to the live rungs. Idempotent: see :func:`run_live_segment`."""
    return run_live_segment(segment_id, get_context())


@app.task(name="vantage.qc_asset")  # type: ignore[untyped-decorator]
def qc_asset(job_id: str) -> str:
    """Loudness and black/freeze/silence QC of an asset. Idempotent: see :func:`run_qc_job`."""
    return run_qc_job(job_id, get_context()).value
