"""Broadcaster webhooks: subscriptions, the deliveries they are owed, and how they are signed.

No HTTP here: the catalog records what is owed and what happened, the workers make the calls.

Signing. Every notification is a ``POST`` of a JSON body (compact, keys sorted, see
:func:`body_of`) with the header::

    Vantage-Signature: t=<unix time>,v1=<hex HMAC-SHA256>

The HMAC is keyed with the webhook's secret (``whsec_...``, shown once when the webhook is made)
and taken over the bytes ``f"{t}.".encode() + body``, the body exactly as received. A receiver
checks it with :func:`verify` (or the same few lines in any language): recompute the HMAC,
compare it in constant time, and refuse a timestamp more than five minutes from its own clock,
so a captured request cannot be replayed later. Each request also says ``Vantage-Delivery``
(the delivery id, the same on every attempt: use it to ignore repeats) and ``Vantage-Topic``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from catalog.models import Broadcaster, Webhook, WebhookDelivery, new_id, utcnow
from infra.core.errors import BadRequest, NotFound

TOPICS = ("replay.ready", "asset.new", "feed.live")

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"

MAX_RETRY_DELAY_S = 3600.0
"""No retry waits longer than an hour, however many attempts came before."""

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of generated secrets, not a secret
MAX_URL_LENGTH = 2000

# -- subscriptions -------------------------------------------------------------------------------


def _check_url(url: str) -> str:
    """Refuse anything but an absolute http(s) URL with a host."""
    url = url.strip()
    if not url or len(url) > MAX_URL_LENGTH or any(c.isspace() or ord(c) < 32 for c in url):
        raise BadRequest("the webhook URL must be an http or https URL of at most 2000 characters")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises for a port that is not a number or out of range
    except ValueError as exc:
        raise BadRequest(f"the webhook URL is not valid: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest("the webhook URL must be an http or https URL with a host")
    return url


def _check_topics(topics: Iterable[str]) -> list[str]:
    """Known topics, each once, in the order of :data:`TOPICS`; at least one."""
    if isinstance(topics, str):
        raise BadRequest("topics must be a list of topic names")
    wanted = set(topics)
    unknown = sorted(str(topic) for topic in wanted - set(TOPICS))
    if unknown:
        raise BadRequest(f"unknown topic(s) {', '.join(unknown)}; known: {', '.join(TOPICS)}")
    if not wanted:
        raise BadRequest(f"a webhook needs at least one topic of {', '.join(TOPICS)}")
    return [topic for topic in TOPICS if topic in wanted]


def create_webhook(
    broadcaster_id: str, url: str, topics: Iterable[str], *, session: Session
) -> tuple[Webhook, str]:
    """Subscribe a broadcaster's ``url`` to ``topics``. Returns the webhook and its signing
    secret; the secret is for the broadcaster to keep and is not shown again."""
    if session.get(Broadcaster, broadcaster_id) is None:
        raise NotFound(f"no broadcaster with id {broadcaster_id}")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    webhook = Webhook(
        broadcaster_id=broadcaster_id,
        url=_check_url(url),
        topics=_check_topics(topics),
        secret=secret,
        active=True,
    )
    session.add(webhook)
    session.flush()
    return webhook, secret


def list_webhooks(broadcaster_id: str, *, session: Session) -> Sequence[Webhook]:
    """A broadcaster's webhooks, oldest first."""
    query = (
        select(Webhook)
        .where(Webhook.broadcaster_id == broadcaster_id)
        .order_by(Webhook.created_at, Webhook.id)
    )
    return session.scalars(query).all()


def get_webhook(webhook_id: str, *, session: Session, broadcaster_id: str | None) -> Webhook:
    """One webhook. With ``broadcaster_id`` (a broadcaster asking) another broadcaster's webhook
    is not found, exactly like one that does not exist; ``None`` is for operators."""
    webhook = session.get(Webhook, webhook_id)
    if webhook is None or (broadcaster_id is not None and webhook.broadcaster_id != broadcaster_id):
        raise NotFound(f"no webhook with id {webhook_id}")
    return webhook


def delete_webhook(webhook_id: str, *, session: Session, broadcaster_id: str | None) -> None:
    """Delete a webhook and its deliveries; pending ones are never sent."""
    webhook = get_webhook(webhook_id, session=session, broadcaster_id=broadcaster_id)
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id))
    session.delete(webhook)
    session.flush()


def list_deliveries(
    webhook_id: str, *, session: Session, limit: int = 50
) -> Sequence[WebhookDelivery]:
    """A webhook's latest deliveries, newest first. Check the caller may see the webhook (with
    :func:`get_webhook`) first."""
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
        .limit(max(1, limit))
    )
    return session.scalars(query).all()


# -- deliveries ----------------------------------------------------------------------------------


def notify(
    topic: str, payload: dict[str, Any], *, session: Session, broadcaster_ids: Iterable[str]
) -> list[str]:
    """Owe ``payload`` on ``topic`` to every active webhook of ``broadcaster_ids`` subscribed to
    it: one pending delivery each. Returns the deliveries' ids, for the caller to send once its
    transaction has committed (the reconciler sends any it forgets)."""
    if topic not in TOPICS:
        raise BadRequest(f"unknown topic {topic!r}; known: {', '.join(TOPICS)}")
    wanted = sorted(set(broadcaster_ids))
    if not wanted:
        return []
    hooks = session.scalars(
        select(Webhook)
        .where(Webhook.broadcaster_id.in_(wanted), Webhook.active.is_(True))
        .order_by(Webhook.created_at, Webhook.id)
    ).all()
    now = utcnow()
    ids: list[str] = []
    for hook in hooks:
        if topic not in (hook.topics or []):
            continue
        delivery_id = new_id()
        body = {"id": delivery_id, "topic": topic, "created_at": now.isoformat(), "data": payload}
        session.add(
            WebhookDelivery(
                id=delivery_id,
                webhook_id=hook.id,
                topic=topic,
                payload=body,
                status=PENDING,
                attempts=0,
                created_at=now,
            )
        )
        ids.append(delivery_id)
    session.flush()
    return ids


def due_deliveries(*, session: Session, now: datetime, limit: int = 500) -> list[str]:
    """Pending deliveries due by ``now``, oldest first: never tried and made by then, or with
    their next attempt at or before it. Pass a ``now`` some way in the past to find only those
    overdue by that much (whose own task was lost)."""
    query = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.status == PENDING,
            or_(
                and_(
                    WebhookDelivery.next_attempt_at.is_(None),
                    WebhookDelivery.created_at <= now,
                ),
                WebhookDelivery.next_attempt_at <= now,
            ),
        )
        .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
        .limit(limit)
    )
    return list(session.scalars(query).all())


def claim_delivery(
    delivery_id: str, *, session: Session, now: datetime, lease_s: float
) -> tuple[WebhookDelivery, Webhook] | None:
    """Take a due pending delivery for one attempt: compare-and-set its next attempt to
    ``now + lease_s``, so no other worker (nor the reconciler) sends it meanwhile. Returns it
    with its webhook, or ``None`` when it is unknown, finished, not due, or being sent elsewhere.
    A delivery whose webhook was switched off is marked failed instead."""
    result = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == PENDING,
            or_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at <= now),
        )
        .values(next_attempt_at=now + timedelta(seconds=lease_s))
    )
    if not getattr(result, "rowcount", 0):
        return None
    delivery = session.get(WebhookDelivery, delivery_id)
    webhook = session.get(Webhook, delivery.webhook_id) if delivery is not None else None
    if delivery is None or webhook is None:
        return None
    if not webhook.active:
        delivery.status = FAILED
        delivery.error = "the webhook is switched off"
        delivery.next_attempt_at = None
        session.flush()
        return None
    return delivery, webhook


def retry_delay_s(attempts: int, *, retry_base_s: float) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: the base, twice it, four
    times it ... never more than an hour."""
    return float(min(MAX_RETRY_DELAY_S, retry_base_s * 2 ** max(0, attempts - 1)))


def record_attempt(
    delivery: WebhookDelivery,
    *,
    ok: bool,
    status_code: int | None,
    error: str | None,
    now: datetime,
    max_attempts: int,
    retry_base_s: float,
) -> datetime | None:
    """Record one attempt's outcome: delivered, failed for good once ``max_attempts`` are used,
    else pending again with a backoff. Returns when to try next, or ``None`` when done."""
    delivery.attempts = (delivery.attempts or 0) + 1
    delivery.response_status = status_code
    if ok:
        delivery.status = DELIVERED
        delivery.error = None
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        return None
    delivery.error = error or (f"HTTP {status_code}" if status_code is not None else "failed")
    if delivery.attempts >= max_attempts:
        delivery.status = FAILED
        delivery.next_attempt_at = None
        return None
    delivery.status = PENDING
    delivery.next_attempt_at = now + timedelta(
        seconds=retry_delay_s(delivery.attempts, retry_base_s=retry_base_s)
    )
    return delivery.next_attempt_at


# -- signing -------------------------------------------------------------------------------------


def body_of(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent for a delivery's payload: compact JSON with sorted keys."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Vantage-Signature`` header value: ``t=<timestamp>,v1=<hex HMAC-SHA256 of
    "<timestamp>." followed by the body>``, keyed with the webhook's secret."""
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify(
    secret: str, header: str, body: bytes, *, now: datetime | float, tolerance_s: float = 300
) -> bool:
    """True when ``header`` (a ``Vantage-Signature``) signs ``body`` with ``secret`` and its
    timestamp is within ``tolerance_s`` of ``now`` (a datetime or Unix time). Any of several
    ``v1`` values may match, so a receiver keeps working while a secret is being replaced."""
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            return False
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    clock = now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(clock - timestamp) > tolerance_s:
        return False
    expected = _digest(secret, timestamp, body)
    matched = False
    for candidate in candidates:  # every candidate is compared: no early exit to time
        matched |= hmac.compare_digest(expected.encode(), candidate.encode())
    return matched
