"""The demo: a synthetic multi-camera event, ingested and laddered on the embedded stack."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from functools import partial

from catalog import services, states
from infra.core.database import session_scope
from infra.core.errors import VantageError
from infra.core.settings import Settings
from infra.ops.cli.common import console, sessions, store
from infra.ops.cli.progress import wait_for_jobs
from ingest.files import FeedFile, ingest_files
from transcode.ffmpeg import find_ffmpeg
from transcode.scene import camera_ring
from transcode.synthetic import render_scene_camera

KICK_OFF_S = 19 * 3600 + 30 * 60
"""The demo match kicks off at 19:30:00 on the event clock (timecode of day)."""


def run_demo(settings: Settings, *, cameras: int, seconds: float) -> None:
    ffmpeg = find_ffmpeg(settings.media.ffmpeg)
    folder = settings.home / "demo"
    rate = Fraction(25)
    frames = round(seconds * rate)
    console.print(
        f"rendering {cameras} cameras around the virtual match ({seconds:g} s, 720p25, with "
        "audio), each frame's event frame number burnt in as a machine-readable frame code"
    )
    files = []
    for camera in camera_ring(cameras):
        # Cameras start a little apart, as real ones do; their timecode says by how much.
        first = camera.index * 10
        out = folder / f"match-{camera.name}-{first}-{frames}.mp4"
        if not out.exists():
            render_scene_camera(
                ffmpeg, camera, out, first_frame=first, frames=frames, size=(1280, 720),
                rate=rate, timecode_start_s=KICK_OFF_S,
            )  # fmt: skip
        files.append(FeedFile(feed=camera.name, path=out))

    factory = sessions(settings)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    with session_scope(factory) as session:
        event = services.create_event(
            f"Demo final {stamp}", session=session, sport="football", venue="Parc des Princes"
        )
        event_id, event_name = event.id, event.name
    outcomes = ingest_files(
        event_id, files, settings=settings, sessions=factory, store=store(settings)
    )
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise VantageError("; ".join(f"{o.feed}: {o.error}" for o in failed))
    console.print(
        f"event [bold]{event_name}[/bold] ({event_id}): "
        "ladders, QC, editor proxies and thumbnails on the workers"
    )
    jobs = [job_id for o in outcomes for job_id in o.follow_up.values()]
    if not wait_for_jobs(factory, jobs, timeout_s=900):
        raise VantageError("a job failed: see `vantage jobs list --status failed` for the reason")
    base = settings.api.public_url.rstrip("/")
    say = partial(console.print, soft_wrap=True, highlight=False)
    key_id, key = demo_key(settings)
    say(f"\nAPI:   {base}   (OpenAPI: {base}/docs)")
    say(f"key:   {key}   (an editor key for this demo: Authorization: Bearer <key>)")
    say(f"UI:    {base}/events/{event_id}   (sign in with the key: every angle in sync)")
    say("       each picture carries its event frame number (the strip at its foot): pause, and")
    say("       every angle shows the same number; `vantage replay` outputs carry it too")
    say(f"event: vantage events show '{event_name}' --json")
    say("per camera (event-clock start): HLS master, DASH manifest, editor proxy, QC")
    say("(the playlists carry a signed token: they play as they are, for a few hours)")
    with session_scope(factory) as session:
        for outcome in outcomes:
            asset = services.get_asset(outcome.asset_id or "", session=session)
            root = f"{base}/v1/assets/{asset.id}"
            token = media_token(settings, key_id, asset.id)
            verdict = (asset.qc or {}).get("verdict", "?")
            loudness = (asset.qc or {}).get("integrated_lufs")
            placed = f"{outcome.clock_start_s:+.3f}s"
            say(f"  {outcome.feed}  {placed}  {root}/hls/master.m3u8?token={token}")
            say(f"        {root}/hls/manifest.mpd?token={token}")
            say(f"        QC {verdict}, {loudness} LUFS; proxy (with the key): {root}/proxy.mp4")
    say("play one with ffplay, VLC, Safari, hls.js or dash.js; `vantage down` stops everything")


def demo_key(settings: Settings) -> tuple[str, str]:
    """An editor key for the demo's links (made once per run, revocable like any other)."""
    from catalog import tenants
    from catalog.models import Role

    with session_scope(sessions(settings)) as session:
        key, secret = tenants.create_key(
            f"demo {datetime.now(UTC):%Y-%m-%d %H:%M:%S}", Role.EDITOR, session=session
        )
        return key.id, secret


def media_token(settings: Settings, key_id: str, asset_id: str) -> str:
    import time

    from api import tokens

    return tokens.issue(
        settings.api.signing_key,
        broadcaster_id=None,
        key_id=key_id,
        asset_id=asset_id,
        expires=int(time.time()) + settings.api.token_ttl_s,
    )


def run_live_demo(settings: Settings, *, cameras: int, seconds: float) -> None:
    """Simulate ``cameras`` live cameras, pull them through the stack's supervisor, show the live
    playlists while recording, then stop and show the recordings."""
    import time
    from fractions import Fraction

    from rich.live import Live
    from rich.table import Table

    from infra.ops.simulator import Simulator
    from ingest.clock_sync import sync_event

    say = partial(console.print, soft_wrap=True, highlight=False)
    ffmpeg = find_ffmpeg(settings.media.ffmpeg)
    sim = Simulator(
        ffmpeg, cameras=cameras, protocol="hls", folder=settings.home / "simulator",
        base_port=settings.stack.simulator_port, size=(960, 540), rate=Fraction(25),
    )  # fmt: skip
    sim.start()
    factory = sessions(settings)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    with session_scope(factory) as session:
        event = services.create_event(f"Live demo {stamp}", session=session, sport="football")
        event_id, event_name = event.id, event.name
        feed_ids = {}
        for cam in sim.cameras:
            feed = services.add_live_feed(
                event, cam.camera.name, cam.url, session=session, angle_deg=cam.camera.azimuth_deg
            )
            states.start_feed(feed)
            feed_ids[cam.camera.name] = feed.id
    base = settings.api.public_url.rstrip("/")
    key_id, key = demo_key(settings)
    say(f"\nlive event [bold]{event_name}[/bold]: {cameras} simulated cameras over HLS")
    say("live playlists, while they record (ask with the key; every URL in the answer is signed):")
    say(f"  curl -H 'Authorization: Bearer {key}' URL")
    for name, feed_id in feed_ids.items():
        say(f"  {name}  {base}/v1/feeds/{feed_id}/live.m3u8")
    try:
        deadline = time.monotonic() + seconds
        with Live(console=console, refresh_per_second=2) as board:
            while time.monotonic() < deadline:
                table = Table("feed", "state", "segments", "kb/s", "lag")
                with session_scope(factory) as session:
                    for name, feed_id in feed_ids.items():
                        feed = services.get_feed(feed_id, session=session)
                        asset = services.find_live_asset(feed_id, session=session)
                        count = (
                            len(services.recent_segments(asset.id, session=session)) if asset else 0
                        )
                        table.add_row(
                            name, feed.state.value, str(count), f"{feed.bitrate_kbps or 0:.0f}",
                            f"{feed.lag_s:.2f}s" if feed.lag_s is not None else "",
                        )  # fmt: skip
                board.update(table)
                time.sleep(0.5)
        say("measuring camera offsets from their sync clicks ...")
        for result in sync_event(event_id, sessions=factory, store=store(settings), ffmpeg=ffmpeg,
                                 window_s=12):  # fmt: skip
            say(f"  {result.feed}: moved {result.correction_s:+.3f}s ({result.method}, "
                f"confidence {result.confidence:.2f})")  # fmt: skip
    finally:
        with session_scope(factory) as session:
            for feed_id in feed_ids.values():
                states.stop_feed(services.get_feed(feed_id, session=session))
        time.sleep(3)
        sim.stop()
    with session_scope(factory) as session:
        recordings = {
            name: services.find_live_asset(feed_id, session=session)
            for name, feed_id in feed_ids.items()
        }
        say("recordings (VOD playlists from the catalog, signed):")
        for name, asset in recordings.items():
            if asset is not None:
                token = media_token(settings, key_id, asset.id)
                say(f"  {name}  {base}/v1/assets/{asset.id}/recording.m3u8?token={token}")
