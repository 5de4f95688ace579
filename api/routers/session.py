"""Signing in to the editors' web UI: an API key exchanged for an HttpOnly session cookie."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import SESSION_COOKIE, CallerDep, caller_for_key, csrf_token
from api.deps import SessionDep, SettingsDep
from api.routers.access import me
from api.schemas import MeOut
from catalog import tenants
from catalog.models import utcnow
from infra.core.errors import Forbidden, Unauthorized

router = APIRouter(tags=["session"])


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=200)
    """An API key (editor, operator, admin or broadcaster)."""


class SessionOut(BaseModel):
    csrf_token: str
    """Send it as ``X-CSRF-Token`` with every state-changing call made with the cookie."""
    me: MeOut


def _own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"


def _cookie(response: Response, secret: str, *, secure: bool, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )


@router.post("/v1/session", response_model=SessionOut)
def sign_in(
    body: SignIn, request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> SessionOut:
    """Exchange an API key for a session cookie (HttpOnly, SameSite=Strict). A session the
    browser already had is ended first, so a planted cookie never becomes a signed-in one."""
    origin = request.headers.get("origin")
    if origin is not None and origin != _own_origin(request):
        # Another site signing this browser in to a key of its choosing (login CSRF).
        raise Forbidden("sign in from Vantage's own pages")
    now = utcnow()
    key = tenants.authenticate_key(body.key.strip(), session=session, now=now)
    if key is None:
        raise Unauthorized("invalid, expired or revoked API key")
    old = request.cookies.get(SESSION_COOKIE)
    found = tenants.editor_session(old, session=session, now=now) if old else None
    if found is not None:
        tenants.close_editor_session(found[0], now=now)
    row, secret = tenants.open_editor_session(
        key, session=session, now=now, ttl_s=settings.api.session_ttl_s
    )
    max_age = int((row.expires_at - now).total_seconds())
    _cookie(response, secret, secure=settings.api.public_url.startswith("https"), max_age=max_age)
    caller = caller_for_key(key, request, session)
    return SessionOut(
        csrf_token=csrf_token(settings.api.signing_key, secret), me=me(caller, session)
    )


@router.get("/v1/session", response_model=SessionOut)
def current(
    caller: CallerDep, request: Request, session: SessionDep, settings: SettingsDep
) -> SessionOut:
    """The signed-in browser's identity and its CSRF token (for a page just loaded)."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret or request.headers.get("authorization"):
        raise Unauthorized("no web session: sign in with POST /v1/session")
    return SessionOut(
        csrf_token=csrf_token(settings.api.signing_key, secret), me=me(caller, session)
    )


@router.delete("/v1/session", status_code=204, response_class=Response)
def sign_out(caller: CallerDep, request: Request, session: SessionDep) -> Response:
    """End the browser's session: the cookie stops working at once, everywhere."""
    secret = request.cookies.get(SESSION_COOKIE, "")
    found = tenants.editor_session(secret, session=session, now=utcnow()) if secret else None
    if found is not None:
        tenants.close_editor_session(found[0], now=utcnow())
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
