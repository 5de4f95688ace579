"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.auth import OPERATE
from api.deps import SettingsDep, StoreDep
from api.problems import problem
from catalog.migrate import current_revision, head_revision
from infra.core.errors import VantageError
from infra.core.queue import broker_ping
from infra.core.settings import Settings
from infra.core.storage import ObjectStore

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready", response_model=None)
def ready(request: Request, settings: SettingsDep, store: StoreDep) -> Any:
    """Ready or not, for load balancers and probes: anyone may ask, so it says nothing more
    (what failed, and how, is for operators: ``GET /v1/health``)."""
    checks = _checks(request, settings, store)
    if all(value == "ok" for value in checks.values()):
        return {"status": "ready"}
    response: JSONResponse = problem(503, "not ready")
    return response


@router.get("/v1/health", response_model=None, dependencies=[OPERATE])
def health_detail(request: Request, settings: SettingsDep, store: StoreDep) -> Any:
    """The catalog (at the current migration), the object store and the broker, each checked,
    with what failed: for operators."""
    checks = _checks(request, settings, store)
    if all(value == "ok" for value in checks.values()):
        return {"status": "ready", "checks": checks}
    failing = ", ".join(k for k, v in checks.items() if v != "ok")
    response: JSONResponse = problem(503, f"not ready: {failing}", checks=checks)
    return response


def _checks(request: Request, settings: Settings, store: ObjectStore) -> dict[str, str]:
    checks: dict[str, str] = {}
    engine = request.app.state.engine
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        revision = current_revision(engine)
        checks["database"] = (
            "ok" if revision == head_revision() else f"at {revision}, run vantage init"
        )
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; reported below
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        store.check()
        checks["storage"] = "ok"
    except VantageError as exc:
        checks["storage"] = f"error: {exc.detail}"
    try:
        broker_ping(settings)
        checks["broker"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; reported below
        checks["broker"] = f"error: {type(exc).__name__}"
    return checks
