"""Transcode benchmarks: a chunked ladder spread over 1, 2, 4 ... worker processes against the
single-process job and the plain ffmpeg command, the time to publish a long file on the stack's
own workers, and the VMAF of every rung of a profile.

Speed is always a ratio of runs measured side by side, in one run, on the same input.

The chunked benchmark starts its own Celery workers on a Redis database of the stack's broker
that nothing else uses, so the stack's workers never take its work; the catalog and the bucket
are the stack's. That database is emptied when the benchmark ends.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import av
from sqlalchemy.orm import Session, sessionmaker

from catalog import services
from catalog.models import JobKind, JobStatus, utcnow
from infra.core.database import make_engine, make_session_factory, session_scope
from infra.core.errors import BadRequest, ServiceUnavailable, VantageError
from infra.core.queue import JOB_TASKS, make_celery, send_job, worker_queues
from infra.core.settings import Settings
from infra.core.storage import ObjectStore
from infra.ops.bench.ladder import bench_source, timed
from infra.ops.doctor import check_broker, check_database, check_storage
from ingest.files import FeedFile, ingest_files
from transcode.errors import MediaError
from transcode.ffmpeg import find_ffmpeg
from transcode.ladder import Rung, cmaf_args, plan_from_profile, transcode_ladder
from transcode.manifests import Track
from transcode.packaging import describe_track
from transcode.poster import poster_time
from transcode.probe import MediaInfo, probe
from transcode.profiles import Profile, load_profile
from transcode.quality import VmafScore, vmaf
from transcode.synthetic import SyntheticCamera, render_camera

BENCH_BROKER_DB = 14
"""The Redis database of the stack's broker that the benchmark's own workers consume."""
FULL_HD = (1920, 1080)
_MAX_WORKERS = 64

JobWaiter = Callable[[sessionmaker[Session], list[str]], bool]
"""Waits for catalog jobs (showing progress); True when all succeeded."""
Say = Callable[[str], None]
"""Where the benchmark says what it is doing, a line at a time."""


# -- pure parts ----------------------------------------------------------------------------------


def parse_counts(text: str) -> list[int]:
    """Worker process counts from ``"1,2,4"``: ascending, without repeats, and always with 1,
    the reference every speedup is measured against."""
    counts = {1}
    for part in text.split(","):
        item = part.strip()
        if not item:
            continue
        if not item.isdigit() or not 1 <= int(item) <= _MAX_WORKERS:
            raise BadRequest(
                f"worker counts are whole numbers from 1 to {_MAX_WORKERS}, "
                f"like 1,2,4 (got {text!r})"
            )
        counts.add(int(item))
    return sorted(counts)


def parse_size(text: str) -> tuple[int, int]:
    """``"1280x720"`` as (width, height); both even, as 4:2:0 video needs."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match:
        raise BadRequest(f"a size is WIDTHxHEIGHT, like 1280x720 (got {text!r})")
    width, height = int(match[1]), int(match[2])
    if not (64 <= width <= 7680 and 64 <= height <= 4320) or width % 2 or height % 2:
        raise BadRequest(f"{text}: width and height must be even, from 64x64 to 7680x4320")
    return width, height


def ratio(numerator: float, denominator: float, digits: int = 3) -> float | None:
    """``numerator / denominator`` rounded, or ``None`` when there is nothing to divide by."""
    if denominator <= 0:
        return None
    return round(numerator / denominator, digits)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def scaling(
    chunked_s: Mapping[int, float], chunks: Mapping[int, int | None], single_s: float
) -> list[dict[str, Any]]:
    """One row per worker count: its wall time, its speedup over one worker (both chunked) and
    over the single-process job, and its parallel efficiency (speedup over one worker / N)."""
    if 1 not in chunked_s:
        raise ValueError("the one-worker run is the reference and must be there")
    reference = chunked_s[1]
    rows = []
    for count in sorted(chunked_s):
        wall = chunked_s[count]
        speedup = ratio(reference, wall)
        rows.append(
            {
                "workers": count,
                "wall_s": round(wall, 3),
                "speedup_vs_1_worker": speedup,
                "speedup_vs_single_process": ratio(single_s, wall),
                "parallel_efficiency": None if speedup is None else round(speedup / count, 3),
                "chunks": chunks.get(count),
            }
        )
    return rows


def compare_frames(stitched: Sequence[Fraction], single: Sequence[Fraction]) -> dict[str, Any]:
    """Whether two renditions show the same frames at the same times (presentation times in
    seconds, in decode output order); where they first differ when they do not."""
    first = next(
        (i for i, (a, b) in enumerate(zip(stitched, single, strict=False)) if a != b), None
    )
    if first is None and len(stitched) != len(single):
        first = min(len(stitched), len(single))
    steps = sorted({round(float(b - a), 6) for a, b in itertools.pairwise(stitched)})
    result: dict[str, Any] = {
        "frames": {"stitched": len(stitched), "single_process": len(single)},
        "identical_frames_and_timestamps": first is None,
        "stitched_frame_steps_s": steps[:5],
    }
    if first is not None:
        result["first_difference"] = {
            "frame": first,
            "stitched_s": float(stitched[first]) if first < len(stitched) else None,
            "single_process_s": float(single[first]) if first < len(single) else None,
        }
    return result


def media_playlist_uris(text: str) -> tuple[str, list[str]]:
    """The init segment and the media segments a CMAF media playlist names, in order."""
    init = None
    segments = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#EXT-X-MAP:"):
            found = re.search(r'URI="([^"]+)"', line)
            init = found[1] if found else None
        elif line and not line.startswith("#"):
            segments.append(line)
    if init is None or not segments:
        raise MediaError("not a CMAF media playlist: no init segment or no media segments")
    return init, segments


def private_settings(settings: Settings, *, db: int, chunk_seconds: float) -> Settings:
    """The same catalog and store, with another database of the same Redis as broker and
    result backend, and chunks of ``chunk_seconds``."""
    if chunk_seconds <= 1:
        raise BadRequest("chunks must be longer than 1 s")
    url = urlsplit(settings.broker.url)
    if url.scheme not in ("redis", "rediss"):
        raise BadRequest(
            "bench chunked needs a Redis broker: its workers take a Redis database of their own"
        )
    if (url.path.strip("/") or "0") == str(db):
        raise BadRequest(f"the broker already uses Redis database {db}; pick another one")
    private_url = urlunsplit(url._replace(path=f"/{db}"))
    broker = settings.broker.model_copy(update={"url": private_url, "result_backend": private_url})
    media = settings.media.model_copy(update={"chunk_seconds": chunk_seconds})
    return settings.model_copy(update={"broker": broker, "media": media})


def settings_env(settings: Settings, inherited: Mapping[str, str]) -> dict[str, str]:
    """The environment that gives a child process exactly ``settings``: ``inherited`` without
    its ``VANTAGE_*`` variables, then every setting that is not ``None``."""
    env = {k: v for k, v in inherited.items() if not k.upper().startswith("VANTAGE_")}
    for name, value in settings.model_dump(mode="json").items():
        if isinstance(value, dict):
            for field, inner in value.items():
                if inner is not None:
                    env[f"VANTAGE_{name.upper()}__{field.upper()}"] = _env_text(inner)
        elif value is not None:
            env[f"VANTAGE_{name.upper()}"] = _env_text(value)
    return env


def _env_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def quality_row(rung: Rung, track: Track, score: VmafScore) -> dict[str, Any]:
    """One rung of the quality report: what it is, the bits it takes (video only, measured from
    its segments) and its VMAF against the source."""
    return {
        "name": rung.name,
        "size": f"{track.init.width}x{track.init.height}",
        "codec": rung.codec,
        "codecs": track.init.codec,
        "target_kbps": rung.video_kbps,
        "average_bandwidth_bps": track.average_bandwidth,
        "peak_bandwidth_bps": track.peak_bandwidth,
        "vmaf": {
            "mean": round(score.mean, 3),
            "harmonic_mean": round(score.harmonic_mean, 3),
            "min": round(score.min, 3),
            "p5": round(score.p5, 3),
        },
        "frames": score.frames,
    }


def source_summary(info: MediaInfo) -> dict[str, Any]:
    assert info.video is not None
    width, height = info.video.display_size
    return {
        "path": info.path.name,
        "size": f"{width}x{height}",
        "frame_rate": str(info.video.frame_rate),
        "duration_s": round(info.duration_s, 3),
    }


# -- media helpers -------------------------------------------------------------------------------


def bench_clip(ffmpeg: str, folder: Path, seconds: float, size: tuple[int, int]) -> Path:
    """A 50 fps source with audio of ``size``, rendered once per folder (1080p is the ladder
    benchmark's own source)."""
    if size == FULL_HD:
        return bench_source(ffmpeg, folder, seconds)
    width, height = size
    out = folder / f"bench-{width}x{height}p50-{seconds:g}s.mp4"
    if not out.exists():
        camera = SyntheticCamera(
            name="bench",
            index=0,
            duration_s=seconds,
            width=width,
            height=height,
            frame_rate=Fraction(50),
            preset="veryfast",
            bitrate_kbps=max(1000, 12000 * width * height // (1920 * 1080)),
        )
        render_camera(ffmpeg, camera, out)
    return out


def join_segments(parts: Sequence[bytes], out: Path) -> Path:
    """An init segment followed by its media segments: one fragmented MP4 file."""
    with out.open("wb") as handle:
        for part in parts:
            handle.write(part)
    return out


def frame_times(path: Path) -> list[Fraction]:
    """Presentation time (s) of every decoded video frame, in the order the decoder gives them."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if stream.time_base is None:
            raise MediaError(f"{path.name}: its video stream has no time base")
        base = Fraction(stream.time_base)
        times = []
        for frame in container.decode(stream):
            if frame.pts is None:
                raise MediaError(f"{path.name}: a decoded frame has no timestamp")
            times.append(frame.pts * base)
        return times


def fetch_rendition(store: ObjectStore, playlist_key: str, out: Path) -> Path:
    """Download a rendition (its media playlist's init and segments) as one MP4 file."""
    folder = playlist_key.rsplit("/", 1)[0] + "/"
    init, segments = media_playlist_uris(store.get_bytes(playlist_key).decode())
    return join_segments([store.get_bytes(folder + uri) for uri in (init, *segments)], out)


# -- the stack -----------------------------------------------------------------------------------


def require_stack(settings: Settings, *, workers: bool = False) -> None:
    """Raise, saying to run ``vantage up``, unless the store, broker and catalog answer (and,
    with ``workers``, a worker consumes the ``vod`` queue)."""
    for check in (check_storage(settings), check_broker(settings)):
        if not check.ok:
            raise ServiceUnavailable(
                f"the stack is not running ({check.name}: {check.detail}). Start it with "
                "`vantage up` (with the same VANTAGE_* settings), then run this again"
            )
    catalog = check_database(settings)
    if not catalog.ok:
        raise ServiceUnavailable(
            f"the catalog is not ready ({catalog.name}: {catalog.detail}): {catalog.fix}, "
            "then run this again"
        )
    if workers and not _vod_workers(settings):
        raise ServiceUnavailable(
            "no worker consumes the vod queue: start the stack with `vantage up` "
            "(or run `vantage worker`), then run this again"
        )


def _vod_workers(settings: Settings) -> list[str]:
    app = make_celery(settings, "vantage-bench")
    try:
        queues = app.control.inspect(timeout=2.0).active_queues() or {}
    finally:
        app.close()
    return [name for name, found in queues.items() if any(q["name"] == "vod" for q in found)]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


@contextmanager
def bench_worker(
    settings: Settings, concurrency: int, log: Path, *, ready_s: float = 120
) -> Iterator[None]:
    """A Celery worker of ``concurrency`` prefork processes on the ``vod`` queue of
    ``settings``' broker, in its own process group, stopped (the whole group) on exit."""
    name = f"bench-c{concurrency}-{os.getpid()}"
    queues = worker_queues(settings, "vod")
    argv = [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-Q", queues]
    argv += ["-c", str(concurrency), "-P", "prefork", "-n", f"{name}@%h"]
    argv += ["--without-gossip", "--without-mingle", "--loglevel", "INFO"]
    app = make_celery(settings, "vantage-bench")
    try:
        others = _answering(app)
        if others:
            raise ServiceUnavailable(
                f"another worker ({', '.join(others)}) consumes the benchmark's broker database "
                f"({settings.broker.url.rsplit('/', 1)[-1]}); stop it or choose another one"
            )
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as handle:
            proc = subprocess.Popen(
                argv,
                env=settings_env(settings, os.environ),
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + ready_s
            while not any(n.startswith(name + "@") for n in _answering(app)):
                if proc.poll() is not None:
                    raise ServiceUnavailable(f"the benchmark's worker exited; see {log}")
                if time.monotonic() > deadline:
                    raise ServiceUnavailable(f"the benchmark's worker never got ready; see {log}")
            yield
        finally:
            _stop_group(proc)
    finally:
        app.close()


def _answering(app: Any) -> list[str]:
    replies = app.control.ping(timeout=1.0) or []
    return [name for reply in replies for name in reply]


def _stop_group(proc: subprocess.Popen[bytes], grace_s: float = 30) -> None:
    """Stop a process group this module started: TERM, then KILL after ``grace_s``."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _flush(settings: Settings) -> None:
    import redis

    client = redis.Redis.from_url(settings.broker.url)
    try:
        client.flushdb()
    finally:
        client.close()


# -- chunked ladder against the single-process job -----------------------------------------------


class _Bench:
    """What the runs of one chunked benchmark share: the asset, the catalog, the store."""

    def __init__(self, settings: Settings, private: Settings, wait: JobWaiter) -> None:
        self.settings = settings
        self.private = private
        self.wait = wait
        self.sessions = make_session_factory(make_engine(settings.database_url))
        self.store = ObjectStore(settings.storage)
        self.event_id = ""
        self.asset_id = ""
        self.jobs: list[str] = []

    def ingest(self, source: Path, event_name: str) -> None:
        with session_scope(self.sessions) as session:
            self.event_id = services.create_event(event_name, session=session).id
        [outcome] = ingest_files(
            self.event_id,
            [FeedFile("bench", source)],
            settings=self.settings,
            sessions=self.sessions,
            store=self.store,
            enqueue=False,
        )
        if not outcome.ok or outcome.asset_id is None:
            raise VantageError(f"bench ingest failed: {outcome.error}")
        self.asset_id = outcome.asset_id

    def ladder(self, *, chunked: bool, workers: int) -> tuple[float, int | None]:
        """Create a ladder job, run it on a fresh worker of ``workers`` processes and return
        its wall time (sent to finished) and its chunks."""
        with session_scope(self.sessions) as session:
            asset = services.get_asset(self.asset_id, session=session)
            job_id = services.create_job(
                JobKind.LADDER,
                session=session,
                event_id=asset.event_id,
                feed_id=asset.feed_id,
                asset_id=asset.id,
                subject=f"{'chunked' if chunked else 'single'} -c {workers}",
                max_attempts=1,  # a retried job would not be timed fairly: fail instead
                options={"chunked": chunked},
            ).id
        self.jobs.append(job_id)
        log = self.settings.home / "log" / f"bench-worker-c{workers}.log"
        with bench_worker(self.private, workers, log):
            sent = utcnow()
            send_job(self.private, JOB_TASKS["ladder"], job_id)
            ok = self.wait(self.sessions, [job_id])
        with session_scope(self.sessions) as session:
            job = services.get_job(job_id, session=session)
            if not ok or job.finished_at is None:
                raise VantageError(f"ladder job {job_id} ended {job.status.value}: {job.error}")
            chunks = (job.output or {}).get("chunks")
            return (_aware(job.finished_at) - sent).total_seconds(), chunks

    def top_rendition(self, out: Path) -> Path:
        with session_scope(self.sessions) as session:
            asset = services.get_asset(self.asset_id, session=session)
            videos = [r for r in asset.renditions if r.kind == "video"]
            key = max(videos, key=lambda r: r.height or 0).playlist_key
        return fetch_rendition(self.store, key, out)

    def close(self) -> None:
        """Fail the benchmark's jobs that never finished (a worker stopped mid-job), so the
        stack's reconciler does not run them again on the stack's workers."""
        with session_scope(self.sessions) as session:
            for job_id in self.jobs:
                job = services.get_job(job_id, session=session)
                if not job.status.finished:
                    services.finish_job(job, session=session, error="the benchmark stopped")


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


# -- time to publish -----------------------------------------------------------------------------


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


# -- quality -------------------------------------------------------------------------------------


def quality_benchmark(
    source: Path,
    *,
    ffmpeg: str | None = None,
    profile: Profile | None = None,
    subsample: int = 1,
    say: Say = lambda _line: None,
) -> dict[str, Any]:
    """Encode ``source`` with the profile's ladder, then score every video rung with VMAF against
    the source and measure the bits it takes."""
    binary = ffmpeg or find_ffmpeg()
    chosen = profile or load_profile("broadcast")
    if chosen.packaging.segments != "cmaf":
        raise BadRequest(f"bench quality measures CMAF ladders; {chosen.name} packages MPEG-TS")
    info = probe(source)
    assert info.video is not None
    width, height = info.video.display_size
    plan = plan_from_profile(info, chosen)
    rows = []
    with tempfile.TemporaryDirectory(prefix="vantage-quality-") as scratch:
        root = Path(scratch)
        say(f"encoding the {chosen.name} ladder")
        ladder = transcode_ladder(binary, source, info, root / "ladder", plan)
        for rung, output in zip(plan.rungs, ladder.videos, strict=True):
            say(f"scoring {rung.name}")
            rendition = join_segments(
                [p.read_bytes() for p in (output.init, *output.segments)],
                root / f"{rung.name}.mp4",
            )
            score = vmaf(
                binary,
                source,
                rendition,
                width=width,
                height=height,
                frame_rate=info.video.frame_rate,
                n_subsample=subsample,
            )
            rows.append(quality_row(rung, describe_track(output), score))
        audio = describe_track(ladder.audio) if ladder.audio else None
    return {
        "source": source_summary(info),
        "profile": chosen.name,
        "subsample": subsample,
        "rungs": rows,
        "audio": None
        if audio is None
        else {
            "codecs": audio.init.codec,
            "average_bandwidth_bps": audio.average_bandwidth,
            "peak_bandwidth_bps": audio.peak_bandwidth,
        },
    }
