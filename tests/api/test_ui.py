"""The editors' UI in a real browser (Debian's Chromium driven by Playwright) on the real stack:
sign in, search, the synchronized angle grid read back by its frame codes, I/O and an order
that completes and plays, a marker added with M, hostile text kept as text, a broadcaster
seeing only its own events, and sign-out ending the session."""

from __future__ import annotations

import time
from fractions import Fraction

import httpx
import pytest

from catalog import services, tenants
from catalog.models import Role
from infra.core.database import session_scope
from infra.ops.bench.ui import STARTS, grid_frame_codes, sign_in
from ingest.files import FeedFile, ingest_files
from tests import staff
from tests.conftest import RUN_ID
from transcode.scene import camera_ring
from transcode.synthetic import render_scene_camera

pytestmark = [pytest.mark.integration, pytest.mark.browser]

RATE = Fraction(25)


@pytest.fixture(scope="module")
def match(embedded, sessions, store, worker, api_url, ffmpeg, media_dir):
    """Four cameras of the virtual match, each starting at another event frame, with proxies."""
    ring = camera_ring(4)
    files = [
        FeedFile(
            c.name,
            render_scene_camera(
                ffmpeg, c, media_dir / f"ui-{c.name}.mp4", first_frame=STARTS[c.name], frames=150
            ),
        )
        for c in ring
    ]
    with session_scope(sessions) as session:
        event_id = services.create_event(f"UI final {RUN_ID}", sport="football", session=session).id
    outcomes = ingest_files(event_id, files, settings=embedded, sessions=sessions, store=store)
    assert all(o.ok for o in outcomes), outcomes
    deadline = time.monotonic() + 240
    while True:
        event = staff.get(f"{api_url}/v1/events/{event_id}").json()
        assets = [a for f in event["feeds"] for a in f["assets"]]
        if len(assets) == 4 and all(a["proxy_url"] and a["status"] == "ready" for a in assets):
            return event
        assert time.monotonic() < deadline, "proxies never arrived"
        time.sleep(0.5)


def key(sessions, role=Role.EDITOR, **kwargs):
    with session_scope(sessions) as session:
        _, secret = tenants.create_key(f"ui {role} {RUN_ID}", role, session=session, **kwargs)
    return secret


frame_codes = grid_frame_codes


def test_an_editor_plays_every_angle_in_sync_and_orders_a_replay(browser, api_url, sessions, match):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, api_url, key(sessions))
    cookie = next(c for c in context.cookies() if c["name"] == "vantage_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # Search, then open the event from its result.
    page.fill("#quick-search input", "UI final")
    page.press("#quick-search input", "Enter")
    page.wait_for_selector(".hit.kind-event a")
    assert "q=UI" in page.url
    page.click(".hit.kind-event a")
    page.wait_for_function("() => window.vantagePlayer && window.vantagePlayer.angles.length === 4")

    # Paused at event frame 60 (2.4 s): every angle shows the same instant.
    page.goto(f"{api_url}/events/{match['id']}?t=2.4")
    page.wait_for_function("() => window.vantagePlayer && window.vantagePlayer.angles.length === 4")
    assert page.evaluate("() => window.vantagePlayer.settled()")
    assert set(frame_codes(page).values()) == {60}, frame_codes(page)
    assert page.locator("#timecode").text_content() == "00:00:02:10"

    # One frame forward with the arrow key: still together, one frame on.
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => window.vantagePlayer.settled()")
    assert set(frame_codes(page).values()) == {61}

    # While playing: the angles stay within a frame of each other.
    # Each screenshot shows every tile's last presented frame, and one capture can catch a tile
    # between frames: the median over several captures is the grid's sync.
    page.keyboard.press("Space")
    page.wait_for_function("() => window.vantagePlayer.rate > 0 && !window.vantagePlayer._starting")
    spreads = []
    for _ in range(7):
        page.wait_for_timeout(350)
        codes = [c for c in frame_codes(page).values() if c is not None]
        if len(codes) == 4:
            spreads.append(max(codes) - min(codes))
    page.keyboard.press("k")
    assert spreads and sorted(spreads)[len(spreads) // 2] <= 1, spreads

    # Keys 1-9 pick the active angle.
    page.keyboard.press("3")
    assert "active" in page.locator(".tile").nth(2).get_attribute("class")

    # I/O around 2.0-3.0 s, order the angles, watch the job finish and the result play.
    page.evaluate("() => window.vantagePlayer.seek(2.0)")
    page.keyboard.press("i")
    page.evaluate("() => window.vantagePlayer.seek(3.0)")
    page.keyboard.press("o")
    assert "25 frames" in page.locator("#inout").text_content()
    page.click("#order-angles")
    page.wait_for_selector("#orders li[data-status=succeeded]", timeout=180_000)
    page.click("#orders li a")
    page.wait_for_selector("#outputs video")
    assert page.locator("#replay-status").text_content() == "succeeded"
    page.wait_for_function("() => document.querySelector('#outputs video').readyState >= 2")
    assert '"sha256"' in page.locator("#manifest").text_content()

    # A marker added with M, with a hostile label, lands in the lane and in search as text.
    page.goto(f"{api_url}/events/{match['id']}?t=1.0")
    page.wait_for_function("() => window.vantagePlayer && window.vantagePlayer.angles.length === 4")
    hostile = '<img src=x onerror="window.pwned=1">Goal'
    page.keyboard.press("m")
    page.fill("#marker-label", hostile)
    page.fill("#marker-tags", "goal")
    page.press("#marker-label", "Enter")
    page.wait_for_selector("#marker-lane .marker")
    assert page.locator("#markers .label-text").first.text_content() == hostile
    assert page.evaluate("() => window.pwned") is None
    # Within this event: other tests' events have their own goals.
    page.goto(f"{api_url}/?q=Goal&kind=marker&event_id={match['id']}")
    page.wait_for_selector(".hit.kind-marker")
    assert page.locator(".hit.kind-marker .title").first.text_content() == hostile
    assert page.evaluate("() => window.pwned") is None
    assert page.locator("img[src=x]").count() == 0

    # Sign out: the cookie no longer opens anything.
    secret = cookie["value"]
    page.click("#sign-out")
    page.wait_for_selector("#sign-in")
    gone = httpx.get(f"{api_url}/v1/session", cookies={"vantage_session": secret})
    assert gone.status_code == 401
    assert not errors, errors
    context.close()


def test_cookie_writes_need_the_csrf_token_and_pages_carry_a_strict_policy(
    api_url, sessions, match
):
    import httpx

    with httpx.Client(base_url=api_url) as client:
        signed = client.post("/v1/session", json={"key": key(sessions)})
        assert signed.status_code == 200
        csrf = signed.json()["csrf_token"]
        marker = {"clock_s": 1.0, "label": "csrf check"}
        path = f"/v1/events/{match['id']}/markers"
        assert client.post(path, json=marker).status_code == 403
        assert client.post(path, json=marker, headers={"X-CSRF-Token": "nope"}).status_code == 403
        assert client.post(path, json=marker, headers={"X-CSRF-Token": csrf}).status_code == 201
        # Another site cannot sign this browser in to a key of its choosing.
        other = client.post(
            "/v1/session", json={"key": key(sessions)}, headers={"Origin": "https://evil.example"}
        )
        assert other.status_code == 403
        page = client.get(f"/events/{match['id']}")
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        # Signing in again replaces the session: the old cookie stops working.
        old = client.cookies["vantage_session"]
        client.post("/v1/session", json={"key": key(sessions)})
        assert (
            httpx.get(f"{api_url}/v1/session", cookies={"vantage_session": old}).status_code == 401
        )


def test_a_broadcaster_sees_only_its_events(browser, api_url, sessions, match):
    from catalog.models import Broadcaster

    with session_scope(sessions) as session:
        owner = Broadcaster(name=f"UI TV {RUN_ID}", territories=["SE"])
        session.add(owner)
        session.flush()
        owner_id = owner.id
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    sign_in(page, api_url, key(sessions, Role.BROADCASTER, broadcaster_id=owner_id))
    page.goto(f"{api_url}/?q=UI")
    page.wait_for_selector(".status")
    assert page.locator(".hit").count() == 0
    page.goto(f"{api_url}/events/{match['id']}")
    page.wait_for_selector(".problem")
    assert page.locator(".problem h1").text_content() == "Not found"
    context.close()


def test_a_broadcaster_sees_whether_a_clip_may_be_used_now_and_why_not(
    browser, api_url, sessions, match
):
    from catalog.models import Broadcaster

    with session_scope(sessions) as session:
        holder = Broadcaster(name=f"UI Clips TV {RUN_ID}", territories=["NO"])
        session.add(holder)
        session.flush()
        holder_id = holder.id
        terms = tenants.GrantTerms(
            scope="event", scope_value=match["id"], territories=("NO",), max_clip_s=2.0,
            max_day_s=30.0,
        )  # fmt: skip
        tenants.grant_rights(holder_id, terms, session=session)
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    sign_in(page, api_url, key(sessions, Role.BROADCASTER, broadcaster_id=holder_id))
    page.goto(f"{api_url}/events/{match['id']}?t=1.0")
    page.wait_for_function("() => window.vantagePlayer && window.vantagePlayer.angles.length === 4")
    clearance = page.locator("#clearance")

    page.keyboard.press("i")
    page.evaluate("() => window.vantagePlayer.seek(2.0)")
    page.keyboard.press("o")
    page.wait_for_selector("#clearance[data-verdict=granted]")
    assert "May be used now" in clearance.text_content()
    assert "30 s of clips left today" in clearance.text_content()

    # A clip longer than the right allows: refused, with the reason, before anything is ordered.
    page.evaluate("() => window.vantagePlayer.seek(4.0)")
    page.keyboard.press("o")
    page.wait_for_selector("#clearance[data-verdict=quota]")
    assert "Not now" in clearance.text_content() and "2" in clearance.text_content()
    page.screenshot(path=str(screenshots() / "clearance.png"))
    context.close()


def screenshots():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "var" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_ui_benchmark_times_an_editor_in_the_browser(browser, embedded, match):
    """``vantage bench ui`` on this event: it measures what it says (figures in range, frames
    read back from the pictures), without timing anything against a limit."""
    from infra.ops.bench.ui import ui_benchmark
    from infra.ops.cli.progress import wait_for_jobs

    result = ui_benchmark(
        embedded, repeat=2, play_s=2.0, wait=wait_for_jobs, browser=browser,
        event=(match["id"], match["name"]),
    )  # fmt: skip
    first = result["search_to_first_frame_all_angles"]
    assert 0 < first["min_s"] <= first["p50_s"] <= first["p95_s"] <= first["max_s"]
    playing = result["sync_error_frames_while_playing"]
    assert playing["samples"] >= 5 and playing["read"] >= 1
    # Paused frame steps show exactly one instant on every angle: read from the pictures.
    assert result["sync_error_frames_after_steps"] == {
        "samples": 10,
        "read": 10,
        "p50": 0.0,
        "max": 0,
    }
    assert result["order_to_playing_s"] > 0
    assert result["goals"] == {"first_frame_p95_s": 1.5, "sync_error_max_frames": 1}
    assert set(result["met"]) == {"first_frame_p95_s", "sync_while_playing", "sync_after_steps"}


HOSTILE = {
    "name": '<script>window.pwned="name"</script>Xss Final',
    "sport": "<img src=x onerror=\"window.pwned='sport'\">",
    "venue": '"><svg onload="window.pwned=\'venue\'">Arena',
}


def test_every_text_a_user_typed_is_shown_as_text_under_a_policy_the_browser_enforces(
    browser, api_url, sessions
):
    word = f"Xss{RUN_ID}"
    made = staff.post(f"{api_url}/v1/events", json={**HOSTILE, "name": f"{HOSTILE['name']} {word}"})
    assert made.status_code == 201, made.text
    event = made.json()
    feed = staff.post(
        f"{api_url}/v1/events/{event['id']}/feeds",
        json={"name": "cam1", "source": "srt://127.0.0.1:9000",
              "position": "<iframe src=javascript:window.pwned='position'>"},
    )  # fmt: skip
    assert feed.status_code == 201, feed.text
    marker = staff.post(
        f"{api_url}/v1/events/{event['id']}/markers",
        json={"clock_s": 1.0, "label": f"<b onmouseover=window.pwned=1>{word}</b>",
              "tags": ["<u>tag</u>"], "athletes": ["<script>window.pwned='athlete'</script>"]},
    )  # fmt: skip
    assert marker.status_code == 201, marker.text
    context = browser.new_context()
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text))
    sign_in(page, api_url, key(sessions))
    for path in (f"/?q={word}", f"/events/{event['id']}"):
        page.goto(api_url + path)
        page.wait_for_load_state("networkidle")
        text = page.locator("body").text_content() or ""
        assert f"{HOSTILE['name']} {word}" in text, path  # shown literally, as text
        assert page.evaluate("() => window.pwned") is None, path
        assert page.locator("img[src=x], svg[onload], iframe, b[onmouseover]").count() == 0, path
    # Injected markup would not run anyway: the browser enforces the page's policy, refusing an
    # inline script and reporting it.
    ran = page.evaluate(
        """() => new Promise((done) => {
            document.addEventListener("securitypolicyviolation",
                (e) => done({ran: window.inline === 1, blocked: e.violatedDirective}));
            const s = document.createElement("script");
            s.textContent = "window.inline = 1";
            document.body.append(s);
            setTimeout(() => done({ran: window.inline === 1, blocked: null}), 2000);
        })"""
    )
    assert ran == {"ran": False, "blocked": "script-src-elem"}
    page.screenshot(path=str(screenshots() / "hostile-text.png"), full_page=True)
    context.close()


def test_a_planted_session_never_becomes_the_victims(api_url, sessions):
    # Session fixation: an attacker signs in, plants their cookie in a victim's browser, and
    # waits for the victim to sign in on it. Signing in always starts a new session.
    attacker = httpx.Client(base_url=api_url)
    assert attacker.post("/v1/session", json={"key": key(sessions)}).status_code == 200
    planted = attacker.cookies["vantage_session"]
    signed = httpx.post(
        f"{api_url}/v1/session",
        json={"key": key(sessions, Role.OPERATOR)},
        cookies={"vantage_session": planted},
    )
    assert signed.status_code == 200
    fresh = signed.cookies["vantage_session"]
    assert fresh != planted
    as_victim = httpx.get(f"{api_url}/v1/session", cookies={"vantage_session": planted})
    assert as_victim.status_code == 401  # the planted session was ended, not upgraded
    mine = httpx.get(f"{api_url}/v1/session", cookies={"vantage_session": fresh}).json()["me"]
    assert mine["role"] == "operator"
    # A made-up cookie is ignored the same way (nothing to fix a session on).
    made_up = httpx.post(
        f"{api_url}/v1/session",
        json={"key": key(sessions)},
        cookies={"vantage_session": "attacker-chosen"},
    )
    assert made_up.status_code == 200
    assert made_up.cookies["vantage_session"] != "attacker-chosen"
