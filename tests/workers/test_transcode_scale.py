"""The transcode pipeline at scale, on real parts: a chunked ladder as a Celery chord, a worker
killed mid-job, live work ahead of a VOD backlog, a mezzanine on request."""

from __future__ import annotations

import itertools
import os
import re
import signal
import sys
import time
from datetime import timedelta
from fractions import Fraction

import av
import pytest
from sqlalchemy import select

from catalog import keys, services
from catalog.models import JobKind, JobStatus, Segment, utcnow
from infra.core.database import session_scope
from infra.core.queue import JOB_TASKS, send_job, worker_queues
from infra.core.settings import JobSettings, Settings
from ingest.files import FeedFile, ingest_files
from tests import staff
from tests.conftest import RUN_ID, end, purge, side_broker, spawn
from tests.workers.test_pipeline import wait_for
from transcode.synthetic import SyntheticCamera, render_camera
from workers.reconciler import reconcile_once

# Queues, chords, redelivery and the reconciler: run on every broker Vantage supports.
pytestmark = [pytest.mark.integration, pytest.mark.broker]


@pytest.fixture(scope="module")
def long_clip(ffmpeg, media_dir):
    """12 s with audio: six 2 s GOPs, so six chunks of 2 s."""
    camera = SyntheticCamera(name="cam5", index=4, duration_s=12, width=640, height=360)
    return render_camera(ffmpeg, camera, media_dir / "cam5-12s.mp4")


def ingest(embedded, sessions, store, clip, event_name, *, enqueue=True):
    with session_scope(sessions) as session:
        event_id = services.create_event(f"{event_name} {RUN_ID}", session=session).id
    [outcome] = ingest_files(
        event_id,
        [FeedFile("cam5", clip)],
        settings=embedded,
        sessions=sessions,
        store=store,
        enqueue=enqueue,
    )
    assert outcome.ok, outcome.error
    return outcome


def frame_times(url: str) -> list[float]:
    with av.open(url) as container:
        stream = container.streams.video[0]
        return [float(frame.pts * stream.time_base) for frame in container.decode(stream)]


def referenced_keys(store, prefix: str) -> set[str]:
    """Every object the ladder's manifests name, with the manifests themselves."""
    names = {prefix + "master.m3u8", prefix + "manifest.mpd"}
    master = store.get_bytes(prefix + "master.m3u8").decode()
    for uri in re.findall(r'^(?!#)(\S+)$|URI="([^"]+)"', master, flags=re.M):
        playlist = uri[0] or uri[1]
        names.add(prefix + playlist)
        folder = prefix + playlist.rsplit("/", 1)[0] + "/"
        text = store.get_bytes(prefix + playlist).decode()
        names |= {folder + line for line in text.splitlines() if line and not line.startswith("#")}
        names |= {folder + found for found in re.findall(r'URI="([^"]+)"', text)}
    return names


@pytest.mark.media
def test_a_long_file_is_chunked_across_workers_and_stitched_without_re_encoding(
    embedded, sessions, store, worker, api_url, long_clip
):
    single = ingest(embedded, sessions, store, long_clip, "single encode")
    chunked = ingest(embedded, sessions, store, long_clip, "chunked encode", enqueue=False)
    with session_scope(sessions) as session:
        job_id = services.create_job(
            JobKind.LADDER,
            session=session,
            event_id=services.get_asset(chunked.asset_id, session=session).event_id,
            asset_id=chunked.asset_id,
            subject="chunked",
            options={"chunked": True},
        ).id
    send_job(embedded, JOB_TASKS["ladder"], job_id)
    jobs = wait_for(sessions, [single.ladder_job_id, job_id], timeout=300)
    assert [j.status for j in jobs] == [JobStatus.SUCCEEDED] * 2, [j.error for j in jobs]
    assert jobs[1].output is not None and jobs[1].output["chunks"] == 6
    assert jobs[1].progress == 1.0
    urls = [
        staff.get(f"{api_url}/v1/assets/{o.asset_id}").json()["renditions"][0]["playlist_url"]
        for o in (single, chunked)
    ]
    one, stitched = (frame_times(url) for url in urls)
    assert len(stitched) == len(one) == 300
    assert stitched == one
    steps = {round(b - a, 6) for a, b in itertools.pairwise(stitched)}
    assert steps == {float(1 / Fraction(25))}  # no hole, no overlap at the chunk joins
    with session_scope(sessions) as session:
        master = services.get_asset(chunked.asset_id, session=session).master_playlist_key
    ladder_prefix = master.rsplit("/", 1)[0] + "/"
    assert set(store.list_keys(ladder_prefix)) == referenced_keys(store, ladder_prefix)


def _side_broker(embedded: Settings) -> Settings:
    """The same catalog and store, queues of their own: a queue only the test's own workers
    consume, with a short heartbeat deadline."""
    return side_broker(embedded, "killed", jobs=JobSettings(stale_after_s=5, reconcile_every_s=1))


def _worker(config: Settings, name: str):
    argv = [sys.executable, "-m", "celery", "-A", "workers.app", "worker"]
    argv += ["-Q", worker_queues(config, "vod")]
    argv += ["-c", "1", "-n", f"{name}-{RUN_ID}@%h", "--without-gossip", "--without-mingle"]
    return spawn(argv, config, config.home / f"{name}.log")


@pytest.mark.media  # a 720p ladder: run on SQLite and on RabbitMQ; its claims are the same SQL
def test_a_worker_killed_mid_job_ends_with_the_job_done_once_and_no_orphans(
    embedded, sessions, store, ffmpeg, media_dir
):
    side = _side_broker(embedded)
    clip = render_camera(
        ffmpeg,
        SyntheticCamera(name="cam6", index=5, duration_s=10, width=1280, height=720),
        media_dir / "cam6-10s.mp4",
    )
    outcome = ingest(embedded, sessions, store, clip, "worker killed", enqueue=False)
    job_id = outcome.ladder_job_id
    doomed = _worker(side, "doomed")
    try:
        send_job(side, JOB_TASKS["ladder"], job_id)
        deadline = time.monotonic() + 120
        while True:
            with session_scope(sessions) as session:
                job = services.get_job(job_id, session=session)
                if job.status is JobStatus.RUNNING and job.progress >= 0.15:
                    break
            assert time.monotonic() < deadline, "the job never got going"
            time.sleep(0.2)
        os.killpg(doomed.pid, signal.SIGKILL)  # the whole worker and its ffmpeg, mid-encode
        doomed.wait()
    finally:
        end(doomed)
    # Nothing is delivered again by the broker for hours (its visibility timeout is longer
    # than any task); the reconciler notices the silent heartbeat and queues the job again.
    assert reconcile_once(side, sessions).requeued == []  # still inside its heartbeat window
    time.sleep(side.jobs.stale_after_s + 1)
    assert reconcile_once(side, sessions).requeued == [job_id]
    rescuer = _worker(side, "rescuer")
    try:
        [job] = wait_for(sessions, [job_id], timeout=240)
    finally:
        end(rescuer)
    assert job.status is JobStatus.SUCCEEDED, job.error
    assert job.attempts == 2
    with session_scope(sessions) as session:
        asset = services.get_asset(outcome.asset_id, session=session)
        assert asset.status.value == "ready"
        assert len(asset.renditions) == 4  # 720p, 480p, 360p and the audio track, once each
        prefix = asset.master_playlist_key.rsplit("/", 1)[0] + "/"
    assert set(store.list_keys(prefix)) == referenced_keys(store, prefix)


def test_a_job_that_keeps_losing_its_worker_is_marked_dead(embedded, sessions, store, camera_clip):
    side = _side_broker(embedded)
    outcome = ingest(embedded, sessions, store, camera_clip, "poison", enqueue=False)
    with session_scope(sessions) as session:
        job = services.get_job(outcome.ladder_job_id, session=session)
        job.status, job.attempts, job.max_attempts = JobStatus.RUNNING, 3, 3
        job.heartbeat_at = job.started_at = utcnow() - timedelta(minutes=10)
        asset = services.get_asset(outcome.asset_id, session=session)
        assert asset.status.value == "processing"
        partial = keys.hls_prefix(asset.event_id, asset.feed_id, asset.id)
        original = asset.original_key
    # What its last worker uploaded before it was killed: segments of a ladder never published.
    scratch = embedded.home / "partial.m4s"
    scratch.write_bytes(b"\x00" * 1024)
    for name in ("720p/init.mp4", "720p/seg_00000.m4s", "audio/seg_00000.m4s"):
        store.put_file(scratch, partial + name)
    done = reconcile_once(side, sessions)
    assert outcome.ladder_job_id in done.dead
    with session_scope(sessions) as session:
        job = services.get_job(outcome.ladder_job_id, session=session)
        assert job.status is JobStatus.DEAD and "gave up after 3 attempts" in job.error
        # Buried, the job leaves no recording "processing" forever, and no half-made ladder.
        asset = services.get_asset(outcome.asset_id, session=session)
        assert asset.status.value == "failed" and "gave up after 3 attempts" in asset.error
    assert list(store.list_keys(partial)) == []
    assert list(store.list_keys(original)) == [original]  # the recording itself is kept


@pytest.mark.media
def test_a_mezzanine_is_made_on_request(embedded, sessions, store, worker, api_url, ffmpeg):
    clip = render_camera(
        ffmpeg,
        SyntheticCamera(name="cam7", index=6, duration_s=2, width=1920, height=1080),
        embedded.home / "cam7-1080p25.mp4",
    )
    outcome = ingest(embedded, sessions, store, clip, "mezzanine")
    answer = staff.post(f"{api_url}/v1/assets/{outcome.asset_id}/mezzanine")
    assert answer.status_code == 202, answer.text
    [job] = wait_for(sessions, [answer.json()["id"]], timeout=240)
    assert job.status is JobStatus.SUCCEEDED, job.error
    asset = staff.get(f"{api_url}/v1/assets/{outcome.asset_id}").json()
    local = embedded.home / "delivered.mxf"
    local.write_bytes(staff.get(asset["mezzanine_url"], follow_redirects=True).content)
    with av.open(str(local)) as container:
        assert container.format.name == "mxf"
        video = container.streams.video[0]
        assert (video.codec_context.name, video.codec_context.pix_fmt) == ("mpeg2video", "yuv422p")
        assert (video.codec_context.width, video.codec_context.height) == (1920, 1080)
        assert len(container.streams.audio) == 8
    missing = staff.post(f"{api_url}/v1/assets/no-such-asset/mezzanine")
    assert missing.status_code == 404


def test_a_vod_backlog_never_delays_live_work(embedded, sessions, store, long_clip, camera_clip):
    """The stack's layout: a worker for live segments only, another for VOD. Live work queued
    behind a backlog of ladders is done while the backlog is still there."""
    side = side_broker(embedded, "backlog")
    backlog = [
        ingest(embedded, sessions, store, long_clip, f"backlog {i}", enqueue=False).ladder_job_id
        for i in range(4)
    ]
    live = ingest(embedded, sessions, store, camera_clip, "live segment", enqueue=False)
    with session_scope(sessions) as session:
        segment_id = session.scalar(select(Segment.id).where(Segment.asset_id == live.asset_id))
    argv = [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "--without-gossip"]
    vod = spawn(
        [*argv, "-Q", worker_queues(side, "vod"), "-c", "1", "-n", f"vod-{RUN_ID}@%h"],
        side,
        side.home / "vod.log",
    )
    live_worker = spawn(
        [*argv, "-Q", worker_queues(side, "live"), "-c", "1", "-n", f"live-{RUN_ID}@%h"],
        side,
        side.home / "live.log",
    )
    try:
        for job_id in backlog:
            send_job(side, JOB_TASKS["ladder"], job_id)
        send_job(side, "vantage.transcode_live_segment", segment_id)
        deadline = time.monotonic() + 120
        while True:
            with session_scope(sessions) as session:
                segment = services.get_segment(segment_id, session=session)
                variants = {rendition.variant for rendition in segment.renditions}
                pending = [
                    j for j in backlog if not services.get_job(j, session=session).status.finished
                ]
            if variants:
                break
            assert time.monotonic() < deadline, "the live segment was never transcoded"
            time.sleep(0.2)
        assert variants == {"360p"}  # the 640x360 source fits only the 360p live rung
        assert len(pending) >= 2, "live work waited for the VOD backlog"
    finally:
        end(vod)
        end(live_worker)
        purge(side)
