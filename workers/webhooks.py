"""Sending webhook notifications: one signed POST per attempt, the outcome recorded in the catalog.

An attempt takes the delivery in one short transaction (a compare-and-set, so two copies of the
task never send it at once), makes the HTTP call with no transaction open, and records the
outcome in a second one. See :mod:`catalog.webhooks` for the signature scheme.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx

from catalog import webhooks
from catalog.models import WebhookDelivery, utcnow
from infra.core.addresses import InwardAddress, pin
from infra.core.database import session_scope
from infra.core.metrics import WEBHOOK_DELIVERIES
from workers.context import WorkerContext

log = logging.getLogger(__name__)

USER_AGENT = "Vantage-Webhooks/1"


@dataclass(frozen=True)
class _Request:
    url: str
    secret: str
    topic: str
    body: bytes


@dataclass(frozen=True)
class _Answer:
    ok: bool
    status_code: int | None
    error: str | None


def lease_s(timeout_s: float) -> float:
    """How long a taken delivery is kept from other senders: well beyond one call's timeouts."""
    return 3 * timeout_s + 30


def deliver(delivery_id: str, ctx: WorkerContext) -> float | None:
    """Make one attempt at a delivery. Returns the seconds until its next attempt, or ``None``
    when there is none to schedule: delivered, failed for good, unknown, not yet due, or being
    sent by another worker. A delivery already delivered or failed is left alone."""
    settings = ctx.settings
    timeout_s = settings.api.webhook_timeout_s
    with session_scope(ctx.sessions) as session:
        claimed = webhooks.claim_delivery(
            delivery_id, session=session, now=utcnow(), lease_s=lease_s(timeout_s)
        )
        if claimed is None:
            log.info("webhook delivery %s: finished, not due, or being sent elsewhere", delivery_id)
            return None
        delivery, webhook = claimed
        request = _Request(
            url=webhook.url,
            secret=webhook.secret,
            topic=delivery.topic,
            body=webhooks.body_of(delivery.payload),
        )
    answer = _post(delivery_id, request, timeout_s, settings.api.webhook_private_hosts)
    with session_scope(ctx.sessions) as session:
        row = session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if row is None or row.status != webhooks.PENDING:
            return None  # the webhook was deleted meanwhile, or another attempt finished it
        now = utcnow()
        next_at = webhooks.record_attempt(
            row,
            ok=answer.ok,
            status_code=answer.status_code,
            error=answer.error,
            now=now,
            max_attempts=settings.api.webhook_attempts,
            retry_base_s=settings.jobs.retry_base_s,
        )
        attempts, status = row.attempts, row.status
    WEBHOOK_DELIVERIES.labels(
        "delivered" if answer.ok else ("retry" if next_at is not None else "failed")
    ).inc()
    if answer.ok:
        log.info("webhook delivery %s delivered (attempt %d)", delivery_id, attempts)
    else:
        log.warning(
            "webhook delivery %s attempt %d: %s (%s)", delivery_id, attempts, answer.error, status
        )
    return None if next_at is None else max(0.0, (next_at - now).total_seconds())


def _post(delivery_id: str, request: _Request, timeout_s: float, allow_private: bool) -> _Answer:
    """POST the body, signed now, to the address the URL's name has at this moment, once that
    address is checked (a private one is refused unless allowed); any 2xx is success, anything
    else (a redirect too) is not. Only the status is kept: a receiver's answer is never read
    into the catalog."""
    try:
        target = pin(request.url, allow_private=allow_private)
    except InwardAddress as exc:
        return _Answer(False, None, f"refused: {exc.detail}")
    timestamp = int(utcnow().timestamp())
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Vantage-Signature": webhooks.sign(request.secret, timestamp, request.body),
        "Vantage-Delivery": delivery_id,
        "Vantage-Topic": request.topic,
    }
    extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else None
    failure = _Answer(False, None, "no address to connect to")
    with httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False) as client:
        for url in target.urls:  # each checked address in turn, until one takes the connection
            try:
                # Streamed and closed unread: a receiver's answer is never taken in.
                with client.stream(
                    "POST", url, content=request.body, headers=headers, extensions=extensions
                ) as response:
                    code = response.status_code
            except httpx.ConnectError as exc:
                failure = _Answer(False, None, f"ConnectError: {exc}"[:1000])
                continue
            except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
                return _Answer(False, None, f"{type(exc).__name__}: {exc}"[:1000])
            if 200 <= code < 300:
                return _Answer(True, code, None)
            error = f"HTTP {code}"
            if 300 <= code < 400:
                error += " (redirects are not followed)"
            return _Answer(False, code, error)
    return failure
