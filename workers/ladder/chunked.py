"""Split-and-stitch for long files, as a Celery chord: GOP-aligned video chunks and the audio
track are encoded in parallel on any workers of the ``vod`` queue; the stitch then joins the
chunks' segments (moving each chunk onto the file's timeline, no re-encode), writes the
manifests and records the ladder.

Every part carries the job's attempt number. A part of an attempt that is no longer current (the
job was retried, or finished) does nothing, so a late redelivery cannot overwrite a newer ladder.
Chunks read the original straight from the object store through a short-lived URL, fetching only
the byte ranges they decode.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import asdict
from fractions import Fraction
from pathlib import Path
from typing import Any

from catalog import keys, services
from catalog.models import JobStatus
from infra.core.database import session_scope
from infra.core.queue import JOB_TASKS, celery_signature, chord_of, send_job
from transcode.cmaf import read_init
from transcode.ffmpeg import HTTP_PROTOCOLS, pin_input, run_ffmpeg
from transcode.ladder import (
    AudioPlan,
    LadderPlan,
    Rung,
    cmaf_args,
    collect_tracks,
)
from transcode.manifests import Track
from transcode.packaging import (
    describe_track,
    join_tracks,
    track_from_dict,
    track_to_dict,
    write_manifests,
)
from transcode.probe import demuxer_for
from transcode.profiles import Profile
from transcode.stitch import chunk_offset, plan_chunks, rebase_segment
from workers.context import WorkerContext
from workers.ladder.plan import resolve_profile
from workers.ladder.record import cmaf_renditions, record_ladder
from workers.publish import publish_manifests, remove_stale, upload_files
from workers.runner import JobRun, Outcome, backoff_s, heartbeat, record_failure

log = logging.getLogger(__name__)

CHUNK_TASK = "vantage.encode_ladder_chunk"
AUDIO_TASK = "vantage.encode_ladder_audio"
STITCH_TASK = "vantage.stitch_ladder"


def plan_to_dict(plan: LadderPlan) -> dict[str, Any]:
    data = asdict(plan)
    data["frame_rate"] = str(plan.frame_rate)
    return data


def plan_from_dict(data: dict[str, Any]) -> LadderPlan:
    audio = data.get("audio")
    return LadderPlan(
        **{
            **data,
            "rungs": tuple(Rung(**rung) for rung in data["rungs"]),
            "frame_rate": Fraction(data["frame_rate"]),
            "audio": AudioPlan(**audio) if audio else None,
        }
    )


def start_chunked_ladder(
    run: JobRun, plan: LadderPlan, profile: Profile, loudness: dict[str, object] | None
) -> None:
    """Send the chord: one task per chunk and one for the audio, then the stitch. The job stays
    running, held for as long as the broker would take to redeliver a lost part."""
    ctx = run.ctx
    chunks = plan_chunks(
        plan.total_frames, plan.gop, plan.frame_rate, ctx.settings.media.chunk_seconds
    )
    common = {"job_id": run.job_id, "attempt": run.attempt, "plan": plan_to_dict(plan)}
    header = [
        celery_signature(ctx.settings, CHUNK_TASK, {**common, "frames": list(chunk.frames)})
        for chunk in chunks
    ]
    if plan.audio is not None:
        header.append(celery_signature(ctx.settings, AUDIO_TASK, common))
    stitch = celery_signature(
        ctx.settings,
        STITCH_TASK,
        {"job_id": run.job_id, "attempt": run.attempt, "profile": profile.name,
         "loudness": loudness, "plan": plan_to_dict(plan)},
    )  # fmt: skip
    with session_scope(ctx.sessions) as session:
        job = services.get_job(run.job_id, session=session)
        job.output = {"chunks": len(chunks), "chunk_frames": [c.frames for c in chunks]}
        services.hold_job(job, seconds=ctx.settings.broker.visibility_timeout_s, session=session)
    chord_of(ctx.settings, header, stitch)
    log.info("ladder job %s: %d chunks sent", run.job_id, len(chunks))


def _current(ctx: WorkerContext, job_id: str, attempt: int) -> dict[str, Any] | None:
    """The job's asset ids when ``attempt`` is still the job's running attempt, else ``None``."""
    with session_scope(ctx.sessions) as session:
        job = services.get_job(job_id, session=session)
        if job.status is not JobStatus.RUNNING or job.attempts != attempt or not job.asset_id:
            return None
        asset = services.get_asset(job.asset_id, session=session)
        return {
            "asset_id": asset.id,
            "event_id": asset.event_id,
            "feed_id": asset.feed_id,
            "original_key": asset.original_key,
            "options": dict(job.options or {}),
        }


def _as_run(
    ctx: WorkerContext, job_id: str, attempt: int, ids: dict[str, Any], scratch: Path
) -> JobRun:
    return JobRun(
        ctx=ctx,
        job_id=job_id,
        attempt=attempt,
        asset_id=ids["asset_id"],
        event_id=ids["event_id"],
        feed_id=ids["feed_id"],
        original_key=ids["original_key"],
        scratch=scratch,
        options=ids["options"],
        feed_name="",
        event_profile=None,
    )


def encode_part(
    ctx: WorkerContext,
    job_id: str,
    attempt: int,
    plan_data: dict[str, Any],
    frames: tuple[int, int] | None,
) -> dict[str, Any]:
    """Encode one chunk of video (``frames``) or, with ``frames`` None, the audio track; upload
    its segments to their final keys and report the tracks. Idempotent: same keys, same bytes."""
    ids = _current(ctx, job_id, attempt)
    if ids is None:
        return {"skipped": True}
    plan = plan_from_dict(plan_data)
    with tempfile.TemporaryDirectory(prefix=f"vantage-chunk-{job_id[:8]}-") as scratch:
        root = Path(scratch)
        run = _as_run(ctx, job_id, attempt, ids, root)
        try:
            with heartbeat(ctx, job_id, every_s=10):
                tracks = _encode(ctx, run, plan, frames, root)
        except Exception as exc:  # noqa: BLE001 - recorded on the job, the chord sees a marker
            _retry_if_asked(ctx, run, record_failure(ctx, run, exc))
            return {"failed": str(exc)}
    with session_scope(ctx.sessions) as session:
        services.add_job_progress(job_id, 0.9 / _parts(ctx, job_id), session=session)
    return {
        "frames": list(frames) if frames else None,
        "tracks": [track_to_dict(t) for t in tracks],
    }


def _parts(ctx: WorkerContext, job_id: str) -> int:
    with session_scope(ctx.sessions) as session:
        output = services.get_job(job_id, session=session).output or {}
    chunks = int(output.get("chunks", 1))
    return chunks + 1


def _encode(
    ctx: WorkerContext, run: JobRun, plan: LadderPlan, frames: tuple[int, int] | None, root: Path
) -> list[Track]:
    url = ctx.store.presigned_get(
        run.original_key, expires_s=ctx.settings.media.transcode_timeout_s
    )
    video = frames is not None
    args = pin_input(
        cmaf_args(url, root, plan, video=video, audio=not video, frames=frames),
        demuxer_for(run.original_key),
        HTTP_PROTOCOLS,
    )
    run_ffmpeg(ctx.ffmpeg, args, timeout_s=ctx.settings.media.transcode_timeout_s)
    videos, audio = collect_tracks(root, plan, video=video, audio=not video)
    outputs = list(videos) if video else ([audio] if audio else [])
    prefix = keys.hls_prefix(run.event_id, run.feed_id, run.asset_id)
    tracks = []
    for output in outputs:
        if frames is not None and frames[0]:
            timescale = read_init(output.init).timescale
            offset = chunk_offset(frames[0], plan.frame_rate, timescale)
            for segment in output.segments:
                segment.write_bytes(rebase_segment(segment.read_bytes(), offset))
        track = describe_track(output)
        files = list(output.segments)
        if frames is None or frames[0] == 0:
            files.append(output.init)  # one init per rendition: the first chunk's
        upload_files(ctx, root, prefix, files)
        tracks.append(track)
    return tracks


def stitch_ladder(
    ctx: WorkerContext,
    results: list[dict[str, Any]],
    job_id: str,
    attempt: int,
    profile_name: str,
    loudness: dict[str, object] | None,
    plan_data: dict[str, Any],
) -> Outcome:
    """Join the parts' tracks, write and upload the manifests, record the ladder. Idempotent:
    a stitch of an attempt that is no longer current does nothing."""
    ids = _current(ctx, job_id, attempt)
    if ids is None or any("tracks" not in part for part in results):
        log.info("stitch of job %s attempt %d: nothing to do", job_id, attempt)
        return Outcome.SKIPPED
    plan = plan_from_dict(plan_data)
    with tempfile.TemporaryDirectory(prefix=f"vantage-stitch-{job_id[:8]}-") as scratch:
        run = _as_run(ctx, job_id, attempt, ids, Path(scratch))
        try:
            profile = resolve_profile(ctx.settings, profile_name)
            chunks = sorted((p for p in results if p["frames"]), key=lambda p: p["frames"][0])
            audio_parts = [p for p in results if not p["frames"]]
            videos = []
            for rung in plan.rungs:
                parts = [
                    track_from_dict(t)
                    for chunk in chunks
                    for t in chunk["tracks"]
                    if t["name"] == rung.name
                ]
                videos.append(join_tracks(parts))
            audio = track_from_dict(audio_parts[0]["tracks"][0]) if audio_parts else None
            prefix = keys.hls_prefix(run.event_id, run.feed_id, run.asset_id)
            manifests = write_manifests(
                videos,
                audio,
                plan.frame_rate,
                dash=profile.packaging.dash,
                iframe_playlists=profile.packaging.iframe_playlists,
            )
            keep = publish_manifests(ctx, prefix, manifests)
            for track in [*videos, *([audio] if audio else [])]:
                keep.add(f"{prefix}{track.name}/{track.init_uri}")
                keep |= {f"{prefix}{track.name}/{uri}" for uri, _ in track.segments}
            remove_stale(ctx, prefix, keep)
            record = record_ladder(
                run.asset_id,
                cmaf_renditions(prefix, plan, videos, audio, profile),
                prefix + manifests.master,
                prefix + manifests.dash if manifests.dash else None,
                None,
                profile,
                None,
                loudness,
            )
            with session_scope(ctx.sessions) as session:
                record(session)
                asset = services.get_asset(run.asset_id, session=session)
                asset.interlaced = plan.deinterlace
                services.finish_job(services.get_job(job_id, session=session), session=session)
        except Exception as exc:  # noqa: BLE001 - recorded on the job with its reason
            return _retry_if_asked(ctx, run, record_failure(ctx, run, exc))
    return Outcome.SUCCEEDED


def _retry_if_asked(ctx: WorkerContext, run: JobRun, outcome: Outcome) -> Outcome:
    """A part that hit a passing fault put the job back in the queue: send it again, after the
    backoff, as a whole new attempt (this attempt's other parts then do nothing)."""
    if outcome is Outcome.RETRY:
        with session_scope(ctx.sessions) as session:
            attempts = services.get_job(run.job_id, session=session).attempts
        delay = backoff_s(attempts, base_s=ctx.settings.jobs.retry_base_s)
        send_job(ctx.settings, JOB_TASKS["ladder"], run.job_id, countdown=delay)
    return outcome
