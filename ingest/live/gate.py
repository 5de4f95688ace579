"""The origin gate: what an HLS pull may fetch.

An HLS source is a playlist, and a playlist names the URLs its player fetches next: variants,
segments, keys, on any host. A hostile or compromised encoder could aim the puller at the
internal network (the object store's admin ports, a metadata service) and read the answers as
media. So ffmpeg pulls HLS only through this gate, a forward proxy of the puller's own on
loopback that lets through requests to the feed's own origin (scheme, host and port of its
URL) and to the origins the operator listed in ``live.hls_origins`` (a CDN its segments are
redirected to), and refuses the rest with 403, counting each refusal so the feed can say why.

ffmpeg sends plain-HTTP requests to the gate with their absolute URL, and opens HTTPS ones with
``CONNECT host:port`` (its ``httpproxy`` protocol), so the gate sees every host whether or not
the bytes are encrypted; it never decrypts them.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import select
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

Origin = tuple[str, str, int]
"""(scheme, host, port), host lower-cased, the port explicit."""

_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOP_BY_HOP = frozenset(
    {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
        "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
    }
)  # fmt: skip
_CHUNK = 64 * 1024


def origin_of(url: str) -> Origin:
    """The origin of an http(s) URL; ValueError for anything else."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return scheme, parts.hostname.lower(), parts.port or _DEFAULT_PORTS[scheme]


def allowed_origins(source: str, extra: list[str]) -> frozenset[Origin]:
    """The feed's own origin and the operator's extra ones."""
    return frozenset({origin_of(source), *(origin_of(url) for url in extra)})


class OriginGate:
    """A forward proxy on loopback for one pull; use as a context manager, hand ffmpeg
    :attr:`url` as its ``-http_proxy``. :attr:`refused` lists what it would not fetch."""

    def __init__(self, allowed: frozenset[Origin], *, timeout_s: float) -> None:
        self.allowed = allowed
        self.timeout_s = timeout_s
        self.refused: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.gate = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="origin-gate", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> OriginGate:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def allows(self, origin: Origin) -> bool:
        return origin in self.allowed

    def refuse(self, what: str) -> None:
        with self._lock:
            if len(self.refused) < 100:
                self.refused.append(what)
        log.warning("HLS pull: refused %s (not the feed's origin, nor in live.hls_origins)", what)

    def summary(self) -> str | None:
        """Why the pull could not fetch everything, for the feed's state; ``None`` if it could."""
        with self._lock:
            if not self.refused:
                return None
            count = len(self.refused)
            return (
                f"refused {count} request(s) off the feed's origin (e.g. {self.refused[0]}); "
                "allow a host in live.hls_origins"
            )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection: nothing to keep in step

    @property
    def gate(self) -> OriginGate:
        gate: OriginGate = self.server.gate  # type: ignore[attr-defined]
        return gate

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _refuse(self, what: str) -> None:
        self.gate.refuse(what)
        self.send_error(403, "outside the feed's origin")

    def do_GET(self) -> None:
        self._forward()

    def do_HEAD(self) -> None:
        self._forward()

    def _forward(self) -> None:
        try:
            scheme, host, port = origin_of(self.path)
        except ValueError:
            self._refuse(self.path[:200])
            return
        if scheme != "http" or not self.gate.allows((scheme, host, port)):
            self._refuse(self.path[:200])
            return
        parts = urlsplit(self.path)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        upstream = http.client.HTTPConnection(host, port, timeout=self.gate.timeout_s)
        answered = False
        try:
            upstream.request(self.command, target, headers=headers)
            answer = upstream.getresponse()
            self.send_response(answer.status, answer.reason)
            answered = True
            for name, value in answer.getheaders():
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                while chunk := answer.read(_CHUNK):
                    self.wfile.write(chunk)
        except OSError as exc:
            log.info("HLS pull: %s:%d did not answer: %s", host, port, exc)
            self.close_connection = True
            if not answered:  # mid-body, closing the connection is the only honest answer
                with contextlib.suppress(OSError):
                    self.send_error(502, "the feed's origin did not answer")
        finally:
            upstream.close()

    def do_CONNECT(self) -> None:
        host, _, port_text = self.path.rpartition(":")
        host = host.strip("[]").lower()
        if (
            not host
            or not port_text.isdigit()
            or not self.gate.allows(("https", host, int(port_text)))
        ):
            self._refuse(f"https://{self.path[:200]}")
            return
        try:
            upstream = socket.create_connection((host, int(port_text)), self.gate.timeout_s)
        except OSError as exc:
            log.info("HLS pull: %s did not answer: %s", self.path, exc)
            self.send_error(502, "the feed's origin did not answer")
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.close_connection = True
        _relay(self.connection, upstream, self.gate.timeout_s)


def _relay(client: socket.socket, upstream: socket.socket, idle_s: float) -> None:
    """Copy bytes both ways until either side closes or both stay silent for ``idle_s``."""
    sockets = [client, upstream]
    try:
        while True:
            readable, _, _ = select.select(sockets, [], [], idle_s * 6)
            if not readable:
                return
            for sock in readable:
                data = sock.recv(_CHUNK)
                if not data:
                    return
                (upstream if sock is client else client).sendall(data)
    except OSError:
        return
    finally:
        upstream.close()
