"""Signed media for other websites' players.

A rights-holder embeds Vantage's signed master playlist or manifest in its own player on its own
domain. Those requests carry their authority in the URL (a media token), never a cookie or an
API key, so the answers may be read from any origin (or from the origins ``api.media_origins``
lists): this middleware says so on the media routes only, and answers their preflights (a
player asking for a byte range). The segments themselves come from the object store by
presigned URL; ``vantage init`` gives the bucket the same rule
(:meth:`infra.core.storage.ObjectStore.allow_cross_origin_reads`).

Everything else in the API (JSON, the UI, sign-in) keeps the same-origin policy, or the explicit
``api.cors_origins`` list for API clients.
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MEDIA_PATHS = re.compile(
    r"^/v1/(?:assets/[^/]+/(?:hls/.+|thumbnails/.+|recording(?:/[^/]+)?\.m3u8)"
    r"|feeds/[^/]+/live(?:/[^/]+)?\.m3u8"
    r"|segments/[^/]+/[^/]+\.ts)$"
)
"""Playlists, manifests, sprites and segments: what a player fetches with a media token."""

EXPOSED = "Content-Length, Content-Range, Content-Type, Accept-Ranges"
ALLOWED_REQUEST_HEADERS = "Range"


class MediaCORS:
    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.any_origin = "*" in origins
        self.origins = {o.rstrip("/") for o in origins}

    def _allowed(self, origin: str | None) -> str | None:
        if origin is None:
            return None
        if self.any_origin:
            return "*"
        return origin if origin.rstrip("/") in self.origins else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not MEDIA_PATHS.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        allowed = self._allowed(headers.get("origin"))
        if allowed is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(allowed, headers, send)
            return

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["Access-Control-Allow-Origin"] = allowed
                out["Access-Control-Expose-Headers"] = EXPOSED
                if allowed != "*":
                    out.append("Vary", "Origin")
            await send(message)

        await self.app(scope, receive, answer)

    async def _preflight(self, allowed: str, headers: Headers, send: Send) -> None:
        method = headers.get("access-control-request-method", "").upper()
        asked = {
            h.strip().lower()
            for h in headers.get("access-control-request-headers", "").split(",")
            if h.strip()
        }
        ok = method in ("GET", "HEAD") and asked <= {"range"}
        status = 204 if ok else 403
        out = [(b"vary", b"Origin")]
        if ok:
            out += [
                (b"access-control-allow-origin", allowed.encode()),
                (b"access-control-allow-methods", b"GET, HEAD"),
                (b"access-control-allow-headers", ALLOWED_REQUEST_HEADERS.encode()),
                (b"access-control-max-age", b"600"),
            ]
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": b""})
