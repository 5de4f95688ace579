"""``vantage bench``: benchmarks that print JSON."""

from __future__ import annotations

from typing import Annotated

import typer

from infra.ops.cli.common import err_console, friendly, print_json, settings

app = typer.Typer(no_args_is_help=True, help="Benchmarks, printed as JSON.")


@app.command("ladder")
@friendly
def ladder(
    seconds: Annotated[float, typer.Option(min=1)] = 10.0,
    repeat: Annotated[int, typer.Option(min=1)] = 1,
    with_task: Annotated[
        bool, typer.Option("--task/--no-task", help="Also time the whole job (S3 + catalog).")
    ] = False,
    profile_name: Annotated[
        str | None, typer.Option("--profile", help="Encoding profile (default: configured).")
    ] = None,
) -> None:
    """Single-decode ladder vs the plain ffmpeg command vs one ffmpeg process per rung."""
    from infra.ops.bench.ladder import ladder_benchmark
    from infra.ops.bench.media import bench_source
    from transcode.ffmpeg import find_ffmpeg
    from transcode.profiles import load_profile

    config = settings()
    ffmpeg = find_ffmpeg(config.media.ffmpeg)
    folder = config.home / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    source = bench_source(ffmpeg, folder, seconds)
    profile = load_profile(profile_name or config.media.profile, config.media.profiles_dir)
    task = None
    if with_task:
        from infra.ops.cli.bench_task import ladder_task_runner

        task = ladder_task_runner(config, source)
    print_json(ladder_benchmark(source, ffmpeg=ffmpeg, profile=profile, repeat=repeat, task=task))


@app.command("live")
@friendly
def live(
    cameras: Annotated[int, typer.Option(min=1, max=16)] = 4,
    seconds: Annotated[float, typer.Option(min=10)] = 40.0,
    width: Annotated[int, typer.Option()] = 1920,
    height: Annotated[int, typer.Option()] = 1080,
    network_delay: Annotated[
        float,
        typer.Option(min=0, help="Seconds each camera's segments take to reach the puller."),
    ] = 0.0,
) -> None:
    """Simulated cameras through the running stack: lag, time to playable, CPU, placement
    error against the simulator's truth before any sync, and sync error."""
    from infra.ops.bench.live import live_benchmark

    result = live_benchmark(
        settings(),
        cameras=cameras,
        seconds=seconds,
        size=(width, height),
        network_delay_s=network_delay,
    )
    print_json(result)


def _say(line: str) -> None:
    err_console.print(line, style="dim", highlight=False)


@app.command("chunked")
@friendly
def chunked(
    seconds: Annotated[float, typer.Option(min=2, help="Length of the source.")] = 60.0,
    workers: Annotated[
        str, typer.Option(help="Worker process counts to time, e.g. 1,2,4 (1 always is).")
    ] = "1,2,4",
    chunk_seconds: Annotated[
        float, typer.Option(min=1.01, help="Chunk length the benchmark's workers use.")
    ] = 10.0,
    repeat: Annotated[int, typer.Option(min=1)] = 1,
    size: Annotated[str, typer.Option(help="Source size (50 fps), e.g. 1280x720.")] = "1920x1080",
    publish_minutes: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help="Instead: time to publish a file this many minutes long (ingest to ladder "
            "done) on the stack's own workers.",
        ),
    ] = None,
    broker_db: Annotated[
        int, typer.Option(min=1, max=15, help="Redis database of the benchmark's own workers.")
    ] = 14,
) -> None:
    """Chunked ladder on 1, 2, 4 ... worker processes vs the single-process job vs plain ffmpeg,
    with a frame-by-frame check of the stitched rendition (needs `vantage up`)."""
    from infra.ops.bench.chunked import chunked_benchmark, publish_benchmark
    from infra.ops.bench.figures import parse_counts, parse_size
    from infra.ops.cli.progress import wait_for_jobs

    config = settings()
    dimensions = parse_size(size)
    if publish_minutes is not None:
        result = publish_benchmark(
            config, minutes=publish_minutes, size=dimensions, wait=wait_for_jobs, say=_say
        )
    else:
        result = chunked_benchmark(
            config,
            seconds=seconds,
            workers=parse_counts(workers),
            chunk_seconds=chunk_seconds,
            repeat=repeat,
            size=dimensions,
            broker_db=broker_db,
            wait=wait_for_jobs,
            say=_say,
        )
    print_json(result)


@app.command("quality")
@friendly
def quality(
    seconds: Annotated[float, typer.Option(min=1)] = 10.0,
    profile_name: Annotated[
        str | None, typer.Option("--profile", help="Encoding profile (default: configured).")
    ] = None,
    subsample: Annotated[int, typer.Option(min=1, help="Score every n-th frame.")] = 1,
    size: Annotated[str, typer.Option(help="Source size (50 fps), e.g. 1280x720.")] = "1920x1080",
) -> None:
    """VMAF (mean, harmonic mean, min, 5th percentile) and measured bandwidth of every rung."""
    from infra.ops.bench.figures import parse_size
    from infra.ops.bench.media import bench_clip
    from infra.ops.bench.quality import quality_benchmark
    from transcode.ffmpeg import find_ffmpeg
    from transcode.profiles import load_profile

    config = settings()
    ffmpeg = find_ffmpeg(config.media.ffmpeg)
    folder = config.home / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    source = bench_clip(ffmpeg, folder, seconds, parse_size(size))
    profile = load_profile(profile_name or config.media.profile, config.media.profiles_dir)
    print_json(
        quality_benchmark(source, ffmpeg=ffmpeg, profile=profile, subsample=subsample, say=_say)
    )


@app.command("replay")
@friendly
def replay(
    cameras: Annotated[int, typer.Option(min=2, max=9, help="Cameras around the pitch.")] = 8,
    seconds: Annotated[float, typer.Option(min=16, help="Length of each recording.")] = 20.0,
    size: Annotated[str, typer.Option(help="Camera picture size (25 fps).")] = "1280x720",
    repeat: Annotated[int, typer.Option(min=1, help="Orders per kind of replay.")] = 5,
) -> None:
    """Order to downloadable on the running stack (p50/p95): 10 s from 4 angles, a 2x2 mosaic
    of 10 s and a sweep across every camera, against a full re-encode of each angle."""
    from infra.ops.bench.figures import parse_size
    from infra.ops.bench.replay import replay_benchmark

    print_json(
        replay_benchmark(
            settings(), cameras=cameras, seconds=seconds, size=parse_size(size), repeat=repeat,
            progress=_say,
        )
    )  # fmt: skip


@app.command("ui")
@friendly
def ui(
    repeat: Annotated[int, typer.Option(min=1, help="Searches to first frame.")] = 5,
    play_seconds: Annotated[float, typer.Option(min=2, help="Seconds of playback.")] = 10.0,
) -> None:
    """What an editor feels, in Chromium on the running stack: search to first frame on every
    angle, the angles' sync error in frames while playing and after frame steps, and order to
    the result playing."""
    from infra.ops.bench.ui import ui_benchmark
    from infra.ops.cli.progress import wait_for_jobs

    print_json(
        ui_benchmark(
            settings(), repeat=repeat, play_s=play_seconds, wait=wait_for_jobs, progress=_say
        )
    )


@app.command("api")
@friendly
def catalog_api(
    quick: Annotated[
        bool, typer.Option("--quick", help="A small catalog (2,000 recordings, 5 broadcasters).")
    ] = False,
    assets: Annotated[int | None, typer.Option(min=1, help="Recordings to seed.")] = None,
    broadcasters: Annotated[
        int | None, typer.Option(min=1, help="Broadcasters, with mixed rights.")
    ] = None,
    markers: Annotated[
        int | None, typer.Option(min=0, help="Markers (default: one per 5 recordings).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random catalog.")] = 7,
    repeat: Annotated[
        int | None, typer.Option(min=1, help="Queries per measurement (default 200; 20 quick).")
    ] = None,
    http_seconds: Annotated[
        float | None,
        typer.Option(
            min=0, help="Seconds of HTTP reads per key kind; 0: none (default 5; 1 quick)."
        ),
    ] = None,
    http_clients: Annotated[int, typer.Option(min=1, max=64, help="Client threads.")] = 4,
    database_url: Annotated[
        str | None,
        typer.Option(help="A PostgreSQL server to run on, in a new schema of its own."),
    ] = None,
    both: Annotated[
        bool, typer.Option("--both", help="SQLite, then the PostgreSQL of --database-url.")
    ] = False,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the seeded database (file or schema).")
    ] = False,
) -> None:
    """The rights-aware catalog at scale: search, list and read p50/p95 under broadcasters'
    rights and as staff, and asset reads per second per core over HTTP (a fresh database)."""
    from infra.ops.bench.api import api_benchmark, scale_for

    scale = scale_for(quick=quick, assets=assets, broadcasters=broadcasters, markers=markers)
    print_json(
        api_benchmark(
            settings(), scale=scale, seed=seed, repeat=repeat or (20 if quick else 200),
            http_seconds=(1.0 if quick else 5.0) if http_seconds is None else http_seconds,
            http_clients=http_clients, database_url=database_url, both=both, keep=keep, say=_say,
        )
    )  # fmt: skip
