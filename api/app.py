"""The FastAPI application: ``uvicorn --factory api.app:create_app``."""

from __future__ import annotations

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
from infra.core.settings import Settings, get_settings
from infra.core.storage import ObjectStore


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


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logs.configure(settings, "api")
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
    return app
