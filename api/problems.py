"""Errors rendered as RFC 9457 problem details (``application/problem+json``)."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from infra.core.errors import VantageError
from transcode.errors import FFmpegError, FFmpegTimeout, MediaError, ProfileError, TranscodeError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def problem(status: int, detail: str, title: str | None = None, **extra: Any) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


MEDIA_STATUS: tuple[tuple[type[TranscodeError], int, str], ...] = (
    (MediaError, 422, "Unusable media"),
    (ProfileError, 400, "Bad encoding profile"),
    (FFmpegTimeout, 503, "ffmpeg ran out of time"),
    (FFmpegError, 500, "ffmpeg failed"),
)
"""The media package's errors as HTTP answers, most specific first; any other is a 500."""


def media_status(exc: TranscodeError) -> tuple[int, str]:
    for kind, status, title in MEDIA_STATUS:
        if isinstance(exc, kind):
            return status, title
    return 500, "Media processing failed"


def install(app: FastAPI) -> None:
    @app.exception_handler(VantageError)
    async def _vantage(request: Request, exc: VantageError) -> JSONResponse:
        if exc.status_code >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc.detail)
        extra = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in exc.extra.items()}
        response = problem(exc.status_code, exc.detail, exc.title, **extra)
        if "retry_after_s" in extra:
            response.headers["Retry-After"] = str(max(1, int(float(str(extra["retry_after_s"])))))
        if exc.status_code == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="vantage"'
        return response

    @app.exception_handler(TranscodeError)
    async def _media(request: Request, exc: TranscodeError) -> JSONResponse:
        status, title = media_status(exc)
        if status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc.detail)
        return problem(status, exc.detail, title)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return problem(422, detail or "invalid request", "Invalid request", errors=errors)

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal error; see the API log")


_PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
    "required": ["title", "status", "detail"],
    "additionalProperties": True,
}
_ERRORS = {
    "400": "Bad request",
    "401": "No API key, or one that is invalid, expired or revoked",
    "403": "Not allowed: a scope or role the key lacks, an embargo, a quota",
    "404": "Not found, or outside the caller's rights",
    "409": "Conflict",
    "413": "Request too large",
    "422": "Invalid request",
    "429": "Too many requests for this key",
    "503": "A backing service is unavailable",
}
PUBLIC_PATHS = ("/health", "/ready")


def document(app: FastAPI) -> None:
    """Publish what the API really answers: every error as problem+json, and the bearer key
    every operation but the health checks needs."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {})
        components.setdefault("schemas", {})["Problem"] = _PROBLEM_SCHEMA
        components["securitySchemes"] = {
            "apiKey": {"type": "http", "scheme": "bearer", "description": "vk_... API key"}
        }
        schema["security"] = [{"apiKey": []}]
        problem_content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for code, text in _ERRORS.items():
                    description = responses.get(code, {}).get("description", text)
                    responses[code] = {"description": description, "content": problem_content}
                if path in PUBLIC_PATHS:
                    operation["security"] = []
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
