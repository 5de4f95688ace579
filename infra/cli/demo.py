"""The demo: a synthetic multi-camera event, ingested and laddered on the embedded stack."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from catalog import services
from infra.cli.common import console, sessions, store
from infra.cli.progress import wait_for_jobs
from infra.database import session_scope
from infra.errors import VantageError
from infra.settings import Settings
from ingest.files import FeedFile, ingest_files
from transcode.ffmpeg import find_ffmpeg
from transcode.synthetic import SyntheticCamera, render_camera


def run_demo(settings: Settings, *, cameras: int, seconds: float) -> None:
    ffmpeg = find_ffmpeg(settings.media.ffmpeg)
    folder = settings.home / "demo"
    start = datetime(2026, 8, 9, 19, 30, tzinfo=UTC)
    files = []
    console.print(f"rendering {cameras} synthetic cameras ({seconds:g} s, 720p25, with audio)")
    for index in range(cameras):
        name = f"cam{index + 1}"
        # Cameras start a little apart, as real ones do; their timecode says by how much.
        frames = index * 10
        camera = SyntheticCamera(
            name=name,
            index=index,
            duration_s=seconds,
            timecode=f"19:30:{frames // 25:02d}:{frames % 25:02d}",
            creation_time=start,
        )
        out = folder / f"{name}.mp4"
        if not out.exists():
            render_camera(ffmpeg, camera, out)
        files.append(FeedFile(feed=name, path=out))

    factory = sessions(settings)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    with session_scope(factory) as session:
        event = services.create_event(
            f"Demo final {stamp}", session=session, sport="athletics", venue="Stade de France"
        )
        event_id, event_name = event.id, event.name
    outcomes = ingest_files(
        event_id, files, settings=settings, sessions=factory, store=store(settings)
    )
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise VantageError("; ".join(f"{o.feed}: {o.error}" for o in failed))
    console.print(f"event [bold]{event_name}[/bold] ({event_id}): waiting for the ladders")
    jobs = [o.ladder_job_id for o in outcomes if o.ladder_job_id]
    if not wait_for_jobs(factory, jobs, timeout_s=900):
        raise VantageError("a ladder failed: see `vantage events show` for the reason")
    base = settings.api.public_url.rstrip("/")
    say = partial(console.print, soft_wrap=True, highlight=False)
    say(f"\nAPI:   {base}   (OpenAPI: {base}/docs)")
    say(f"event: vantage events show '{event_name}' --json")
    say("master playlists (event-clock start):")
    for outcome in outcomes:
        playlist = f"{base}/v1/assets/{outcome.asset_id}/hls/master.m3u8"
        say(f"  {outcome.feed}  {outcome.clock_start_s:+.3f}s  {playlist}")
    say("play one with ffplay, VLC, Safari or any hls.js player; `vantage down` stops everything")
