"""The thumbnails job: scrubbing sprites with their WebVTT track, and posters chosen at scene
cuts (the sharpest becomes the asset's poster)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from catalog import keys, services
from transcode.thumbnails import ThumbnailOptions, make_thumbnails
from workers.context import WorkerContext
from workers.publish import remove_stale, upload_files
from workers.runner import JobRun, Outcome, Record, run_job


def run_thumbnails_job(job_id: str, ctx: WorkerContext) -> Outcome:
    """Run thumbnails job ``job_id``. Idempotent: keys are fixed per asset, and what an earlier
    run left that this one does not write is removed."""
    return run_job(job_id, ctx, _thumbnails)


def _thumbnails(run: JobRun) -> Record:
    ctx = run.ctx
    source, info = run.original(verify=False)
    options = ThumbnailOptions(interval_s=ctx.settings.media.thumbnail_interval_s)
    out = run.scratch / "thumbnails"
    result = make_thumbnails(
        ctx.ffmpeg,
        source,
        info,
        out,
        options,
        timeout_s=ctx.settings.media.transcode_timeout_s,
        on_progress=lambda f: run.progress(f * 0.9),
    )
    prefix = keys.thumbnails_prefix(run.event_id, run.feed_id, run.asset_id)
    files = [*result.sprites, result.vtt, *(poster.path for poster in result.posters)]
    uploaded = upload_files(ctx, out, prefix, files)
    remove_stale(ctx, prefix, uploaded)
    posters = [
        {
            "key": prefix + poster.path.relative_to(out).as_posix(),
            "time_s": round(poster.time_s, 3),
            "sharpness": round(poster.sharpness, 1),
        }
        for poster in result.posters
    ]
    summary = {
        "cuts": [round(cut, 3) for cut in result.cuts],
        "posters": posters,
        "sprites": [prefix + sprite.relative_to(out).as_posix() for sprite in result.sprites],
        "tile": list(result.tile_size),
        "interval_s": options.interval_s,
        "columns": options.columns,
        "rows": options.rows,
    }
    best = max(posters, key=lambda p: float(p["sharpness"]), default=None)  # type: ignore[arg-type]

    def record(session: Session) -> None:
        asset = services.get_asset(run.asset_id, session=session)
        asset.thumbnails = summary
        asset.thumbnails_key = prefix + result.vtt.relative_to(out).as_posix()
        if best is not None:
            asset.poster_key = str(best["key"])

    return record
