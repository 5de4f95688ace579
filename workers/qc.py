"""The QC job: loudness and black/freeze/silence detection over an asset's original."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from catalog import services
from catalog.models import JobStatus
from infra.database import session_scope
from infra.errors import VantageError
from transcode.probe import probe
from transcode.qc import run_qc
from workers.context import WorkerContext

log = logging.getLogger(__name__)


def run_qc_job(job_id: str, ctx: WorkerContext) -> JobStatus:
    """Run QC job ``job_id``. Idempotent: the report replaces the asset's previous one."""
    with session_scope(ctx.sessions) as session:
        if not services.claim_job(job_id, session=session):
            return JobStatus.SUCCEEDED
        job = services.get_job(job_id, session=session)
        asset = services.get_asset(job.asset_id or "", session=session)
        asset_id, key = asset.id, asset.original_key
    try:
        with tempfile.TemporaryDirectory(prefix="vantage-qc-") as scratch:
            source = Path(scratch) / ("source" + Path(key).suffix)
            ctx.store.get_file(key, source)
            info = probe(source, verify=False)
            report = run_qc(
                ctx.ffmpeg, source, info, timeout_s=ctx.settings.media.transcode_timeout_s
            )
    except Exception as exc:  # noqa: BLE001 - recorded as the job's failure reason
        reason = exc.detail if isinstance(exc, VantageError) else f"{type(exc).__name__}: {exc}"
        log.warning("qc job %s failed: %s", job_id, reason)
        with session_scope(ctx.sessions) as session:
            services.finish_job(
                services.get_job(job_id, session=session), session=session, error=reason
            )
        return JobStatus.FAILED
    with session_scope(ctx.sessions) as session:
        services.get_asset(asset_id, session=session).qc = report.as_dict()
        services.finish_job(services.get_job(job_id, session=session), session=session)
    return JobStatus.SUCCEEDED
