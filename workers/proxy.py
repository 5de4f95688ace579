"""The proxy job: the editor's low-resolution copy with burnt-in timecode and camera name."""

from __future__ import annotations

from sqlalchemy.orm import Session

from catalog import keys, services
from transcode.proxy import ProxyOptions, make_proxy
from workers.context import WorkerContext
from workers.runner import JobRun, Outcome, Record, run_job


def run_proxy_job(job_id: str, ctx: WorkerContext) -> Outcome:
    """Run proxy job ``job_id``. Idempotent: one key per asset, overwritten by a re-run."""
    return run_job(job_id, ctx, _proxy)


def _proxy(run: JobRun) -> Record:
    ctx = run.ctx
    source, info = run.original()
    result = make_proxy(
        ctx.ffmpeg,
        source,
        info,
        run.scratch / "proxy.mp4",
        ProxyOptions(lines=ctx.settings.media.proxy_lines),
        camera=run.feed_name,
        interlaced=bool(info.video and info.video.interlaced),
        on_progress=lambda f: run.progress(f * 0.95),
        timeout_s=ctx.settings.media.transcode_timeout_s,
    )
    key = keys.proxy_key(run.event_id, run.feed_id, run.asset_id)
    ctx.store.put_file(result.path, key)

    def record(session: Session) -> None:
        services.get_asset(run.asset_id, session=session).proxy_key = key

    return record
