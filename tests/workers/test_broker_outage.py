"""A broker that hangs never hangs the API, and a job whose message never reached the broker is
sent by the reconciler once the broker answers: on the real catalog and the real broker, with a
"broker" that accepts connections and never answers (as a paused Redis does)."""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from catalog import services, tenants
from catalog.models import Job, JobStatus, Role, utcnow
from infra.core.database import session_scope
from infra.core.queue import queue_depths
from tests.conftest import RUN_ID, purge, side_broker
from workers.reconciler import send_unsent_jobs

pytestmark = [pytest.mark.integration, pytest.mark.broker]


@pytest.fixture
def silent_broker():
    """A TCP port that takes connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def test_an_order_answers_while_the_broker_hangs_and_is_sent_once_it_is_back(
    embedded, sessions, silent_broker
):
    hung = embedded.model_copy(
        update={
            "broker": embedded.broker.model_copy(
                update={"url": f"redis://127.0.0.1:{silent_broker}/0", "publish_timeout_s": 1.0}
            )
        }
    )
    with session_scope(sessions) as session:
        event_id = services.create_event(f"Broker away {RUN_ID}", session=session).id
        _, secret = tenants.create_key("outage ops", Role.OPERATOR, session=session)
    client = TestClient(create_app(hung), headers={"Authorization": f"Bearer {secret}"})
    began = time.monotonic()
    answer = client.post(f"/v1/events/{event_id}/sync")
    waited = time.monotonic() - began
    # Accepted and recorded; not lost, not hung (the order is the catalog's, the broker's copy
    # comes later). Generous bound: the point is "not the 60 s and more it used to be".
    assert answer.status_code == 202, answer.text
    assert waited < 30, waited
    job_id = answer.json()["id"]
    with session_scope(sessions) as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status is JobStatus.QUEUED and job.attempts == 0
        job.created_at = utcnow() - timedelta(seconds=embedded.jobs.stale_after_s + 5)

    # The broker is back (queues of the test's own, so no worker takes it before we look).
    back = side_broker(embedded, f"outage-{RUN_ID}")
    purge(back)
    try:
        assert job_id in send_unsent_jobs(back, sessions)
        assert queue_depths(back)["analysis"] >= 1
        # A queue that holds messages may hold this one: nothing is sent twice while it waits.
        assert job_id not in send_unsent_jobs(back, sessions)
    finally:
        purge(back)
        with session_scope(sessions) as session:
            services.finish_job(services.get_job(job_id, session=session), session=session,
                                error="test job, never run")  # fmt: skip
