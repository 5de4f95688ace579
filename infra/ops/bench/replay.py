"""``vantage bench replay``: order to downloadable, on the running stack, for the replays a
director asks for most, against the naive way (a full re-encode of each angle) on the same
recordings in the same run."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from catalog import replays as replay_service
from catalog import services
from catalog.models import JobStatus, ReplayKind
from infra.core.database import make_engine, make_session_factory, session_scope
from infra.core.errors import ServiceUnavailable, VantageError
from infra.core.queue import JOB_TASKS, send_job
from infra.core.settings import Settings
from infra.core.storage import ObjectStore
from infra.ops.bench.figures import summary, timed
from ingest.files import FeedFile, ingest_files
from transcode.ffmpeg import find_ffmpeg
from transcode.replay.cut import CutRequest, Piece, naive_cut
from transcode.scene import camera_ring
from transcode.synthetic import render_scene_camera

RATE = Fraction(25)


def replay_benchmark(
    settings: Settings,
    *,
    cameras: int = 8,
    seconds: float = 20.0,
    size: tuple[int, int] = (1280, 720),
    repeat: int = 5,
    progress: Callable[[str], None] = lambda _line: None,
) -> dict[str, Any]:
    """Record ``cameras`` cameras of the virtual match, then time replay orders end to end."""
    ffmpeg = find_ffmpeg(settings.media.ffmpeg)
    sessions = make_session_factory(make_engine(settings.database_url))
    store = ObjectStore(settings.storage)
    folder = settings.home / "bench" / f"replay-{size[0]}x{size[1]}-{seconds:g}s"
    frames = round(seconds * RATE)
    ring = camera_ring(cameras)
    files = []
    for camera in ring:
        out = folder / f"{camera.name}.mp4"
        if not out.exists():
            progress(f"rendering {camera.name}")
            render_scene_camera(ffmpeg, camera, out, first_frame=0, frames=frames, size=size)
        files.append(FeedFile(camera.name, out))
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    with session_scope(sessions) as session:
        event_id = services.create_event(f"bench replay {stamp}", session=session).id
    progress("ingesting")
    outcomes = ingest_files(
        event_id, files, settings=settings, sessions=sessions, store=store, enqueue=False
    )
    failed = [o.error for o in outcomes if not o.ok]
    if failed:
        raise VantageError(f"bench ingest failed: {failed}")
    with session_scope(sessions) as session:
        event = services.get_event(event_id, session=session, detail=True)
        feed_ids = {}
        for feed in event.feeds:
            feed.angle_deg = next(c.azimuth_deg for c in ring if c.name == feed.name)
            feed_ids[feed.name] = feed.id
    names = [c.name for c in ring]
    start_s, end_s = 4.0, min(14.0, seconds - 1.0)
    four = [feed_ids[n] for n in names[: min(4, cameras)]]
    scenarios: dict[str, dict[str, Any]] = {
        "angles_4x10s": {"kind": ReplayKind.ANGLES, "feeds": four, "options": {}},
        "mosaic_2x2_10s": {"kind": ReplayKind.MOSAIC, "feeds": four, "options": {"lines": 720}},
        f"sweep_{cameras}_cameras": {
            "kind": ReplayKind.SWEEP,
            "feeds": [feed_ids[n] for n in names],
            "options": {"at_s": start_s, "duration_s": 3.0, "hold_s": 0.5, "resume_s": 2.0,
                        "lines": 720},
            "end_s": start_s + 2.5,
        },
    }  # fmt: skip
    results: dict[str, Any] = {}
    for name, scenario in scenarios.items():
        times = []
        for i in range(repeat):
            progress(f"{name} {i + 1}/{repeat}")
            # A slightly different range each time, so nothing is served from a cache.
            shift = 0.04 * i
            options = dict(scenario["options"])
            if "at_s" in options:
                options["at_s"] = options["at_s"] + shift
            times.append(
                _order_to_downloadable(
                    settings, sessions, event_id, scenario["kind"], start_s + shift,
                    scenario.get("end_s", end_s) + shift, scenario["feeds"], options,
                )
            )  # fmt: skip
        results[name] = summary(times)
    progress("naive: full re-encode of each angle")
    naive_times = []
    for _ in range(max(1, min(repeat, 3))):
        naive_times.append(_naive_angles(settings, sessions, store, ffmpeg, four, start_s, end_s))
    results["naive_full_reencode_4x10s"] = summary(naive_times)
    angles_p50 = results["angles_4x10s"]["p50_s"]
    return {
        "cameras": cameras,
        "source": {"size": f"{size[0]}x{size[1]}", "frame_rate": str(RATE), "gop_s": 2.0,
                   "seconds": seconds},
        "repeat": repeat,
        "range_s": [start_s, end_s],
        "order_to_downloadable": results,
        "angles_speedup_vs_naive": round(
            results["naive_full_reencode_4x10s"]["p50_s"] / angles_p50, 2
        ),
        "targets": {"angles_p95_s": 1.5, "angles_speedup_vs_naive": 5.0},
    }  # fmt: skip


def _order_to_downloadable(
    settings: Settings,
    sessions: Any,
    event_id: str,
    kind: ReplayKind,
    start_s: float,
    end_s: float,
    feed_ids: list[str],
    options: dict[str, Any],
) -> float:
    began = time.perf_counter()
    with session_scope(sessions) as session:
        replay = replay_service.place_order(
            replay_service.ReplayOrder(
                event_id=event_id, kind=kind, start_s=start_s, end_s=end_s,
                feed_ids=feed_ids, options=dict(options),
            ),
            session=session, limits=settings.replays,
        )  # fmt: skip
        job_id = replay.job_id
    assert job_id is not None
    send_job(settings, JOB_TASKS["replay"], job_id)
    deadline = time.monotonic() + 600
    while True:
        with session_scope(sessions) as session:
            job = services.get_job(job_id, session=session)
            if job.status.finished:
                if job.status is not JobStatus.SUCCEEDED:
                    raise VantageError(f"replay job failed: {job.error}")
                return time.perf_counter() - began
        if time.monotonic() > deadline:
            raise ServiceUnavailable("replay job did not finish: is `vantage up` running?")
        time.sleep(0.02)


def _naive_angles(
    settings: Settings,
    sessions: Any,
    store: ObjectStore,
    ffmpeg: str,
    feed_ids: list[str],
    start_s: float,
    end_s: float,
) -> float:
    """The way without smart cut: every angle's range re-encoded in full, one after another,
    reading the same recordings through the same URLs."""
    with session_scope(sessions) as session:
        covered = [
            replay_service.coverage(
                services.get_feed(feed_id, session=session), start_s, end_s, session=session
            )
            for feed_id in feed_ids
        ]
    with tempfile.TemporaryDirectory(prefix="vantage-naive-") as scratch:

        def run() -> None:
            for index, found in enumerate(covered):
                pieces = [
                    Piece(store.presigned_get(key), begin, duration)
                    for key, begin, duration in found.pieces
                ]
                naive_cut(
                    ffmpeg, pieces, CutRequest(start_s, end_s), Path(scratch) / f"{index}.mp4"
                )

        return timed(run).wall_s
