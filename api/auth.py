"""Who is calling: API keys (``Authorization: Bearer vk_...``), signed media tokens, scopes,
the territory a request is made for, per-key rate limits, and the answer to a refused use."""

from __future__ import annotations

import hmac
import math
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from api import tokens
from api.deps import SessionDep, SessionFactoryDep, SettingsDep
from api.ratelimit import RequestBudgets, budget_of, token_identity
from catalog import access, rights, tenants, territories
from catalog.models import ApiKey, Broadcaster, Role, utcnow
from infra.core.database import session_scope
from infra.core.errors import Forbidden, NotFound, TooManyRequests, Unauthorized
from infra.core.settings import Settings

TERRITORY_HEADER = "Vantage-Territory"
SESSION_COOKIE = "vantage_session"
"""The editors' UI: an HttpOnly, SameSite=Strict cookie naming a signed-in browser session."""
CSRF_HEADER = "X-CSRF-Token"
"""Every state-changing call made with the session cookie carries this token."""
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(signing_key: str, cookie_secret: str) -> str:
    """The CSRF token of a session: derived from its cookie with the signing key, so a page
    can be given it again at any time, and another site can neither read nor make it."""
    return hmac.new(signing_key.encode(), b"csrf:" + cookie_secret.encode(), "sha256").hexdigest()


def _session_key(
    request: Request, session: SessionDep, settings: Settings, now: datetime
) -> ApiKey:
    """The key behind the request's session cookie, the CSRF token checked for writes."""
    secret = request.cookies.get(SESSION_COOKIE, "")
    found = tenants.editor_session(secret, session=session, now=now) if secret else None
    if found is None:
        raise Unauthorized("your session has ended; sign in again")
    if request.method not in _SAFE_METHODS:
        presented = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(presented, csrf_token(settings.api.signing_key, secret)):
            raise Forbidden(f"a change made from the web UI needs its {CSRF_HEADER} header")
    return found[1]


def _budgets(request: Request) -> RequestBudgets:
    budgets: RequestBudgets = request.app.state.budgets
    return budgets


def _territory(request: Request, broadcaster: Broadcaster | None) -> str | None:
    asked = request.headers.get(TERRITORY_HEADER)
    if asked is not None:
        [asked] = territories.check([asked])
    if broadcaster is None:
        return asked
    if asked is None:
        return broadcaster.territories[0] if broadcaster.territories else None
    if asked not in broadcaster.territories:
        raise Forbidden(f"{asked} is not one of your territories")
    return asked


def _principal(
    key: ApiKey, request: Request, session: SessionDep, *, bound_asset: str | None = None
) -> access.Principal:
    broadcaster = session.get(Broadcaster, key.broadcaster_id) if key.broadcaster_id else None
    scopes = frozenset(key.scopes)
    if bound_asset is not None:
        scopes &= {"deliver"}
    return access.Principal(
        role=key.role,
        key_id=key.id,
        name=key.name,
        broadcaster_id=key.broadcaster_id,
        scopes=scopes,
        territory=_territory(request, broadcaster),
        bound_asset=bound_asset,
    )


def _authenticate(
    request: Request, session: SessionDep, sessions: SessionFactoryDep, settings: SettingsDep
) -> access.Caller:
    now = utcnow()
    header = request.headers.get("authorization")
    token = request.query_params.get("token")
    if header:
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise Unauthorized("send the API key as: Authorization: Bearer <key>")
        key = tenants.authenticate_key(presented.strip(), session=session, now=now)
        if key is None:
            raise Unauthorized("invalid, expired or revoked API key")
        principal = _principal(key, request, session)
    elif token:
        claims = tokens.parse(token)
        key = session.get(ApiKey, claims.key_id) if claims else None
        if (
            claims is None
            or key is None
            or not tenants.key_is_live(key, now)
            or not tokens.verify(
                settings.api.signing_key,
                token,
                claims,
                broadcaster_id=key.broadcaster_id,
                now=time.time(),
                max_ttl_s=settings.api.token_ttl_s + 60,  # a minute of clock skew
            )
        ):
            raise Unauthorized("invalid or expired media token; ask the API for a new playlist")
        principal = _principal(key, request, session, bound_asset=claims.asset_id)
    elif SESSION_COOKIE in request.cookies:
        key = _session_key(request, session, settings, now)
        principal = _principal(key, request, session)
    else:
        raise Unauthorized("send an API key: Authorization: Bearer <key>")
    if token and not header:
        wait = _budgets(request).take("media", token_identity(token))
        limit = f"{settings.api.media_rate_per_minute} media requests a minute for this token"
    elif budget_of(request) == "media":
        wait = _budgets(request).take("media", f"key:{key.id}")
        limit = f"{settings.api.media_rate_per_minute} stills a minute for this key"
    else:
        wait = _budgets(request).take("api", key.id)
        limit = f"{settings.api.rate_per_minute} requests a minute for this key"
    if wait > 0:
        raise TooManyRequests(f"more than {limit}", retry_after_s=math.ceil(wait))
    if key.last_used_at is None or (now - tenants.aware(key.last_used_at)).total_seconds() > 60:
        # In a short transaction of its own: in the request's session this write would hold
        # SQLite's write lock (a row lock on PostgreSQL) for as long as the request runs,
        # stalling every puller and worker behind a long request.
        with session_scope(sessions) as own:
            tenants.touch_key(key.id, session=own, now=now)
    request.state.principal = principal
    return access.caller_for(principal, session=session, now=now)


def caller_for_key(key: ApiKey, request: Request, session: SessionDep) -> access.Caller:
    """The caller a key makes, for a request that presented it in its body (signing in)."""
    return access.caller_for(_principal(key, request, session), session=session, now=utcnow())


def _caller(caller: Annotated[access.Caller, Depends(_authenticate)]) -> access.Caller:
    if caller.principal.bound_asset is not None:
        raise Unauthorized("a media token opens only its own asset's media; use an API key")
    return caller


CallerDep = Annotated[access.Caller, Depends(_caller)]
"""A caller with an API key."""
MediaCallerDep = Annotated[access.Caller, Depends(_authenticate)]
"""A caller with an API key or a signed media token (playlists, segments)."""


def need(*scopes: str, roles: Sequence[Role] | None = None) -> Callable[[access.Caller], None]:
    """A dependency refusing callers without every one of ``scopes`` (and, with ``roles``, of
    another role)."""

    def check(caller: CallerDep) -> None:
        principal = caller.principal
        if roles is not None and principal.role not in roles:
            raise Forbidden(f"a {principal.role} key cannot do this")
        missing = [s for s in scopes if s not in principal.scopes]
        if missing:
            raise Forbidden(f"this key lacks the {', '.join(missing)} scope")

    return check


STAFF = (Role.ADMIN, Role.OPERATOR, Role.EDITOR)
ADMIN = Depends(need("admin", roles=(Role.ADMIN,)))
OPERATE = Depends(need("operate", roles=(Role.ADMIN, Role.OPERATOR)))
EDIT = Depends(need("read", roles=STAFF))
READ = Depends(need("read"))
DELIVER = Depends(need("deliver"))
ORDER = Depends(need("order"))
WEBHOOKS = Depends(need("webhooks"))


def check_bound(caller: access.Caller, asset_id: str, what: str) -> None:
    """A media token opens only the asset it was issued for."""
    bound = caller.principal.bound_asset
    if bound is not None and bound != asset_id:
        raise NotFound(f"no {what}")
    if bound is None and "deliver" not in caller.principal.scopes:
        raise Forbidden("this key lacks the deliver scope")


def media_token(caller: access.Caller, settings: Settings, asset_id: str) -> str:
    """A token for one asset's playlists and segments, for the caller's key."""
    principal = caller.principal
    assert principal.key_id is not None
    return tokens.issue(
        settings.api.signing_key,
        broadcaster_id=principal.broadcaster_id,
        key_id=principal.key_id,
        asset_id=asset_id,
        expires=int(time.time()) + settings.api.token_ttl_s,
    )


def enforce(
    caller: access.Caller,
    use: access.Use,
    subjects: Sequence[rights.Subject],
    *,
    request: Request,
    session: SessionDep,
    missing: str | None,
    record: bool = True,
) -> rights.Decision:
    """Decide a use; a refusal is recorded in the audit trail (in its own transaction, the
    request's work being rolled back) and answered: 404 when it is outside the caller's rights,
    403 with the reason (and when to come back) otherwise. With ``missing`` ``None`` (an order
    naming sources) a subject outside the rights is a 403 too."""
    client = request.client.host if request.client else None
    decision = access.authorize(
        caller, use, subjects, session=session, client=client, record=record
    )
    if decision.granted:
        return decision
    session.rollback()
    access.audit(caller, use, decision, session=session, client=client)
    session.commit()
    if decision.verdict is rights.Verdict.OUTSIDE and missing is not None:
        raise NotFound(missing)
    extra: dict[str, object] = {"verdict": decision.verdict.value}
    if decision.available_from is not None:
        extra["available_from"] = decision.available_from
        extra["retry_after_s"] = max(
            1, math.ceil((decision.available_from - caller.now).total_seconds())
        )
    raise Forbidden(decision.reason, **extra)
