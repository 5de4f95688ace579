"""Live ingest against the camera simulator: pullers, spool, gaps, playlists, live renditions."""

from __future__ import annotations

import itertools
import math
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC
from fractions import Fraction

import pytest
from sqlalchemy import func, select

from catalog import services
from catalog.models import FeedState, Segment
from infra.core.database import session_scope
from infra.core.settings import LiveSettings, Settings, StorageSettings
from infra.core.storage import ObjectStore
from infra.ops.simulator import Simulator
from ingest.clock_sync import picture_at
from ingest.live.spool import LiveRuntime, drain
from ingest.live.supervisor import Supervisor
from tests import staff
from tests.conformance import check_master_playlist, check_media_playlist
from tests.conftest import RUN_ID, free_port
from tests.transcode.test_media import decoded_frames
from transcode import framecode

pytestmark = pytest.mark.integration

LIVE = LiveSettings(
    segment_s=2.0, timeout_s=3.0, stall_after_s=4.0, reconnect_max_s=2.0, give_up_after=2
)


@pytest.fixture(scope="module")
def live_settings(embedded: Settings) -> Settings:
    return embedded.model_copy(update={"live": LIVE})


@pytest.fixture(scope="module")
def simulator(ffmpeg, live_settings) -> Iterator[Simulator]:
    sim = Simulator(
        ffmpeg, cameras=2, protocol="hls", folder=live_settings.home / "sim",
        base_port=free_port(), size=(640, 360), rate=Fraction(25), delays=[0.0, 0.4],
        bitrate_kbps=800,
    )  # fmt: skip
    sim.start()
    for cam in sim.cameras:  # a camera is on air once its playlist is served
        wait_until(lambda c=cam: staff.get(c.url).status_code == 200, timeout=20)
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def runtime(live_settings, sessions, store, ffmpeg) -> LiveRuntime:
    return LiveRuntime(settings=live_settings, sessions=sessions, store=store, ffmpeg=ffmpeg)


@pytest.fixture(scope="module")
def supervisor(runtime) -> Iterator[Supervisor]:
    sup = Supervisor(runtime, poll_s=0.5)
    stop = threading.Event()
    thread = threading.Thread(target=sup.run, args=(stop,), daemon=True)
    thread.start()
    yield sup
    stop.set()
    thread.join(60)


def wait_until(check, timeout=40.0, every=0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not met in time")


def one_camera(ffmpeg, folder, protocol="hls"):
    """A small simulated camera, on air (for HLS: its playlist is served) when this returns."""
    sim = Simulator(
        ffmpeg, cameras=1, protocol=protocol, folder=folder, base_port=free_port(),
        size=(320, 180), rate=Fraction(25), bitrate_kbps=300,
    )  # fmt: skip
    sim.start()
    if protocol == "hls":
        wait_until(lambda: staff.get(sim.cameras[0].url).status_code == 200, timeout=20)
    return sim


def segments_of(sessions, feed_id):
    with session_scope(sessions) as session:
        asset = services.find_live_asset(feed_id, session=session)
        if asset is None:
            return []
        return [
            (s.id, s.sequence, s.clock_start_s, s.duration_s, s.discontinuity, len(s.renditions))
            for s in services.recent_segments(asset.id, session=session)
        ]


def feed_state(sessions, feed_id):
    with session_scope(sessions) as session:
        feed = services.get_feed(feed_id, session=session)
        return feed.state, feed.state_detail


@pytest.fixture(scope="module")
def live_event(sessions, simulator, supervisor, worker):
    with session_scope(sessions) as session:
        event = services.create_event("Live final", session=session, sport="football")
        ids = []
        for cam in simulator.cameras:
            feed = services.add_live_feed(event, cam.camera.name, cam.url, session=session)
            feed.enabled = True
            ids.append(feed.id)
        event_id = event.id
    yield event_id, ids
    with session_scope(sessions) as session:
        for feed_id in ids:
            services.get_feed(feed_id, session=session).enabled = False


@pytest.mark.media
def test_feeds_go_live_and_segments_land(live_event, sessions):
    _, (cam1, cam2) = live_event
    for feed_id in (cam1, cam2):
        wait_until(lambda f=feed_id: len(segments_of(sessions, f)) >= 3)
        assert feed_state(sessions, feed_id)[0] is FeedState.LIVE
    with session_scope(sessions) as session:
        feed = services.get_feed(cam1, session=session)
        assert feed.lag_s is not None and feed.lag_s >= 0
        assert feed.bitrate_kbps and feed.bitrate_kbps > 100
        assert feed.last_segment_at is not None
    rows = segments_of(sessions, cam1)
    sequences = [r[1] for r in rows]
    assert sequences == list(range(len(rows)))
    for previous, current in itertools.pairwise(rows):
        # Back to back on the event clock: each starts where the last ended.
        assert current[2] == pytest.approx(previous[2] + previous[3], abs=0.05)


@pytest.mark.media
def test_live_playlists_play_and_gain_renditions(live_event, sessions, api_url, ffmpeg, tmp_path):
    _, (cam1, _) = live_event
    # The live worker transcodes each landed segment to 360p (the 640x360 source's only rung).
    wait_until(lambda: sum(1 for r in segments_of(sessions, cam1) if r[5]) >= 2, timeout=60)
    master = staff.get(f"{api_url}/v1/feeds/{cam1}/live.m3u8")
    assert master.status_code == 200
    assert "live/360p.m3u8" in master.text and "live/source.m3u8" in master.text
    check_master_playlist(master.text)
    media = staff.get(f"{api_url}/v1/feeds/{cam1}/live/360p.m3u8").text
    check_media_playlist(media)
    assert "#EXT-X-ENDLIST" not in media and "#EXT-X-PROGRAM-DATE-TIME:" in media
    # The master's URIs carry a media token: a player needs nothing else.
    signed = next(line for line in master.text.splitlines() if line.startswith("live/source"))
    assert "?token=" in signed
    frames = decoded_frames(ffmpeg, f"{api_url}/v1/feeds/{cam1}/{signed}", seconds=4)
    assert frames == 100  # 4 s at 25 fps, across segment boundaries
    # The picture is the simulator's: its frame code reads back from a live rendition.
    first_rendition = next(r for r in segments_of(sessions, cam1) if r[5])
    token = signed.split("?token=")[1]
    url = f"{api_url}/v1/segments/{first_rendition[0]}/360p.ts?token={token}"
    still = tmp_path / "still.png"

    subprocess.run(
        [ffmpeg, "-nostdin", "-loglevel", "error", "-i", url, "-frames:v", "1", str(still)],
        check=True,
    )
    import cv2

    code = framecode.read(cv2.imread(str(still)))
    assert code is not None and code.camera == 0


def frame_code_at(store, sessions, feed_id, at_s, folder):
    """The frame code of the picture a feed shows at event time ``at_s``."""
    return framecode.read(picture_at(sessions, store, feed_id, at_s, folder))


_SYNCS: dict[str, dict] = {}


def synced(live_event, sessions, api_url) -> dict:
    """The live event's sync job, run once per event by whichever test needs it first (tests of
    this module may run in any of the parallel processes, each with its own live event)."""
    event_id, (cam1, cam2) = live_event
    if event_id in _SYNCS:
        return _SYNCS[event_id]

    def since_reconnect(feed_id):
        rows = segments_of(sessions, feed_id)
        starts = [i for i, r in enumerate(rows) if r[4]] or [0]
        return len(rows) - starts[-1]

    # The cameras may have reconnected in earlier tests: compare within their current connections.
    wait_until(lambda: min(since_reconnect(cam1), since_reconnect(cam2)) >= 7, timeout=90)
    answer = staff.post(f"{api_url}/v1/events/{event_id}/sync", params={"window_s": 12})
    assert answer.status_code == 202, answer.text  # a job for a worker: no media in a request
    job_url = api_url + answer.headers["location"]
    assert answer.json()["kind"] == "sync" and job_url.endswith(answer.json()["id"])
    job = wait_until(
        lambda: (j := staff.get(job_url).json())["status"] in ("succeeded", "failed", "dead") and j,
        timeout=120,
    )
    _SYNCS[event_id] = job
    return job


@pytest.mark.media
def test_sync_lines_cameras_up_to_the_frame(live_event, sessions, store, api_url, tmp_path):
    """The simulator's cam2 shows the match 0.4 s late. After a sync, the same event time shows
    the same match frame on both cameras, within one frame."""
    event_id, (cam1, cam2) = live_event
    job = synced(live_event, sessions, api_url)
    assert job["status"] == "succeeded", job
    assert [moved["feed"] for moved in job["output"]["feeds"]] == ["cam2"]
    feeds = {f["name"]: f for f in staff.get(f"{api_url}/v1/events/{event_id}/feeds").json()}
    assert feeds["cam1"]["clock_method"] == "reference"
    assert feeds["cam2"]["clock_method"] == "audio" and feeds["cam2"]["clock_confidence"] > 0.5
    rows1, rows2 = segments_of(sessions, cam1), segments_of(sessions, cam2)
    common_end = min(rows1[-1][2] + rows1[-1][3], rows2[-1][2] + rows2[-1][3])
    at = common_end - 3.3
    code1 = frame_code_at(store, sessions, cam1, at, tmp_path)
    code2 = frame_code_at(store, sessions, cam2, at, tmp_path)
    assert code1 is not None and code2 is not None
    assert (code1.camera, code2.camera) == (0, 1)
    offsets = {name: (f["clock_offset_s"], f["clock_confidence"]) for name, f in feeds.items()}
    with session_scope(sessions) as session:
        placed = {
            name: [(s.sequence, s.clock_source, round(s.clock_start_s, 3)) for s in
                   services.recent_segments(services.find_live_asset(f, session=session).id,
                                            session=session)]
            for name, f in (("cam1", cam1), ("cam2", cam2))
        }  # fmt: skip
    assert abs(code1.frame - code2.frame) <= 1, (code1, code2, at, offsets, job["output"], placed)


@pytest.mark.media
def test_a_replay_is_cut_from_recordings_still_growing(live_event, sessions, api_url):
    """Angles of the last seconds of two live recordings, while they record: every frame from
    the right camera, in order, and after the sync both start on the same match frame."""
    import io

    import av

    from tests.workers.test_pipeline import wait_for

    event_id, (cam1, cam2) = live_event
    assert synced(live_event, sessions, api_url)["status"] == "succeeded"
    rows1, rows2 = segments_of(sessions, cam1), segments_of(sessions, cam2)
    end = min(rows1[-1][2] + rows1[-1][3], rows2[-1][2] + rows2[-1][3]) - 0.5
    answer = staff.post(
        f"{api_url}/v1/replays",
        json={"event_id": event_id, "kind": "angles", "start_s": end - 4.0, "end_s": end},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    [job] = wait_for(sessions, [answer.json()["job_id"]], timeout=180)
    assert job.status.value == "succeeded", job.error
    replay = staff.get(f"{api_url}/v1/replays/{answer.json()['id']}").json()
    firsts = []
    for output in replay["outputs"]:
        data = staff.get(output["url"], follow_redirects=True, timeout=60).content
        with av.open(io.BytesIO(data)) as container:
            codes = [
                framecode.read(f.to_ndarray(format="bgr24")) for f in container.decode(video=0)
            ]
        assert len(codes) == 100 and all(codes), output["feed"]
        numbers = [c.frame for c in codes if c]
        assert numbers == list(range(numbers[0], numbers[0] + 100)), output["feed"]
        assert {c.camera for c in codes if c} == {int(output["feed"][3:]) - 1}
        firsts.append(numbers[0])
    assert abs(firsts[0] - firsts[1]) <= 1, firsts


@pytest.mark.browser
def test_the_editors_page_opens_growing_recordings_at_their_live_edge(
    live_event, browser, sessions, api_url
):
    from tests.api.test_ui import frame_codes, key, sign_in

    event_id, (cam1, cam2) = live_event
    assert synced(live_event, sessions, api_url)["status"] == "succeeded"  # cam2 runs 0.4 s late
    wait_until(lambda: min(len(segments_of(sessions, f)) for f in (cam1, cam2)) >= 3)
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    sign_in(page, api_url, key(sessions))
    page.goto(f"{api_url}/events/{event_id}")
    page.wait_for_function("() => window.vantagePlayer && window.vantagePlayer.angles.length === 2")
    t, end = page.evaluate("() => [window.vantagePlayer.t, window.vantagePlayer.span.end]")
    assert end - t == pytest.approx(3.0, abs=0.05)  # a segment or so behind the newest picture
    assert page.locator(".tile .live").first.text_content().startswith("LIVE")
    # Both angles show the same instant of the match at the edge.
    assert page.evaluate("() => window.vantagePlayer.settled()")
    codes = [c for c in frame_codes(page).values() if c is not None]
    assert len(codes) == 2 and abs(codes[0] - codes[1]) <= 1, codes
    # The page follows the recordings as they grow.
    page.wait_for_function(f"() => window.vantagePlayer.span.end > {end + 2}", timeout=20_000)
    context.close()


@pytest.mark.media
def test_stop_and_restart_leaves_a_recorded_gap_and_nothing_lost(live_event, sessions, api_url):
    _, (_, cam2) = live_event
    wait_until(lambda: len(segments_of(sessions, cam2)) >= 2)
    assert staff.post(f"{api_url}/v1/feeds/{cam2}/stop").status_code == 202
    wait_until(lambda: feed_state(sessions, cam2)[0] is FeedState.STOPPED)
    stopped = segments_of(sessions, cam2)
    time.sleep(3)
    # Nothing lands while stopped (renditions of the last segments may still arrive).
    assert [r[:5] for r in segments_of(sessions, cam2)] == [r[:5] for r in stopped]
    recording = staff.get(f"{api_url}/v1/feeds/{cam2}/live/source.m3u8").text
    check_media_playlist(recording)
    assert recording.rstrip().endswith("#EXT-X-ENDLIST")
    with session_scope(sessions) as session:
        asset_id = services.find_live_asset(cam2, session=session).id
    asset = staff.get(f"{api_url}/v1/assets/{asset_id}").json()
    assert asset["status"] == "ready" and asset["download_url"] is None
    assert asset["playlist_url"].split("?")[0].endswith(f"/v1/assets/{asset_id}/recording.m3u8")
    assert staff.get(f"{api_url}/v1/assets/{asset_id}/download").status_code == 409
    vod = staff.get(f"{api_url}/v1/assets/{asset_id}/recording/source.m3u8").text
    check_media_playlist(vod)
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in vod and vod.count("#EXTINF") == len(stopped)
    assert staff.post(f"{api_url}/v1/feeds/{cam2}/start").status_code == 202
    wait_until(lambda: len(segments_of(sessions, cam2)) >= len(stopped) + 2)
    rows = segments_of(sessions, cam2)
    assert [r[1] for r in rows] == list(range(len(rows)))
    resumed = rows[len(stopped)]
    assert resumed[4] is True  # discontinuity
    gaps = staff.get(f"{api_url}/v1/feeds/{cam2}/gaps").json()
    assert gaps, "the stop must be a recorded gap"
    last_before = stopped[-1][2] + stopped[-1][3]
    assert gaps[-1]["clock_start_s"] == pytest.approx(last_before, abs=0.01)
    assert gaps[-1]["clock_end_s"] == pytest.approx(resumed[2], abs=0.01)
    assert gaps[-1]["clock_end_s"] - gaps[-1]["clock_start_s"] >= 2.5
    with session_scope(sessions) as session:
        keys = session.scalars(select(Segment.key).where(Segment.feed_id == cam2)).all()
        assert len(keys) == len(set(keys))


@pytest.mark.media
def test_a_dropped_source_is_reconnected_and_the_gap_says_why(
    live_event, sessions, simulator, api_url
):
    _, (cam1, _) = live_event
    # Live first (this may be the first test of the module in its process).
    wait_until(lambda: len(segments_of(sessions, cam1)) >= 2)
    before = len(segments_of(sessions, cam1))
    with session_scope(sessions) as session:
        assert services.get_feed(cam1, session=session).source_format == "h264 640x360 25 +aac"
    simulator.pause("cam1")
    wait_until(lambda: feed_state(sessions, cam1)[0] in (FeedState.STALLED, FeedState.CONNECTING))
    time.sleep(2)
    simulator.resume("cam1", size=(480, 270))  # the camera comes back in another format
    wait_until(lambda: feed_state(sessions, cam1)[0] is FeedState.LIVE and any(
        r[4] for r in segments_of(sessions, cam1)[before:]
    ), timeout=60)  # fmt: skip
    reasons = [g["reason"] for g in staff.get(f"{api_url}/v1/feeds/{cam1}/gaps").json()]
    assert any(r.startswith("source dropped") for r in reasons), reasons
    feed = staff.get(f"{api_url}/v1/feeds/{cam1}").json()
    assert feed["source_format"] == "h264 480x270 25 +aac"
    assert feed["state_detail"] == (
        "source changed from h264 640x360 25 +aac to h264 480x270 25 +aac"
    )


def replace_live(settings: Settings, source_clock: bool) -> LiveSettings:
    return settings.live.model_copy(update={"source_clock": source_clock})


def truth_frame(sim: Simulator, delay_s: float, wall: float) -> float:
    """The match frame a simulated camera captured at ``wall`` (fractional: where in it)."""
    return (wall - sim.epoch - delay_s) * float(sim.rate)


@pytest.mark.media
def test_a_late_link_places_hls_by_its_program_date_time_to_the_frame(
    sessions, store, runtime, ffmpeg, tmp_path
):
    """Segments reaching the puller 1.5 s after their encoder wrote them (a congested link; a
    starved machine does the same to arrival) are placed on the clock by the time the encoder
    stamped on each, to the frame, without a sync; arrival would have put them 37 frames late
    (the cause of a camera found 2 s behind on a busy machine)."""
    from ingest.live.puller import FeedPuller

    sim = Simulator(
        ffmpeg, cameras=1, protocol="hls", folder=tmp_path / "sim", base_port=free_port(),
        size=(480, 270), rate=Fraction(25), delays=[0.0], bitrate_kbps=600,
        network_delays=[1.5],
    )  # fmt: skip
    settings = runtime.settings
    by_source = replace(
        runtime, settings=settings.model_copy(update={"live": replace_live(settings, True)})
    )
    sim.start()
    puller = None
    try:
        wait_until(lambda: staff.get(sim.cameras[0].url).status_code == 200, timeout=20)
        with session_scope(sessions) as session:
            event = services.create_event(f"Late link {RUN_ID}", session=session)
            feed = services.add_live_feed(event, "cam1", sim.cameras[0].url, session=session)
            event_id, feed_id = event.id, feed.id
        # A puller of its own (the feed is not enabled, so the module's supervisor leaves it).
        puller = FeedPuller(feed_id, by_source)
        puller.start()
        wait_until(lambda: len(segments_of(sessions, feed_id)) >= 4, timeout=90)
        with session_scope(sessions) as session:
            feed = services.get_feed(feed_id, session=session)
            offset = feed.clock_offset_s
            origin = services.get_event(event_id, session=session).clock_origin
            asset = services.find_live_asset(feed_id, session=session)
            rows = services.recent_segments(asset.id, session=session)
            assert asset.clock_source == "program-date-time"
    finally:
        if puller is not None:
            puller.stop()
            puller.join(30)
        sim.stop()
    assert {row.clock_source for row in rows} == {"program-date-time"}
    assert {row.clock_uncertainty_s for row in rows} == {0.001}
    assert origin is not None
    origin_s = (origin if origin.tzinfo else origin.replace(tzinfo=UTC)).timestamp()
    rate = float(sim.rate)
    errors, arrival = [], []
    # (A session's first segment starts with its audio, a frame before its first picture;
    # picture readers count from the first picture, so it is left out here.)
    for row in rows[1:4]:
        # When a frame was captured, inside the segment: the picture nearest that instant on
        # the clock must be that frame (a placement off by half a frame or more shows another).
        frame = math.floor(truth_frame(sim, 0.0, origin_s + row.clock_start_s + 0.5 - offset))
        at = sim.epoch + frame / rate - origin_s + offset
        code = frame_code_at(store, sessions, feed_id, at, tmp_path)
        assert code is not None and code.camera == 0
        errors.append(code.frame - frame)
        by_arrival = row.closed_at.replace(tzinfo=UTC).timestamp() - row.duration_s
        arrival.append(
            round(
                truth_frame(sim, 0.0, by_arrival)
                - truth_frame(sim, 0.0, origin_s + row.clock_start_s - offset)
            )
        )
    assert errors == [0, 0, 0], errors
    assert min(arrival) >= 30, arrival  # what arrival alone would have said


@pytest.mark.media
def test_a_source_that_never_connects_ends_failed(sessions, supervisor, api_url):
    dead = f"http://127.0.0.1:{free_port()}/nobody/index.m3u8"
    event = staff.post(f"{api_url}/v1/events", json={"name": "Empty stadium"}).json()
    feed = staff.post(
        f"{api_url}/v1/events/{event['id']}/feeds",
        json={"name": "cam9", "source": dead, "start": True},
    ).json()
    wait_until(lambda: feed_state(sessions, feed["id"])[0] is FeedState.FAILED, timeout=60)
    answer = staff.get(f"{api_url}/v1/feeds/{feed['id']}").json()
    assert (
        answer["state"] == "failed" and "never connected after 2 attempts" in answer["state_detail"]
    )
    assert answer["enabled"] is False


@pytest.mark.media
def test_a_playlist_sending_the_puller_elsewhere_gets_nothing_from_there(
    sessions, supervisor, api_url, ffmpeg, tmp_path
):
    from tests.ingest.test_gate import Origin, hls_stream

    feed_origin, elsewhere = Origin(tmp_path / "feed"), Origin(tmp_path / "inside")
    try:
        for origin in (feed_origin, elsewhere):
            origin.folder.mkdir(exist_ok=True)
        hls_stream(ffmpeg, elsewhere.folder)  # what an internal service would answer
        (feed_origin.folder / "master.m3u8").write_text(
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\n" + elsewhere.url + "/index.m3u8\n"
        )
        event = staff.post(f"{api_url}/v1/events", json={"name": "Hostile encoder"}).json()
        feed = staff.post(
            f"{api_url}/v1/events/{event['id']}/feeds",
            json={"name": "cam1", "source": feed_origin.url + "/master.m3u8", "start": True},
        ).json()
        wait_until(lambda: feed_state(sessions, feed["id"])[0] is FeedState.FAILED, timeout=60)
        answer = staff.get(f"{api_url}/v1/feeds/{feed['id']}").json()
        assert "off the feed's origin" in answer["state_detail"], answer["state_detail"]
        assert elsewhere.url + "/index.m3u8" in answer["state_detail"]
        assert elsewhere.hits == []
        assert feed_origin.hits.count("/master.m3u8") >= 1
    finally:
        feed_origin.close()
        elsewhere.close()


def test_bad_feed_requests_are_refused(api_url):
    event = staff.post(f"{api_url}/v1/events", json={"name": "Bad feeds"}).json()
    base = f"{api_url}/v1/events/{event['id']}/feeds"
    assert staff.post(base, json={"name": "x", "source": "ftp://cam"}).status_code == 400
    assert staff.post(base, json={"name": "x", "source": "/etc/passwd"}).status_code == 400
    assert staff.post(base, json={"name": "../x", "source": "srt://h:1"}).status_code == 422
    assert (
        staff.post(
            f"{api_url}/v1/events/nope/feeds", json={"name": "x", "source": "srt://h:1"}
        ).status_code
        == 404
    )
    assert staff.post(f"{api_url}/v1/feeds/nope/start").status_code == 404
    assert staff.get(f"{api_url}/v1/feeds/nope/live.m3u8").status_code == 404


def test_storage_outage_spools_then_drains_without_duplicates(
    runtime, sessions, ffmpeg, live_settings
):
    """Pull a feed while the bucket is unreachable: segments wait on disk; once storage is back a
    drain records each exactly once, and a second drain records nothing."""
    from prometheus_client import REGISTRY

    from ingest.live.puller import FeedPuller

    def storage_errors() -> float:
        found = REGISTRY.get_sample_value(
            "vantage_storage_errors_total", {"operation": "PutObject"}
        )
        return found or 0.0

    errors_before = storage_errors()
    down = ObjectStore(StorageSettings(endpoint_url=f"http://127.0.0.1:{free_port()}", bucket="x"))
    outage = replace(runtime, store=down, enqueue=False)
    sim = one_camera(ffmpeg, live_settings.home / "sim-outage")
    with session_scope(sessions) as session:
        event = services.create_event("Storage outage", session=session)
        feed_id = services.add_live_feed(event, "cam1", sim.cameras[0].url, session=session).id
    puller = FeedPuller(feed_id, outage)
    puller.start()
    try:
        spool = live_settings.spool_dir / feed_id
        wait_until(lambda: len(list(spool.glob("*/*.ts"))) >= 3, timeout=40)
        wait_until(lambda: (feed_state(sessions, feed_id)[1] or "").startswith("storage"))
        assert "spooling" in (feed_state(sessions, feed_id)[1] or "")
    finally:
        puller.stop()
        puller.join(30)
        sim.stop()
    assert segments_of(sessions, feed_id) == []
    assert storage_errors() >= errors_before + 3  # operators see the outage in the metrics
    spooled = len(list(spool.glob("*/*.ts")))
    assert spooled >= 3
    recorded, problem = drain(replace(runtime, enqueue=False), feed_id)
    assert problem is None and recorded == spooled
    assert drain(replace(runtime, enqueue=False), feed_id) == (0, None)
    with session_scope(sessions) as session:
        count = session.scalar(
            select(func.count()).select_from(Segment).where(Segment.feed_id == feed_id)
        )
    assert count == spooled
    assert not list(spool.glob("*/*.ts"))


@pytest.mark.media
def test_a_burst_at_connect_does_not_misplace_the_session(
    runtime, sessions, ffmpeg, camera_clip, tmp_path
):
    """Segments read in a burst (an HLS live edge) closed late; the first real-time segment
    tightens the anchor and the whole session moves to where its content really was."""
    import os

    from ingest.live.spool import Anchor, record
    from ingest.media.segmenter import ClosedSegment

    with session_scope(sessions) as session:
        event = services.create_event("Burst", session=session)
        feed_id = services.add_live_feed(event, "cam1", "srt://127.0.0.1:9/x", session=session).id
    session_dir = tmp_path / "20260101T000000000000"
    session_dir.mkdir()
    Anchor(reason="feed started").save(session_dir)
    true_start = 1_800_000_000.0
    closes = [true_start + 5.0, true_start + 5.0, true_start + 6.02]  # burst, burst, real time
    for index, closed_at in enumerate(closes):
        part = session_dir / f"{index:06d}.ts"
        subprocess.run(
            [ffmpeg, "-nostdin", "-loglevel", "error", "-i", str(camera_clip), "-t", "2",
             "-c", "copy", "-f", "mpegts", str(part)],
            check=True,
        )  # fmt: skip
        os.utime(part, (closed_at, closed_at))
        record(replace(runtime, enqueue=False), feed_id, session_dir,
               ClosedSegment(part.name, 2.0 * index, 2.0 * index + 2.0))  # fmt: skip
    with session_scope(sessions) as session:
        asset = services.find_live_asset(feed_id, session=session)
        rows = services.recent_segments(asset.id, session=session)
        starts = [r.clock_start_s for r in rows]
        pdt = rows[0].program_date_time
        first_wall = (pdt if pdt.tzinfo else pdt.replace(tzinfo=UTC)).timestamp()
    assert first_wall == pytest.approx(true_start + 0.02, abs=0.001)
    assert starts[1] - starts[0] == pytest.approx(2.0) and starts[2] - starts[1] == pytest.approx(
        2.0
    )


@pytest.mark.media
def test_srt_caller_pulls_a_listening_camera(runtime, sessions, ffmpeg, live_settings):
    from ingest.live.puller import FeedPuller

    sim = one_camera(ffmpeg, live_settings.home / "sim-srt", protocol="srt")
    with session_scope(sessions) as session:
        event = services.create_event("SRT contribution", session=session)
        feed_id = services.add_live_feed(event, "cam1", sim.cameras[0].url, session=session).id
    puller = FeedPuller(feed_id, replace(runtime, enqueue=False))
    puller.start()
    try:
        wait_until(
            lambda: (
                len(segments_of(sessions, feed_id)) >= 2
                and feed_state(sessions, feed_id)[0] is FeedState.LIVE
            ),
            timeout=40,
        )
    finally:
        puller.stop()
        puller.join(30)
        sim.stop()
    assert feed_state(sessions, feed_id)[0] is FeedState.STOPPED


def test_a_full_spool_stalls_the_feed_and_says_so(runtime, sessions, live_settings):
    import shutil as sh

    from ingest.live.puller import FeedPuller

    free_mb = sh.disk_usage(live_settings.home).free // (1024 * 1024)
    tight = replace(
        runtime,
        settings=live_settings.model_copy(
            update={"live": LIVE.model_copy(update={"min_free_spool_mb": free_mb + 10_000})}
        ),
    )
    with session_scope(sessions) as session:
        event = services.create_event("Full disk", session=session)
        feed_id = services.add_live_feed(event, "cam1", "srt://127.0.0.1:9/x", session=session).id
    puller = FeedPuller(feed_id, tight)
    puller.start()
    try:
        wait_until(lambda: feed_state(sessions, feed_id)[0] is FeedState.STALLED, timeout=20)
        assert (feed_state(sessions, feed_id)[1] or "").startswith("spool disk full")
        assert not list((live_settings.spool_dir / feed_id).glob("*/"))  # no puller started
    finally:
        puller.stop()
        puller.join(20)
    assert feed_state(sessions, feed_id)[0] is FeedState.STOPPED
