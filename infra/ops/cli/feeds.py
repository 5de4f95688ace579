"""``vantage feeds`` and ``vantage simulate``: live cameras."""

from __future__ import annotations

import signal
import threading
import time
from fractions import Fraction
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from catalog import services, states
from infra.core import logs
from infra.core.database import session_scope
from infra.core.errors import BadRequest
from infra.ops.cli.common import console, friendly, print_json, sessions, settings
from ingest.media.segmenter import protocol_of
from transcode.ffmpeg import find_ffmpeg

if TYPE_CHECKING:
    from infra.ops.simulator import Simulator

app = typer.Typer(no_args_is_help=True, help="Live feeds: add, start, stop, list, supervise.")


@app.command("add")
@friendly
def add(
    event: Annotated[str, typer.Option(help="Event name.")],
    name: str,
    source: str,
    position: Annotated[str | None, typer.Option()] = None,
    angle: Annotated[float | None, typer.Option(help="Bearing around the field, degrees.")] = None,
    start: Annotated[bool, typer.Option(help="Start pulling at once.")] = False,
) -> None:
    """Add a live camera (srt://, rtmp://, rtsp:// or an HLS http(s):// URL)."""
    try:
        if protocol_of(source) == "file":
            raise BadRequest("a live feed needs a srt://, rtmp://, rtsp:// or http(s):// source")
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    with session_scope(sessions()) as session:
        found = services.get_event_by_name(event, session=session)
        feed = services.add_live_feed(
            found, name, source, session=session, position=position, angle_deg=angle
        )
        if start:
            states.start_feed(feed)
        console.print(f"feed {name} added: {feed.id}{' (starting)' if start else ''}")


def _toggle(event: str, names: list[str], enabled: bool) -> None:
    with session_scope(sessions()) as session:
        found = services.get_event_by_name(event, session=session)
        targets = (
            [services.get_feed_by_name(found, n, session=session) for n in names]
            if names
            else [f for f in services.list_feeds(session=session, event_id=found.id) if f.source]
        )
        for feed in targets:
            if enabled:
                states.start_feed(feed)
            else:
                states.stop_feed(feed)
            console.print(f"{feed.name}: {'start' if enabled else 'stop'} requested")


@app.command("start")
@friendly
def start(
    event: Annotated[str, typer.Option(help="Event name.")],
    names: Annotated[list[str] | None, typer.Argument(help="Feeds; all when none.")] = None,
) -> None:
    """Start pulling feeds (the supervisor picks them up within a second)."""
    _toggle(event, names or [], True)


@app.command("stop")
@friendly
def stop(
    event: Annotated[str, typer.Option(help="Event name.")],
    names: Annotated[list[str] | None, typer.Argument(help="Feeds; all when none.")] = None,
) -> None:
    """Stop pulling feeds; each closes and records its last segment."""
    _toggle(event, names or [], False)


@app.command("list")
@friendly
def list_feeds(
    event: Annotated[str, typer.Option(help="Event name.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Each feed's state, bitrate, last segment, lag and clock offset."""
    from api.builders import feed_out

    config = settings()
    with session_scope(sessions(config)) as session:
        found = services.get_event_by_name(event, session=session)
        rows = [
            feed_out(config, f, with_assets=False)
            for f in services.list_feeds(session=session, event_id=found.id)
        ]
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    table = Table("feed", "state", "kb/s", "last segment", "lag", "offset", "detail")
    for row in rows:
        last = row.last_segment_at.strftime("%H:%M:%S") if row.last_segment_at else ""
        offset = f"{row.clock_offset_s:+.3f}s"
        if row.clock_method:
            offset += f" ({row.clock_method}, {row.clock_confidence or 0:.2f})"
        table.add_row(
            row.name, row.state, f"{row.bitrate_kbps or 0:.0f}", last,
            f"{row.lag_s:.2f}s" if row.lag_s is not None else "", offset, row.state_detail or "",
        )  # fmt: skip
    console.print(table)


@app.command("supervise")
def supervise() -> None:
    """Run the live ingest supervisor in the foreground (``vantage up`` starts one)."""
    logs.configure(settings(), "supervisor")
    stop_event = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_event.set())
    signal.signal(signal.SIGINT, lambda *_: stop_event.set())
    from ingest.live.supervisor import Supervisor, make_runtime

    Supervisor(make_runtime(settings())).run(stop_event)


def simulate(
    cameras: Annotated[int, typer.Option(min=1, max=16)] = 4,
    protocol: Annotated[str, typer.Option(help="hls, srt or rtmp")] = "hls",
    port: Annotated[int, typer.Option(help="Base port (HLS server; +N per camera)")] = 9700,
    width: Annotated[int, typer.Option()] = 960,
    height: Annotated[int, typer.Option()] = 540,
    seconds: Annotated[float, typer.Option(help="Run this long; 0 = until Ctrl-C")] = 0,
    event: Annotated[
        str | None, typer.Option(help="Also add the cameras as feeds of this event, started.")
    ] = None,
) -> None:
    """Serve N virtual cameras of one synthetic match on loopback."""
    from infra.ops.simulator import PROTOCOLS, Simulator

    if protocol not in PROTOCOLS:
        raise typer.BadParameter(f"protocol must be one of {', '.join(PROTOCOLS)}")
    config = settings()
    sim = Simulator(
        find_ffmpeg(config.media.ffmpeg), cameras=cameras, protocol=protocol,
        folder=config.home / "simulator", base_port=port, size=(width, height),
        rate=Fraction(25),
    )  # fmt: skip
    sim.start()
    for cam in sim.cameras:
        where = f"{cam.camera.azimuth_deg:5.1f}°  delay {cam.delay_s:.2f}s"
        console.print(f"{cam.camera.name}  {where}  {cam.url}", soft_wrap=True, highlight=False)
    if event:
        _add_simulated_feeds(event, sim)
    stop_event = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_event.set())
    signal.signal(signal.SIGINT, lambda *_: stop_event.set())
    deadline = time.monotonic() + seconds if seconds else None
    while not stop_event.is_set() and (deadline is None or time.monotonic() < deadline):
        stop_event.wait(0.5)
    sim.stop()


def _add_simulated_feeds(event: str, sim: Simulator) -> None:
    """Add the simulator's cameras to ``event`` (created if new) as started feeds."""
    from infra.core.errors import NotFound

    with session_scope(sessions()) as session:
        try:
            found = services.get_event_by_name(event, session=session)
        except NotFound:
            found = services.create_event(event, session=session)
        for cam in sim.cameras:
            feed = services.add_live_feed(
                found, cam.camera.name, cam.url, session=session, angle_deg=cam.camera.azimuth_deg
            )
            states.start_feed(feed)
