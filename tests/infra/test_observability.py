"""What operators watch, on the real stack: the API's and a worker's ``/metrics`` scraped after a
real ladder and a replay, parsed with prometheus-client's own parser; logs in JSON with the ids
of the work and no secrets; secrets kept out of a feed's state detail."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from catalog import services, states, tenants
from catalog.models import FeedState, Role
from infra.core import logs
from infra.core.database import session_scope
from infra.core.settings import LogSettings, Settings
from ingest.files import FeedFile, ingest_files
from tests import staff
from tests.workers.test_pipeline import wait_for


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape, by name and labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in found.items() if n == name and wanted <= ls)


@pytest.mark.integration
@pytest.mark.broker  # queue depths are read from the broker: Redis and RabbitMQ alike
def test_api_and_worker_metrics_move_after_a_ladder_and_a_replay(
    embedded, sessions, store, worker, worker_metrics_url, api_url, camera_clip
):
    with session_scope(sessions) as session:
        event_id = services.create_event("Metrics heat", session=session, sport="rowing").id
    [outcome] = ingest_files(
        event_id, [FeedFile("cam1", camera_clip)], settings=embedded, sessions=sessions, store=store
    )
    [ladder] = wait_for(sessions, [outcome.ladder_job_id])
    assert ladder.status.value == "succeeded", ladder.error
    assert staff.get(f"{api_url}/v1/events/{event_id}").status_code == 200
    assert staff.get(f"{api_url}/v1/events/not-an-event").status_code == 404
    order = {"event_id": event_id, "kind": "angles", "start_s": 0.5, "end_s": 1.5}
    placed = staff.post(f"{api_url}/v1/replays", json=order)
    assert placed.status_code == 202, placed.text
    [replay] = wait_for(sessions, [placed.json()["job_id"]])
    assert replay.status.value == "succeeded", replay.error

    scraped = staff.get(f"{api_url}/metrics")
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    assert len(scraped.headers["x-request-id"]) == 32
    api = samples(scraped.text)
    # Requests by route template (never by raw path), method and status, with latency.
    route = "/v1/events/{event_id}"
    assert value(api, "vantage_http_requests_total", route=route, status="200") >= 1
    assert value(api, "vantage_http_requests_total", route=route, status="404") >= 1
    assert not any("not-an-event" in dict(ls).get("route", "") for _, ls in api)
    assert value(api, "vantage_http_request_seconds_count", route=route, method="GET") >= 2
    # Levels from the catalog and the broker, as the API reads them at scrape time.
    assert value(api, "vantage_jobs", kind="ladder", state="succeeded") >= 1
    assert value(api, "vantage_jobs", kind="replay", state="succeeded") >= 1
    assert value(api, "vantage_broker_up") == 1
    queues = {dict(ls)["queue"] for n, ls in api if n == "vantage_queue_messages"}
    assert queues == {"live", "vod", "replay", "analysis"}

    work = samples(httpx.get(worker_metrics_url, timeout=10).text)
    assert value(work, "vantage_job_seconds_count", kind="ladder", outcome="succeeded") >= 1
    assert value(work, "vantage_job_attempts_total", kind="replay", outcome="succeeded") >= 1
    assert (
        value(work, "vantage_replay_order_to_downloadable_seconds_count", replay_kind="angles") >= 1
    )
    assert value(work, "vantage_replay_order_to_downloadable_seconds_sum") > 0


@pytest.mark.integration
def test_metrics_are_not_for_broadcasters(api_url, sessions):
    with session_scope(sessions) as session:
        broadcaster = tenants.create_broadcaster("Metrics TV", ["FR"], session=session)
        _, secret = tenants.create_key(
            "metrics tv", Role.BROADCASTER, broadcaster_id=broadcaster.id, session=session
        )
    refused = httpx.get(f"{api_url}/metrics", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 403
    assert httpx.get(f"{api_url}/metrics").status_code == 401


SECRETS = {
    "srt://venue.example:9000?mode=caller&passphrase=correct-horse-battery": "correct-horse",
    "rtmp://ingest.example/live/sk-9f8e7d6c5b4a": "sk-9f8e7d6c5b4a",
    "https://operator:hunter2@cams.example/master.m3u8": "hunter2",
    "http://s3:8333/b/k?X-Amz-Credential=AKIAXX%2F2026&X-Amz-Signature=0a1b2c3d4e": "0a1b2c3d4e",
    "Authorization: Bearer vk_abcd1234_s3cr3tpart": "s3cr3tpart",
    "/v1/assets/a/master.m3u8?token=eyJhbGciOiJIUzI1NiJ9.payload.sig": "eyJhbGciOiJIUzI1NiJ9",
}


def test_json_logs_carry_the_work_ids_and_never_a_secret(capsys):
    config = Settings(_env_file=None, log=LogSettings(format="json", level="INFO"))
    logs.configure(config, "worker")
    try:
        log = logging.getLogger("vantage.test")
        with logs.context(job_id="job-1", asset_id="asset-1"), logs.context(feed_id="feed-1"):
            for text in SECRETS:
                log.warning("pulling %s failed", text)
            try:
                raise RuntimeError(f"connect to {next(iter(SECRETS))} refused")
            except RuntimeError:
                log.exception("giving up")
        log.info("outside any work")
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if h.get_name() == "vantage"]:
            root.removeHandler(handler)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert len(lines) == len(SECRETS) + 2
    for line in lines[:-1]:
        assert line["job_id"] == "job-1" and line["asset_id"] == "asset-1"
        assert line["feed_id"] == "feed-1" and line["component"] == "worker"
    assert "job_id" not in lines[-1]
    assert "Traceback" in lines[-2]["exception"]
    everything = json.dumps(lines)
    for secret in SECRETS.values():
        assert secret not in everything
    assert everything.count("[redacted]") >= len(SECRETS)


@pytest.mark.integration
def test_a_feeds_state_detail_never_holds_its_secret(embedded, sessions, api_url):
    source = "srt://venue.example:9000?mode=caller&passphrase=correct-horse-battery"
    with session_scope(sessions) as session:
        event = services.create_event("Secret feed", session=session)
        feed = services.add_live_feed(event, "cam1", source, session=session)
        states.start_feed(feed)
        states.report_feed(feed, FeedState.STALLED, f"no data from {source} for 6 s")
        feed_id = feed.id
    shown = staff.get(f"{api_url}/v1/events/{event.id}").json()["feeds"][0]
    assert shown["id"] == feed_id
    assert "correct-horse" not in shown["state_detail"]
    assert "passphrase=[redacted]" in shown["state_detail"]
    # The source itself: whole for those who operate feeds, redacted for editors.
    assert shown["source"] == source
    with session_scope(sessions) as session:
        _, editor = tenants.create_key("secret feed editor", Role.EDITOR, session=session)
    seen = httpx.get(
        f"{api_url}/v1/feeds/{feed_id}", headers={"Authorization": f"Bearer {editor}"}
    ).json()
    assert seen["source"] == "srt://venue.example:9000?mode=caller&passphrase=[redacted]"
