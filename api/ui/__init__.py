"""The editors' web UI, served by the API itself: one HTML shell for every deep link (search,
an event at a moment, a replay), plain JavaScript modules and vendored, pinned libraries.

Pages carry a strict Content-Security-Policy: scripts and styles only from this origin (no
inline script), media and images from here and the object store's presigned URLs, no framing.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra.core.settings import Settings

STATIC = Path(__file__).parent / "static"
PAGES = ("/", "/events/{event_id}", "/replays/{replay_id}")


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}" if parsed.scheme and parsed.netloc else None


def content_security_policy(settings: Settings) -> str:
    """Scripts, styles and fonts only from this origin; media, pictures and fetches also from
    the object store, where presigned proxies, posters and sprites live."""
    storage = _origin(settings.storage.public_endpoint_url or settings.storage.endpoint_url)
    extra = f" {storage}" if storage else " https:"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: blob:{extra}",
            f"media-src 'self' blob:{extra}",
            f"connect-src 'self'{extra}",
            "worker-src 'self' blob:",
            "font-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeaders:
    """Adds the policy and its companions to every page and static file of the UI."""

    def __init__(self, app: ASGIApp, policy: str) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", policy.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(("/v1/", "/health", "/ready")):
            await self.app(scope, receive, send)
            return

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, add_headers)


def _shell(request: Request) -> Response:
    """The one page; the modules read the path and query and draw search, event or replay."""
    return FileResponse(
        STATIC / "index.html", media_type="text/html", headers={"cache-control": "no-store"}
    )


def install(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(SecurityHeaders, policy=content_security_policy(settings))
    app.mount("/ui", StaticFiles(directory=STATIC), name="ui")
    for path in PAGES:
        app.add_api_route(path, _shell, methods=["GET"], include_in_schema=False)
