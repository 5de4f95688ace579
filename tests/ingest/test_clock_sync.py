"""Live recordings on one event clock: the event's origin under concurrent first segments, and
the sync job measuring recorded segments exactly as they sit on the clock."""

from __future__ import annotations

import os
import shutil
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from catalog import services
from catalog.models import Segment
from infra.core.database import session_scope
from ingest.clock_sync import sync_event
from ingest.live.spool import LiveRuntime, record
from ingest.media.segmenter import parse_segment_list
from tests.conftest import RUN_ID
from transcode.ffmpeg import base_args, run_ffmpeg
from transcode.scene import match_sound

pytestmark = pytest.mark.integration


def new_event(sessions, name: str) -> str:
    with session_scope(sessions) as session:
        return services.create_event(f"{name} {RUN_ID}", session=session).id


def test_the_first_origin_written_wins_for_every_feed(sessions):
    """Two feeds record their first segments at once: each read the event with no origin, and
    both try to set one. The second gets the first one's, never moves it."""
    event_id = new_event(sessions, "Origin race")
    first = datetime(2026, 12, 8, 12, 0, 0, 125000, tzinfo=UTC)
    with session_scope(sessions) as one, session_scope(sessions) as two:
        event_one = services.get_event(event_id, session=one)
        event_two = services.get_event(event_id, session=two)
        assert event_one.clock_origin is None and event_two.clock_origin is None
        assert services.settle_clock_origin(event_one, wall_clock=first, session=one) == (
            first,
            None,
        )
        one.commit()
        later = first + timedelta(seconds=0.098)
        origin, timecode = services.settle_clock_origin(
            event_two, wall_clock=later, timecode_s=36000.0, session=two
        )
        assert origin == first  # kept, not overwritten by the later feed
        assert timecode == 36000.0  # an origin still unset is set
    with session_scope(sessions) as session:
        event = services.get_event(event_id, session=session)
        assert (event.clock_origin, event.timecode_origin) == (first, 36000.0)


def test_concurrent_settles_agree_on_one_origin(sessions):
    """Eight threads, each in its own transaction, settle the origin of a fresh event at once:
    all of them come back with the same origin, and it is one of theirs."""
    event_id = new_event(sessions, "Origin crowd")
    base = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
    start = threading.Barrier(8)
    results: list[datetime | None] = []
    errors: list[BaseException] = []

    def settle(index: int) -> None:
        try:
            with session_scope(sessions) as session:
                event = services.get_event(event_id, session=session)
                start.wait(10)
                wall = base + timedelta(milliseconds=index * 7)
                results.append(
                    services.settle_clock_origin(event, wall_clock=wall, session=session)[0]
                )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=settle, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert len(set(results)) == 1, results
    with session_scope(sessions) as session:
        assert services.get_event(event_id, session=session).clock_origin == results[0]


# -- the sync job on recorded segments -------------------------------------------------------


@pytest.fixture(scope="module")
def camera_segments(ffmpeg, tmp_path_factory) -> tuple[Path, list]:
    """Twelve seconds of one camera as the live puller writes it: 2 s transport-stream segments
    (a keyframe each, the first starting with a little sound before its first picture), with
    the simulated match's clicks in its sound."""
    folder = tmp_path_factory.mktemp("camera")
    click = match_sound(0.0)
    run_ffmpeg(
        ffmpeg,
        [
            *base_args(), "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=12",
            "-f", "lavfi", "-i", f"{click}:d=12",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-keyint_min", "50",
            "-sc_threshold", "0", "-c:a", "aac", "-b:a", "96k",
            "-f", "segment", "-segment_time", "2", "-segment_format", "mpegts",
            "-segment_list", str(folder / "segments.csv"), "-segment_list_type", "csv",
            "-reset_timestamps", "0", str(folder / "%06d.ts"),
        ],
    )  # fmt: skip
    closed = parse_segment_list((folder / "segments.csv").read_text())
    assert len(closed) == 6
    return folder, closed


EPOCH = time.time() - 600
"""The wall time at which the camera's clock read 0."""


def record_feed(runtime, feed_id, camera, *, first: int, arrives_s: float, into: Path) -> None:
    """Record the camera's segments from ``first`` on, as a puller would whose segments close
    ``arrives_s`` after the camera's clock reads each one's end."""
    folder, closed = camera
    session_dir = into / feed_id / "20261208T120000000000"
    session_dir.mkdir(parents=True)
    for segment in closed[first:]:
        path = session_dir / segment.filename
        shutil.copyfile(folder / segment.filename, path)
        closes = EPOCH + arrives_s + segment.end_s
        os.utime(path, (closes, closes))
        assert record(runtime, feed_id, session_dir, segment) is not None


def live_feeds(sessions, name: str) -> tuple[str, str, str]:
    with session_scope(sessions) as session:
        event = services.create_event(f"{name} {RUN_ID}", session=session)
        a = services.add_live_feed(event, "cam1", "srt://127.0.0.1:9/a", session=session).id
        b = services.add_live_feed(event, "cam2", "srt://127.0.0.1:9/b", session=session).id
        return event.id, a, b


@pytest.fixture
def runtime(embedded, sessions, store, ffmpeg) -> LiveRuntime:
    return LiveRuntime(settings=embedded, sessions=sessions, store=store, ffmpeg=ffmpeg,
                       enqueue=False)  # fmt: skip


def clock_of(sessions, feed_id) -> list[tuple[float, float]]:
    with session_scope(sessions) as session:
        asset = services.find_live_asset(feed_id, session=session)
        return [
            (s.clock_start_s, s.duration_s)
            for s in services.recent_segments(asset.id, session=session)
        ]


@pytest.mark.media
def test_sync_puts_the_same_moment_at_the_same_event_time(
    runtime, sessions, ffmpeg, store, camera_segments, tmp_path
):
    """Two pullers record the same pictures; cam2's segments arrive 0.35 s later and its puller
    joined a segment later. After the sync, each segment of cam2 starts where the same segment
    of cam1 does, to 2 ms: cam1's first segment starts with sound before its picture, and the
    measurement must not take that sound for the picture's time."""
    event_id, cam1, cam2 = live_feeds(sessions, "Sync exact")
    record_feed(runtime, cam1, camera_segments, first=0, arrives_s=0.05, into=tmp_path)
    record_feed(runtime, cam2, camera_segments, first=1, arrives_s=0.40, into=tmp_path)
    before1, before2 = clock_of(sessions, cam1), clock_of(sessions, cam2)
    assert before2[0][0] - before1[1][0] == pytest.approx(0.35, abs=0.002)

    moved = sync_event(event_id, sessions=sessions, store=store, ffmpeg=ffmpeg, window_s=8)
    assert [m.feed for m in moved] == ["cam2"] and moved[0].method == "audio"
    assert moved[0].correction_s == pytest.approx(-0.35, abs=0.002)
    after1, after2 = clock_of(sessions, cam1), clock_of(sessions, cam2)
    for (start1, _), (start2, _) in zip(after1[1:], after2, strict=True):
        assert start2 == pytest.approx(start1, abs=0.002)


@pytest.mark.media
def test_sync_measures_across_a_hole_at_the_start_of_its_window(
    runtime, sessions, ffmpeg, store, camera_segments, tmp_path
):
    """A recording whose first segment sits 0.1 s apart from the rest (as two feeds racing to
    set the event's origin once left them): when the sync window starts in that hole, the
    clip starts later than the window, and the measurement says where it starts."""
    event_id, cam1, cam2 = live_feeds(sessions, "Sync hole")
    record_feed(runtime, cam1, camera_segments, first=0, arrives_s=0.05, into=tmp_path)
    record_feed(runtime, cam2, camera_segments, first=0, arrives_s=0.05, into=tmp_path)
    with session_scope(sessions) as session:
        session.execute(
            update(Segment)
            .where(Segment.feed_id == cam2, Segment.sequence >= 1)
            .values(clock_start_s=Segment.clock_start_s + 0.1)
        )
    rows1, rows2 = clock_of(sessions, cam1), clock_of(sessions, cam2)
    end = min(rows1[-1][0] + rows1[-1][1], rows2[-1][0] + rows2[-1][1])
    hole = rows2[0][0] + rows2[0][1] + 0.05  # in the middle of cam2's hole
    moved = sync_event(event_id, sessions=sessions, store=store, ffmpeg=ffmpeg, window_s=end - hole)
    # cam2's segments from the second on were 0.1 s late: the sync moves them back.
    assert moved[0].correction_s == pytest.approx(-0.1, abs=0.002)
    after1, after2 = clock_of(sessions, cam1), clock_of(sessions, cam2)
    for (start1, _), (start2, _) in zip(after1[1:], after2[1:], strict=True):
        assert start2 == pytest.approx(start1, abs=0.002)
