"""Broadcasters' rights over the real API: the cross-tenant matrix, signed playlists, quotas
under parallel requests, embargoes, derived replays, the audit trail and webhooks."""

from __future__ import annotations

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from api import tokens
from catalog import services, tenants
from catalog import webhooks as webhook_service
from catalog.models import Role, Usage, utcnow
from infra.core.database import session_scope
from ingest.files import FeedFile, ingest_files
from tests.conformance import check_master_playlist, check_media_playlist, check_mpd
from tests.workers.test_pipeline import wait_for
from tests.workers.test_webhooks import Receiver

pytestmark = pytest.mark.integration


@dataclass
class World:
    api: str
    athletics: str
    """Event (ended two hours ago) in Albion's and Quota News' rights."""
    swimming: str
    """Event (not ended) in Gaule's rights, for clips only."""
    a1: str
    """Recording of the athletics event."""
    a2: str
    """Recording of the swimming event."""
    feed1: str
    feed2: str
    keys: dict[str, str]
    broadcasters: dict[str, str]
    receiver: Receiver

    def client(self, who: str, **headers: str) -> httpx.Client:
        auth = {"Authorization": f"Bearer {self.keys[who]}"} if who in self.keys else {}
        return httpx.Client(base_url=self.api, headers={**auth, **headers}, timeout=30)


@pytest.fixture(scope="module")
def world(embedded, sessions, store, worker, api_url, camera_clip):
    receiver = Receiver()
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    now = utcnow()
    with session_scope(sessions) as session:
        athletics = services.create_event(
            "Rights Cup: 400 m hurdles",
            session=session,
            sport="athletics",
            clock_origin=now - timedelta(hours=3),
        )
        athletics.ended_at = now - timedelta(hours=2)
        swimming = services.create_event(
            "Rights Cup: 200 m medley", session=session, sport="swimming", clock_origin=now
        )
        ids = {"athletics": athletics.id, "swimming": swimming.id}
        albion = tenants.create_broadcaster("Albion Sport", ["GB"], session=session)
        gaule = tenants.create_broadcaster("Gaule TV", ["FR", "BE"], session=session)
        quota = tenants.create_broadcaster("Quota News", ["DE"], session=session)
        tenants.grant_rights(
            albion.id,
            tenants.GrantTerms(scope="sport", scope_value="athletics", territories=("GB",)),
            session=session,
        )
        tenants.grant_rights(
            gaule.id,
            tenants.GrantTerms(
                scope="event", scope_value=swimming.id, territories=("FR",), media=("clips",)
            ),
            session=session,
        )
        tenants.grant_rights(
            quota.id,
            tenants.GrantTerms(
                scope="sport",
                scope_value="athletics",
                territories=("DE",),
                media=("archive",),
                max_day_s=12.0,
            ),
            session=session,
        )
        broadcasters = {"albion": albion.id, "gaule": gaule.id, "quota": quota.id}
        keys = {}
        for name, broadcaster_id in broadcasters.items():
            keys[name] = tenants.create_key(
                name, Role.BROADCASTER, session=session, broadcaster_id=broadcaster_id
            )[1]
        keys["admin"] = tenants.create_key("admin", Role.ADMIN, session=session)[1]
        keys["editor"] = tenants.create_key("editor", Role.EDITOR, session=session)[1]
        webhook_service.create_webhook(
            albion.id, receiver.url + "/albion", ["asset.new"], session=session
        )
        webhook_service.create_webhook(
            gaule.id, receiver.url + "/gaule", ["asset.new"], session=session
        )
    outcomes = []
    for event_id, feed in ((ids["athletics"], "finish line"), (ids["swimming"], "pool deck")):
        outcome = ingest_files(
            event_id,
            [FeedFile(feed, camera_clip)],
            settings=embedded,
            sessions=sessions,
            store=store,
        )[0]
        assert outcome.ok, outcome
        outcomes.append(outcome)
    jobs = wait_for(sessions, [o.ladder_job_id for o in outcomes])
    assert all(j.status.value == "succeeded" for j in jobs), [j.error for j in jobs]
    with session_scope(sessions) as session:
        feeds = [services.get_asset(o.asset_id, session=session).feed_id for o in outcomes]
    yield World(
        api=api_url,
        athletics=ids["athletics"],
        swimming=ids["swimming"],
        a1=outcomes[0].asset_id,
        a2=outcomes[1].asset_id,
        feed1=feeds[0],
        feed2=feeds[1],
        keys=keys,
        broadcasters=broadcasters,
        receiver=receiver,
    )
    receiver.shutdown()
    receiver.server_close()


def test_every_endpoint_answers_each_tenant_by_its_rights(world):
    """The cross-tenant matrix: endpoint x broadcaster x inside/outside its rights."""
    w = world
    # (method, path, who, expected status)
    rows = [
        # catalog reads: inside -> 200, outside -> 404 (it does not exist for them)
        ("GET", f"/v1/events/{w.athletics}", "albion", 200),
        ("GET", f"/v1/events/{w.swimming}", "albion", 404),
        ("GET", f"/v1/events/{w.athletics}", "gaule", 404),
        ("GET", f"/v1/events/{w.swimming}", "gaule", 200),
        ("GET", f"/v1/events/{w.athletics}/feeds", "albion", 200),
        ("GET", f"/v1/events/{w.swimming}/feeds", "albion", 404),
        ("GET", f"/v1/events/{w.athletics}/markers", "gaule", 404),
        ("GET", f"/v1/events/{w.swimming}/markers", "gaule", 200),
        ("GET", f"/v1/events/{w.swimming}/replays", "albion", 404),
        ("GET", f"/v1/feeds/{w.feed1}", "albion", 200),
        ("GET", f"/v1/feeds/{w.feed2}", "albion", 404),
        ("GET", f"/v1/feeds/{w.feed1}/gaps", "gaule", 404),
        ("GET", f"/v1/feeds/{w.feed2}/gaps", "gaule", 200),
        ("GET", f"/v1/assets/{w.a1}", "albion", 200),
        ("GET", f"/v1/assets/{w.a2}", "albion", 404),
        ("GET", f"/v1/assets/{w.a1}", "gaule", 404),
        ("GET", f"/v1/assets/{w.a2}", "gaule", 200),
        ("GET", f"/v1/assets/{w.a1}/poster.jpg", "albion", 307),
        ("GET", f"/v1/assets/{w.a2}/poster.jpg", "albion", 404),
        # stills go through the same decision as pictures: Gaule's clips-only right does not
        # cover the whole recording's poster or sprites
        ("GET", f"/v1/assets/{w.a2}/poster.jpg", "gaule", 403),
        ("GET", f"/v1/assets/{w.a2}/thumbnails/thumbnails.vtt", "gaule", 403),
        # delivery: archive for Albion; Gaule holds clips only (visible, but 403)
        ("GET", f"/v1/assets/{w.a1}/download", "albion", 200),
        ("GET", f"/v1/assets/{w.a2}/download", "albion", 404),
        ("GET", f"/v1/assets/{w.a2}/download", "gaule", 403),
        ("GET", f"/v1/assets/{w.a1}/download", "gaule", 404),
        ("GET", f"/v1/assets/{w.a1}/hls/master.m3u8", "albion", 200),
        ("GET", f"/v1/assets/{w.a2}/hls/master.m3u8", "albion", 404),
        ("GET", f"/v1/assets/{w.a2}/hls/master.m3u8", "gaule", 403),
        ("GET", f"/v1/assets/{w.a1}/hls/360p/index.m3u8", "gaule", 404),
        ("GET", f"/v1/assets/{w.a1}/mezzanine.mxf", "gaule", 404),
        # staff-only tools
        ("GET", f"/v1/assets/{w.a1}/proxy.mp4", "albion", 403),
        ("GET", f"/v1/assets/{w.a1}/proxy.mp4", "editor", 307),
        ("POST", f"/v1/assets/{w.a1}/mezzanine", "albion", 403),
        ("GET", "/v1/jobs", "albion", 403),
        ("GET", "/v1/jobs", "editor", 200),
        ("POST", f"/v1/feeds/{w.feed1}/stop", "albion", 403),
        ("POST", f"/v1/feeds/{w.feed1}/stop", "editor", 403),
        ("POST", f"/v1/events/{w.athletics}/markers", "albion", 403),
        ("POST", f"/v1/events/{w.athletics}/replay-rules", "gaule", 403),
        ("GET", "/v1/keys", "albion", 403),
        ("GET", "/v1/audit", "gaule", 403),
        ("GET", "/v1/audit", "admin", 200),
        ("GET", "/v1/broadcasters", "albion", 403),
        ("GET", f"/v1/broadcasters/{w.broadcasters['gaule']}/grants", "albion", 403),
        ("GET", f"/v1/usage?broadcaster_id={w.broadcasters['gaule']}", "albion", 403),
        ("GET", "/v1/usage", "albion", 200),
        ("GET", "/v1/me", "gaule", 200),
        ("GET", "/v1/profiles", "gaule", 200),
        # no key, a wrong key
        ("GET", f"/v1/assets/{w.a1}", "nobody", 401),
        ("GET", "/v1/events", "nobody", 401),
        ("GET", "/health", "nobody", 200),
    ]
    bodies = {
        "POST": {
            "/markers": {"clock_s": 1.0, "label": "false start"},
            "/replay-rules": {"tag": "goal", "kinds": ["angles"]},
        }
    }
    wrong = []
    clients = {who: w.client(who) for who in {r[2] for r in rows}}
    for method, path, who, expected in rows:
        body = next((v for k, v in bodies.get(method, {}).items() if path.endswith(k)), None)
        answer = clients[who].request(method, path, json=body)
        if answer.status_code != expected:
            wrong.append(f"{method} {path} as {who}: {answer.status_code} (wanted {expected})")
        if answer.status_code >= 400:
            assert answer.headers["content-type"].startswith("application/problem+json"), path
    assert wrong == []


def test_listings_and_details_show_only_what_rights_cover(world):
    albion, gaule = world.client("albion"), world.client("gaule")
    events = {e["id"] for e in albion.get("/v1/events", params={"limit": 200}).json()["items"]}
    assert world.athletics in events and world.swimming not in events
    assets = albion.get("/v1/assets", params={"limit": 200}).json()
    ids = {a["id"] for a in assets["items"]}
    assert world.a1 in ids and world.a2 not in ids and assets["total"] == len(ids)
    sports = {albion.get(f"/v1/events/{a['event_id']}").json()["sport"] for a in assets["items"]}
    assert sports == {"athletics"}
    detail = gaule.get(f"/v1/events/{world.swimming}").json()
    assert [f["id"] for f in detail["feeds"]] == [world.feed2]
    # What broadcasters see of a recording: no bucket keys, no feed source addresses.
    asset = gaule.get(f"/v1/assets/{world.a2}").json()
    assert asset["original_key"] is None and asset["master_playlist_key"] is None
    assert asset["proxy_url"] is None
    assert all(r["playlist_key"] is None for r in asset["renditions"])
    feed = gaule.get(f"/v1/feeds/{world.feed2}").json()
    assert feed["source"] is None
    # The playable URL carries the caller's media token.
    assert "?token=" in asset["playlist_url"]


def test_a_broadcaster_acts_for_one_of_its_own_territories(world):
    assert (
        world.client("gaule", **{"Vantage-Territory": "FR"})
        .get(f"/v1/assets/{world.a2}")
        .status_code
        == 200
    )
    # Belgium is Gaule's, but its grant covers France only: the recording does not exist there.
    assert (
        world.client("gaule", **{"Vantage-Territory": "BE"})
        .get(f"/v1/assets/{world.a2}")
        .status_code
        == 404
    )
    refused = world.client("gaule", **{"Vantage-Territory": "DE"}).get(f"/v1/assets/{world.a2}")
    assert refused.status_code == 403 and "not one of your territories" in refused.json()["detail"]


def test_territories_are_codes_that_exist(world):
    admin = world.client("admin")
    # UK is reserved for the United Kingdom but is not its code; a grant to UK would match no
    # one (and, excluded, exclude no one).
    refused = admin.post("/v1/broadcasters", json={"name": "Albion Two", "territories": ["UK"]})
    assert refused.status_code == 400 and "UK (did you mean GB?)" in refused.json()["detail"]
    refused = admin.post(
        "/v1/broadcasters", json={"name": "Hellas", "territories": ["el", "QQ", "EU"]}
    )
    detail = refused.json()["detail"]
    assert refused.status_code == 400
    assert "EL (did you mean GR?)" in detail and "QQ" in detail and "EU (a grouping" in detail
    assert "Hellas" not in [b["name"] for b in admin.get("/v1/broadcasters").json()]
    grant = {"scope": "all", "territories": ["ZZ"], "territories_excluded": True}
    refused = admin.post(f"/v1/broadcasters/{world.broadcasters['gaule']}/grants", json=grant)
    assert refused.status_code == 400 and "ZZ" in refused.json()["detail"]
    # A territory asked for in the header is checked the same way, for staff too.
    for who in ("gaule", "admin"):
        asked = world.client(who, **{"Vantage-Territory": "UK"}).get(f"/v1/assets/{world.a2}")
        assert asked.status_code == 400 and "did you mean GB?" in asked.json()["detail"]
    made = admin.post("/v1/broadcasters", json={"name": "Kosovo Sport", "territories": ["xk"]})
    assert made.status_code == 201 and made.json()["territories"] == ["XK"]


def _uris(playlist: str) -> list[str]:
    uris = [line for line in playlist.splitlines() if line and not line.startswith("#")]
    return uris + re.findall(r'URI="([^"]+)"', playlist)


def test_playlists_are_signed_and_a_leaked_one_stops_working(world, sessions):
    with session_scope(sessions) as session:
        key, secret = tenants.create_key(
            "albion player", Role.BROADCASTER, session=session,
            broadcaster_id=world.broadcasters["albion"],
        )  # fmt: skip
        key_id = key.id
    player = httpx.Client(
        base_url=world.api, headers={"Authorization": f"Bearer {secret}"}, timeout=30
    )
    master = player.get(f"/v1/assets/{world.a1}/hls/master.m3u8")
    assert master.status_code == 200
    check_master_playlist(master.text)  # signing keeps every playlist to the letter
    uris = _uris(master.text)
    assert uris and all("token=" in uri for uri in uris)
    token = uris[0].split("token=", 1)[1]
    # Anyone holding the playlist (no key) can follow it while the token lives...
    bare = httpx.Client(base_url=f"{world.api}/v1/assets/{world.a1}/hls/", timeout=30)
    media = bare.get(uris[0])
    assert media.status_code == 200
    check_media_playlist(media.text)
    segment = next(u for u in _uris(media.text) if ".m4s" in u)
    assert bare.get(media.url.join(segment)).status_code == 307
    mpd = player.get(f"/v1/assets/{world.a1}/hls/manifest.mpd").text
    assert "token=" in mpd
    check_mpd(mpd)
    # ... but only for that recording, only untampered, and only until it expires.
    assert (
        bare.get(f"{world.api}/v1/assets/{world.a2}/hls/master.m3u8?token={token}").status_code
        == 404
    )
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert bare.get(f"{uris[0].split('?')[0]}?token={tampered}").status_code == 401
    expired = tokens.issue(
        "vantage-development-signing-key",
        broadcaster_id=world.broadcasters["albion"],
        key_id=key_id,
        asset_id=world.a1,
        expires=int(time.time()) - 1,
    )
    answer = bare.get(f"{uris[0].split('?')[0]}?token={expired}")
    assert answer.status_code == 401 and "expired" in answer.json()["detail"]
    # A token opens media, never the catalog.
    assert bare.get(f"{world.api}/v1/assets/{world.a1}?token={token}").status_code == 401
    # Revoking the key kills its tokens at once.
    assert world.client("admin").delete(f"/v1/keys/{key_id}").status_code == 200
    assert bare.get(uris[0]).status_code == 401
    assert player.get(f"/v1/assets/{world.a1}").status_code == 401


def test_parallel_downloads_never_overrun_a_quota(world, sessions):
    """Quota News may use 12 s of athletics a day; the recording lasts 4 s: of 12 parallel
    downloads, exactly 3 are granted."""
    with session_scope(sessions) as session:
        duration = services.get_asset(world.a1, session=session).duration_s
    assert duration == pytest.approx(4.0, abs=0.05)

    def download(_: int) -> int:
        with world.client("quota") as client:
            return client.get(f"/v1/assets/{world.a1}/download").status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = sorted(pool.map(download, range(12)))
    assert statuses == [200] * 3 + [403] * 9
    with session_scope(sessions) as session:
        used = session.scalar(
            select(func.count())
            .select_from(Usage)
            .where(Usage.broadcaster_id == world.broadcasters["quota"])
        )
    assert used == 3
    usage = world.client("quota").get("/v1/usage").json()
    assert usage["grants"][0]["used_today_s"] == pytest.approx(3 * duration, abs=0.01)
    refused = world.client("quota").get(f"/v1/assets/{world.a1}/download").json()
    assert "allowed per day" in refused["detail"] and refused["available_from"]
    denied = (
        world.client("admin")
        .get(
            "/v1/audit", params={"broadcaster_id": world.broadcasters["quota"], "result": "denied"}
        )
        .json()["items"]
    )
    assert len(denied) >= 9 and all(r["action"] == "download" for r in denied)


def test_an_embargo_opens_after_the_event_ends(world, sessions):
    with session_scope(sessions) as session:
        late = tenants.create_broadcaster("Late Night Sport", ["IT"], session=session)
        tenants.grant_rights(
            late.id,
            tenants.GrantTerms(
                scope="event",
                scope_value=world.swimming,
                territories=("IT",),
                embargo_minutes=30,
                embargo_after="event",
            ),
            session=session,
        )
        secret = tenants.create_key(
            "late", Role.BROADCASTER, session=session, broadcaster_id=late.id
        )[1]
    client = httpx.Client(base_url=world.api, headers={"Authorization": f"Bearer {secret}"})
    # Visible (it is in their rights), not yet deliverable: the event has not ended.
    assert client.get(f"/v1/assets/{world.a2}").status_code == 200
    refused = client.get(f"/v1/assets/{world.a2}/download")
    assert refused.status_code == 403
    assert refused.json()["verdict"] == "embargoed" and "event ends" in refused.json()["detail"]
    ended = (utcnow() - timedelta(minutes=10)).isoformat()
    admin = world.client("admin")
    assert (
        admin.post(f"/v1/events/{world.swimming}/end", json={"ended_at": ended}).status_code == 200
    )
    still = client.get(f"/v1/assets/{world.a2}/download").json()
    assert still["verdict"] == "embargoed" and still["available_from"]
    earlier = (utcnow() - timedelta(minutes=31)).isoformat()
    admin.post(f"/v1/events/{world.swimming}/end", json={"ended_at": earlier})
    assert client.get(f"/v1/assets/{world.a2}/download").status_code == 200


def test_replays_only_from_sources_in_rights_and_derived_rights_intersect(world, sessions):
    gaule, albion, admin = world.client("gaule"), world.client("albion"), world.client("admin")
    order = {"event_id": world.swimming, "kind": "angles", "start_s": 0.5, "end_s": 2.0}
    # Albion has no rights on the swimming: the event does not exist for it.
    assert albion.post("/v1/replays", json=order).status_code == 404
    placed = gaule.post("/v1/replays", json=order)
    assert placed.status_code == 202, placed.text
    replay = placed.json()
    assert replay["ordered_by"] == world.broadcasters["gaule"]
    # Its own order: Gaule sees it; nobody else does.
    assert gaule.get(f"/v1/replays/{replay['id']}").status_code == 200
    assert albion.get(f"/v1/replays/{replay['id']}").status_code == 404
    # A host replay of the athletics: every source is Albion's, none is Gaule's.
    host = admin.post(
        "/v1/replays",
        json={"event_id": world.athletics, "kind": "angles", "start_s": 0.0, "end_s": 1.0},
    ).json()
    assert albion.get(f"/v1/replays/{host['id']}").status_code == 200
    assert gaule.get(f"/v1/replays/{host['id']}").status_code == 404
    listed = albion.get(f"/v1/events/{world.athletics}/replays").json()
    assert host["id"] in [r["id"] for r in listed]
    assert all(o["url"] is None for o in albion.get(f"/v1/replays/{host['id']}").json()["outputs"])
    # A replay order over the quota of clips is refused before anything is queued.
    with session_scope(sessions) as session:
        before = session.scalar(select(func.count()).select_from(Usage))
    with session_scope(sessions) as session:
        tiny = tenants.create_broadcaster("Tiny Clips", ["FR"], session=session)
        tenants.grant_rights(
            tiny.id,
            tenants.GrantTerms(
                scope="event", scope_value=world.swimming, territories=("FR",),
                media=("clips",), max_clip_s=1.0,
            ),
            session=session,
        )  # fmt: skip
        secret = tenants.create_key(
            "tiny", Role.BROADCASTER, session=session, broadcaster_id=tiny.id
        )[1]
    tiny_client = httpx.Client(base_url=world.api, headers={"Authorization": f"Bearer {secret}"})
    refused = tiny_client.post("/v1/replays", json=order)
    assert refused.status_code == 403 and "per clip" in refused.json()["detail"]
    with session_scope(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Usage)) == before
    wait_for(sessions, [replay["job_id"], host["job_id"]], timeout=120)
    done = gaule.get(f"/v1/replays/{replay['id']}").json()
    assert done["status"] == "succeeded" and done["outputs"][0]["url"]


def test_new_recordings_are_announced_to_the_broadcasters_whose_rights_cover_them(world):
    received = world.receiver.wait_for(2, timeout=30)
    by_path = {r.path: r for r in received}
    assert set(by_path) == {"/albion", "/gaule"}
    albion = json.loads(by_path["/albion"].body)
    assert albion["topic"] == "asset.new" and albion["data"]["asset_id"] == world.a1
    gaule = json.loads(by_path["/gaule"].body)
    assert gaule["data"]["asset_id"] == world.a2
    assert by_path["/albion"].headers["Vantage-Signature"].startswith("t=")


def test_webhooks_belong_to_their_broadcaster(world):
    made = world.client("albion").post(
        "/v1/webhooks",
        # A global address (no DNS here to resolve a name): names that do not resolve are refused.
        json={"url": "https://93.184.215.14/vantage", "topics": ["replay.ready"]},
    )
    assert made.status_code == 201 and made.json()["secret"].startswith("whsec_")
    hook = made.json()["id"]
    assert world.client("albion").get(f"/v1/webhooks/{hook}").status_code == 200
    assert world.client("gaule").get(f"/v1/webhooks/{hook}").status_code == 404
    assert world.client("gaule").delete(f"/v1/webhooks/{hook}").status_code == 404
    assert world.client("albion").get(f"/v1/webhooks/{hook}/deliveries").json() == []
    assert world.client("editor").get("/v1/webhooks").status_code == 403
    for inside in (
        "http://127.0.0.1:9/x",
        "http://10.1.2.3/x",
        "http://localhost/x",
        "http://[::1]/x",
        "http://hooks.nowhere.invalid/x",
    ):
        refused = world.client("albion").post(
            "/v1/webhooks", json={"url": inside, "topics": ["feed.live"]}
        )
        assert refused.status_code == 400, inside


def test_search_finds_only_what_rights_cover_with_facets_and_cursors(world):
    admin, albion, gaule = world.client("admin"), world.client("albion"), world.client("gaule")
    marked = admin.post(
        f"/v1/events/{world.athletics}/markers",
        json={
            "clock_s": 2.0,
            "label": "Photo finish",
            "tags": ["finish"],
            "athletes": ["Femke Bol"],
        },
    )
    assert marked.status_code == 201
    found = albion.get("/v1/search", params={"q": "bol"}).json()
    assert [(h["kind"], h["event_id"]) for h in found["items"]] == [("marker", world.athletics)]
    assert found["items"][0]["athletes"] == ["Femke Bol"]
    # Gaule has no rights on the athletics: the same words find nothing, not even the event.
    assert gaule.get("/v1/search", params={"q": "bol"}).json()["items"] == []
    assert gaule.get("/v1/search", params={"q": "hurdles"}).json()["items"] == []
    everything = albion.get("/v1/search", params={"q": "rights cup"}).json()
    kinds = everything["facets"]["kind"]
    assert kinds.get("event") == 1 and kinds.get("asset") == 1 and kinds.get("feed") == 1
    assert set(everything["facets"]["sport"]) == {"athletics"}
    assert all(h["event_id"] == world.athletics for h in everything["items"])
    # Cursor pagination walks every hit once.
    seen, cursor = [], None
    while True:
        params = {"q": "rights cup", "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = albion.get("/v1/search", params=params).json()
        seen += [(h["kind"], h["id"]) for h in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted((h["kind"], h["id"]) for h in everything["items"])
    assert len(set(seen)) == len(seen)
    # Filters: the event clock, the kind.
    clocked = albion.get(
        "/v1/search", params={"q": "rights", "kind": "marker", "from_s": 1.5, "to_s": 2.5}
    ).json()
    assert [h["kind"] for h in clocked["items"]] == ["marker"]
    assert albion.get("/v1/search", params={"cursor": "not-a-cursor"}).status_code == 400
    # Gaule's swimming rights are clips, and the event has ended long enough ago in the
    # embargo test, or not at all: either way the recording is found in its rights.
    swim = gaule.get("/v1/search", params={"q": "medley", "kind": "asset"}).json()
    assert [h["id"] for h in swim["items"]] == [world.a2]


def test_exclusive_rights_cannot_be_granted_twice(world):
    admin = world.client("admin")
    made = {
        name: admin.post("/v1/broadcasters", json={"name": name, "territories": ["ES"]}).json()[
            "id"
        ]
        for name in ("Iberia Uno", "Iberia Dos")
    }
    exclusive = {
        "scope": "event", "scope_value": world.swimming, "territories": ["ES"],
        "media": ["live"], "exclusive": True,
    }  # fmt: skip
    assert (
        admin.post(f"/v1/broadcasters/{made['Iberia Uno']}/grants", json=exclusive).status_code
        == 201
    )
    # The same live rights in Spain for someone else collide; clips, or Portugal, do not.
    clash = admin.post(
        f"/v1/broadcasters/{made['Iberia Dos']}/grants",
        json={
            "scope": "sport",
            "scope_value": "swimming",
            "territories": ["ES"],
            "media": ["live"],
        },
    )
    assert clash.status_code == 409 and "Iberia Uno" in clash.json()["detail"]
    for terms in (
        {"scope": "sport", "scope_value": "swimming", "territories": ["ES"], "media": ["clips"]},
        {"scope": "sport", "scope_value": "swimming", "territories": ["PT"], "media": ["live"]},
        {"scope": "sport", "scope_value": "athletics", "territories": ["ES"], "media": ["live"]},
    ):
        answer = admin.post(f"/v1/broadcasters/{made['Iberia Dos']}/grants", json=terms)
        assert answer.status_code == 201, (terms, answer.text)
    bad = admin.post(
        f"/v1/broadcasters/{made['Iberia Dos']}/grants",
        json={"scope": "event", "territories": ["Spain"]},
    )
    assert bad.status_code == 422
    unnamed = admin.post(
        f"/v1/broadcasters/{made['Iberia Dos']}/grants",
        json={"scope": "event", "territories": ["ES"]},
    )
    assert unnamed.status_code == 400 and "must name it" in unnamed.json()["detail"]


def test_operators_manage_broadcasters_rights_and_keys_from_the_console(world, embedded):
    from tests.workers.test_pipeline import vantage

    added = vantage(embedded, "broadcasters", "add", "Console TV", "--territory", "nz")
    assert added.returncode == 0, added.stderr
    granted = vantage(
        embedded, "rights", "grant", "Console TV", "--scope", "event", "--value", world.athletics,
        "--territory", "NZ", "--media", "archive", "--max-clip-s", "30", "--json",
    )  # fmt: skip
    assert granted.returncode == 0, granted.stderr
    assert json.loads(granted.stdout)["quotas"] == {"max_clip_s": 30.0}
    listed = json.loads(vantage(embedded, "rights", "list", "Console TV", "--json").stdout)
    assert [g["scope_value"] for g in listed] == [world.athletics]
    made = vantage(
        embedded, "keys", "create", "--name", "console", "--broadcaster", "Console TV", "--json"
    )
    key = json.loads(made.stdout)
    client = httpx.Client(base_url=world.api, headers={"Authorization": f"Bearer {key['key']}"})
    assert client.get(f"/v1/assets/{world.a1}").status_code == 200
    assert client.get(f"/v1/assets/{world.a2}").status_code == 404
    # The key is never listed with its secret, and revoking it works at once.
    listing = vantage(embedded, "keys", "list", "--broadcaster", "Console TV", "--json").stdout
    assert key["key"] not in listing and key["prefix"] in listing
    assert vantage(embedded, "keys", "revoke", key["prefix"]).returncode == 0
    assert client.get(f"/v1/assets/{world.a1}").status_code == 401
    # Bad input: one clear line and exit status 1, nothing written.
    bad = vantage(embedded, "broadcasters", "add", "Nowhere TV", "--territory", "Narnia")
    assert bad.returncode == 1 and "ISO 3166-1" in bad.stderr
    bad = vantage(embedded, "rights", "grant", "Console TV", "--scope", "feed", "--territory", "NZ")
    assert bad.returncode == 1 and "must name it" in bad.stderr
    assert vantage(embedded, "search", "reindex").returncode == 0


def test_an_airing_cannot_be_back_dated_moved_or_reported_without_the_scope(world, sessions):
    from datetime import datetime

    from catalog.models import AuditRecord

    swimming = f"/v1/events/{world.swimming}/airing"
    with session_scope(sessions) as session:
        _, no_air = tenants.create_key(
            "gaule read-only", Role.BROADCASTER, session=session,
            broadcaster_id=world.broadcasters["gaule"], scopes=["read", "deliver"],
        )  # fmt: skip
    without = httpx.Client(base_url=world.api, headers={"Authorization": f"Bearer {no_air}"})
    refused = without.put(swimming, json={})
    assert refused.status_code == 403 and "air" in refused.json()["detail"]

    gaule = world.client("gaule")
    # Back-dating to open an "after your broadcast" embargo early: refused, as is the future.
    year_2000 = gaule.put(swimming, json={"aired_at": "2000-01-01T00:00:00Z"})
    assert year_2000.status_code == 400 and "before the event" in year_2000.json()["detail"]
    tomorrow = (utcnow() + timedelta(days=1)).isoformat()
    assert gaule.put(swimming, json={"aired_at": tomorrow}).status_code == 400

    aired = utcnow().replace(microsecond=0) - timedelta(seconds=5)
    assert gaule.put(swimming, json={"aired_at": aired.isoformat()}).status_code == 204
    assert gaule.put(swimming, json={"aired_at": aired.isoformat()}).status_code == 204  # again
    moved = gaule.put(swimming, json={"aired_at": utcnow().isoformat()})
    assert moved.status_code == 409 and "first report stands" in moved.json()["detail"]
    with session_scope(sessions) as session:
        reports = session.scalars(
            select(AuditRecord).where(
                AuditRecord.action == "airing.report", AuditRecord.subject_id == world.swimming
            )
        ).all()
    assert len(reports) == 1 and reports[0].broadcaster_id == world.broadcasters["gaule"]
    assert datetime.fromisoformat(reports[0].reason.split("aired at ", 1)[1]) == aired


def test_a_stream_is_audited_once_when_its_token_is_issued_and_old_records_expire(
    world, sessions, embedded
):
    from datetime import timedelta

    from sqlalchemy import func, select

    from catalog.models import AuditRecord
    from workers.reconciler import prune_audit

    def streams() -> int:
        with session_scope(sessions) as session:
            return session.scalar(
                select(func.count()).select_from(AuditRecord).where(
                    AuditRecord.subject_id == world.a1, AuditRecord.action == "stream"
                )
            )  # fmt: skip

    before = streams()
    master = world.client("albion").get(f"/v1/assets/{world.a1}/hls/master.m3u8")
    assert master.status_code == 200
    assert streams() == before + 1  # the token's issue
    bare = httpx.Client(base_url=f"{world.api}/v1/assets/{world.a1}/hls/", timeout=30)
    for _ in range(3):  # a player polling its playlist and fetching segments
        media = bare.get(_uris(master.text)[0])
        assert media.status_code == 200
        for segment in [u for u in _uris(media.text) if ".m4s" in u][:4]:
            assert bare.get(media.url.join(segment)).status_code == 307
    assert streams() == before + 1  # checked again each time, not written down again
    # Retention: records older than api.audit_retention_days go, newer ones stay.
    with session_scope(sessions) as session:
        old = AuditRecord(
            at=utcnow() - timedelta(days=embedded.api.audit_retention_days + 1), role="admin",
            action="stream", subject_kind="asset", subject_id=world.a1, result="granted",
            reason="an old decision",
        )  # fmt: skip
        session.add(old)
    assert streams() == before + 2
    assert prune_audit(embedded, sessions) >= 1
    assert streams() == before + 1
