"""The API's guard rails, in-process on a real SQLite catalog: keys, rate limits, request size,
page limits, CORS only for the UI's origin, problem+json everywhere."""

from __future__ import annotations

import sqlite3

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import CallerDep
from catalog import tenants
from catalog.migrate import upgrade
from catalog.models import Role
from infra.core.database import make_engine, make_session_factory, session_scope
from infra.core.settings import APISettings, BrokerSettings, Settings

UI = "https://editors.vantage.example"


@pytest.fixture
def app_and_key(tmp_path):
    settings = Settings(
        _env_file=None,
        home=tmp_path,
        api=APISettings(rate_per_minute=60, cors_origins=[UI], max_body_bytes=4096),
        broker=BrokerSettings(url="memory://"),  # budgets in this process; see test_budgets.py
    )
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with session_scope(make_session_factory(engine)) as session:
        secret = tenants.create_key("ops", Role.OPERATOR, session=session)[1]
        revoked, revoked_secret = tenants.create_key("old", Role.OPERATOR, session=session)
        tenants.revoke_key(revoked.id, session=session)
    engine.dispose()
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {secret}"
    return client, revoked_secret


def test_keys_are_required_and_checked(app_and_key):
    client, revoked = app_and_key
    assert client.get("/v1/events").status_code == 200
    for header in ({}, {"Authorization": "Bearer vk_nope_nope"}, {"Authorization": "Basic x"}):
        answer = client.get("/v1/events", headers={"Authorization": "", **header})
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["www-authenticate"].startswith("Bearer")
    assert (
        client.get("/v1/events", headers={"Authorization": f"Bearer {revoked}"}).status_code == 401
    )


def test_a_key_that_asks_too_often_is_slowed_down(app_and_key):
    client, _ = app_and_key
    statuses = [client.get("/v1/profiles").status_code for _ in range(30)]
    assert statuses[0] == 200 and 429 in statuses
    limited = client.get("/v1/profiles")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["title"] == "Too many requests"


def test_large_bodies_and_pages_are_refused(app_and_key):
    client, _ = app_and_key
    answer = client.post("/v1/events", json={"name": "x" * 10_000})
    assert answer.status_code == 413 and answer.json()["status"] == 413
    assert client.get("/v1/events", params={"limit": 10_000}).status_code == 422
    assert (
        client.post(
            "/v1/events", content=b"{nope", headers={"content-type": "application/json"}
        ).status_code
        == 422
    )


def test_cors_is_for_the_editors_ui_only(app_and_key):
    client, _ = app_and_key
    preflight = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    ui = client.options("/v1/events", headers={"Origin": UI, **preflight})
    assert ui.headers.get("access-control-allow-origin") == UI
    other = client.options("/v1/events", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in other.headers
    plain = client.get("/v1/events", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in plain.headers


def test_unknown_routes_and_methods_are_problem_json(app_and_key):
    client, _ = app_and_key
    for answer in (client.get("/v1/nothing-here"), client.delete("/v1/events")):
        assert answer.status_code in (404, 405)
        assert answer.headers["content-type"] == "application/problem+json"


def test_a_chunked_body_is_cut_off_at_the_limit(app_and_key):
    client, _ = app_and_key

    def chunks():
        yield b'{"name": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    answer = client.post(
        "/v1/events", content=chunks(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413


def test_a_request_holds_no_write_lock_while_its_handler_runs(tmp_path):
    """Authenticating records when a key was last used. That write commits on its own: held in
    the request's session, it would lock SQLite against every puller and worker for as long as
    a long request (an event sync) runs."""
    settings = Settings(_env_file=None, home=tmp_path)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with session_scope(make_session_factory(engine)) as session:
        secret = tenants.create_key("ops", Role.OPERATOR, session=session)[1]
    engine.dispose()
    app = create_app(settings)
    database = str(settings.database_url).removeprefix("sqlite:///")

    def write_meanwhile(caller: CallerDep) -> dict[str, bool]:
        other = sqlite3.connect(database, timeout=0.5)
        try:
            other.execute("BEGIN IMMEDIATE")  # what a puller does to record a segment
            other.rollback()
            return {"wrote": True}
        except sqlite3.OperationalError:
            return {"wrote": False}
        finally:
            other.close()

    app.add_api_route("/test/write-meanwhile", write_meanwhile, methods=["GET"])
    client = TestClient(app)
    client.headers["Authorization"] = f"Bearer {secret}"
    assert client.get("/test/write-meanwhile").json() == {"wrote": True}  # the first use
