"""The API's guard rails, in-process on a real SQLite catalog: keys, rate limits, request size,
page limits, CORS only for the UI's origin, problem+json everywhere."""

from __future__ import annotations

import secrets
import sqlite3

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import CallerDep
from catalog import tenants
from catalog.migrate import upgrade
from catalog.models import Role
from infra.core.database import make_engine, make_session_factory, session_scope
from infra.core.settings import APISettings, BrokerSettings, Settings, weak_signing_key
from infra.ops.secrets import ensure_signing_key

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


def test_a_weak_signing_key_serves_loopback_only(tmp_path):
    """With the development key, the API answers on loopback and refuses every request that
    arrives on another address (whatever --host it was started with), and refuses to start at
    all when told to listen beyond loopback."""
    settings = Settings(_env_file=None, home=tmp_path, broker=BrokerSettings(url="memory://"))
    upgrade_engine = make_engine(settings.database_url)
    upgrade(upgrade_engine)
    upgrade_engine.dispose()
    app = create_app(settings)
    assert TestClient(app, base_url="http://127.0.0.1:8800").get("/health").status_code == 200
    outside = TestClient(app, base_url="http://10.20.30.40:8800").get("/health")
    assert outside.status_code == 503
    assert "VANTAGE_API__SIGNING_KEY" in outside.json()["detail"]
    with pytest.raises(RuntimeError, match="signing key"):
        create_app(settings.model_copy(update={"api": APISettings(host="0.0.0.0")}))

    strong = settings.model_copy(update={"api": APISettings(signing_key=secrets.token_urlsafe(48))})
    served = TestClient(create_app(strong), base_url="http://10.20.30.40:8800").get("/health")
    assert served.status_code == 200


@pytest.mark.parametrize(
    "key", ["vantage-development-signing-key", "short", "change-me-change-me-change-me-change-me",
            "a" * 64, "<64 random bytes, the same on every API replica>"],
)  # fmt: skip
def test_weak_signing_keys_are_recognised(key):
    assert weak_signing_key(key)
    assert weak_signing_key(secrets.token_urlsafe(48)) is None


def test_vantage_init_writes_a_strong_key_once_and_never_replaces_an_operators(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("VANTAGE_API__SIGNING_KEY", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text("VANTAGE_HOME=/srv/vantage\n")
    settings = Settings(_env_file=None, home=tmp_path)
    assert ensure_signing_key(settings, env_file) == str(env_file)
    written = Settings(_env_file=env_file)
    assert weak_signing_key(written.api.signing_key) is None
    assert "VANTAGE_HOME=/srv/vantage" in env_file.read_text()
    assert env_file.stat().st_mode & 0o077 == 0
    # Once strong, it stays: a second init changes nothing.
    assert ensure_signing_key(written, env_file) is None
    assert Settings(_env_file=env_file).api.signing_key == written.api.signing_key
    # An operator's own key, from the environment, is never replaced either.
    monkeypatch.setenv("VANTAGE_API__SIGNING_KEY", "x")
    assert ensure_signing_key(settings, env_file) is None


KEY_ID, ASSET_ID = "4b9e5a52-0d5c-4a8e-9f57-0f3c2a1d6e11", "9d2f7c3e-5b1a-4e6f-8a9d-1c2b3a4d5e6f"


def test_a_media_token_claiming_a_long_life_is_refused():
    from api import tokens

    now = 1_800_000_000.0
    secret = secrets.token_urlsafe(48)

    def made(expires: float) -> tuple[str, tokens.Claims]:
        token = tokens.issue(
            secret, broadcaster_id="b", key_id=KEY_ID, asset_id=ASSET_ID, expires=int(expires)
        )
        claims = tokens.parse(token)
        assert claims is not None
        return token, claims

    fair, fair_claims = made(now + 7200)
    assert tokens.verify(secret, fair, fair_claims, broadcaster_id="b", now=now, max_ttl_s=7260)
    forged, forged_claims = made(now + 365 * 24 * 3600)  # minted with a leaked key, for a year
    assert tokens.verify(secret, forged, forged_claims, broadcaster_id="b", now=now)
    assert not tokens.verify(
        secret, forged, forged_claims, broadcaster_id="b", now=now, max_ttl_s=7260
    )
