"""The FastAPI application: ``uvicorn --factory api.app:create_app``."""

from __future__ import annotations

from fastapi import FastAPI

from api import problems
from api.routers import assets, events, feeds, health, jobs, profiles, replays
from infra.database import make_engine, make_session_factory
from infra.settings import Settings, get_settings
from infra.storage import ObjectStore


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Vantage",
        version="0.1.0",
        summary="Multi-camera sports media: events, feeds, assets, renditions and playable HLS.",
    )
    engine = make_engine(settings.database_url, echo=settings.database.echo)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_session_factory(engine)
    app.state.store = ObjectStore(settings.storage)
    problems.install(app)
    for router in (
        health.router,
        events.router,
        feeds.router,
        assets.router,
        jobs.router,
        profiles.router,
        replays.router,
    ):
        app.include_router(router)
    return app
