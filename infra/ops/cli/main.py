"""``vantage``: bring the stack up and down, check it, ingest, inspect events, benchmark."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from catalog import services
from infra.core import logs
from infra.core.database import make_engine, session_scope
from infra.core.errors import BadRequest
from infra.core.settings import get_settings
from infra.ops.cli import access as access_cli
from infra.ops.cli import bench as bench_cli
from infra.ops.cli import feeds as feeds_cli
from infra.ops.cli import replays as replays_cli
from infra.ops.cli import storage as storage_cli
from infra.ops.cli.common import (
    console,
    err_console,
    friendly,
    print_json,
    sessions,
    settings,
    store,
)
from infra.ops.cli.progress import wait_for_jobs
from transcode.profiles import available_profiles, load_profile

app = typer.Typer(no_args_is_help=True, help=__doc__, pretty_exceptions_enable=False)
events_app = typer.Typer(no_args_is_help=True, help="Events, their feeds, assets and renditions.")
ingest_app = typer.Typer(no_args_is_help=True, help="Bring recordings into the catalog.")
jobs_app = typer.Typer(no_args_is_help=True, help="Background jobs.")
profiles_app = typer.Typer(
    no_args_is_help=True, help="Encoding profiles (rungs, codecs, packaging)."
)
assets_app = typer.Typer(no_args_is_help=True, help="Recordings and what was made of them.")
app.add_typer(events_app, name="events")
app.add_typer(ingest_app, name="ingest")
app.add_typer(jobs_app, name="jobs")
app.add_typer(profiles_app, name="profiles")
app.add_typer(replays_cli.markers_app, name="markers")
app.command("replay")(replays_cli.replay)
app.add_typer(assets_app, name="assets")
app.add_typer(bench_cli.app, name="bench")
app.add_typer(feeds_cli.app, name="feeds")
app.add_typer(access_cli.keys_app, name="keys")
app.add_typer(access_cli.broadcasters_app, name="broadcasters")
app.add_typer(access_cli.rights_app, name="rights")
app.add_typer(access_cli.search_app, name="search")
app.command("simulate")(feeds_cli.simulate)
app.add_typer(storage_cli.backup_app, name="backup")
app.add_typer(storage_cli.storage_app, name="storage")


@app.callback()
def _configure_logs() -> None:
    """Logs in the configured format; the command line shows warnings and worse."""
    config = settings()
    logs.configure(config, "cli")
    # The command line speaks through its own output; its log shows warnings and worse.
    logging.getLogger().setLevel(max(logging.WARNING, logging.getLevelName(config.log.level)))


# -- the stack -----------------------------------------------------------------------------------


@app.command()
@friendly
def init() -> None:
    """Create the bucket, bring the catalog schema up to date and, when none is configured,
    write a strong media-token signing key into .env."""
    from catalog.migrate import refresh_statistics, upgrade
    from infra.ops.secrets import ensure_signing_key

    config = settings()
    written = ensure_signing_key(config, Path(".env"))
    if written:
        get_settings.cache_clear()
        config = settings()
        console.print(f"wrote a new media-token signing key to {written} (keep it secret)")
    config.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(config.database_url)
    upgrade(engine)
    refresh_statistics(engine)
    engine.dispose()
    objects = store(config)
    created = objects.ensure_bucket()
    objects.allow_cross_origin_reads(config.api.media_origins)
    days = config.storage.unfinished_upload_days
    expiring = objects.expire_unfinished_uploads(days)
    console.print(
        f"catalog migrated; bucket {config.storage.bucket} {'created' if created else 'present'}"
        f"; signed media readable from {', '.join(config.api.media_origins) or 'this origin only'}"
        + (
            f"; unfinished uploads aborted by the store after {days} day(s)"
            if expiring
            else "; this store keeps no lifecycle rules: run `vantage storage verify --repair`"
            " to abort unfinished uploads"
        )
    )


@app.command()
@friendly
def up(
    app_parts: Annotated[
        bool, typer.Option("--app/--no-app", help="Start workers and API.")
    ] = True,
) -> None:
    """Start the embedded stack: SeaweedFS, Redis, Celery workers and the API."""
    from infra.ops import stack

    config = settings()
    for part in stack.embedded_parts(config):
        pid = stack.start(config, part)
        console.print(f"{part.name:<9} running (pid {pid}, port {part.port})")
    if config.storage.endpoint_url:
        stack.wait_for_storage(config.storage.endpoint_url)
    _init_with_retry()
    if app_parts:
        for part in stack.app_parts(config):
            pid = stack.start(config, part)
            console.print(f"{part.name:<9} running (pid {pid})")
    console.print(f"API on {config.api.public_url}  (docs: {config.api.public_url}/docs)")


def _init_with_retry(attempts: int = 20) -> None:
    # A fresh SeaweedFS answers on its S3 port a moment before its filer accepts buckets.
    for attempt in range(attempts):
        try:
            init()
            return
        except typer.Exit:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


@app.command()
def down() -> None:
    """Stop what `vantage up` started, and nothing else."""
    from infra.ops import stack

    config = settings()
    parts = [*stack.app_parts(config), *stack.embedded_parts(config)]
    for part in parts:
        if stack.stop(config, part):
            console.print(f"{part.name:<9} stopped")
    console.print("down")


@app.command()
def status() -> None:
    """Each part of the stack and its health."""
    from infra.ops import stack

    table = Table("part", "state", "pid", "detail")
    for part in stack.status(settings()):
        colour = {"running": "green", "external": "cyan"}.get(part.state, "red")
        table.add_row(
            part.name, f"[{colour}]{part.state}[/{colour}]", str(part.pid or ""), part.detail
        )
    console.print(table)


@app.command()
def doctor() -> None:
    """Check ffmpeg, storage, broker and migrations; print the fix for each failure."""
    from infra.ops.doctor import run_checks

    failed = False
    for check in run_checks(settings()):
        mark = "[green]ok[/green]  " if check.ok else "[red]FAIL[/red]"
        console.print(f"{mark} {check.name:<10} {check.detail}", highlight=False)
        if not check.ok:
            failed = True
            console.print(f"      fix: {check.fix}", highlight=False)
    if failed:
        raise typer.Exit(1)


@app.command()
def serve() -> None:
    """Run the API in the foreground."""
    from infra.ops import stack

    config = settings()
    part = stack.api_part(config)
    raise typer.Exit(subprocess.call(part.argv))


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option("-c", "--concurrency")] = 2,
    queues: Annotated[str, typer.Option("-Q", "--queues")] = "live,vod,replay,analysis",
) -> None:
    """Run a Celery worker in the foreground (one per host at scale)."""
    from infra.core.queue import worker_queues

    try:
        names = worker_queues(settings(), queues)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    argv = [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-Q", names]
    raise typer.Exit(subprocess.call([*argv, "-c", str(concurrency), "--loglevel", "INFO"]))


# -- events --------------------------------------------------------------------------------------


@events_app.command("create")
@friendly
def events_create(
    name: str,
    sport: Annotated[str | None, typer.Option()] = None,
    venue: Annotated[str | None, typer.Option()] = None,
    clock_origin: Annotated[
        datetime | None, typer.Option(help="Wall-clock instant of event-clock zero (UTC).")
    ] = None,
    profile: Annotated[
        str | None, typer.Option(help="Encoding profile (see `vantage profiles list`).")
    ] = None,
) -> None:
    """Create an event."""
    if profile is not None:
        load_profile(profile, settings().media.profiles_dir)
    with session_scope(sessions()) as session:
        event = services.create_event(
            name,
            session=session,
            sport=sport,
            venue=venue,
            clock_origin=clock_origin,
            profile=profile,
        )
        console.print(f"event {event.name} created: {event.id}")


@events_app.command("list")
@friendly
def events_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Events, newest first."""
    from api.builders import event_summary

    with session_scope(sessions()) as session:
        events, _ = services.list_events(session=session, limit=1000)
        rows = [event_summary(e).model_dump(mode="json") for e in events]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "name", "sport", "created")
    for row in rows:
        table.add_row(row["id"], row["name"], row["sport"] or "", row["created_at"][:19])
    console.print(table)


@events_app.command("show")
@friendly
def events_show(name: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """An event with its feeds, assets and renditions (status, keys, playlist URL)."""
    from api.builders import event_out

    config = settings()
    with session_scope(sessions(config)) as session:
        event = event_out(config, services.get_event_by_name(name, session=session, detail=True))
    if as_json:
        print_json(event.model_dump(mode="json"))
        return
    console.print(f"[bold]{event.name}[/bold]  {event.id}")
    table = Table("feed", "asset", "status", "clock", "renditions", "playlist")
    for feed in event.feeds:
        for asset in feed.assets:
            table.add_row(
                feed.name,
                asset.id[:8],
                asset.status,
                f"{asset.clock_start_s:+.3f}s ({asset.clock_source})",
                " ".join(r.name for r in asset.renditions),
                asset.playlist_url or (asset.error or ""),
            )
    console.print(table)


@events_app.command("sync")
@friendly
def events_sync(
    name: str,
    reference: Annotated[
        str | None, typer.Option(help="Reference feed (default: the first).")
    ] = None,
    window: Annotated[float, typer.Option(help="Seconds of the event clock to compare.")] = 20.0,
) -> None:
    """Measure each feed's offset from content and move it on the event clock."""
    from ingest.clock_sync import sync_event
    from transcode.ffmpeg import find_ffmpeg

    config = settings()
    factory = sessions(config)
    with session_scope(factory) as session:
        event_id = services.get_event_by_name(name, session=session).id
    results = sync_event(
        event_id, sessions=factory, store=store(config), ffmpeg=find_ffmpeg(config.media.ffmpeg),
        reference=reference, window_s=window,
    )  # fmt: skip
    table = Table("feed", "moved by", "offset now", "method", "confidence")
    for r in results:
        table.add_row(
            r.feed,
            f"{r.correction_s:+.3f}s",
            f"{r.offset_s:+.3f}s",
            r.method,
            f"{r.confidence:.2f}",
        )
    console.print(table)


# -- ingest --------------------------------------------------------------------------------------


@ingest_app.command("files")
@friendly
def ingest_files_command(
    event: Annotated[str, typer.Option(help="Event name.")],
    feed: Annotated[
        list[str],
        typer.Option(help="NAME=PATH, or NAME=PATH@OFFSET_SECONDS; repeat for each camera."),
    ],
    wait: Annotated[bool, typer.Option(help="Wait for the ladders to finish.")] = False,
) -> None:
    """Probe, checksum, upload and register one file per feed, then enqueue their ladders."""
    from ingest.files import ingest_files, parse_feed_argument

    config = settings()
    try:
        files = [parse_feed_argument(value) for value in feed]
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    factory = sessions(config)
    with session_scope(factory) as session:
        event_id = services.get_event_by_name(event, session=session).id
    from rich.progress import BarColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        TextColumn("{task.fields[step]}"),
        console=err_console,
        transient=False,
    ) as progress:
        bars = {f.feed: progress.add_task(f.feed, total=1.0, step="waiting") for f in files}

        def on_step(feed_name: str, step: str, fraction: float) -> None:
            progress.update(bars[feed_name], completed=fraction, step=step)

        outcomes = ingest_files(
            event_id, files, settings=config, sessions=factory, store=store(config), on_step=on_step
        )
    for outcome in outcomes:
        if outcome.ok:
            console.print(
                f"{outcome.feed}: asset {outcome.asset_id} at {outcome.clock_start_s:+.3f}s "
                f"({outcome.clock_source}); ladder job {outcome.ladder_job_id}",
                highlight=False,
            )
        else:
            err_console.print(f"[red]error:[/red] {outcome.feed}: {outcome.error}", highlight=False)
    jobs = [o.ladder_job_id for o in outcomes if o.ladder_job_id]
    if wait and jobs:
        wait_for_jobs(factory, jobs)
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)


@ingest_app.command("watch")
@friendly
def ingest_watch(
    event: Annotated[str, typer.Option(help="Event name.")],
    folder: Annotated[Path | None, typer.Option(help="Folder to watch.")] = None,
    prefix: Annotated[str | None, typer.Option(help="Bucket prefix to watch.")] = None,
    interval: Annotated[float, typer.Option(min=0.2)] = 2.0,
    once: Annotated[bool, typer.Option(help="Two scans, then exit (for scripts).")] = False,
) -> None:
    """Ingest files dropped into a folder or under a bucket prefix (cam1/clip.mp4, cam1_x.mp4)."""
    from ingest.watch import Watcher

    if (folder is None) == (prefix is None):
        raise BadRequest("give exactly one of --folder and --prefix")
    if folder is not None and not folder.is_dir():
        raise BadRequest(f"{folder} is not a folder")
    config = settings()
    factory = sessions(config)
    with session_scope(factory) as session:
        event_id = services.get_event_by_name(event, session=session).id
    watcher = Watcher(event_id, config, factory, store(config))
    console.print(f"watching {folder or prefix} for event {event}; Ctrl-C to stop")
    passes = 0
    while True:
        found = watcher.scan_folder(folder) if folder else watcher.scan_prefix(prefix or "")
        for outcome in found:
            if outcome.ok:
                console.print(f"{outcome.feed}: {outcome.path.name} -> asset {outcome.asset_id}")
            else:
                err_console.print(f"[red]failed:[/red] {outcome.path.name}: {outcome.error}")
        passes += 1
        if once and passes >= 2:
            return
        time.sleep(interval)


# -- jobs ----------------------------------------------------------------------------------------


@jobs_app.command("show")
@friendly
def jobs_show(job_id: str) -> None:
    """One job as JSON."""
    from api.builders import job_out

    with session_scope(sessions()) as session:
        print_json(job_out(services.get_job(job_id, session=session)).model_dump(mode="json"))


@jobs_app.command("wait")
@friendly
def jobs_wait(job_ids: list[str], timeout: float = 1800) -> None:
    """Wait for jobs with a progress bar; exit 1 if any failed."""
    if not wait_for_jobs(sessions(), job_ids, timeout_s=timeout):
        raise typer.Exit(1)


@jobs_app.command("list")
@friendly
def jobs_list(
    status: Annotated[str | None, typer.Option(help="queued, running, failed, dead ...")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Jobs with their state, attempts and progress, oldest first."""
    from api.builders import job_out

    with session_scope(sessions()) as session:
        jobs = [
            job_out(job).model_dump(mode="json")
            for job in services.list_jobs(session=session)
            if status is None or job.status.value == status
        ]
    if as_json:
        print_json(jobs)
        return
    table = Table("job", "kind", "status", "attempts", "progress", "subject", "error")
    for job in jobs:
        table.add_row(
            job["id"][:8],
            job["kind"],
            job["status"],
            f"{job['attempts']}/{job['max_attempts']}",
            f"{job['progress']:.0%}",
            job["subject"] or "",
            (job["error"] or "")[:60],
        )
    console.print(table)


@jobs_app.command("retry")
@friendly
def jobs_retry(job_id: str) -> None:
    """Queue a failed or dead job again, with a fresh set of attempts."""
    from infra.core.queue import JOB_TASKS, send_job

    with session_scope(sessions()) as session:
        job = services.get_job(job_id, session=session)
        services.requeue_job(job, session=session)
        task = JOB_TASKS[job.kind.value]
    send_job(settings(), task, job_id)
    console.print(f"job {job_id} queued again")


@jobs_app.command("reconcile")
@friendly
def jobs_reconcile(
    forever: Annotated[
        bool, typer.Option("--forever", help="Keep going every jobs.reconcile_every_s.")
    ] = False,
) -> None:
    """Queue again the running jobs whose worker died; bury those out of attempts; send again
    the webhook notifications whose task was lost."""
    from workers.reconciler import reconcile_forever, reconcile_once

    if forever:
        reconcile_forever(settings(), sessions())
        return
    done = reconcile_once(settings(), sessions())
    console.print(
        f"{len(done.requeued)} job(s) queued again, {len(done.dead)} marked dead, "
        f"{len(done.webhooks)} webhook notification(s) sent again"
    )


# -- profiles and assets -------------------------------------------------------------------------


@profiles_app.command("list")
@friendly
def profiles_list() -> None:
    """Every encoding profile: built-in, and the operator's from media.profiles_dir."""
    table = Table("profile", "video", "rungs", "audio", "packaging")
    for profile in available_profiles(settings().media.profiles_dir):
        packaging = profile.packaging.segments + (" + DASH" if profile.packaging.dash else "")
        table.add_row(
            profile.name,
            profile.video.codec,
            " ".join(f"{r.lines}p/{r.codec}@{r.kbps}k" for r in profile.video.rungs),
            f"{profile.audio.codec} {profile.audio.kbps}k"
            + (f", {profile.audio.loudness_lufs:g} LUFS" if profile.audio.loudness_lufs else ""),
            packaging,
        )
    console.print(table)


@profiles_app.command("show")
@friendly
def profiles_show(name: str) -> None:
    """One profile as JSON."""
    from dataclasses import asdict

    print_json(asdict(load_profile(name, settings().media.profiles_dir)))


@assets_app.command("mezzanine")
@friendly
def assets_mezzanine(
    asset_id: str,
    wait: Annotated[bool, typer.Option(help="Wait for it, with a progress bar.")] = True,
) -> None:
    """Order an XDCAM HD422 MXF OP1a file of a recording for a broadcast editing system."""
    from infra.core.queue import JOB_TASKS, send_job

    config = settings()
    with session_scope(sessions()) as session:
        job_id = services.order_mezzanine(
            asset_id, session=session, max_attempts=config.jobs.max_attempts
        ).id
    send_job(config, JOB_TASKS["mezzanine"], job_id)
    console.print(f"mezzanine job {job_id} queued")
    if wait and not wait_for_jobs(sessions(), [job_id]):
        raise typer.Exit(1)


# -- demo ----------------------------------------------------------------------------------------


@app.command()
@friendly
def demo(
    cameras: Annotated[int, typer.Option(min=1, max=9)] = 4,
    seconds: Annotated[float, typer.Option(min=2, max=120)] = 8.0,
    live_seconds: Annotated[
        float, typer.Option(min=0, help="How long to run the live part; 0 skips it.")
    ] = 30.0,
) -> None:
    """Bring the stack up; ingest a synthetic multi-camera event and wait for its ladders; then
    pull the same number of simulated live cameras and show them recording."""
    from infra.ops.cli.demo import run_demo, run_live_demo

    up(app_parts=True)
    run_demo(settings(), cameras=cameras, seconds=seconds)
    if live_seconds:
        run_live_demo(settings(), cameras=cameras, seconds=live_seconds)


if __name__ == "__main__":
    app()
