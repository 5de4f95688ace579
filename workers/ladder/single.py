"""A ladder encoded in one ffmpeg process on this worker, or handed to the chunked chord when the
file is long."""

from __future__ import annotations

import logging
from pathlib import Path

from catalog import keys, services, states
from catalog.models import Rendition
from infra.core.database import session_scope
from transcode.ladder import LadderResult, plan_from_profile, transcode_ladder
from transcode.packaging import describe_track, write_manifests
from transcode.poster import make_poster
from workers.context import WorkerContext
from workers.ladder.chunked import start_chunked_ladder
from workers.ladder.plan import (
    ladder_prefix,
    measured_loudness,
    plan_ladder,
    resolve_profile,
    wants_chunks,
)
from workers.ladder.record import (
    cmaf_renditions,
    codecs_by_playlist,
    record_ladder,
)
from workers.publish import publish_manifests, remove_stale, upload_files
from workers.runner import JobRun, Outcome, Record, run_job

log = logging.getLogger(__name__)


def run_ladder_job(job_id: str, ctx: WorkerContext) -> Outcome:
    """Run ladder job ``job_id``.

    Idempotent: output keys are derived from the asset, rendition rows are replaced as a set,
    and objects under the asset's ladder prefix that the new ladder does not name are removed,
    so a re-run (a redelivered task, a retry, an operator's re-transcode) leaves the same keys
    and one set of rows.
    """
    return run_job(job_id, ctx, _ladder)


def _ladder(run: JobRun) -> Record | None:
    ctx = run.ctx
    with session_scope(ctx.sessions) as session:
        asset = services.get_asset(run.asset_id, session=session)
        states.begin_processing(asset)
    profile = resolve_profile(ctx.settings, run.options.get("profile") or run.event_profile)
    # Probed through a URL first: a file split into chunks is never downloaded here at all.
    url, remote_info = run.remote()
    if wants_chunks(
        ctx.settings, plan_from_profile(remote_info, profile), remote_info, run.options
    ):
        loudness = measured_loudness(ctx, url, remote_info, profile)
        start_chunked_ladder(run, plan_ladder(remote_info, profile, loudness), profile, loudness)
        return None
    source, info = run.original()
    loudness = measured_loudness(ctx, source, info, profile)
    plan = plan_ladder(info, profile, loudness)
    ladder = transcode_ladder(
        ctx.ffmpeg,
        source,
        info,
        run.scratch / "ladder",
        plan,
        on_progress=lambda f: run.progress(f * 0.85),
        timeout_s=ctx.settings.media.transcode_timeout_s,
    )
    prefix = ladder_prefix(run)
    if plan.segments == "ts":
        uploaded, renditions, master, dash = _publish_ts(ctx, ladder, prefix)
    else:
        videos = [describe_track(track) for track in ladder.videos]
        audio = describe_track(ladder.audio) if ladder.audio else None
        upload_files(ctx, ladder.root, prefix, _segment_files(ladder))
        manifests = write_manifests(
            videos,
            audio,
            plan.frame_rate,
            dash=profile.packaging.dash,
            iframe_playlists=profile.packaging.iframe_playlists,
        )
        uploaded = publish_manifests(ctx, prefix, manifests)
        uploaded |= {
            prefix + path.relative_to(ladder.root).as_posix() for path in _segment_files(ladder)
        }
        renditions = cmaf_renditions(prefix, plan, videos, audio, profile)
        master, dash = (
            prefix + manifests.master,
            (prefix + manifests.dash if manifests.dash else None),
        )
    poster_key = None
    if plan.rungs:
        poster = ladder.poster or make_poster(
            ctx.ffmpeg, source, run.scratch / "poster.jpg", info.duration_s
        )
        poster_key = keys.poster_key(run.event_id, run.feed_id, run.asset_id)
        ctx.store.put_file(poster, poster_key)
    remove_stale(ctx, prefix, uploaded)
    return record_ladder(
        run.asset_id, renditions, master, dash, poster_key, profile, info, loudness
    )


def _segment_files(ladder: LadderResult) -> list[Path]:
    tracks = [*ladder.videos, *([ladder.audio] if ladder.audio else [])]
    return [path for track in tracks for path in (track.init, *track.segments)]


def _publish_ts(
    ctx: WorkerContext, ladder: LadderResult, prefix: str
) -> tuple[set[str], list[Rendition], str, None]:
    """The legacy ladder: segments first, then each rung's playlist, then ffmpeg's master."""
    uploaded = upload_files(
        ctx, ladder.root, prefix, [s for track in ladder.videos for s in track.segments]
    )
    for track in ladder.videos:
        uploaded |= upload_files(ctx, ladder.root, prefix, [track.init])
    master = ladder.root / "master.m3u8"
    uploaded |= upload_files(ctx, ladder.root, prefix, [master])
    codecs = codecs_by_playlist(master.read_text())
    plan = ladder.plan
    renditions = [
        Rendition(
            name=rung.name,
            kind="video",
            width=rung.width,
            height=rung.height,
            video_kbps=rung.video_kbps,
            audio_kbps=plan.audio.kbps if plan.audio else None,
            codecs=codecs.get(f"{rung.name}/index.m3u8", ""),
            frame_rate=str(plan.frame_rate),
            bandwidth=rung.bandwidth,
            playlist_key=f"{prefix}{rung.name}/index.m3u8",
            segment_count=len(track.segments),
            size_bytes=sum(p.stat().st_size for p in track.segments),
        )
        for rung, track in zip(plan.rungs, ladder.videos, strict=True)
    ]
    return uploaded, renditions, prefix + "master.m3u8", None
