"""A supervisor killed mid-recording: the next one drains the spool and carries on."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from catalog import services
from catalog.models import FeedState, Segment
from infra.core.database import session_scope
from tests.ingest.test_live import one_camera, segments_of, wait_until

pytestmark = pytest.mark.integration


def test_a_killed_supervisor_loses_and_duplicates_nothing(embedded, sessions, ffmpeg):
    """SIGKILL the supervisor (and its pullers) mid-recording; the next one drains the spool,
    salvages the half-written segment, and carries on."""
    import os
    import signal
    import subprocess
    import sys

    from tests.conftest import settings_env

    sim = one_camera(ffmpeg, embedded.home / "sim-kill")
    with session_scope(sessions) as session:
        event = services.create_event("Supervisor crash", session=session)
        feed = services.add_live_feed(event, "cam1", sim.cameras[0].url, session=session)
        feed.enabled = True
        feed_id = feed.id
    argv = [sys.executable, "-m", "infra.ops.cli.main", "feeds", "supervise"]

    def supervise() -> subprocess.Popen[bytes]:
        log = (embedded.home / "supervisor.log").open("ab")
        env = {**settings_env(embedded), "VANTAGE_LIVE__LEASE_S": "4"}  # a quick takeover
        return subprocess.Popen(argv, env=env, stdout=log, stderr=log, start_new_session=True)

    first = supervise()
    try:
        wait_until(lambda: len(segments_of(sessions, feed_id)) >= 3, timeout=60)
        with session_scope(sessions) as session:
            assert services.get_feed(feed_id, session=session).lease_owner
        time.sleep(1.0)  # mid-segment
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        before = segments_of(sessions, feed_id)
        second = supervise()
        try:
            # The dead supervisor's lease runs out first; then the spool drains and pulling resumes.
            wait_until(lambda: len(segments_of(sessions, feed_id)) >= len(before) + 3, timeout=90)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(60)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        sim.stop()
    rows = segments_of(sessions, feed_id)
    assert [r[1] for r in rows] == list(range(len(rows)))
    with session_scope(sessions) as session:
        keys = session.scalars(select(Segment.key).where(Segment.feed_id == feed_id)).all()
        assert len(keys) == len(set(keys))
        feed = services.get_feed(feed_id, session=session)
        assert (feed.state, feed.state_detail) == (FeedState.STOPPED, "supervisor shut down")
        assert feed.lease_owner is None
    assert not list((embedded.spool_dir / feed_id).glob("*/*.ts"))
