"""The FastAPI application: ``uvicorn --factory api.app:create_app``."""

from __future__ import annotations

import ipaddress
import logging

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import metrics, problems, ui
from api.cors import MediaCORS
from api.ratelimit import RequestBudgets
from api.routers import (
    access,
    assets,
    events,
    feeds,
    health,
    jobs,
    profiles,
    replays,
    search,
    session,
    webhooks,
)
from infra.core import logs
from infra.core.database import make_engine, make_session_factory
from infra.core.settings import (
    Settings,
    get_settings,
    serves_beyond_loopback,
    weak_signing_key,
)
from infra.core.storage import ObjectStore

log = logging.getLogger(__name__)


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes with a 413, by their declared length or,
    when sent in chunks, as soon as they pass it (plain ASGI: nothing buffered, nothing
    added to requests that carry no body)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send)
            return
        seen = 0
        too_large = False

        async def counted() -> Message:
            nonlocal seen, too_large
            if too_large:
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # End the body here; whatever the app makes of the stub is replaced below.
                    too_large = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        refused = False

        async def answer(message: Message) -> None:
            nonlocal refused
            if not too_large:
                await send(message)
            elif not refused:
                refused = True
                await self._refuse(scope, receive, send)

        await self.app(scope, counted, answer)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problems.problem(413, f"request bodies are limited to {self.limit} bytes")
        await response(scope, receive, send)


class WeakKeyGuard:
    """Refuses to answer on any address but loopback while the signing key is weak (the
    development default, short, a placeholder): media tokens signed with a key anyone can read
    in this repository would open every asset to anyone. The address is the one the request
    arrived on, whatever ``--host`` the server was started with."""

    def __init__(self, app: ASGIApp, weakness: str) -> None:
        self.app = app
        self.weakness = weakness
        self.warned = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _beyond_loopback(scope.get("server")):
            if not self.warned:
                self.warned = True
                log.error("refusing requests beyond loopback: the signing key %s", self.weakness)
            detail = (
                f"this API's signing key {self.weakness}; the operator must set "
                "VANTAGE_API__SIGNING_KEY (vantage init writes a strong one) before it serves "
                "beyond this machine"
            )
            await problems.problem(503, detail)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _beyond_loopback(server: tuple[str, int | None] | None) -> bool:
    if not server:
        return False
    try:
        return not ipaddress.ip_address(server[0]).is_loopback
    except ValueError:
        return False  # a unix socket or an in-process client: nothing beyond this machine


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logs.configure(settings, "api")
    weakness = weak_signing_key(settings.api.signing_key)
    if weakness and serves_beyond_loopback(settings.api.host):
        raise RuntimeError(
            f"VANTAGE_API__HOST is {settings.api.host} but the signing key {weakness}: "
            "set VANTAGE_API__SIGNING_KEY (vantage init writes a strong one)"
        )
    app = FastAPI(
        title="Vantage",
        version="0.1.0",
        summary="Multi-camera sports media: events, feeds, assets, renditions and playable HLS.",
        description=(
            "Every call but `/health` needs an API key: `Authorization: Bearer vk_...`. "
            "Broadcasters see and receive only what their rights grant; anything else is 404."
        ),
    )
    engine = make_engine(settings.database_url, echo=settings.database.echo)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_session_factory(engine)
    app.state.store = ObjectStore(settings.storage)
    app.state.budgets = RequestBudgets(settings)
    problems.install(app)
    problems.document(app)
    app.add_middleware(BodyLimit, limit=settings.api.max_body_bytes)
    if settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Vantage-Territory"],
            max_age=600,
        )
    for router in (
        health.router,
        events.router,
        feeds.router,
        assets.router,
        jobs.router,
        profiles.router,
        replays.router,
        access.router,
        search.router,
        webhooks.router,
        session.router,
    ):
        app.include_router(router)
    ui.install(app, settings)
    if settings.api.media_origins:
        app.add_middleware(MediaCORS, origins=settings.api.media_origins)
    metrics.install(app, settings)
    if weakness:
        app.add_middleware(WeakKeyGuard, weakness=weakness)
    return app
