"""The replay job: cut every angle frame-accurately from its recording (which may still be
growing), make what the order asked for (the angles, a mosaic, a sequence, a sweep), and publish
the outputs with a manifest and one package."""

from __future__ import annotations

import json
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from catalog import access, keys, services
from catalog import replays as replay_service
from catalog.models import ReplayKind, utcnow
from infra.core.database import session_scope
from infra.core.storage import StoredObject
from transcode.pictures import picture_at
from transcode.replay.compose import Angle, SequenceCut, SlowMotion, mosaic, sequence
from transcode.replay.cut import AngleCut, CutRequest, Piece, cut_angle
from transcode.replay.sweep import SweepCamera, make_sweep
from workers.context import WorkerContext
from workers.runner import JobRun, Outcome, Record, notify_after_commit, run_job

_URL_LIFETIME_S = 3600
_PARALLEL_CUTS = 8


@dataclass(frozen=True)
class _Source:
    feed_id: str
    feed: str
    angle_deg: float | None
    asset_id: str
    pieces: list[tuple[str, float, float]]


def run_replay_job(job_id: str, ctx: WorkerContext) -> Outcome:
    """Run replay job ``job_id``. Idempotent: output keys are derived from the replay, and the
    outputs and manifest are recorded once, with the job."""
    return run_job(job_id, ctx, _replay, needs_asset=False)


def _replay(run: JobRun) -> Record:
    ctx = run.ctx
    replay_id = str(run.options["replay_id"])
    with session_scope(ctx.sessions) as session:
        replay = replay_service.get_replay(replay_id, session=session)
        kind, start_s, end_s = replay.kind, replay.clock_start_s, replay.clock_end_s
        options = dict(replay.options)
        event_id = replay.event_id
        # The recordings the order was checked on, covering the range now (a live one has
        # grown since; its segments may have been removed since).
        sources = [
            _Source(found.feed_id, found.feed, found.angle_deg, found.asset_id, found.pieces)
            for found in replay_service.pinned_sources(replay, session=session)
        ]
    folder = run.scratch
    steps = len(sources) + 2
    began = time.perf_counter()
    timings: dict[str, float] = {}
    done = 0

    def cut(source: _Source) -> AngleCut:
        nonlocal done
        pieces = [
            Piece(ctx.store.presigned_get(key, expires_s=_URL_LIFETIME_S), begin, duration)
            for key, begin, duration in source.pieces
        ]
        clip = cut_angle(
            ctx.ffmpeg,
            pieces,
            CutRequest(start_s, end_s),
            # Named by the feed's id: two feed names may make the same safe file name.
            folder / f"{kind.value}-{source.feed_id}.mp4",
            timeout_s=ctx.settings.media.transcode_timeout_s,
        )
        done += 1
        run.progress(done / steps)
        return clip

    # Angles are cut side by side: each is mostly stream copy, bound by reading, not encoding.
    with ThreadPoolExecutor(max_workers=min(len(sources), _PARALLEL_CUTS)) as pool:
        angles = list(zip(sources, pool.map(cut, sources), strict=True))
    timings["cut_s"] = time.perf_counter() - began
    made = _compose(ctx, kind, options, angles, start_s, folder)
    timings["compose_s"] = time.perf_counter() - began - timings["cut_s"]
    run.progress((len(sources) + 1) / steps)
    prefix = keys.replay_prefix(event_id, replay_id)
    outputs = []
    for name, path, info in made:
        stored = ctx.store.put_file(path, prefix + name)
        outputs.append(_output(name, stored, info))
    manifest = _manifest(replay_id, kind, start_s, end_s, options, angles, outputs)
    manifest_path = folder / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2))
    manifest_key = prefix + "manifest.json"
    ctx.store.put_file(manifest_path, manifest_key)
    package = folder / "package.zip"
    with zipfile.ZipFile(package, "w", compression=zipfile.ZIP_STORED) as bundle:
        for name, path, _ in made:
            bundle.write(path, name)
        bundle.write(manifest_path, "manifest.json")
    package_key = prefix + f"replay-{replay_id}.zip"
    ctx.store.put_file(package, package_key)
    timings["publish_s"] = time.perf_counter() - began - timings["cut_s"] - timings["compose_s"]

    def record(session: Session) -> None:
        # Where the time went, for operators and the benchmark.
        services.get_job(run.job_id, session=session).output = {
            "timings": {name: round(value, 3) for name, value in timings.items()},
            "copied_frames": sum(clip.copied_frames for _, clip in angles),
            "encoded_frames": sum(clip.encoded_frames for _, clip in angles),
        }
        stored_replay = replay_service.get_replay(replay_id, session=session)
        first_time = stored_replay.package_key is None
        stored_replay.outputs = outputs
        stored_replay.manifest_key = manifest_key
        stored_replay.package_key = package_key
        if first_time:
            payload = {
                "replay_id": replay_id,
                "event_id": stored_replay.event_id,
                "kind": stored_replay.kind.value,
                "start_s": stored_replay.clock_start_s,
                "end_s": stored_replay.clock_end_s,
                "outputs": [o["name"] for o in outputs],
            }
            notify_after_commit(
                session,
                access.notify_in_rights(
                    "replay.ready", payload, session=session, now=utcnow(), replay_id=replay_id
                ),
            )

    return record


def _compose(
    ctx: WorkerContext,
    kind: ReplayKind,
    options: dict[str, Any],
    angles: list[tuple[_Source, AngleCut]],
    start_s: float,
    folder: Path,
) -> list[tuple[str, Path, dict[str, Any]]]:
    """What the order's kind makes of the angle clips: (file name, path, facts) per output."""
    timeout = ctx.settings.media.transcode_timeout_s
    rate = angles[0][1].frame_rate
    lines = int(options.get("lines", 720))
    size = (_even(lines * 16 / 9), _even(lines))
    if kind is ReplayKind.ANGLES:
        return [
            (
                clip.path.name,
                clip.path,
                {
                    "kind": "angle",
                    "feed": source.feed,
                    "feed_id": source.feed_id,
                    "frames": clip.frames,
                    "first_frame": clip.first_source_frame,
                    "last_frame": clip.last_source_frame,
                },
            )
            for source, clip in angles
        ]
    labelled = [Angle(clip.path, source.feed, None) for source, clip in angles]
    if kind is ReplayKind.MOSAIC:
        made = mosaic(
            ctx.ffmpeg,
            labelled,
            folder / "mosaic.mp4",
            columns=options.get("columns"),
            size=size,
            frame_rate=rate,
            timeout_s=timeout,
        )
        return [("mosaic.mp4", made.path, {"kind": "mosaic", "frames": made.frames})]
    if kind is ReplayKind.SEQUENCE:
        by_feed = {
            source.feed_id: angle for (source, _), angle in zip(angles, labelled, strict=True)
        }
        cuts = options["cuts"]
        end_s = start_s + angles[0][1].frames / float(rate)
        plan = [
            SequenceCut(
                by_feed[cut["feed_id"]],
                cut["at_s"] - start_s,
                (cuts[i + 1]["at_s"] if i + 1 < len(cuts) else end_s) - start_s,
            )
            for i, cut in enumerate(cuts)
        ]
        slow = options.get("slow_motion")
        made = sequence(
            ctx.ffmpeg,
            plan,
            folder / "sequence.mp4",
            slow_motion=SlowMotion(
                float(slow["start_s"]) - start_s, float(slow["end_s"]) - start_s,
                float(slow.get("factor", 2.0)),
            ) if slow else None,
            size=size,
            frame_rate=rate,
            timeout_s=timeout,
        )  # fmt: skip
        return [("sequence.mp4", made.path, {"kind": "sequence", "frames": made.frames})]
    at_s = float(options.get("at_s", start_s)) - start_s
    cameras = [
        SweepCamera(
            source.feed, float(source.angle_deg or 0.0), picture_at(clip.path, at_s), clip.path
        )
        for source, clip in angles
    ]
    swept = make_sweep(
        ctx.ffmpeg,
        cameras,
        folder / "sweep.mp4",
        duration_s=float(options.get("duration_s", 3.0)),
        direction=(
            "counterclockwise" if options.get("direction") == "counterclockwise" else "clockwise"
        ),
        hold_s=float(options.get("hold_s", 0.5)),
        resume_s=float(options.get("resume_s", 2.0)),
        at_s=at_s,
        size=size,
        frame_rate=rate,
        timeout_s=timeout,
    )
    return [
        ("sweep.mp4", swept.path, {"kind": "sweep", "frames": swept.frames, "order": swept.order})
    ]


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def _output(name: str, stored: StoredObject, info: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "key": stored.key,
        "sha256": stored.sha256,
        "size_bytes": stored.size_bytes,
        "frames": int(info["frames"]),
        **{k: v for k, v in info.items() if k != "frames"},
    }


def _manifest(
    replay_id: str,
    kind: ReplayKind,
    start_s: float,
    end_s: float,
    options: dict[str, Any],
    angles: list[tuple[_Source, AngleCut]],
    outputs: list[dict[str, Any]],
) -> dict[str, Any]:
    """What the package holds and where each picture came from."""
    return {
        "replay": replay_id,
        "kind": kind.value,
        "event_clock": {"start_s": start_s, "end_s": end_s},
        "options": options,
        "sources": [
            {
                "feed": source.feed,
                "feed_id": source.feed_id,
                "asset_id": source.asset_id,
                "angle_deg": source.angle_deg,
                "pieces": [
                    {"key": key, "clock_start_s": begin, "duration_s": duration}
                    for key, begin, duration in source.pieces
                ],
                "first_frame": clip.first_source_frame,
                "last_frame": clip.last_source_frame,
                "first_frame_clock_s": clip.first_time_s,
                "frames": clip.frames,
                "frame_rate": str(clip.frame_rate),
                "copied_frames": clip.copied_frames,
                "encoded_frames": clip.encoded_frames,
            }
            for source, clip in angles
        ],
        "outputs": outputs,
    }
