"""Multi-angle replays end to end: four cameras of the virtual match, each frame carrying its
event frame number, ingested on the event clock; replays ordered through the API and checked
frame by frame."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from fractions import Fraction

import av
import pytest
from sqlalchemy import func, select

from catalog import services
from catalog.models import Job, JobStatus, ReplayKind
from infra.core.database import session_scope
from ingest.files import FeedFile, ingest_files
from tests import staff
from tests.conftest import RUN_ID
from tests.workers.test_pipeline import wait_for
from transcode import framecode
from transcode.scene import camera_ring
from transcode.synthetic import render_scene_camera

pytestmark = pytest.mark.integration

RATE = Fraction(25)
# Each camera's first event frame: cameras start recording at different moments.
STARTS = {"cam1": 0, "cam2": 10, "cam3": 20, "cam4": 5}
FRAMES = 200  # 8 s each


@pytest.fixture(scope="module")
def match(embedded, sessions, store, worker, api_url, ffmpeg, media_dir):
    ring = camera_ring(4)
    files = [
        FeedFile(
            camera.name,
            render_scene_camera(
                ffmpeg,
                camera,
                media_dir / f"match-{camera.name}.mp4",
                first_frame=STARTS[camera.name],
                frames=FRAMES,
            ),
        )
        for camera in ring
    ]
    with session_scope(sessions) as session:
        event_id = services.create_event(f"Replay final {RUN_ID}", session=session).id
    outcomes = ingest_files(event_id, files, settings=embedded, sessions=sessions, store=store)
    assert all(o.ok for o in outcomes), outcomes
    with session_scope(sessions) as session:
        event = services.get_event(event_id, session=session, detail=True)
        for feed in event.feeds:
            feed.angle_deg = next(c.azimuth_deg for c in ring if c.name == feed.name)
        feeds = {feed.name: feed.id for feed in event.feeds}
    # cam1 starts at event frame 0, so the event clock's zero is its first frame.
    assert sorted((o.feed, round(o.clock_start_s * 25)) for o in outcomes) == sorted(STARTS.items())
    return event_id, feeds


def order(api_url, body, sessions, *, timeout=240):
    answer = staff.post(f"{api_url}/v1/replays", json=body, timeout=30)
    assert answer.status_code == 202, answer.text
    replay = answer.json()
    [job] = wait_for(sessions, [replay["job_id"]], timeout=timeout)
    assert job.status is JobStatus.SUCCEEDED, job.error
    assert job.output is not None and job.output["timings"]["cut_s"] > 0
    done = staff.get(f"{api_url}/v1/replays/{replay['id']}").json()
    assert done["status"] == "succeeded" and done["progress"] == 1.0
    return done


def codes(url: str) -> list[framecode.FrameCode | None]:
    data = staff.get(url, follow_redirects=True, timeout=60).content
    with av.open(io.BytesIO(data)) as container:
        return [framecode.read(f.to_ndarray(format="bgr24")) for f in container.decode(video=0)]


@pytest.mark.media
@pytest.mark.parametrize(
    ("start_s", "end_s"),
    [
        (2.0, 4.0),  # both ends on keyframes of the 2 s GOPs
        (2.44, 5.2),  # both ends inside GOPs: only the boundary GOPs are re-encoded
        (4.4, 4.96),  # shorter than a GOP
    ],
)
def test_angles_start_and_end_on_exactly_the_asked_frames(match, api_url, sessions, start_s, end_s):
    event_id, feeds = match
    replay = order(
        api_url, {"event_id": event_id, "kind": "angles", "start_s": start_s, "end_s": end_s},
        sessions,
    )  # fmt: skip
    first, last = round(start_s * RATE), round(end_s * RATE) - 1
    assert len(replay["outputs"]) == 4
    for output in replay["outputs"]:
        found = codes(output["url"])
        camera = int(output["feed"][3:]) - 1
        assert all(code is not None and code.camera == camera for code in found), output["feed"]
        numbers = [code.frame for code in found if code]
        assert numbers == list(range(first, last + 1)), (output["feed"], numbers[:3], numbers[-3:])
        assert output["frames"] == last - first + 1
    assert {s["feed_id"] for s in replay["sources"]} == set(feeds.values())


@pytest.mark.media
def test_the_bundle_holds_every_output_and_a_manifest_with_checksums(match, api_url, sessions):
    event_id, feeds = match
    replay = order(
        api_url,
        {"event_id": event_id, "kind": "angles", "start_s": 3.0, "end_s": 4.0,
         "feed_ids": [feeds["cam2"], feeds["cam3"]]},
        sessions,
    )  # fmt: skip
    package = staff.get(replay["package_url"], follow_redirects=True, timeout=60).content
    with zipfile.ZipFile(io.BytesIO(package)) as bundle:
        manifest = json.loads(bundle.read("manifest.json"))
        for output in manifest["outputs"]:
            assert hashlib.sha256(bundle.read(output["name"])).hexdigest() == output["sha256"]
    assert [s["feed"] for s in manifest["sources"]] == ["cam2", "cam3"]
    assert all(s["first_frame_clock_s"] == pytest.approx(3.0) for s in manifest["sources"])
    assert manifest["event_clock"] == {"start_s": 3.0, "end_s": 4.0}


@pytest.mark.media
def test_a_mosaic_shows_every_angle_in_sync(match, api_url, sessions):
    event_id, _ = match
    replay = order(
        api_url,
        {"event_id": event_id, "kind": "mosaic", "start_s": 4.0, "end_s": 6.0,
         "options": {"lines": 360}},
        sessions,
    )  # fmt: skip
    [output] = replay["outputs"]
    assert output["frames"] == 50
    data = staff.get(output["url"], follow_redirects=True).content
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (640, 360)
        picture = next(container.decode(stream)).to_ndarray(format="bgr24")
    # Each quadrant carries its camera's frame code for event frame 100.
    cells = [picture[:180, :320], picture[:180, 320:], picture[180:, :320], picture[180:, 320:]]
    read = [framecode.read(cell) for cell in cells]
    assert [(c.camera, c.frame) if c else None for c in read] == [(i, 100) for i in range(4)]


@pytest.mark.media
def test_a_sweep_moves_around_the_cameras_in_angular_order(match, api_url, sessions):
    event_id, _ = match
    replay = order(
        api_url,
        {"event_id": event_id, "kind": "sweep", "start_s": 3.0, "end_s": 5.0,
         "options": {"at_s": 3.0, "duration_s": 1.2, "hold_s": 0.2, "resume_s": 1.0,
                     "direction": "clockwise", "lines": 360}},
        sessions,
    )  # fmt: skip
    [output] = replay["outputs"]
    assert output["order"] == ["cam1", "cam4", "cam3", "cam2"]
    assert output["frames"] == round((1.2 + 0.2 + 1.0) * 25)


@pytest.mark.media
def test_a_sequence_cuts_between_angles(match, api_url, sessions):
    event_id, feeds = match
    replay = order(
        api_url,
        {"event_id": event_id, "kind": "sequence", "start_s": 2.0, "end_s": 5.0,
         "options": {"lines": 360, "cuts": [
             {"feed_id": feeds["cam3"], "at_s": 2.0}, {"feed_id": feeds["cam1"], "at_s": 3.0},
             {"feed_id": feeds["cam2"], "at_s": 4.0}]}},
        sessions,
    )  # fmt: skip
    [output] = replay["outputs"]
    assert output["frames"] == 75


def test_a_marker_with_a_rule_orders_its_replays(match, api_url, sessions):
    event_id, _ = match
    rule = staff.post(
        f"{api_url}/v1/events/{event_id}/replay-rules",
        json={"tag": "goal", "kinds": ["angles"], "before_s": 1.0, "after_s": 1.0},
    )
    assert rule.status_code == 201, rule.text
    marker = staff.post(
        f"{api_url}/v1/events/{event_id}/markers",
        json={"clock_s": 4.0, "label": "Goal, cam3 side", "tags": ["goal"], "athletes": ["N. 9"]},
    )
    assert marker.status_code == 201, marker.text
    [replay_id] = marker.json()["replay_ids"]
    listed = staff.get(f"{api_url}/v1/events/{event_id}/markers").json()
    assert [m["label"] for m in listed] == ["Goal, cam3 side"]
    replay = staff.get(f"{api_url}/v1/replays/{replay_id}").json()
    assert (replay["start_s"], replay["end_s"]) == (3.0, 5.0)
    [job] = wait_for(sessions, [replay["job_id"]], timeout=240)
    assert job.status is JobStatus.SUCCEEDED, job.error
    untagged = staff.post(
        f"{api_url}/v1/events/{event_id}/markers", json={"clock_s": 5.0, "label": "throw-in"}
    )
    assert untagged.json()["replay_ids"] == []


def test_bad_orders_are_refused_with_the_reason_and_nothing_is_queued(
    match, api_url, sessions, embedded
):
    event_id, feeds = match
    with session_scope(sessions) as session:
        other = services.create_event(f"Other event {RUN_ID}", session=session)
        stranger = services.get_or_create_feed(other, "cam9", session=session).id
        jobs_before = session.scalar(select(func.count()).select_from(Job))
    cases = [
        ({"start_s": 7.5, "end_s": 9.0}, 400, "recorded nothing"),  # past cam1's end (8 s)
        ({"start_s": -3.0, "end_s": -1.0}, 400, "recorded nothing"),
        ({"start_s": 2.0, "end_s": 2.0}, 400, "empty"),
        ({"start_s": 3.0, "end_s": 2.0}, 400, "backwards"),
        ({"marker_id": "no-such-marker"}, 404, "no marker"),
        ({"start_s": 1.0, "end_s": 2.0, "feed_ids": [stranger]}, 400, "not a feed of event"),
        ({"start_s": 1.0, "end_s": 2.0, "feed_ids": [feeds["cam1"], feeds["cam1"]]}, 400,
         "named twice"),
    ]  # fmt: skip
    for fields, code, reason in cases:
        answer = staff.post(
            f"{api_url}/v1/replays", json={"event_id": event_id, "kind": "angles", **fields}
        )
        assert answer.status_code == code, (fields, answer.text)
        assert reason in answer.json()["detail"], (fields, answer.json())
    sweep = staff.post(
        f"{api_url}/v1/replays",
        json={"event_id": event_id, "kind": "sweep", "start_s": 1, "end_s": 2,
              "options": {"at_s": 2.5}},
    )  # fmt: skip
    assert sweep.status_code == 400 and "outside the range" in sweep.json()["detail"]
    malformed = staff.post(
        f"{api_url}/v1/replays", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 422
    unknown = staff.post(
        f"{api_url}/v1/replays",
        json={"event_id": "nope", "kind": "angles", "start_s": 0, "end_s": 1},
    )
    assert unknown.status_code == 404
    with session_scope(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == jobs_before


def test_an_instant_inside_a_recorded_gap_is_refused(
    embedded, sessions, store, api_url, ffmpeg, media_dir
):
    """A camera that stopped between 3 s and 5 s: a range across the hole is refused."""
    camera = camera_ring(2)[0]
    parts = [
        render_scene_camera(ffmpeg, camera, media_dir / f"gap-{i}.mp4", first_frame=a, frames=75)
        for i, a in enumerate((0, 125))
    ]
    with session_scope(sessions) as session:
        event_id = services.create_event(f"Gap event {RUN_ID}", session=session).id
    for part in parts:
        [outcome] = ingest_files(
            event_id, [FeedFile("cam1", part)], settings=embedded, sessions=sessions, store=store
        )
        assert outcome.ok, outcome.error
    refused = staff.post(
        f"{api_url}/v1/replays",
        json={"event_id": event_id, "kind": "angles", "start_s": 2.0, "end_s": 6.0},
    )
    assert refused.status_code == 400
    assert "recorded nothing from 3.000 s to 5.000 s" in refused.json()["detail"]
    inside = staff.post(
        f"{api_url}/v1/replays",
        json={"event_id": event_id, "kind": "angles", "start_s": 5.2, "end_s": 6.0},
    )
    assert inside.status_code == 202, inside.text


def test_orders_that_would_take_a_workers_memory_are_refused_with_the_bound(
    match, api_url, sessions, embedded
):
    event_id, feeds = match
    with session_scope(sessions) as session:
        jobs_before = session.scalar(select(func.count()).select_from(Job))
    cases = [
        ("angles", {"start_s": 0.0, "end_s": 5000.0}, {}, "at most 120 s"),
        ("mosaic", {"start_s": 1.0, "end_s": 2.0}, {"lines": 100_000}, "lines must"),
        ("mosaic", {"start_s": 1.0, "end_s": 2.0}, {"lines": "4320"}, "lines must be a number"),
        ("mosaic", {"start_s": 1.0, "end_s": 2.0}, {"columns": 40}, "columns"),
        ("angles", {"start_s": 1.0, "end_s": 2.0}, {"columns": 2}, "for a mosaic"),
        ("sequence", {"start_s": 1.0, "end_s": 3.0},
         {"cuts": [{"feed_id": feeds["cam1"], "at_s": 1.0}],
          "slow_motion": {"start_s": 1.0, "end_s": 2.0, "factor": 1000}}, "factor"),
    ]  # fmt: skip
    for kind, fields, options, reason in cases:
        answer = staff.post(
            f"{api_url}/v1/replays",
            json={"event_id": event_id, "kind": kind, **fields, "options": options},
        )
        assert answer.status_code == 400, (kind, options, answer.text)
        assert reason in answer.json()["detail"], (kind, options, answer.json())
    with session_scope(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == jobs_before


def test_a_broadcaster_has_a_bounded_number_of_orders_in_flight(match, sessions):
    from catalog import replays as replay_service
    from catalog import tenants
    from infra.core.errors import TooManyRequests
    from infra.core.settings import ReplaySettings

    event_id, feeds = match
    order = replay_service.ReplayOrder(
        event_id=event_id, kind=ReplayKind.ANGLES, start_s=1.0, end_s=2.0,
        feed_ids=[feeds["cam1"]],
    )  # fmt: skip
    limits = ReplaySettings(max_in_flight=2)
    with session_scope(sessions) as session:
        broadcaster = tenants.create_broadcaster(f"Busy TV {RUN_ID}", ["DK"], session=session)
        placed = [
            replay_service.place_order(
                order, session=session, broadcaster_id=broadcaster.id, limits=limits
            )
            for _ in range(2)
        ]
        with pytest.raises(TooManyRequests, match="at most 2 at once"):
            replay_service.place_order(
                order, session=session, broadcaster_id=broadcaster.id, limits=limits
            )
        # The host's own orders are not a broadcaster's: never bounded this way.
        host = replay_service.place_order(order, session=session, limits=limits)
        # Once one has finished, the broadcaster may order again.
        first = services.get_job(placed[0].job_id, session=session)
        services.finish_job(first, session=session, error="test order, never sent")
        again = replay_service.place_order(
            order, session=session, broadcaster_id=broadcaster.id, limits=limits
        )
        for replay in [*placed[1:], host, again]:  # never sent: close them
            job = services.get_job(replay.job_id, session=session)
            services.finish_job(job, session=session, error="test order, never sent")


@pytest.mark.media
def test_outputs_are_named_by_feed_id_and_cut_from_the_recordings_ordered(
    embedded, sessions, store, worker, api_url, ffmpeg, media_dir
):
    from catalog import replays as replay_service
    from infra.core.queue import JOB_TASKS, send_job

    ring = camera_ring(3)
    clips = {
        camera.name: render_scene_camera(
            ffmpeg, camera, media_dir / f"pinned-{camera.name}.mp4", first_frame=0, frames=50
        )
        for camera in ring
    }
    with session_scope(sessions) as session:
        event_id = services.create_event(f"Pinned sources {RUN_ID}", session=session).id
    # Two feed names that make one safe file name ("cam_1"): by name, one angle overwrote the other.
    first = [FeedFile("cam 1", clips["cam1"], 0.0), FeedFile("cam_1", clips["cam2"], 0.0)]
    # No ladders: a replay is cut from the originals.
    assert all(o.ok for o in ingest_files(event_id, first, settings=embedded, sessions=sessions,
                                          store=store, enqueue=False))  # fmt: skip
    with session_scope(sessions) as session:
        feeds = {
            f.name: f.id for f in services.get_event(event_id, session=session, detail=True).feeds
        }
        replay = replay_service.place_order(
            replay_service.ReplayOrder(
                event_id=event_id, kind=ReplayKind.ANGLES, start_s=0.4, end_s=1.2,
                feed_ids=[feeds["cam 1"], feeds["cam_1"]],
            ),
            session=session,
        )  # fmt: skip
        replay_id, job_id = replay.id, replay.job_id
        ordered_from = {s.feed_id: s.asset_id for s in replay.sources}
    # Between the order and its run, a newer recording of "cam 1" (another camera's picture)
    # covers the same range: the replay is still cut from the recording it was checked on.
    again = [FeedFile("cam 1", clips["cam3"], 0.0)]
    assert all(o.ok for o in ingest_files(event_id, again, settings=embedded, sessions=sessions,
                                          store=store, enqueue=False))  # fmt: skip
    send_job(embedded, JOB_TASKS["replay"], job_id)
    [job] = wait_for(sessions, [job_id], timeout=240)
    assert job.status is JobStatus.SUCCEEDED, job.error
    done = staff.get(f"{api_url}/v1/replays/{replay_id}").json()
    assert sorted(o["name"] for o in done["outputs"]) == sorted(
        f"angles-{feeds[name]}.mp4" for name in ("cam 1", "cam_1")
    )
    assert {s["feed_id"]: s["asset_id"] for s in done["sources"]} == ordered_from
    for output in done["outputs"]:
        wanted = 0 if output["feed"] == "cam 1" else 1  # cam1's and cam2's pictures, not cam3's
        found = codes(output["url"])
        assert found and all(code is not None and code.camera == wanted for code in found), output
