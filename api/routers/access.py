"""Broadcasters, their rights and API keys (admins); the caller's own identity, usage and
airings; the audit trail (admins)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlalchemy import and_, or_, select

from api.auth import ADMIN, READ, CallerDep, need
from api.deps import SessionDep
from api.schemas import (
    AiringIn,
    AuditOut,
    BroadcasterIn,
    BroadcasterOut,
    CursorPage,
    GrantIn,
    GrantOut,
    GrantUsageOut,
    KeyCreated,
    KeyIn,
    KeyOut,
    MeOut,
    UsageOut,
)
from catalog import access, services, tenants
from catalog.models import ApiKey, AuditRecord, Broadcaster, RightsGrant, Role, utcnow
from catalog.rights import Decision, Media, Verdict
from infra.core.errors import BadRequest, Forbidden

router = APIRouter(tags=["access"])


def broadcaster_out(row: Broadcaster) -> BroadcasterOut:
    return BroadcasterOut(
        id=row.id, name=row.name, territories=row.territories, created_at=row.created_at
    )


def grant_out(row: RightsGrant) -> GrantOut:
    return GrantOut.model_validate(row, from_attributes=True)


def key_out(row: ApiKey) -> KeyOut:
    return KeyOut(
        id=row.id,
        prefix=row.prefix,
        name=row.name,
        role=row.role.value,
        broadcaster_id=row.broadcaster_id,
        scopes=row.scopes,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
        created_at=row.created_at,
    )


# -- admins --------------------------------------------------------------------------------------


@router.post(
    "/v1/broadcasters",
    response_model=BroadcasterOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[ADMIN],
)
def create_broadcaster(body: BroadcasterIn, session: SessionDep) -> BroadcasterOut:
    """Register a rights-holding broadcaster and the territories it broadcasts in."""
    return broadcaster_out(tenants.create_broadcaster(body.name, body.territories, session=session))


@router.get("/v1/broadcasters", response_model=list[BroadcasterOut], dependencies=[ADMIN])
def list_broadcasters(session: SessionDep) -> list[BroadcasterOut]:
    return [broadcaster_out(b) for b in tenants.list_broadcasters(session=session)]


@router.get(
    "/v1/broadcasters/{broadcaster_id}", response_model=BroadcasterOut, dependencies=[ADMIN]
)
def get_broadcaster(broadcaster_id: str, session: SessionDep) -> BroadcasterOut:
    return broadcaster_out(tenants.get_broadcaster(broadcaster_id, session=session))


@router.post(
    "/v1/broadcasters/{broadcaster_id}/grants",
    response_model=GrantOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[ADMIN],
    responses={409: {"description": "Collides with another broadcaster's exclusive rights"}},
)
def grant_rights(broadcaster_id: str, body: GrantIn, session: SessionDep) -> GrantOut:
    """Grant rights: a scope, territories, media, a window, an embargo, exclusivity, quotas."""
    terms = tenants.GrantTerms(**{**body.model_dump(), "territories": tuple(body.territories)})
    return grant_out(tenants.grant_rights(broadcaster_id, terms, session=session))


@router.get(
    "/v1/broadcasters/{broadcaster_id}/grants",
    response_model=list[GrantOut],
    dependencies=[ADMIN],
)
def list_grants(broadcaster_id: str, session: SessionDep) -> list[GrantOut]:
    broadcaster = tenants.get_broadcaster(broadcaster_id, session=session)
    return [grant_out(g) for g in tenants.list_grants(broadcaster.id, session=session)]


@router.delete(
    "/v1/grants/{grant_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[ADMIN]
)
def revoke_grant(grant_id: str, session: SessionDep) -> Response:
    """Withdraw rights; they stop at the broadcaster's next request, streams included."""
    tenants.revoke_grant(grant_id, session=session)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/v1/keys", response_model=KeyCreated, status_code=status.HTTP_201_CREATED, dependencies=[ADMIN]
)
def create_key(body: KeyIn, session: SessionDep) -> KeyCreated:
    """Make an API key. The key is in this answer only; it cannot be shown again."""
    broadcaster_id = None
    if body.broadcaster_id:
        broadcaster_id = tenants.get_broadcaster(body.broadcaster_id, session=session).id
    key, secret = tenants.create_key(
        body.name,
        Role(body.role),
        session=session,
        broadcaster_id=broadcaster_id,
        scopes=body.scopes,
        expires_at=body.expires_at,
    )
    return KeyCreated(**key_out(key).model_dump(), key=secret)


@router.get("/v1/keys", response_model=list[KeyOut], dependencies=[ADMIN])
def list_keys(session: SessionDep, broadcaster_id: str | None = None) -> list[KeyOut]:
    """Keys (never their secrets), oldest first."""
    return [key_out(k) for k in tenants.list_keys(session=session, broadcaster_id=broadcaster_id)]


@router.delete("/v1/keys/{key_id}", response_model=KeyOut, dependencies=[ADMIN])
def revoke_key(key_id: str, session: SessionDep) -> KeyOut:
    """Revoke a key: it, and every media token issued to it, stop working at once."""
    return key_out(tenants.revoke_key(key_id, session=session))


def _cursor(at: datetime, record_id: str) -> str:
    raw = json.dumps([at.isoformat(), record_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _uncursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, record_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(at), str(record_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadRequest("invalid cursor") from exc


@router.get("/v1/audit", response_model=CursorPage[AuditOut], dependencies=[ADMIN])
def audit_trail(
    session: SessionDep,
    broadcaster_id: str | None = None,
    result: str | None = Query(None, pattern="^(granted|denied)$"),
    action: str | None = Query(None, max_length=40),
    subject_id: str | None = Query(None, max_length=36),
    since: datetime | None = None,
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, max_length=200),
) -> CursorPage[AuditOut]:
    """Delivery decisions, newest first: who asked for what, when, the result and why."""
    query = select(AuditRecord)
    for column, value in (
        (AuditRecord.broadcaster_id, broadcaster_id),
        (AuditRecord.result, result),
        (AuditRecord.action, action),
        (AuditRecord.subject_id, subject_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(AuditRecord.at >= since)
    if cursor:
        at, record_id = _uncursor(cursor)
        query = query.where(
            or_(AuditRecord.at < at, and_(AuditRecord.at == at, AuditRecord.id < record_id))
        )
    rows = session.scalars(
        query.order_by(AuditRecord.at.desc(), AuditRecord.id.desc()).limit(limit + 1)
    ).all()
    items = [AuditOut.model_validate(r, from_attributes=True) for r in rows[:limit]]
    more = len(rows) > limit
    return CursorPage(
        items=items, next_cursor=_cursor(rows[limit - 1].at, rows[limit - 1].id) if more else None
    )


# -- the caller itself ---------------------------------------------------------------------------


@router.get("/v1/me", response_model=MeOut)
def me(caller: CallerDep, session: SessionDep) -> MeOut:
    """Who this key is: role, broadcaster, the territory requests are made for, scopes."""
    principal = caller.principal
    broadcaster = (
        session.get(Broadcaster, principal.broadcaster_id) if principal.broadcaster_id else None
    )
    return MeOut(
        role=principal.role.value,
        name=principal.name,
        key_id=principal.key_id,
        broadcaster_id=principal.broadcaster_id,
        broadcaster=broadcaster.name if broadcaster else None,
        territory=principal.territory,
        scopes=sorted(principal.scopes),
    )


@router.get("/v1/usage", response_model=UsageOut, dependencies=[READ])
def usage(caller: CallerDep, session: SessionDep, broadcaster_id: str | None = None) -> UsageOut:
    """A broadcaster's consumption under each of its grants, against the quotas (admins may
    ask for any broadcaster's)."""
    principal = caller.principal
    if principal.role is Role.BROADCASTER:
        if broadcaster_id not in (None, principal.broadcaster_id):
            raise Forbidden("you can only see your own usage")
        target = principal.broadcaster_id
    elif principal.role is Role.ADMIN:
        if broadcaster_id is None:
            raise BadRequest("name the broadcaster: ?broadcaster_id=")
        target = tenants.get_broadcaster(broadcaster_id, session=session).id
    else:
        raise Forbidden(f"a {principal.role} key has no usage")
    assert target is not None
    now = utcnow()
    grants = []
    for line in access.usage_report(target, session=session, now=now):
        grant = line.grant
        next_use = (
            line.last_use_at + timedelta(seconds=grant.min_gap_s)
            if grant.min_gap_s and line.last_use_at
            else None
        )
        grants.append(
            GrantUsageOut(
                grant_id=grant.id,
                scope=grant.scope,
                scope_value=grant.scope_value,
                media=grant.media,
                uses=line.uses,
                used_today_s=round(line.today_s, 3),
                max_day_s=grant.max_day_s,
                used_by_event_s={k: round(v, 3) for k, v in line.by_event.items()},
                max_event_s=grant.max_event_s,
                max_clip_s=grant.max_clip_s,
                min_gap_s=grant.min_gap_s,
                last_use_at=line.last_use_at,
                next_use_at=next_use if next_use and next_use > now else None,
            )
        )
    return UsageOut(broadcaster_id=target, day=now.date().isoformat(), grants=grants)


@router.put(
    "/v1/events/{event_id}/airing",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(need("air"))],
)
def record_airing(
    event_id: str, body: AiringIn, request: Request, caller: CallerDep, session: SessionDep
) -> Response:
    """Tell us when your broadcast of the event went out (a key with the ``air`` scope): rights
    embargoed until after your own broadcast open from then. Not before the event began, not in
    the future, and once: the first report stands; every report is in the audit trail."""
    principal = caller.principal
    if principal.broadcaster_id is None:
        raise Forbidden("only broadcasters air events")
    services.get_event(event_id, session=session, visible=caller.visibility())
    aired_at = body.aired_at or utcnow()
    _, new = tenants.record_airing(principal.broadcaster_id, event_id, aired_at, session=session)
    if new:
        use = access.Use(
            action="airing.report", media=Media.LIVE, subject_kind="event", subject_id=event_id,
            event_id=event_id,
        )  # fmt: skip
        reported = Decision(Verdict.GRANTED, f"aired at {aired_at.isoformat()}")
        access.audit(caller, use, reported, session=session, client=_client(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None
