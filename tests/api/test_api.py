"""The API's contract: problem+json errors, validation, ingest over HTTP, readiness."""

import httpx
import pytest

from tests import staff

pytestmark = pytest.mark.integration


def test_health_and_ready(api_url):
    assert staff.get(f"{api_url}/health").json() == {"status": "ok"}
    # Anyone may ask whether it is ready; only operators learn what was checked and how.
    assert httpx.get(f"{api_url}/ready").json() == {"status": "ready"}
    detail = staff.get(f"{api_url}/v1/health").json()
    assert detail["checks"] == {"database": "ok", "storage": "ok", "broker": "ok"}
    assert httpx.get(f"{api_url}/v1/health").status_code == 401


def test_unknown_ids_are_problem_json_404(api_url):
    for path in (
        "/v1/events/nope",
        "/v1/assets/nope",
        "/v1/jobs/nope",
        "/v1/assets/nope/hls/master.m3u8",
    ):
        answer = staff.get(api_url + path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["status"] == 404


def test_malformed_json_is_a_422_problem(api_url):
    answer = staff.post(
        f"{api_url}/v1/events", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"


def test_duplicate_event_is_a_conflict(api_url):
    assert staff.post(f"{api_url}/v1/events", json={"name": "Relay final"}).status_code == 201
    again = staff.post(f"{api_url}/v1/events", json={"name": "Relay final"})
    assert again.status_code == 409 and "already exists" in again.json()["detail"]


def test_ingest_over_http(api_url, embedded, worker, camera_clip, bad_files):
    event = staff.post(f"{api_url}/v1/events", json={"name": "Long jump"}).json()
    root = embedded.home.parent
    relative = camera_clip.relative_to(root).as_posix()
    ok = staff.post(
        f"{api_url}/v1/events/{event['id']}/ingest",
        json={"feeds": [{"feed": "cam1", "path": relative}]},
        timeout=60,
    )
    assert ok.status_code == 201, ok.text
    [result] = ok.json()
    assert result["asset_id"] and result["ladder_job_id"]
    job = staff.get(f"{api_url}/v1/jobs/{result['ladder_job_id']}").json()
    assert job["kind"] == "ladder" and 0.0 <= job["progress"] <= 1.0

    bad = staff.post(
        f"{api_url}/v1/events/{event['id']}/ingest",
        json={
            "feeds": [{"feed": "cam2", "path": bad_files["truncated"].relative_to(root).as_posix()}]
        },
        timeout=60,
    )
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    [failed] = bad.json()["results"]
    failed_job = staff.get(f"{api_url}/v1/jobs/{failed['job_id']}").json()
    assert failed_job["status"] == "failed" and "not readable media" in failed_job["error"]

    for path in ("../../etc/passwd", "/etc/passwd"):
        escape = staff.post(
            f"{api_url}/v1/events/{event['id']}/ingest",
            json={"feeds": [{"feed": "cam3", "path": path}]},
        )
        assert escape.status_code == 422, path
    unknown = staff.post(
        f"{api_url}/v1/events/nope/ingest", json={"feeds": [{"feed": "cam1", "path": relative}]}
    )
    assert unknown.status_code == 404


def test_openapi_is_published(api_url):
    spec = staff.get(f"{api_url}/openapi.json").json()
    assert "/v1/assets/{asset_id}" in spec["paths"]
    assert staff.get(f"{api_url}/docs").status_code == 200


def test_an_offset_past_any_database_integer_is_a_422_not_a_500(api_url):
    for path in ("/v1/assets", "/v1/events"):
        answer = staff.get(f"{api_url}{path}?offset={10**25}")
        assert answer.status_code == 422, (path, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
