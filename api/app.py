"""The FastAPI application: ``uvicorn --factory api.app:create_app``."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from api import problems
from api.auth import RateLimiter
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
    webhooks,
)
from infra.database import make_engine, make_session_factory
from infra.settings import Settings, get_settings
from infra.storage import ObjectStore


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
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
    app.state.rate_limiter = RateLimiter(settings.api.rate_per_minute)
    problems.install(app)
    problems.document(app)
    limit = settings.api.max_body_bytes

    async def refuse_large_bodies(request: Request, call_next: RequestResponseEndpoint) -> Response:
        declared = request.headers.get("content-length")
        chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()
        if (declared is not None and (not declared.isdigit() or int(declared) > limit)) or (
            chunked and len(await request.body()) > limit
        ):
            return problems.problem(413, f"request bodies are limited to {limit} bytes")
        return await call_next(request)

    app.add_middleware(BaseHTTPMiddleware, dispatch=refuse_large_bodies)
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
    ):
        app.include_router(router)
    return app
