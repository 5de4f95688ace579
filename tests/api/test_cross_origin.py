"""Another website plays Vantage's signed media: a page on another origin, in real Chromium, gives
the signed master playlist to hls.js and the signed DASH manifest to dash.js, and both play
(playlists from the API, segments from the bucket by presigned redirect). The same page still
cannot read the API's JSON."""

from __future__ import annotations

import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from catalog import services
from infra.core.database import session_scope
from ingest.files import FeedFile, ingest_files
from tests import staff
from tests.conftest import RUN_ID
from tests.workers.test_pipeline import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.browser]

HERE = Path(__file__).resolve().parent
HLS_JS = HERE.parents[1] / "api" / "ui" / "static" / "vendor" / "hls.js-1.7.4" / "hls.light.min.mjs"
DASH_JS = HERE / "vendor" / "dashjs-5.2.1" / "dash.mediaplayer.min.js"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>A rights-holder's player</title>
<script src="dash.mediaplayer.min.js"></script></head>
<body><video muted playsinline width="640" height="360"></video>
<script type="module">
import Hls from "./hls.light.min.mjs";
const params = new URLSearchParams(location.search);
const video = document.querySelector("video");
window.outcome = null;
const fail = (why) => { window.outcome = window.outcome || "error: " + why; };
video.addEventListener("timeupdate", () => {
  if (video.currentTime > 0.5 && !window.outcome) window.outcome = "playing";
});
if (params.get("player") === "hls") {
  const hls = new Hls();
  hls.on(Hls.Events.ERROR, (_e, data) => { if (data.fatal) fail(data.details); });
  hls.loadSource(params.get("src"));
  hls.attachMedia(video);
} else {
  const player = dashjs.MediaPlayer().create();
  player.on("error", (e) => fail(JSON.stringify(e.error || e)));
  player.initialize(video, params.get("src"), false);
}
video.play().catch(() => {});
window.readJson = (url) => fetch(url).then((r) => "read " + r.status, (e) => "refused " + e.name);
</script></body></html>
"""


@pytest.fixture(scope="module")
def other_site(tmp_path_factory):
    """A website on another origin (another port) serving its own page and players."""
    root = tmp_path_factory.mktemp("other-site")
    (root / "index.html").write_text(PAGE)
    shutil.copy(HLS_JS, root / HLS_JS.name)
    shutil.copy(DASH_JS, root / DASH_JS.name)

    class Quiet(SimpleHTTPRequestHandler):
        extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript"}

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def signed(embedded, sessions, store, worker, api_url, camera_clip):
    """The signed master playlist and DASH manifest of a laddered camera, as the API hands
    them out."""
    with session_scope(sessions) as session:
        event_id = services.create_event(f"Embed heat {RUN_ID}", session=session).id
    [outcome] = ingest_files(
        event_id, [FeedFile("cam1", camera_clip)], settings=embedded, sessions=sessions, store=store
    )
    [job] = wait_for(sessions, [outcome.ladder_job_id])
    assert job.status.value == "succeeded", job.error
    [asset] = staff.get(f"{api_url}/v1/events/{event_id}").json()["feeds"][0]["assets"]
    assert "token=" in asset["playlist_url"] and "token=" in asset["dash_url"]
    return asset


@pytest.mark.parametrize("player", ["hls", "dash"])
def test_a_player_on_another_website_plays_the_signed_media(
    browser,
    other_site,
    signed,
    api_url,
    player,
):
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    source = signed["playlist_url"] if player == "hls" else signed["dash_url"]
    page.goto(f"{other_site}/?player={player}&src={quote(source, safe='')}")
    page.wait_for_function("() => window.outcome", timeout=60_000)
    assert page.evaluate("() => window.outcome") == "playing", errors
    # The same page may not read the API's JSON: only signed media is shared.
    assert page.evaluate(f"() => window.readJson('{api_url}/v1/events')").startswith("refused")
    page.close()
