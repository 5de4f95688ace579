"""The mezzanine job, on request: an XDCAM HD422 MXF OP1a file for broadcast editing systems."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from catalog import keys, services
from transcode.mezzanine import make_xdcam_hd422
from workers.context import WorkerContext
from workers.runner import JobRun, Outcome, Record, run_job


def run_mezzanine_job(job_id: str, ctx: WorkerContext) -> Outcome:
    """Run mezzanine job ``job_id``. Idempotent: one key per asset, overwritten by a re-run."""
    return run_job(job_id, ctx, _mezzanine)


def _mezzanine(run: JobRun) -> Record:
    ctx = run.ctx
    source, info = run.original()
    result = make_xdcam_hd422(
        ctx.ffmpeg,
        source,
        info,
        run.scratch / "mezzanine.mxf",
        interlaced=bool(run.options.get("interlaced", info.video and info.video.interlaced)),
        on_progress=lambda f: run.progress(f * 0.95),
        timeout_s=ctx.settings.media.transcode_timeout_s,
    )
    name = Path(run.original_key).stem + "_xdcamhd422"
    key = keys.mezzanine_key(run.event_id, run.feed_id, run.asset_id, name)
    ctx.store.put_file(result.path, key)

    def record(session: Session) -> None:
        services.get_asset(run.asset_id, session=session).mezzanine_key = key

    return record
