"""Broadcasters, API keys, rights grants and airings: what admins set up.

API keys look like ``vk_<prefix>_<secret>``. Only the SHA-256 of the secret is stored (the secret
is 256 random bits, so a fast hash is enough); the key is shown once, when it is made.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from catalog import rights, territories
from catalog.models import (
    Airing,
    ApiKey,
    Asset,
    Broadcaster,
    EditorSession,
    Event,
    Feed,
    RightsGrant,
    Role,
    new_id,
    utcnow,
)
from infra.core.errors import BadRequest, Conflict, NotFound

SCOPES = ("read", "deliver", "order", "webhooks")
"""What a key may do: read the catalog, receive media, order replays, manage webhooks."""

ROLE_SCOPES: dict[Role, tuple[str, ...]] = {
    Role.ADMIN: (*SCOPES, "admin", "operate"),
    Role.OPERATOR: ("read", "deliver", "order", "operate"),
    Role.EDITOR: ("read", "deliver", "order"),
    Role.BROADCASTER: (*SCOPES, "air"),
}
"""What each role's keys may hold (all of it by default). ``air``: report when the broadcaster
aired an event, which opens embargoes counted from its own broadcast."""

AIRING_SKEW_S = 60.0
"""How far in the future an airing may be reported (clocks disagree a little)."""

KEY_PREFIX = "vk_"


# -- broadcasters --------------------------------------------------------------------------------


def territory_codes(codes: Sequence[str]) -> list[str]:
    """Upper-cased ISO 3166-1 alpha-2 codes that exist, each checked."""
    return territories.check(codes)


def create_broadcaster(name: str, territories: Sequence[str], *, session: Session) -> Broadcaster:
    if not territories:
        raise BadRequest("a broadcaster needs at least its home territory")
    if session.scalar(select(Broadcaster.id).where(Broadcaster.name == name)) is not None:
        raise Conflict(f"a broadcaster named {name!r} already exists")
    broadcaster = Broadcaster(name=name, territories=territory_codes(territories))
    session.add(broadcaster)
    session.flush()
    return broadcaster


def get_broadcaster(ref: str, *, session: Session) -> Broadcaster:
    """A broadcaster by id or by name."""
    found = session.scalar(
        select(Broadcaster).where((Broadcaster.id == ref) | (Broadcaster.name == ref))
    )
    if found is None:
        raise NotFound(f"no broadcaster {ref}")
    return found


def list_broadcasters(*, session: Session) -> Sequence[Broadcaster]:
    return session.scalars(select(Broadcaster).order_by(Broadcaster.name)).all()


# -- keys ----------------------------------------------------------------------------------------


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    name: str,
    role: Role,
    *,
    session: Session,
    broadcaster_id: str | None = None,
    scopes: Sequence[str] | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key and its secret form, which is never stored and cannot be shown again."""
    if (role is Role.BROADCASTER) != (broadcaster_id is not None):
        raise BadRequest("broadcaster keys, and only they, belong to a broadcaster")
    if broadcaster_id is not None:
        get_broadcaster(broadcaster_id, session=session)
    allowed = ROLE_SCOPES[role]
    chosen = list(scopes) if scopes else list(allowed)
    beyond = [s for s in chosen if s not in allowed]
    if beyond:
        raise BadRequest(f"a {role} key cannot have {', '.join(beyond)}")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        prefix=prefix,
        secret_hash=_hash(secret),
        name=name,
        role=role,
        broadcaster_id=broadcaster_id,
        scopes=chosen,
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    return key, f"{KEY_PREFIX}{prefix}_{secret}"


def authenticate_key(presented: str, *, session: Session, now: datetime) -> ApiKey | None:
    """The live key a presented secret belongs to; ``None`` for anything else."""
    if not presented.startswith(KEY_PREFIX):
        return None
    prefix, _, secret = presented[len(KEY_PREFIX) :].partition("_")
    if not prefix or not secret:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(secret)):
        return None
    if not key_is_live(key, now):
        return None
    return key


def key_is_live(key: ApiKey, now: datetime) -> bool:
    return key.revoked_at is None and (key.expires_at is None or now < aware(key.expires_at))


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time Vantage stores is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def touch_key(key_id: str, *, session: Session, now: datetime) -> None:
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))


def get_key(key_id: str, *, session: Session) -> ApiKey:
    key = session.scalar(select(ApiKey).where((ApiKey.id == key_id) | (ApiKey.prefix == key_id)))
    if key is None:
        raise NotFound(f"no API key {key_id}")
    return key


def list_keys(*, session: Session, broadcaster_id: str | None = None) -> Sequence[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.created_at)
    if broadcaster_id is not None:
        query = query.where(ApiKey.broadcaster_id == broadcaster_id)
    return session.scalars(query).all()


def revoke_key(key_id: str, *, session: Session) -> ApiKey:
    key = get_key(key_id, session=session)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


# -- rights grants -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GrantTerms:
    """What an admin asks for when granting rights."""

    scope: str
    scope_value: str | None = None
    territories: tuple[str, ...] = ()
    territories_excluded: bool = False
    media: tuple[str, ...] = ("live", "clips", "archive")
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    embargo_minutes: float = 0.0
    embargo_after: str = "event"
    exclusive: bool = False
    max_clip_s: float | None = None
    max_event_s: float | None = None
    max_day_s: float | None = None
    min_gap_s: float | None = None


def engine_grant(row: RightsGrant) -> rights.Grant:
    """A grant row as the rights engine sees it."""
    return rights.Grant(
        id=row.id,
        scope=rights.Scope(row.scope),
        scope_value=row.scope_value,
        territories=frozenset(row.territories),
        territories_excluded=row.territories_excluded,
        media=frozenset(rights.Media(m) for m in row.media),
        valid_from=aware(row.valid_from) if row.valid_from else None,
        valid_until=aware(row.valid_until) if row.valid_until else None,
        embargo_minutes=row.embargo_minutes,
        embargo_after=rights.EmbargoAfter(row.embargo_after),
        exclusive=row.exclusive,
        max_clip_s=row.max_clip_s,
        max_event_s=row.max_event_s,
        max_day_s=row.max_day_s,
        min_gap_s=row.min_gap_s,
    )


def _check_terms(terms: GrantTerms, session: Session) -> None:
    try:
        scope = rights.Scope(terms.scope)
        [rights.Media(m) for m in terms.media]
        rights.EmbargoAfter(terms.embargo_after)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    if not terms.media:
        raise BadRequest("a grant needs at least one kind of media")
    if scope is rights.Scope.ALL:
        if terms.scope_value:
            raise BadRequest("a grant of everything names nothing")
    elif not terms.scope_value:
        raise BadRequest(f"a grant of one {scope} must name it (scope_value)")
    table = {rights.Scope.EVENT: Event, rights.Scope.FEED: Feed, rights.Scope.ASSET: Asset}
    if scope in table:
        model: Any = table[scope]
        if session.get(model, terms.scope_value) is None:
            raise NotFound(f"no {scope} with id {terms.scope_value}")
    if not terms.territories and not terms.territories_excluded:
        raise BadRequest("a grant needs territories (or territories_excluded for worldwide)")
    if terms.valid_from and terms.valid_until and terms.valid_until <= terms.valid_from:
        raise BadRequest("valid_until must be after valid_from")
    for name in ("embargo_minutes", "max_clip_s", "max_event_s", "max_day_s", "min_gap_s"):
        value = getattr(terms, name)
        if value is not None and value < 0:
            raise BadRequest(f"{name} cannot be negative")


def _related(session: Session) -> Any:
    """Whether two grants' scopes share anything, from what the catalog knows."""

    def sport_of(scope: rights.Scope, value: str | None) -> set[str | None]:
        if scope is rights.Scope.SPORT:
            return {value}
        if scope is rights.Scope.EVENT:
            return {session.scalar(select(Event.sport).where(Event.id == value))}
        if scope is rights.Scope.FEED:
            query = select(Event.sport).join(Feed, Feed.event_id == Event.id)
            return {session.scalar(query.where(Feed.id == value))}
        query = select(Event.sport).join(Asset, Asset.event_id == Event.id)
        return {session.scalar(query.where(Asset.id == value))}

    def event_of(scope: rights.Scope, value: str | None) -> str | None:
        if scope is rights.Scope.EVENT:
            return value
        if scope is rights.Scope.FEED:
            return session.scalar(select(Feed.event_id).where(Feed.id == value))
        return session.scalar(select(Asset.event_id).where(Asset.id == value))

    def related(a: rights.Grant, b: rights.Grant) -> bool:
        if rights.Scope.ALL in (a.scope, b.scope):
            return True
        if a.scope == b.scope:
            return a.scope_value == b.scope_value
        if rights.Scope.SPORT in (a.scope, b.scope):
            return bool(sport_of(a.scope, a.scope_value) & sport_of(b.scope, b.scope_value))
        if event_of(a.scope, a.scope_value) != event_of(b.scope, b.scope_value):
            return False
        if rights.Scope.EVENT in (a.scope, b.scope):
            return True
        # A feed and an asset: related when the asset is a recording of the feed.
        feed, asset = (a, b) if a.scope is rights.Scope.FEED else (b, a)
        return session.scalar(select(Asset.feed_id).where(Asset.id == asset.scope_value)) == (
            feed.scope_value
        )

    return related


def grant_rights(broadcaster_id: str, terms: GrantTerms, *, session: Session) -> RightsGrant:
    """Give a broadcaster rights; refused when it collides with someone's exclusivity."""
    broadcaster = get_broadcaster(broadcaster_id, session=session)
    _check_terms(terms, session)
    row = RightsGrant(
        id=new_id(),
        broadcaster_id=broadcaster.id,
        scope=terms.scope,
        scope_value=terms.scope_value,
        territories=territory_codes(terms.territories) if terms.territories else [],
        territories_excluded=terms.territories_excluded,
        media=list(dict.fromkeys(terms.media)),
        valid_from=terms.valid_from,
        valid_until=terms.valid_until,
        embargo_minutes=terms.embargo_minutes,
        embargo_after=terms.embargo_after,
        exclusive=terms.exclusive,
        max_clip_s=terms.max_clip_s,
        max_event_s=terms.max_event_s,
        max_day_s=terms.max_day_s,
        min_gap_s=terms.min_gap_s,
    )
    held = [
        rights.Holding(other.broadcaster_id, engine_grant(other))
        for other in session.scalars(
            select(RightsGrant).where(RightsGrant.broadcaster_id != broadcaster.id)
        )
    ]
    candidate = engine_grant(row)
    clashes = rights.exclusivity_conflicts(
        broadcaster.id, candidate, held, related=_related(session)
    )
    if clashes:
        names = {
            session.get(Broadcaster, c.broadcaster_id).name  # type: ignore[union-attr]
            for c in clashes
        }
        raise Conflict(
            "collides with exclusive rights held by " + ", ".join(sorted(names))
            if not terms.exclusive
            else "cannot be exclusive: " + ", ".join(sorted(names)) + " hold overlapping rights"
        )
    session.add(row)
    session.flush()
    return row


def list_grants(broadcaster_id: str, *, session: Session) -> Sequence[RightsGrant]:
    query = select(RightsGrant).where(RightsGrant.broadcaster_id == broadcaster_id)
    return session.scalars(query.order_by(RightsGrant.created_at)).all()


def revoke_grant(grant_id: str, *, session: Session) -> None:
    row = session.get(RightsGrant, grant_id)
    if row is None:
        raise NotFound(f"no rights grant {grant_id}")
    session.delete(row)
    session.flush()


# -- airings -------------------------------------------------------------------------------------


def record_airing(
    broadcaster_id: str,
    event_id: str,
    aired_at: datetime,
    *,
    session: Session,
    now: datetime | None = None,
) -> tuple[Airing, bool]:
    """A broadcaster says when it broadcast the event (embargoes may count from it): never
    before the event began, never in the future, and once: the first report stands (the same
    time again is accepted; another is a conflict). Returns the airing and whether it is new."""
    now = now or utcnow()
    aired_at = aware(aired_at)
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound(f"no event with id {event_id}")
    began = aware(event.clock_origin or event.created_at)
    if aired_at < began:
        raise BadRequest(
            f"an airing cannot be before the event began ({began.isoformat(timespec='seconds')})"
        )
    if aired_at > now + timedelta(seconds=AIRING_SKEW_S):
        raise BadRequest("an airing cannot be in the future")
    airing = session.scalar(
        select(Airing).where(Airing.broadcaster_id == broadcaster_id, Airing.event_id == event_id)
    )
    if airing is not None:
        if abs((aware(airing.aired_at) - aired_at).total_seconds()) < 1:
            return airing, False
        raise Conflict(
            f"this event's airing was reported at {aware(airing.aired_at).isoformat()}; "
            "the first report stands (ask the host's operators to correct it)"
        )
    airing = Airing(broadcaster_id=broadcaster_id, event_id=event_id, aired_at=aired_at)
    session.add(airing)
    session.flush()
    return airing, True


# -- editor sessions (the browser UI) -----------------------------------------------------------


def open_editor_session(
    key: ApiKey, *, session: Session, now: datetime, ttl_s: int
) -> tuple[EditorSession, str]:
    """A browser session for ``key`` and the cookie's secret (only its hash is stored). It
    ends at ``ttl_s`` or with the key, whichever is first."""
    secret = secrets.token_urlsafe(32)
    expires = now + timedelta(seconds=ttl_s)
    if key.expires_at is not None:
        expires = min(expires, aware(key.expires_at))
    row = EditorSession(secret_hash=_hash(secret), key_id=key.id, expires_at=expires)
    session.add(row)
    session.flush()
    return row, secret


def editor_session(
    secret: str, *, session: Session, now: datetime
) -> tuple[EditorSession, ApiKey] | None:
    """The live session a cookie names, with its live key; ``None`` for anything else."""
    row = session.scalar(select(EditorSession).where(EditorSession.secret_hash == _hash(secret)))
    if row is None or row.revoked_at is not None or now >= aware(row.expires_at):
        return None
    key = session.get(ApiKey, row.key_id)
    if key is None or not key_is_live(key, now):
        return None
    return row, key


def close_editor_session(row: EditorSession, *, now: datetime) -> None:
    """Sign out; a no-op when already signed out."""
    if row.revoked_at is None:
        row.revoked_at = now
