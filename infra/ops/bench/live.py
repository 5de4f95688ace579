"""``vantage bench live``: simulated cameras pulled through the running stack, measured."""

from __future__ import annotations

import csv
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from catalog import services, states
from catalog.models import FeedState, Segment
from infra.core.database import make_engine, make_session_factory, session_scope
from infra.core.errors import ServiceUnavailable
from infra.core.settings import Settings
from infra.core.storage import ObjectStore
from infra.ops.simulator import Simulator
from ingest.clock_sync import picture_at, sync_event
from ingest.media.sync import measure_offset
from transcode import framecode
from transcode.ffmpeg import find_ffmpeg


def _percentiles(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"p50": None, "p95": None, "n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 3), "p95": round(p95, 3), "n": len(ordered)}


def _puller_cpu(feed_ids: list[str], seen: dict[int, float]) -> None:
    """Record the CPU seconds of every puller ffmpeg so far (pid -> user + system)."""
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if "segment_list" in cmdline and any(f in cmdline for f in feed_ids):
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            seen[proc.pid] = times.user + times.system


def live_benchmark(
    settings: Settings,
    *,
    cameras: int,
    seconds: float,
    size: tuple[int, int],
    network_delay_s: float = 0.0,
) -> dict[str, Any]:
    """Pull ``cameras`` simulated feeds for ``seconds`` through the stack's supervisor and live
    worker; report ingest lag, time to playable, CPU per feed and sync error."""
    ffmpeg = find_ffmpeg(settings.media.ffmpeg)
    sessions = make_session_factory(make_engine(settings.database_url))
    store = ObjectStore(settings.storage)
    sim = Simulator(
        ffmpeg, cameras=cameras, protocol="hls", folder=settings.home / "bench-simulator",
        base_port=settings.stack.simulator_port + 50, size=size, rate=Fraction(25),
        delays=[0.08 * i for i in range(cameras)], network_delays=[network_delay_s] * cameras,
    )  # fmt: skip
    sim.start()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    with session_scope(sessions) as session:
        event = services.create_event(f"bench live {stamp}", session=session)
        event_id = event.id
        feed_ids = []
        for cam in sim.cameras:
            feed = services.add_live_feed(event, cam.camera.name, cam.url, session=session)
            states.start_feed(feed)
            feed_ids.append(feed.id)
    cpu: dict[int, float] = {}
    started = time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            _puller_cpu(feed_ids, cpu)
            time.sleep(1.0)
        with session_scope(sessions) as session:
            seen = [services.get_feed(f, session=session).state for f in feed_ids]
        if FeedState.LIVE not in seen:
            raise ServiceUnavailable("no feed went live: is `vantage up` running the supervisor?")
    finally:
        with session_scope(sessions) as session:
            for feed_id in feed_ids:
                states.stop_feed(services.get_feed(feed_id, session=session))
        time.sleep(4)
        sim.stop()
    pulled_for = time.monotonic() - started
    time.sleep(6)  # let the live worker finish the last renditions
    wanted = {f"{h}p" for h in settings.live.variants if h <= min(size)}
    ingest_lag, playable, complete, total = [], [], 0, 0
    with session_scope(sessions) as session:
        rows = session.scalars(
            select(Segment)
            .where(Segment.feed_id.in_(feed_ids))
            .options(selectinload(Segment.renditions))
        ).all()
        for segment in rows:
            if segment.closed_at is None:
                continue
            total += 1
            closed = _aware(segment.closed_at)
            ingest_lag.append((_aware(segment.created_at) - closed).total_seconds())
            done = {r.variant: _aware(r.created_at) for r in segment.renditions}
            if wanted <= set(done):
                complete += 1
                playable.append((max(done[v] for v in wanted) - closed).total_seconds())
    placement = _placement_error(sessions, store, sim, event_id, feed_ids)
    sync = _sync_error(sessions, store, ffmpeg, event_id, feed_ids)
    return {
        "cameras": cameras,
        "network_delay_s": network_delay_s,
        "size": f"{size[0]}x{size[1]}",
        "seconds": round(pulled_for, 1),
        "segments": total,
        "ingest_lag_s": _percentiles(ingest_lag),
        "time_to_playable_s": _percentiles(playable),
        "renditions": sorted(wanted),
        "segments_with_all_renditions": f"{complete}/{total}",
        "puller_cpu_percent_per_feed": round(
            100 * sum(cpu.values()) / max(pulled_for, 1) / cameras, 2
        ),
        "placement_error_ms_before_sync": placement,
        "sync": sync,
        "caliscope": caliscope_offsets(ffmpeg),
    }


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _placement_error(
    sessions: Any, store: ObjectStore, sim: Simulator, event_id: str, feed_ids: list[str]
) -> dict[str, Any]:
    """How far from the simulator's truth (when each camera's encoder stamped the frame) the
    segments were placed, before any sync: for the clock source that placed them, and for what
    arrival (when the segment closed, less its length) would have said of the same segments."""
    delays = {cam.camera.name: cam.delay_s for cam in sim.cameras}
    by_source: dict[str, list[float]] = {}
    arrival: list[float] = []
    with session_scope(sessions) as session:
        clock_origin = services.get_event(event_id, session=session).clock_origin
        if clock_origin is None:
            return {"error": "nothing was recorded"}
        origin = _aware(clock_origin).timestamp()
        picks = []
        for feed_id in feed_ids:
            feed = services.get_feed(feed_id, session=session)
            asset = services.find_live_asset(feed_id, session=session)
            rows = services.recent_segments(asset.id, session=session) if asset else []
            for row in rows[1::3][:6]:
                picks.append((feed_id, feed.name, feed.clock_offset_s, row.clock_start_s,
                              row.duration_s, row.closed_at, row.clock_source))  # fmt: skip
    rate = float(sim.rate)
    with tempfile.TemporaryDirectory() as scratch:
        for feed_id, name, offset, start, length, closed_at, source in picks:
            at = start + 0.5
            code = framecode.read(picture_at(sessions, store, feed_id, at, Path(scratch)))
            if code is None:
                continue
            # The picture read at ``at`` is the segment's frame nearest that instant; the
            # placement says that frame began at ``placed``, its encoder stamped ``truth``.
            truth = sim.wall_of(code.frame, delays[name])
            placed = origin + start + round((at - start) * rate) / rate - offset
            by_source.setdefault(source, []).append(1000 * (placed - truth))
            if closed_at is not None:
                by_arrival = (
                    _aware(closed_at).timestamp() - length + (placed - origin - start + offset)
                )
                arrival.append(1000 * (by_arrival - truth))
    result: dict[str, Any] = {
        f"placed by {source}": _percentiles([abs(e) for e in errors])
        for source, errors in by_source.items()
    }
    result["what arrival would have said"] = _percentiles([abs(e) for e in arrival])
    result["goal_ms"] = 1000 / rate
    return result


def _sync_error(sessions: Any, store: ObjectStore, ffmpeg: str, event_id: str,
                feed_ids: list[str]) -> dict[str, Any]:  # fmt: skip
    """Sync the event, then compare the frame codes every camera shows at the same event times."""
    results = sync_event(event_id, sessions=sessions, store=store, ffmpeg=ffmpeg, window_s=12)
    with session_scope(sessions) as session:
        ends = []
        for feed_id in feed_ids:
            asset = services.find_live_asset(feed_id, session=session)
            last = (
                services.recent_segments(asset.id, session=session, limit=1)[0] if asset else None
            )
            if last is not None:
                ends.append(last.clock_start_s + last.duration_s)
    errors: list[int] = []
    with tempfile.TemporaryDirectory() as scratch:
        for back in (3.3, 5.7, 7.9):
            at = min(ends) - back
            codes = [framecode.read(picture_at(sessions, store, f, at, Path(scratch)))
                     for f in feed_ids]  # fmt: skip
            frames = [c.frame for c in codes if c is not None]
            errors += [abs(f - frames[0]) for f in frames[1:]]
    return {
        "method": sorted({r.method for r in results}),
        "corrections_s": {r.feed: r.correction_s for r in results},
        "frame_error_max": max(errors) if errors else None,
        "frame_error_mean": round(statistics.mean(errors), 3) if errors else None,
    }


CALISCOPE = Path(__file__).resolve().parents[4] / "shared" / "media" / "caliscope-4cam"


def caliscope_offsets(ffmpeg: str) -> dict[str, Any] | None:
    """Motion-based offsets on real cameras against the shared-clock capture times."""
    if not CALISCOPE.exists():
        return None
    times: dict[int, dict[int, float]] = {}
    with (CALISCOPE / "timestamps.csv").open() as handle:
        for row in csv.DictReader(handle):
            times.setdefault(int(row["cam_id"]), {})[int(row["sync_index"])] = float(
                row["frame_time"]
            )
    first = min(times[0])
    errors_ms = {}
    with tempfile.TemporaryDirectory() as scratch:
        for camera in (1, 2, 3):
            for cut in (0, 3, 6, 9):
                source = clip = CALISCOPE / f"cam_{camera}.mp4"
                if cut:
                    clip = Path(scratch) / f"cam{camera}-{cut}.mp4"
                    subprocess.run(
                        [ffmpeg, "-nostdin", "-loglevel", "error", "-i", str(source),
                         "-vf", f"select=gte(n\\,{cut}),setpts=PTS-STARTPTS", "-c:v", "libx264",
                         "-preset", "ultrafast", str(clip)],
                        check=True,
                    )  # fmt: skip
                truth = times[camera][first + cut] - times[0][first]
                estimate = measure_offset(ffmpeg, CALISCOPE / "cam_0.mp4", clip)
                errors_ms[f"cam{camera}-cut{cut}"] = round((estimate.offset_s - truth) * 1000, 1)
    values = [abs(v) for v in errors_ms.values()]
    return {
        "method": "motion",
        "error_ms": errors_ms,
        "max_abs_error_ms": max(values),
        "within_one_frame": sum(v < 1000 / 6 for v in values) / len(values),
    }
