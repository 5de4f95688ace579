"""File ingest -> real Celery worker -> HLS ladder in S3 -> the API, end to end."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from catalog import services
from catalog.models import Asset, Job, JobStatus, Rendition, Segment
from infra.core.database import session_scope
from infra.core.errors import BadRequest, NotFound
from ingest.files import FeedFile, ingest_files
from tests import staff
from tests.conftest import settings_env
from tests.transcode.test_media import decoded_frames
from workers.context import build_context
from workers.ladder import run_ladder_job
from workers.runner import Outcome

pytestmark = pytest.mark.integration


def wait_for(sessions, job_ids, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(sessions) as session:
            jobs = [services.get_job(j, session=session) for j in job_ids]
            if all(j.status.finished for j in jobs):
                return jobs
        time.sleep(0.3)
    raise AssertionError("jobs did not finish: is the worker consuming?")


@pytest.fixture(scope="module")
def event(embedded, sessions, store, worker, camera_clip, second_clip):
    """Two cameras ingested and laddered by the real worker."""
    with session_scope(sessions) as session:
        event_id = services.create_event(
            "Women's 100 m final", session=session, sport="athletics"
        ).id
    outcomes = ingest_files(
        event_id,
        [FeedFile("cam1", camera_clip), FeedFile("cam2", second_clip)],
        settings=embedded,
        sessions=sessions,
        store=store,
    )
    assert all(o.ok for o in outcomes), outcomes
    jobs = wait_for(sessions, [o.ladder_job_id for o in outcomes])
    assert [j.status for j in jobs] == [JobStatus.SUCCEEDED] * 2, [j.error for j in jobs]
    return event_id, outcomes


def test_assets_are_placed_on_the_event_clock(event, sessions):
    _, (cam1, cam2) = event
    # cam1 carries 10:00:00:00, cam2 10:00:01:15: 1.6 s later at 25 fps.
    assert (cam1.clock_source, cam1.clock_start_s) == ("timecode", 0.0)
    assert cam2.clock_source == "timecode"
    assert cam2.clock_start_s == pytest.approx(1.6)


def test_the_ladder_is_stored_and_recorded(event, sessions, store, ffmpeg, tmp_path):
    _, (cam1, _) = event
    with session_scope(sessions) as session:
        asset = services.get_asset(cam1.asset_id, session=session)
        assert asset.status.value == "ready"
        assert [(r.name, r.kind) for r in asset.renditions] == [
            ("360p", "video"),
            ("audio", "audio"),
        ]
        assert asset.profile == "broadcast" and asset.interlaced is False
        job = services.get_job(cam1.ladder_job_id, session=session)
        assert job.progress == 1.0 and job.attempts == 1
        master_key = asset.master_playlist_key
        segment = session.scalar(select(Segment).where(Segment.asset_id == asset.id))
        assert segment is not None and segment.sha256 == asset.sha256
    keys = list(store.list_keys(master_key.rsplit("/", 1)[0] + "/"))
    names = {k.rsplit("/", 2)[-2] + "/" + k.rsplit("/", 1)[-1] for k in keys}
    assert {
        "hls/master.m3u8",
        "hls/manifest.mpd",
        "360p/index.m3u8",
        "360p/iframes.m3u8",
        "360p/init.mp4",
        "360p/seg_00000.m4s",
        "360p/seg_00001.m4s",
        "audio/index.m3u8",
        "audio/init.mp4",
        "audio/seg_00000.m4s",
    } <= names
    assert not any(name.endswith(".ts") for name in names)
    segment_key = next(k for k in keys if k.endswith("360p/seg_00000.m4s"))
    assert store.head(segment_key).content_type == "video/iso.segment"


def test_the_api_serves_a_playable_ladder(event, api_url, ffmpeg):
    event_id, (cam1, cam2) = event
    detail = staff.get(f"{api_url}/v1/events/{event_id}").json()
    assert [f["name"] for f in detail["feeds"]] == ["cam1", "cam2"]
    asset = staff.get(f"{api_url}/v1/assets/{cam1.asset_id}").json()
    assert asset["status"] == "ready" and asset["renditions"][0]["segment_count"] == 2
    # Media URLs carry the caller's signed token, so players need no headers.
    iframes = asset["renditions"][0]["iframe_playlist_url"]
    assert iframes.split("?token=")[0].endswith("/hls/360p/iframes.m3u8")
    assert asset["dash_url"].split("?token=")[0] == (
        f"{api_url}/v1/assets/{cam1.asset_id}/hls/manifest.mpd"
    )
    mpd = staff.get(asset["dash_url"])
    assert mpd.headers["content-type"] == "application/dash+xml"
    assert decoded_frames(ffmpeg, asset["dash_url"]) == 100
    assert asset["playlist_url"].split("?token=")[0] == (
        f"{api_url}/v1/assets/{cam1.asset_id}/hls/master.m3u8"
    )
    master = staff.get(asset["playlist_url"])
    assert master.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert decoded_frames(ffmpeg, asset["playlist_url"]) == 100
    portrait = staff.get(f"{api_url}/v1/assets/{cam2.asset_id}").json()
    assert (portrait["width"], portrait["height"]) == (360, 640)
    assert decoded_frames(ffmpeg, portrait["playlist_url"]) == 75
    listing = staff.get(
        f"{api_url}/v1/assets", params={"event_id": event_id, "feed_id": asset["feed_id"]}
    )
    assert [a["id"] for a in listing.json()["items"]] == [cam1.asset_id]
    download = staff.get(f"{api_url}/v1/assets/{cam1.asset_id}/download").json()
    original = staff.get(download["url"])
    import hashlib

    assert hashlib.sha256(original.content).hexdigest() == download["sha256"]
    poster = staff.get(f"{api_url}/v1/assets/{cam1.asset_id}/poster.jpg", follow_redirects=True)
    assert poster.headers["content-type"] == "image/jpeg"


def test_qc_reports_loudness_on_the_asset(event, sessions, api_url):
    _, (cam1, cam2) = event
    jobs = wait_for(sessions, [cam1.qc_job_id, cam2.qc_job_id])
    assert [j.status for j in jobs] == [JobStatus.SUCCEEDED] * 2, [j.error for j in jobs]
    with_sound = staff.get(f"{api_url}/v1/assets/{cam1.asset_id}").json()["qc"]
    assert with_sound["integrated_lufs"] is not None and with_sound["true_peak_dbtp"] < 0
    assert with_sound["black"] == [] and with_sound["freeze"] == []
    silent = staff.get(f"{api_url}/v1/assets/{cam2.asset_id}").json()["qc"]
    assert silent["integrated_lufs"] is None  # cam2 has no audio track


def test_editors_get_a_proxy_thumbnails_and_scene_posters(event, sessions, api_url):
    _, (cam1, _) = event
    jobs = wait_for(sessions, [cam1.follow_up["proxy"], cam1.follow_up["thumbnails"]])
    assert [j.status for j in jobs] == [JobStatus.SUCCEEDED] * 2, [j.error for j in jobs]
    asset = staff.get(f"{api_url}/v1/assets/{cam1.asset_id}").json()
    proxy = staff.get(asset["proxy_url"], follow_redirects=True)
    assert proxy.headers["content-type"] == "video/mp4" and proxy.content[4:8] == b"ftyp"
    vtt = staff.get(asset["thumbnails_url"])
    assert vtt.text.startswith("WEBVTT") and "sprite_000.jpg#xywh=" in vtt.text
    sprite = staff.get(
        asset["thumbnails_url"].replace("thumbnails.vtt", "sprite_000.jpg"), follow_redirects=True
    )
    assert sprite.headers["content-type"] == "image/jpeg"
    assert asset["thumbnails"]["posters"] and asset["poster_url"]
    poster_keys = [p["key"] for p in asset["thumbnails"]["posters"]]
    with session_scope(sessions) as session:
        assert services.get_asset(cam1.asset_id, session=session).poster_key in poster_keys


def test_running_the_ladder_again_leaves_the_same_keys_and_one_set_of_rows(
    event, embedded, sessions, store
):
    _, (cam1, _) = event
    with session_scope(sessions) as session:
        master_key = services.get_asset(cam1.asset_id, session=session).master_playlist_key
        # An operator asks for the job again.
        services.requeue_job(services.get_job(cam1.ladder_job_id, session=session), session=session)
    prefix = master_key.rsplit("/", 1)[0] + "/"
    before = list(store.list_keys(prefix))
    assert run_ladder_job(cam1.ladder_job_id, build_context(embedded)) is Outcome.SUCCEEDED
    assert list(store.list_keys(prefix)) == before
    with session_scope(sessions) as session:
        count = session.scalar(
            select(func.count()).select_from(Rendition).where(Rendition.asset_id == cam1.asset_id)
        )
        assert count == 2  # the rung and the shared audio track
        assert services.get_job(cam1.ladder_job_id, session=session).attempts == 1
    # A job that already succeeded is a no-op (a redelivered message).
    assert run_ladder_job(cam1.ladder_job_id, build_context(embedded)) is Outcome.SKIPPED
    with session_scope(sessions) as session:
        assert services.get_job(cam1.ladder_job_id, session=session).attempts == 1


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("truncated", "not readable media"),
        ("not_media", "not readable media"),
        ("audio_only", "no video stream"),
        ("missing", "no such file"),
    ],
)
def test_bad_files_fail_their_job_and_leave_nothing(
    case, reason, embedded, sessions, store, bad_files
):
    with session_scope(sessions) as session:
        event_id = services.create_event(f"bad input {case}", session=session).id
    [outcome] = ingest_files(
        event_id,
        [FeedFile("cam9", bad_files[case])],
        settings=embedded,
        sessions=sessions,
        store=store,
    )
    assert not outcome.ok and reason in outcome.error
    with session_scope(sessions) as session:
        job = services.get_job(outcome.job_id, session=session)
        assert job.status is JobStatus.FAILED and reason in job.error
        assert (
            session.scalar(
                select(func.count()).select_from(Asset).where(Asset.event_id == event_id)
            )
            == 0
        )
        assert services.get_event(event_id, session=session, detail=True).feeds == []
    # Scoped to this event: other tests' jobs may still be writing elsewhere in the bucket.
    assert list(store.list_keys(f"events/{event_id}/")) == []


def test_a_ladder_that_fails_records_the_reason(embedded, sessions, store, camera_clip):
    with session_scope(sessions) as session:
        event_id = services.create_event("lost original", session=session).id
    [outcome] = ingest_files(
        event_id,
        [FeedFile("cam1", camera_clip)],
        settings=embedded,
        sessions=sessions,
        store=store,
        enqueue=False,
    )
    with session_scope(sessions) as session:
        key = services.get_asset(outcome.asset_id, session=session).original_key
    store.delete([key])  # the original vanished from the bucket
    assert run_ladder_job(outcome.ladder_job_id, build_context(embedded)) is Outcome.FAILED
    with session_scope(sessions) as session:
        job = services.get_job(outcome.ladder_job_id, session=session)
        asset = services.get_asset(outcome.asset_id, session=session)
        assert job.status is JobStatus.FAILED and "not found" in job.error
        assert asset.status.value == "failed" and asset.error == job.error


def test_unknown_event_is_refused_before_anything_happens(embedded, sessions, store, camera_clip):
    with session_scope(sessions) as session:
        jobs_before = session.scalar(select(func.count()).select_from(Job))
    with pytest.raises(NotFound):
        ingest_files(
            "no-such-event",
            [FeedFile("cam1", camera_clip)],
            settings=embedded,
            sessions=sessions,
            store=store,
        )
    with session_scope(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == jobs_before


def vantage(embedded, *args):
    return subprocess.run(
        [sys.executable, "-m", "infra.ops.cli.main", *args],
        env=settings_env(embedded),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_ingest_and_events_show(embedded, worker, camera_clip, bad_files):
    assert vantage(embedded, "events", "create", "Heat 2").returncode == 0
    done = vantage(
        embedded,
        "ingest",
        "files",
        "--event",
        "Heat 2",
        "--feed",
        f"cam1={camera_clip}@2.5",
        "--wait",
    )
    assert done.returncode == 0, done.stderr
    import json

    show = vantage(embedded, "events", "show", "Heat 2", "--json")
    assert show.returncode == 0, show.stderr
    shown = json.loads(show.stdout)
    [feed] = shown["feeds"]
    [asset] = feed["assets"]
    assert asset["status"] == "ready"
    assert asset["clock_source"] == "timecode" and asset["clock_start_s"] == 2.5
    assert asset["renditions"][0]["playlist_url"].endswith("/hls/360p/index.m3u8")
    assert asset["playlist_url"].endswith("/hls/master.m3u8")

    bad = vantage(
        embedded, "ingest", "files", "--event", "Heat 2", "--feed", f"cam2={bad_files['not_media']}"
    )
    assert bad.returncode == 1
    assert "error: cam2: notes.mp4: not readable media" in bad.stderr
    unknown = vantage(
        embedded, "ingest", "files", "--event", "Nope", "--feed", f"cam1={camera_clip}"
    )
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error: no event named 'Nope'"
    malformed = vantage(embedded, "ingest", "files", "--event", "Heat 2", "--feed", "cam1")
    assert malformed.returncode == 1 and "expected NAME=PATH" in malformed.stderr


def test_a_feed_named_twice_is_refused(embedded, sessions, store, camera_clip):
    with session_scope(sessions) as session:
        event_id = services.create_event("twice", session=session).id
    with pytest.raises(BadRequest, match="more than once"):
        ingest_files(
            event_id,
            [FeedFile("cam1", camera_clip), FeedFile("cam1", camera_clip)],
            settings=embedded,
            sessions=sessions,
            store=store,
        )
    with session_scope(sessions) as session:
        assert services.list_jobs(session=session, event_id=event_id) == []


def test_an_event_on_the_legacy_ts_profile_gets_an_mpeg_ts_ladder(
    embedded, sessions, store, worker, api_url, camera_clip, ffmpeg
):
    with session_scope(sessions) as session:
        event_id = services.create_event(
            "Legacy set-top boxes", session=session, profile="legacy-ts"
        ).id
    [outcome] = ingest_files(
        event_id, [FeedFile("cam1", camera_clip)], settings=embedded, sessions=sessions, store=store
    )
    [job] = wait_for(sessions, [outcome.ladder_job_id])
    assert job.status is JobStatus.SUCCEEDED, job.error
    asset = staff.get(f"{api_url}/v1/assets/{outcome.asset_id}").json()
    assert asset["profile"] == "legacy-ts" and asset["dash_url"] is None
    assert [(r["name"], r["kind"]) for r in asset["renditions"]] == [("360p", "video")]
    assert "avc1." in asset["renditions"][0]["codecs"]
    with session_scope(sessions) as session:
        master = services.get_asset(outcome.asset_id, session=session).master_playlist_key
    names = {k.rsplit("/", 1)[-1] for k in store.list_keys(master.rsplit("/", 1)[0] + "/")}
    assert {"master.m3u8", "index.m3u8", "seg_00000.ts"} <= names
    assert not any(name.endswith(".m4s") for name in names)
    assert decoded_frames(ffmpeg, asset["playlist_url"]) == 100
