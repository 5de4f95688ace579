"""A chunked ladder spread over 1, 2, 4 ... worker processes against the single-process job and
the plain ffmpeg command, and the time to publish a long file on the stack's own workers."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from catalog import services
from catalog.models import JobStatus, utcnow
from infra.core.database import make_engine, make_session_factory, session_scope
from infra.core.errors import VantageError
from infra.core.settings import Settings
from infra.core.storage import ObjectStore
from infra.ops.bench.figures import (
    Say,
    compare_frames,
    median,
    ratio,
    scaling,
    source_summary,
    timed,
)
from infra.ops.bench.media import FULL_HD, bench_clip, frame_times
from infra.ops.bench.workers import (
    BENCH_BROKER_DB,
    JobWaiter,
    _aware,
    _Bench,
    _flush,
    _stamp,
    private_settings,
    require_stack,
)
from ingest.files import FeedFile, ingest_files
from transcode.ffmpeg import find_ffmpeg
from transcode.ladder import cmaf_args, plan_from_profile
from transcode.poster import poster_time
from transcode.probe import probe
from transcode.profiles import load_profile


def chunked_benchmark(
    settings: Settings,
    *,
    seconds: float,
    workers: Sequence[int],
    chunk_seconds: float,
    repeat: int = 1,
    size: tuple[int, int] = FULL_HD,
    broker_db: int = BENCH_BROKER_DB,
    wait: JobWaiter,
    say: Say = lambda _line: None,
) -> dict[str, Any]:
    """Time one asset's ladder on the stack's catalog and store: chunked on 1, 2, 4 ... worker
    processes, as one process on one worker, and as the plain ffmpeg command; then check that the
    stitched top rung has the same frames at the same times as the single-process one."""
    private = private_settings(settings, db=broker_db, chunk_seconds=chunk_seconds)
    counts = sorted({1, *workers})
    require_stack(settings)
    ffmpeg = find_ffmpeg(settings.media.ffmpeg)
    folder = settings.home / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    say(f"rendering the {size[0]}x{size[1]} 50 fps source ({seconds:g} s)")
    source = bench_clip(ffmpeg, folder, seconds, size)
    info = probe(source)
    profile = load_profile(settings.media.profile, settings.media.profiles_dir)
    plan = plan_from_profile(info, profile)
    event_name = f"bench chunked {_stamp()}"
    bench = _Bench(settings, private, wait)
    plain_s: list[float] = []
    single_s: list[float] = []
    chunked_s: dict[int, list[float]] = {n: [] for n in counts}
    chunks: dict[int, int | None] = {}
    _flush(private)
    try:
        say(f"ingesting into {event_name!r}")
        bench.ingest(source, event_name)
        with tempfile.TemporaryDirectory(prefix="vantage-bench-") as scratch:
            root = Path(scratch)

            def plain() -> None:
                out = root / "plain"
                out.mkdir(parents=True, exist_ok=True)
                poster = (out / "poster.jpg", poster_time(info.duration_s))
                args = cmaf_args(source, out, plan, poster=poster)
                subprocess.run([ffmpeg, *args], check=True)

            single_times: list[Fraction] = []
            stitched_times: list[Fraction] = []
            for attempt in range(repeat):
                say(f"run {attempt + 1}/{repeat}: plain ffmpeg")
                plain_s.append(timed(plain).wall_s)
                say(f"run {attempt + 1}/{repeat}: single-process job on a 1-process worker")
                single_s.append(bench.ladder(chunked=False, workers=1)[0])
                if not single_times:
                    say("decoding the single-process top rung")
                    single_times = frame_times(bench.top_rendition(root / "single.mp4"))
                for count in counts:
                    say(f"run {attempt + 1}/{repeat}: chunked job on a {count}-process worker")
                    wall, chunks[count] = bench.ladder(chunked=True, workers=count)
                    chunked_s[count].append(wall)
            say("decoding the stitched top rung")
            stitched_times = frame_times(bench.top_rendition(root / "stitched.mp4"))
    finally:
        bench.close()
        _flush(private)
    plain_wall, single_wall = median(plain_s), median(single_s)
    chunked_wall = {n: median(walls) for n, walls in chunked_s.items()}
    rows = scaling(chunked_wall, chunks, single_wall)
    return {
        "source": source_summary(info),
        "profile": profile.name,
        "rungs": [r.name for r in plan.rungs],
        "chunk_seconds": chunk_seconds,
        "cpu_count": os.cpu_count(),
        "repeat": repeat,
        "event": event_name,
        "wall_s": {
            "plain_ffmpeg": round(plain_wall, 3),
            "single_process_job": round(single_wall, 3),
            "chunked_job": {str(n): round(w, 3) for n, w in chunked_wall.items()},
        },
        "single_process_overhead_vs_plain_ffmpeg": _overhead(single_wall, plain_wall),
        "chunked_1_worker_overhead_vs_single_process": _overhead(chunked_wall[1], single_wall),
        "scaling": rows,
        "correctness": {
            "rendition": plan.rungs[0].name if plan.rungs else None,
            **compare_frames(stitched_times, single_times),
        },
    }


def _overhead(wall: float, reference: float) -> float | None:
    found = ratio(wall, reference, 4)
    return None if found is None else round(found - 1, 4)


def publish_benchmark(
    settings: Settings,
    *,
    minutes: float,
    size: tuple[int, int] = FULL_HD,
    wait: JobWaiter,
    say: Say = lambda _line: None,
) -> dict[str, Any]:
    """From the start of an ingest of an ``minutes``-long file to its ladder job succeeding on
    the stack's own workers, with the path the ladder took (chunked or one process)."""
    require_stack(settings, workers=True)
    ffmpeg = find_ffmpeg(settings.media.ffmpeg)
    folder = settings.home / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    say(f"rendering the {size[0]}x{size[1]} 50 fps source ({minutes:g} min, not timed)")
    source = bench_clip(ffmpeg, folder, minutes * 60, size)
    info = probe(source)
    assert info.video is not None
    sessions = make_session_factory(make_engine(settings.database_url))
    event_name = f"bench publish {_stamp()}"
    with session_scope(sessions) as session:
        event_id = services.create_event(event_name, session=session).id
    say(f"ingesting into {event_name!r}")
    started = utcnow()
    [outcome] = ingest_files(
        event_id,
        [FeedFile("bench", source)],
        settings=settings,
        sessions=sessions,
        store=ObjectStore(settings.storage),
    )
    ingested = utcnow()
    if not outcome.ok or outcome.ladder_job_id is None:
        raise VantageError(f"bench ingest failed: {outcome.error}")
    ok = wait(sessions, [outcome.ladder_job_id])
    with session_scope(sessions) as session:
        job = services.get_job(outcome.ladder_job_id, session=session)
        if not ok or job.status is not JobStatus.SUCCEEDED or job.finished_at is None:
            raise VantageError(f"the ladder job ended {job.status.value}: {job.error}")
        finished = _aware(job.finished_at)
        output = dict(job.output or {})
    chunk_frames = output.get("chunk_frames") or []
    total = (finished - started).total_seconds()
    return {
        "source": source_summary(info),
        "event": event_name,
        "ladder_path": "chunked" if "chunks" in output else "single_process",
        "chunks": output.get("chunks"),
        "chunk_lengths_s": sorted(
            {
                round(float(Fraction(end - first) / info.video.frame_rate), 3)
                for first, end in chunk_frames
            }
        ),
        "competing_jobs": sorted(k for k in outcome.follow_up if k != "ladder"),
        "cpu_count": os.cpu_count(),
        "ingest_s": round((ingested - started).total_seconds(), 3),
        "ladder_s": round((finished - ingested).total_seconds(), 3),
        "time_to_publish_s": round(total, 3),
        "time_to_publish_vs_duration": ratio(total, info.duration_s),
    }
