"""The ladder job: an asset's original becomes an ABR ladder under its encoding profile.

Short files are encoded in one ffmpeg process on this worker. Long ones are split into
GOP-aligned chunks encoded in parallel across workers and stitched without re-encoding (see
:mod:`workers.chunked`). Either way the manifests are written from the segments, uploaded after
them, and recorded with the renditions in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

from sqlalchemy.orm import Session

from catalog import access, keys, services
from catalog.models import AssetStatus, Rendition, utcnow
from infra.core.database import session_scope
from infra.core.settings import Settings
from transcode.errors import MediaError
from transcode.ffmpeg import HTTP_PROTOCOLS
from transcode.ladder import LadderPlan, LadderResult, plan_from_profile, transcode_ladder
from transcode.loudness import LoudnessTarget, measure_loudness, normalise_filter
from transcode.manifests import IFRAME_PLAYLIST, MEDIA_PLAYLIST, Track
from transcode.packaging import Manifests, describe_track, write_manifests
from transcode.poster import make_poster
from transcode.probe import MediaInfo
from transcode.profiles import Profile, load_profile
from workers.context import WorkerContext
from workers.runner import JobRun, Outcome, Record, notify_after_commit, run_job

log = logging.getLogger(__name__)

_UPLOAD_THREADS = 8


def run_ladder_job(job_id: str, ctx: WorkerContext) -> Outcome:
    """Run ladder job ``job_id``.

    Idempotent: output keys are derived from the asset, rendition rows are replaced as a set,
    and objects under the asset's ladder prefix that the new ladder does not name are removed,
    so a re-run (a redelivered task, a retry, an operator's re-transcode) leaves the same keys
    and one set of rows.
    """
    return run_job(job_id, ctx, _ladder, on_failure=remove_unpublished)


def resolve_profile(settings: Settings, name: str | None) -> Profile:
    return load_profile(name or settings.media.profile, settings.media.profiles_dir)


def ladder_prefix(run: JobRun) -> str:
    return keys.hls_prefix(run.event_id, run.feed_id, run.asset_id)


def _ladder(run: JobRun) -> Record | None:
    ctx = run.ctx
    with session_scope(ctx.sessions) as session:
        asset = services.get_asset(run.asset_id, session=session)
        if asset.status is not AssetStatus.READY:
            asset.status = AssetStatus.PROCESSING
    profile = resolve_profile(ctx.settings, run.options.get("profile") or run.event_profile)
    # Probed through a URL first: a file split into chunks is never downloaded here at all.
    url, remote_info = run.remote()
    if wants_chunks(
        ctx.settings, plan_from_profile(remote_info, profile), remote_info, run.options
    ):
        from workers.chunked import start_chunked_ladder

        loudness = measured_loudness(ctx, url, remote_info, profile)
        start_chunked_ladder(run, _plan(remote_info, profile, loudness), profile, loudness)
        return None
    source, info = run.original()
    loudness = measured_loudness(ctx, source, info, profile)
    plan = _plan(info, profile, loudness)
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


def _plan(info: MediaInfo, profile: Profile, loudness: dict[str, object] | None) -> LadderPlan:
    chain = loudness.get("filter") if loudness else None
    return plan_from_profile(
        info, profile, loudness_filter=chain if isinstance(chain, str) else None
    )


def measured_loudness(
    ctx: WorkerContext, source: Path | str, info: MediaInfo, profile: Profile
) -> dict[str, object] | None:
    """The first loudness pass when the profile asks for normalisation: what was measured, the
    target, and the second pass's filter; a silent track is left as it is, and says so."""
    if profile.audio.loudness_lufs is None or info.audio is None:
        return None
    target = LoudnessTarget(profile.audio.loudness_lufs, profile.audio.true_peak_dbtp)
    try:
        measured = measure_loudness(
            ctx.ffmpeg,
            source,
            target,
            timeout_s=ctx.settings.media.transcode_timeout_s,
            protocols=HTTP_PROTOCOLS,
        )
    except MediaError as exc:
        return {"target_lufs": target.integrated_lufs, "skipped": exc.detail}
    return {
        "target_lufs": target.integrated_lufs,
        "target_true_peak_dbtp": target.true_peak_dbtp,
        "measured": asdict(measured),
        "filter": normalise_filter(measured, target),
    }


def wants_chunks(
    settings: Settings, plan: LadderPlan, info: MediaInfo, options: dict[str, object]
) -> bool:
    """Split-and-stitch for CMAF ladders of long files, unless the job asks otherwise."""
    forced = options.get("chunked")
    if isinstance(forced, bool):
        return forced and plan.segments == "cmaf" and bool(plan.rungs)
    return (
        plan.segments == "cmaf"
        and bool(plan.rungs)
        and info.duration_s >= max(settings.media.chunk_min_s, 2 * settings.media.chunk_seconds)
    )


def _segment_files(ladder: LadderResult) -> list[Path]:
    tracks = [*ladder.videos, *([ladder.audio] if ladder.audio else [])]
    return [path for track in tracks for path in (track.init, *track.segments)]


def upload_files(ctx: WorkerContext, root: Path, prefix: str, files: Sequence[Path]) -> set[str]:
    """Upload ``files`` (several at once) under ``prefix``, keyed by their path below ``root``."""
    wanted = {prefix + path.relative_to(root).as_posix(): path for path in files}
    with ThreadPoolExecutor(max_workers=_UPLOAD_THREADS) as pool:
        for done in [pool.submit(ctx.store.put_file, path, key) for key, path in wanted.items()]:
            done.result()
    return set(wanted)


def publish_manifests(ctx: WorkerContext, prefix: str, manifests: Manifests) -> set[str]:
    """Upload the manifests in order, media playlists before the master and the MPD."""
    for path, text in manifests.files.items():
        ctx.store.put_bytes(text.encode(), prefix + path)
    return {prefix + path for path in manifests.files}


def remove_stale(ctx: WorkerContext, prefix: str, keep: set[str]) -> None:
    """Delete what an earlier ladder left under ``prefix`` that this one does not name."""
    ctx.store.delete([key for key in ctx.store.list_keys(prefix) if key not in keep])


def remove_unpublished(run: JobRun) -> None:
    """After a final failure: the asset says why, and partial output of a ladder that was never
    published is removed (an asset that already has a ladder keeps it, and stays ready)."""
    with session_scope(run.ctx.sessions) as session:
        asset = services.get_asset(run.asset_id, session=session)
        job = services.get_job(run.job_id, session=session)
        published = asset.master_playlist_key
        if published is None:
            asset.status, asset.error = AssetStatus.FAILED, job.error
    if published is None:
        run.ctx.store.delete_prefix(ladder_prefix(run))


def cmaf_renditions(
    prefix: str,
    plan: LadderPlan,
    videos: Sequence[Track],
    audio: Track | None,
    profile: Profile,
) -> list[Rendition]:
    by_name = {rung.name: rung for rung in plan.rungs}
    rows = []
    for video in videos:
        rung = by_name[video.name]
        rows.append(
            Rendition(
                name=video.name,
                kind="video",
                width=video.init.width,
                height=video.init.height,
                video_kbps=rung.video_kbps,
                audio_kbps=plan.audio.kbps if plan.audio else None,
                codecs=",".join([video.init.codec] + ([audio.init.codec] if audio else [])),
                frame_rate=str(plan.frame_rate),
                bandwidth=video.peak_bandwidth + (audio.peak_bandwidth if audio else 0),
                average_bandwidth=video.average_bandwidth
                + (audio.average_bandwidth if audio else 0),
                playlist_key=f"{prefix}{video.name}/{MEDIA_PLAYLIST}",
                iframe_playlist_key=(
                    f"{prefix}{video.name}/{IFRAME_PLAYLIST}"
                    if profile.packaging.iframe_playlists
                    else None
                ),
                segment_count=len(video.segments),
                size_bytes=sum(segment.size for _, segment in video.segments),
            )
        )
    if audio is not None:
        rows.append(
            Rendition(
                name=audio.name,
                kind="audio",
                audio_kbps=plan.audio.kbps if plan.audio else None,
                codecs=audio.init.codec,
                bandwidth=audio.peak_bandwidth,
                average_bandwidth=audio.average_bandwidth,
                playlist_key=f"{prefix}{audio.name}/{MEDIA_PLAYLIST}",
                segment_count=len(audio.segments),
                size_bytes=sum(segment.size for _, segment in audio.segments),
            )
        )
    return rows


def record_ladder(
    asset_id: str,
    renditions: list[Rendition],
    master: str,
    dash: str | None,
    poster_key: str | None,
    profile: Profile,
    info: MediaInfo | None,
    loudness: dict[str, object] | None,
) -> Record:
    def record(session: Session) -> None:
        asset = services.get_asset(asset_id, session=session)
        services.replace_renditions(asset, renditions, session=session)
        asset.master_playlist_key = master
        asset.dash_manifest_key = dash
        asset.profile = profile.name
        if info is not None and info.video is not None:
            asset.interlaced = info.video.interlaced
        if poster_key and not asset.poster_key:
            asset.poster_key = poster_key
        if loudness is not None:
            asset.loudness = {k: v for k, v in loudness.items() if k != "filter"}
        first_time = asset.status is not AssetStatus.READY
        asset.status, asset.error = AssetStatus.READY, None
        if first_time:
            payload = {
                "asset_id": asset.id,
                "event_id": asset.event_id,
                "feed_id": asset.feed_id,
                "filename": asset.filename,
                "duration_s": asset.duration_s,
            }
            notify_after_commit(
                session,
                access.notify_in_rights(
                    "asset.new", payload, session=session, now=utcnow(), asset_id=asset.id
                ),
            )

    return record


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
    codecs = _codecs_by_playlist(master.read_text())
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
