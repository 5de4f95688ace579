"""Request budgets on the real Redis of the test stack: shared by every API process, and
playback with media tokens kept apart from the key's own API calls."""

from __future__ import annotations

import secrets
import time
import uuid

import pytest
from fastapi.testclient import TestClient

from api import tokens
from api.app import create_app
from api.ratelimit import RequestBudgets
from catalog import tenants
from catalog.migrate import upgrade
from catalog.models import Role
from infra.core.database import make_engine, make_session_factory, session_scope
from infra.core.settings import APISettings, Settings

pytestmark = pytest.mark.integration


def on_redis(embedded: Settings, tmp_path, **api: int) -> Settings:
    settings = Settings(
        _env_file=None,
        home=tmp_path,
        broker=embedded.broker,
        api=APISettings(signing_key=secrets.token_hex(32), **api),
    )
    assert settings.broker.url.startswith("redis://")
    return settings


def test_two_api_processes_grant_a_key_its_budget_once(embedded, tmp_path):
    settings = on_redis(embedded, tmp_path, rate_per_minute=60)
    first, second = RequestBudgets(settings), RequestBudgets(settings)  # two API processes
    assert first.shared and second.shared
    key = f"key-{secrets.token_hex(4)}"
    waits = [(first if i % 2 else second).take("api", key) for i in range(14)]
    # Bursts of ten in ten seconds for 60 a minute: the eleventh request waits, whichever
    # process answers it (in memory, each process would have let ten through).
    assert waits[:10] == [0.0] * 10
    assert all(wait >= 1.0 for wait in waits[10:])
    assert first.take("api", f"other-{key}") == 0.0  # budgets are per key


def test_an_unreachable_budget_store_lets_requests_through(tmp_path):
    settings = Settings(_env_file=None, home=tmp_path)
    settings.broker.url = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    budgets = RequestBudgets(settings)
    began = time.monotonic()
    assert [budgets.take("api", "k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert time.monotonic() - began < 5


def test_ten_viewers_play_on_while_their_key_has_used_its_budget(embedded, tmp_path):
    settings = on_redis(embedded, tmp_path, rate_per_minute=60, media_rate_per_minute=120)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with session_scope(make_session_factory(engine)) as session:
        key, secret = tenants.create_key("rhb", Role.OPERATOR, session=session)
        key_id = key.id
    engine.dispose()
    client = TestClient(create_app(settings))
    bearer = {"Authorization": f"Bearer {secret}"}
    statuses = [client.get("/v1/profiles", headers=bearer).status_code for _ in range(12)]
    assert statuses[:10] == [200] * 10 and statuses[-1] == 429  # the key's burst is spent

    expires = int(time.time()) + 600
    assets = [str(uuid.uuid4()) for _ in range(10)]
    viewers = [
        tokens.issue(
            settings.api.signing_key,
            broadcaster_id=None,
            key_id=key_id,
            asset_id=assets[n],
            expires=expires,
        )
        for n in range(10)
    ]
    # Each viewer fetches playlists and segments; the assets do not exist, so the answers are
    # 404, but never 429: playback draws on each token's own budget.
    for _ in range(6):
        for n, token in enumerate(viewers):
            answer = client.get(f"/v1/assets/{assets[n]}/hls/master.m3u8", params={"token": token})
            assert answer.status_code == 404, answer.text
    # A token of its own is limited too (a leaked one cannot hammer the API).
    flood = [
        client.get(
            f"/v1/assets/{assets[0]}/hls/master.m3u8", params={"token": viewers[0]}
        ).status_code
        for _ in range(130)
    ]
    assert 429 in flood


def test_a_search_pages_posters_leave_the_keys_burst_for_searching(embedded, tmp_path):
    # An editor's search page shows up to two dozen posters; five searches in ten seconds
    # must not be refused because of the pictures.
    settings = on_redis(embedded, tmp_path, rate_per_minute=60, media_rate_per_minute=90)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with session_scope(make_session_factory(engine)) as session:
        _, secret = tenants.create_key("editor", Role.EDITOR, session=session)
    engine.dispose()
    client = TestClient(create_app(settings))
    bearer = {"Authorization": f"Bearer {secret}"}
    missing = str(uuid.uuid4())
    stills = [
        client.get(f"/v1/assets/{missing}/{path}", headers=bearer).status_code
        for path in ["poster.jpg"] * 40 + ["thumbnails/thumbnails.vtt"] * 40
    ]
    assert set(stills) == {404}  # counted as stills, not as the key's API calls
    searches = [client.get("/v1/search", headers=bearer).status_code for _ in range(11)]
    assert searches[:10] == [200] * 10 and searches[-1] == 429  # the burst is the API's own
    # Stills have a budget of their own, limited like a media token's.
    flood = [client.get(f"/v1/assets/{missing}/poster.jpg", headers=bearer) for _ in range(12)]
    assert flood[-1].status_code == 429
    assert "stills a minute" in flood[-1].json()["detail"]
