"""``vantage bench``: benchmarks that print JSON."""

from __future__ import annotations

from typing import Annotated

import typer

from infra.bench import bench_source, ladder_benchmark
from infra.cli.common import friendly, print_json, settings
from transcode.ffmpeg import find_ffmpeg
from transcode.profiles import load_profile

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
    config = settings()
    ffmpeg = find_ffmpeg(config.media.ffmpeg)
    folder = config.home / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    source = bench_source(ffmpeg, folder, seconds)
    profile = load_profile(profile_name or config.media.profile, config.media.profiles_dir)
    task = None
    if with_task:
        from infra.cli.bench_task import ladder_task_runner

        task = ladder_task_runner(config, source)
    print_json(ladder_benchmark(source, ffmpeg=ffmpeg, profile=profile, repeat=repeat, task=task))


@app.command("live")
@friendly
def live(
    cameras: Annotated[int, typer.Option(min=1, max=16)] = 4,
    seconds: Annotated[float, typer.Option(min=10)] = 40.0,
    width: Annotated[int, typer.Option()] = 1920,
    height: Annotated[int, typer.Option()] = 1080,
) -> None:
    """Simulated cameras through the running stack: lag, time to playable, CPU, sync error."""
    from infra.bench_live import live_benchmark

    print_json(live_benchmark(settings(), cameras=cameras, seconds=seconds, size=(width, height)))
