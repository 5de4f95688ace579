"""The ladder job: the original of an asset becomes an HLS ABR ladder and a poster."""

from __future__ import annotations

import logging
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from catalog import keys, services
from catalog.models import AssetStatus, JobStatus, Rendition
from infra.database import session_scope
from infra.errors import VantageError
from transcode.ladder import LadderOptions, LadderResult, transcode_ladder
from transcode.poster import make_poster
from transcode.probe import probe
from workers.context import WorkerContext

log = logging.getLogger(__name__)

_UPLOAD_THREADS = 8


def run_ladder_job(job_id: str, ctx: WorkerContext) -> JobStatus:
    """Run ladder job ``job_id`` and return its final status.

    Idempotent: output keys are derived from the asset, rendition rows are matched by name, and
    stale objects under the asset's HLS prefix are removed, so a re-run (a redelivered task, a
    retry, an operator's re-transcode) leaves the same keys and one set of rows. A job that
    already succeeded is not run again.
    """
    with session_scope(ctx.sessions) as session:
        if not services.claim_job(job_id, session=session):
            log.info("ladder job %s already done or unknown; nothing to do", job_id)
            return JobStatus.SUCCEEDED
        job = services.get_job(job_id, session=session)
        if job.asset_id is None:
            services.finish_job(job, session=session, error="job has no asset")
            return JobStatus.FAILED
        asset = services.get_asset(job.asset_id, session=session)
        event_id, feed_id, asset_id = asset.event_id, asset.feed_id, asset.id
        original_key = asset.original_key
        asset.status = AssetStatus.PROCESSING

    try:
        with tempfile.TemporaryDirectory(prefix="vantage-ladder-") as scratch:
            _produce(job_id, ctx, Path(scratch), event_id, feed_id, asset_id, original_key)
    except Exception as exc:  # noqa: BLE001 - recorded as the job's failure reason
        reason = exc.detail if isinstance(exc, VantageError) else f"{type(exc).__name__}: {exc}"
        log.warning("ladder job %s failed: %s", job_id, reason)
        with session_scope(ctx.sessions) as session:
            services.finish_job(
                services.get_job(job_id, session=session), session=session, error=reason
            )
            asset = services.get_asset(asset_id, session=session)
            asset.status, asset.error = AssetStatus.FAILED, reason
        return JobStatus.FAILED
    return JobStatus.SUCCEEDED


def _produce(
    job_id: str,
    ctx: WorkerContext,
    scratch: Path,
    event_id: str,
    feed_id: str,
    asset_id: str,
    original_key: str,
) -> None:
    source = scratch / ("source" + Path(original_key).suffix)
    ctx.store.get_file(original_key, source)
    info = probe(source)
    options = LadderOptions(
        preset=ctx.settings.media.x264_preset,
        gop_seconds=ctx.settings.media.gop_seconds,
        heights=tuple(ctx.settings.media.ladder),
    )
    reporter = _ProgressReporter(job_id, ctx, share=0.85)
    ladder = transcode_ladder(
        ctx.ffmpeg,
        source,
        info,
        scratch / "hls",
        options,
        on_progress=reporter,
        timeout_s=ctx.settings.media.transcode_timeout_s,
    )
    poster = ladder.poster or make_poster(
        ctx.ffmpeg, source, scratch / "poster.jpg", info.duration_s
    )
    prefix = keys.hls_prefix(event_id, feed_id, asset_id)
    uploaded = _upload_ladder(ctx, ladder, scratch / "hls", prefix)
    poster_key = keys.poster_key(event_id, feed_id, asset_id)
    ctx.store.put_file(poster, poster_key)
    stale = [key for key in ctx.store.list_keys(prefix) if key not in uploaded]
    ctx.store.delete(stale)
    reporter(1.0)
    codecs = _codecs_by_playlist(ladder.master.read_text())
    with session_scope(ctx.sessions) as session:
        asset = services.get_asset(asset_id, session=session)
        services.replace_renditions(
            asset,
            [
                Rendition(
                    name=out.rung.name,
                    width=out.rung.width,
                    height=out.rung.height,
                    video_kbps=out.rung.video_kbps,
                    audio_kbps=out.rung.audio_kbps if info.audio else None,
                    codecs=codecs.get(f"{out.rung.name}/index.m3u8", ""),
                    playlist_key=f"{prefix}{out.rung.name}/index.m3u8",
                    segment_count=len(out.segments),
                    size_bytes=sum(p.stat().st_size for p in out.segments),
                )
                for out in ladder.renditions
            ],
            session=session,
        )
        asset.master_playlist_key = prefix + "master.m3u8"
        asset.poster_key = poster_key
        asset.status, asset.error = AssetStatus.READY, None
        services.finish_job(services.get_job(job_id, session=session), session=session)


def _upload_ladder(ctx: WorkerContext, ladder: LadderResult, root: Path, prefix: str) -> set[str]:
    """Upload segments first (several at once) and playlists last, so a playlist never names a
    missing segment."""
    segments = {
        prefix + segment.relative_to(root).as_posix(): segment
        for rendition in ladder.renditions
        for segment in rendition.segments
    }
    with ThreadPoolExecutor(max_workers=_UPLOAD_THREADS) as pool:
        for done in [pool.submit(ctx.store.put_file, path, key) for key, path in segments.items()]:
            done.result()
    uploaded = set(segments)
    for rendition in ladder.renditions:
        key = prefix + rendition.playlist.relative_to(root).as_posix()
        ctx.store.put_file(rendition.playlist, key)
        uploaded.add(key)
    ctx.store.put_file(ladder.master, prefix + "master.m3u8")
    uploaded.add(prefix + "master.m3u8")
    return uploaded


def _codecs_by_playlist(master: str) -> dict[str, str]:
    """Map each variant URI of a master playlist to its CODECS attribute."""
    codecs: dict[str, str] = {}
    pending = ""
    for line in master.splitlines():
        if line.startswith("#EXT-X-STREAM-INF:"):
            marker = 'CODECS="'
            start = line.find(marker)
            pending = (
                line[start + len(marker) : line.index('"', start + len(marker))]
                if start >= 0
                else ""
            )
        elif line and not line.startswith("#"):
            codecs[line.strip()] = pending
    return codecs


class _ProgressReporter:
    """Writes the job's progress to the catalog at most once a second."""

    def __init__(self, job_id: str, ctx: WorkerContext, share: float) -> None:
        self.job_id, self.ctx, self.share = job_id, ctx, share
        self._last = 0.0

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - self._last < 1.0:
            return
        self._last = now
        value = fraction if fraction >= 1.0 else fraction * self.share
        with session_scope(self.ctx.sessions) as session:
            services.set_job_progress(self.job_id, value, session=session)
