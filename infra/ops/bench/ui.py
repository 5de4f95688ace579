"""``vantage bench ui``: what an editor feels, measured in Debian's Chromium on the running stack.

A four-camera event of the virtual match (each camera starting at another event frame, editor
proxies made by the stack's workers), then, signed in as an editor:

- search to first frame on every angle: the query typed, the event opened from its result,
  until each angle has put a picture on screen (p50/p95 over ``repeat`` fresh pages);
- the angles' sync error in frames, read from the frame code burnt into every picture, from
  one screenshot of the grid at a time: while playing ``play_s`` seconds, and after frame
  steps (p50/max);
- from an order of the angles to its result playing in the page.

Goals beside each figure: first frame on all angles within 1.5 s p95, sync within one frame.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import cv2
import numpy as np

from catalog import services, tenants
from catalog.models import Role
from infra.core.database import make_engine, make_session_factory, session_scope
from infra.core.errors import ServiceUnavailable, VantageError
from infra.core.settings import Settings
from infra.core.storage import ObjectStore
from infra.ops.bench.figures import percentile, summary
from ingest.files import FeedFile, ingest_files
from transcode import framecode
from transcode.ffmpeg import find_ffmpeg
from transcode.scene import camera_ring
from transcode.synthetic import render_scene_camera

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
STARTS = {"cam1": 0, "cam2": 10, "cam3": 20, "cam4": 5}
RATE = Fraction(25)
MIN_SAMPLES = 5
"""Screenshots of the playing grid taken at least, however slow each one is."""
GOALS = {"first_frame_p95_s": 1.5, "sync_error_max_frames": 1}


def grid_frame_codes(page: Any) -> dict[str, int | None]:
    """The event frame each tile of the angle grid shows, read from one screenshot of it."""
    shot = page.locator("#grid").screenshot()
    image = cv2.imdecode(np.frombuffer(shot, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "the grid's screenshot did not decode"
    grid_box = page.locator("#grid").bounding_box()
    codes: dict[str, int | None] = {}
    for video in page.locator("#grid .tile video").all():
        box = video.bounding_box()
        x, y = round(box["x"] - grid_box["x"]), round(box["y"] - grid_box["y"])
        crop = image[y : y + round(box["height"]), x : x + round(box["width"])]
        code = framecode.read(np.ascontiguousarray(crop))
        codes[str(video.get_attribute("data-feed"))] = code.frame if code else None
    return codes


def sign_in(page: Any, base: str, secret: str) -> None:
    page.goto(base + "/")
    page.fill("#key", secret)
    page.click("#sign-in button[type=submit]")
    page.wait_for_selector("#sign-out:not([hidden])")


def ui_benchmark(
    settings: Settings,
    *,
    repeat: int = 5,
    play_s: float = 10.0,
    wait: Callable[..., bool],
    progress: Callable[[str], None] = lambda _line: None,
    browser: Any = None,
    event: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Measure in ``browser`` (a Playwright Chromium), or in a Debian Chromium of its own, on
    ``event`` (id and name of a four-camera event of the virtual match with editor proxies, its
    cameras starting at :data:`STARTS`), or on one it makes."""
    if browser is None:
        if not shutil.which(CHROMIUM):
            raise ServiceUnavailable(f"no Chromium at {CHROMIUM}: apt-get install chromium")
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            own = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
            try:
                return ui_benchmark(
                    settings, repeat=repeat, play_s=play_s, wait=wait, progress=progress,
                    browser=own, event=event,
                )  # fmt: skip
            finally:
                own.close()
    base = settings.api.public_url.rstrip("/")
    sessions = make_session_factory(make_engine(settings.database_url))
    event_id, name = event or _prepare(
        settings, sessions, play_s=play_s, wait=wait, progress=progress
    )
    with session_scope(sessions) as session:
        _, secret = tenants.create_key(f"bench ui {name}", Role.EDITOR, session=session)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        sign_in(page, base, secret)
        first_frames = []
        for i in range(repeat):
            progress(f"search to first frame {i + 1}/{repeat}")
            first_frames.append(_search_to_first_frame(page, base, name))
        progress(f"playing {play_s:g} s")
        playing = _sync_while_playing(page, play_s)
        progress("frame steps")
        stepped = _sync_after_steps(page, steps=10)
        progress("order to the result playing")
        ordered = _order_to_playing(page)
    finally:
        context.close()
    first = summary(first_frames)
    return {
        "browser": "chromium (Debian), headless, software decoding",
        "event_id": event_id,
        "event": {"cameras": 4, "seconds": play_s + 6, "frame_rate": str(RATE)},
        "search_to_first_frame_all_angles": first,
        "sync_error_frames_while_playing": playing,
        "sync_error_frames_after_steps": stepped,
        "order_to_playing_s": round(ordered, 3),
        "goals": GOALS,
        "met": {
            "first_frame_p95_s": first["p95_s"] <= GOALS["first_frame_p95_s"],
            "sync_while_playing": playing["max"] is not None
            and playing["p50"] <= GOALS["sync_error_max_frames"],
            "sync_after_steps": stepped["max"] is not None
            and stepped["max"] <= GOALS["sync_error_max_frames"],
        },
    }


def _prepare(
    settings: Settings,
    sessions: Any,
    *,
    play_s: float,
    wait: Callable[..., bool],
    progress: Callable[[str], None],
) -> tuple[str, str]:
    """Four cameras of the virtual match, ingested with editor proxies; the event's id and name."""
    ffmpeg = find_ffmpeg(settings.media.ffmpeg)
    folder = settings.home / "bench" / "ui"
    frames = round((play_s + 6) * RATE)
    files = []
    for camera in camera_ring(4):
        out = folder / f"{camera.name}-{STARTS[camera.name]}-{frames}.mp4"
        if not out.exists():
            progress(f"rendering {camera.name}")
            render_scene_camera(ffmpeg, camera, out, first_frame=STARTS[camera.name], frames=frames)
        files.append(FeedFile(camera.name, out))
    name = f"Bench UI final {datetime.now(UTC).strftime('%Y%m%d%H%M%S')}"
    with session_scope(sessions) as session:
        event_id = services.create_event(name, session=session, sport="football").id
    progress("ingesting; proxies on the stack's workers")
    outcomes = ingest_files(
        event_id, files, settings=settings, sessions=sessions, store=ObjectStore(settings.storage)
    )
    failed = [o.error for o in outcomes if not o.ok]
    if failed:
        raise VantageError(f"bench ingest failed: {failed}")
    jobs = [job_id for o in outcomes for job_id in o.follow_up.values()]
    if not wait(sessions, jobs, timeout_s=900):
        raise VantageError("a job of the benchmark's event failed: see `vantage jobs list`")
    return event_id, name


def _search_to_first_frame(page: Any, base: str, name: str) -> float:
    page.goto(base + "/")
    page.wait_for_selector("#quick-search input")
    began = time.perf_counter()
    page.fill("#quick-search input", name)
    page.press("#quick-search input", "Enter")
    page.locator(".hit.kind-event a", has_text=name).first.click()
    page.wait_for_function(
        "() => window.vantagePlayer && window.vantagePlayer.angles.length === 4 && "
        "window.vantagePlayer.angles.every((a) => a.presented > 0 || a.video.readyState >= 2)",
        timeout=60_000,
    )
    return time.perf_counter() - began


def _spread(page: Any) -> int | None:
    codes = [c for c in grid_frame_codes(page).values() if c is not None]
    return max(codes) - min(codes) if len(codes) == 4 else None


def _figures(spreads: list[int | None]) -> dict[str, Any]:
    read = [s for s in spreads if s is not None]
    return {
        "samples": len(spreads),
        "read": len(read),
        "p50": percentile([float(s) for s in read], 0.5) if read else None,
        "max": max(read) if read else None,
    }


def _sync_while_playing(page: Any, play_s: float) -> dict[str, Any]:
    page.evaluate("() => window.vantagePlayer.seek(1.0)")
    page.evaluate("() => window.vantagePlayer.settled()")
    page.keyboard.press("Space")
    page.wait_for_function("() => window.vantagePlayer.rate > 0 && !window.vantagePlayer._starting")
    spreads: list[int | None] = []
    deadline = time.monotonic() + play_s
    while time.monotonic() < deadline or len(spreads) < MIN_SAMPLES:
        page.wait_for_timeout(250)
        spreads.append(_spread(page))
    page.keyboard.press("k")
    return _figures(spreads)


def _sync_after_steps(page: Any, *, steps: int) -> dict[str, Any]:
    page.evaluate("() => window.vantagePlayer.seek(2.4)")
    page.evaluate("() => window.vantagePlayer.settled()")
    spreads = []
    for _ in range(steps):
        page.keyboard.press("ArrowRight")
        page.evaluate("() => window.vantagePlayer.settled()")
        spreads.append(_spread(page))
    return _figures(spreads)


def _order_to_playing(page: Any) -> float:
    page.evaluate("() => window.vantagePlayer.seek(2.0)")
    page.keyboard.press("i")
    page.evaluate("() => window.vantagePlayer.seek(4.0)")
    page.keyboard.press("o")
    began = time.perf_counter()
    page.click("#order-angles")
    page.wait_for_selector("#orders li[data-status=succeeded]", timeout=300_000)
    page.click("#orders li a")
    page.wait_for_function(
        "() => { const v = document.querySelector('#outputs video');"
        " return v && v.readyState >= 2; }",
        timeout=60_000,
    )
    return time.perf_counter() - began
