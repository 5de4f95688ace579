"""The origin gate of HLS pulls: on real loopback servers, and with the real ffmpeg reading a
hostile master playlist that names a variant on another port."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from ingest.live.gate import OriginGate, allowed_origins, origin_of
from ingest.media.segmenter import PullOptions, parse_segment_list, puller_args
from transcode.ffmpeg import base_args, run_ffmpeg


@dataclass
class Origin:
    """A real HTTP server on loopback serving a folder, counting the requests it gets."""

    folder: Path
    hits: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        origin = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                origin.hits.append(self.path)
                super().do_GET()

            def log_message(self, *_: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=self.folder))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def origins(tmp_path: Path) -> Iterator[tuple[Origin, Origin]]:
    feed, elsewhere = Origin(tmp_path / "feed"), Origin(tmp_path / "elsewhere")
    for origin in (feed, elsewhere):
        origin.folder.mkdir(exist_ok=True)
    yield feed, elsewhere
    feed.close()
    elsewhere.close()


def hls_stream(ffmpeg: str, folder: Path) -> None:
    """Three 2 s segments and their playlist (a finished one: the pull ends by itself)."""
    run_ffmpeg(
        ffmpeg,
        [
            *base_args(), "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
            "-t", "6", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50",
            "-f", "hls", "-hls_time", "2", "-hls_list_size", "0",
            str(folder / "index.m3u8"),
        ],
        timeout_s=60,
    )  # fmt: skip


def test_the_gate_forwards_the_feeds_origin_and_refuses_every_other(origins):
    feed, elsewhere = origins
    (feed.folder / "a.txt").write_text("from the feed")
    (elsewhere.folder / "secret.txt").write_text("internal")
    with OriginGate(allowed_origins(feed.url + "/index.m3u8", []), timeout_s=5) as gate:
        client = httpx.Client(proxy=gate.url, timeout=10)
        assert client.get(feed.url + "/a.txt").text == "from the feed"
        refused = client.get(elsewhere.url + "/secret.txt")
        assert refused.status_code == 403 and "internal" not in refused.text
        assert client.get("http://localhost:9/").status_code == 403  # another name, same host
    assert elsewhere.hits == []
    assert gate.refused == [elsewhere.url + "/secret.txt", "http://localhost:9/"]
    assert "refused 2 request(s)" in (gate.summary() or "")


def head(sock: socket.socket) -> bytes:
    """The status line and headers of an answer, read to their blank line."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def test_https_is_tunnelled_only_to_an_allowed_origin():
    # CONNECT carries the host and port in the clear: the gate decides before any byte of TLS.
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def echo() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(conn.recv(100).upper())

    threading.Thread(target=echo, daemon=True).start()
    allowed = allowed_origins(f"https://127.0.0.1:{port}/live/index.m3u8", [])
    with OriginGate(allowed, timeout_s=5) as gate:
        host, gate_port = gate.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(gate_port)), timeout=5) as tunnel:
            tunnel.sendall(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n".encode())
            assert head(tunnel).startswith(b"HTTP/1.0 200")
            tunnel.sendall(b"hello")
            assert tunnel.recv(100) == b"HELLO"
        with socket.create_connection((host, int(gate_port)), timeout=5) as tunnel:
            tunnel.sendall(f"CONNECT 127.0.0.1:{port + 1} HTTP/1.1\r\n\r\n".encode())
            assert head(tunnel).startswith(b"HTTP/1.0 403")
    listener.close()
    assert gate.refused == [f"https://127.0.0.1:{port + 1}"]


def test_origins_are_scheme_host_and_port():
    assert origin_of("https://CDN.example.com/a/b.m3u8") == ("https", "cdn.example.com", 443)
    assert origin_of("http://10.0.0.5:8080/x") == ("http", "10.0.0.5", 8080)
    with pytest.raises(ValueError):
        origin_of("file:///etc/passwd")
    extra = allowed_origins("http://a:1/x.m3u8", ["https://cdn.example.com"])
    assert extra == {("http", "a", 1), ("https", "cdn.example.com", 443)}


def pull(ffmpeg: str, source: str, out: Path, gate: OriginGate) -> subprocess.CompletedProcess:
    options = PullOptions(segment_s=2.0, timeout_s=3.0, http_proxy=gate.url)
    out.mkdir()
    return subprocess.run(
        [ffmpeg, *puller_args(source, out, options)], capture_output=True, text=True, timeout=60
    )


def test_ffmpeg_pulls_its_feed_through_the_gate(ffmpeg, origins, tmp_path):
    feed, _ = origins
    hls_stream(ffmpeg, feed.folder)
    source = feed.url + "/index.m3u8"
    with OriginGate(allowed_origins(source, []), timeout_s=5) as gate:
        pull(ffmpeg, source, tmp_path / "pulled", gate)
    assert gate.refused == []
    assert "/index.m3u8" in feed.hits and any(hit.endswith(".ts") for hit in feed.hits)
    closed = parse_segment_list((tmp_path / "pulled" / "segments.csv").read_text())
    assert sum(segment.duration_s for segment in closed) == pytest.approx(6.0, abs=0.1)


def test_a_master_naming_another_host_gets_nothing_from_it(ffmpeg, origins, tmp_path):
    feed, elsewhere = origins
    hls_stream(ffmpeg, elsewhere.folder)  # a real stream, on a port the feed does not own
    (feed.folder / "master.m3u8").write_text(
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\n" + elsewhere.url + "/index.m3u8\n"
    )
    source = feed.url + "/master.m3u8"
    began = time.monotonic()
    with OriginGate(allowed_origins(source, []), timeout_s=5) as gate:
        pulled = pull(ffmpeg, source, tmp_path / "pulled", gate)
    assert elsewhere.hits == []
    assert gate.refused and gate.refused[0] == elsewhere.url + "/index.m3u8"
    assert pulled.returncode != 0 and time.monotonic() - began < 30
    # The operator can allow that origin; then the same master plays.
    with OriginGate(allowed_origins(source, [elsewhere.url]), timeout_s=5) as allowed:
        pull(ffmpeg, source, tmp_path / "allowed", allowed)
    assert allowed.refused == [] and any(hit.endswith(".ts") for hit in elsewhere.hits)
