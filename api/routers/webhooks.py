"""Broadcasters' webhooks: replay ready, new asset in their rights, feed live; each signed with
the webhook's own secret, retried with backoff, with a log of every delivery."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status

from api.auth import WEBHOOKS, CallerDep
from api.deps import SessionDep, SettingsDep
from api.schemas import DeliveryOut, WebhookCreated, WebhookIn, WebhookOut
from catalog import access
from catalog import webhooks as service
from catalog.models import Webhook
from infra.core.addresses import InwardAddress, pin
from infra.core.errors import BadRequest, Forbidden

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], dependencies=[WEBHOOKS])


def _owner(caller: access.Caller) -> str:
    if caller.principal.broadcaster_id is None:
        raise Forbidden("webhooks belong to broadcasters; use a broadcaster's key")
    return caller.principal.broadcaster_id


def _outside_only(url: str, allow_private: bool) -> None:
    """Refuse URLs that point into our own network, or whose name does not resolve, now; the
    worker checks again at every delivery (the name may resolve elsewhere by then)."""
    try:
        pin(url, allow_private=allow_private)
    except InwardAddress as exc:
        raise BadRequest(f"webhook URLs must reach the internet: {exc.detail}") from exc


def webhook_out(row: Webhook) -> WebhookOut:
    return WebhookOut(
        id=row.id, url=row.url, topics=row.topics, active=row.active, created_at=row.created_at
    )


@router.post("", response_model=WebhookCreated, status_code=status.HTTP_201_CREATED)
def subscribe(
    body: WebhookIn, caller: CallerDep, session: SessionDep, settings: SettingsDep
) -> WebhookCreated:
    """Subscribe a URL to topics. The signing secret is in this answer only. URLs into private
    networks are refused (unless ``api.webhook_private_hosts``)."""
    _outside_only(body.url, settings.api.webhook_private_hosts)
    row, secret = service.create_webhook(_owner(caller), body.url, body.topics, session=session)
    return WebhookCreated(**webhook_out(row).model_dump(), secret=secret)


@router.get("", response_model=list[WebhookOut])
def list_webhooks(caller: CallerDep, session: SessionDep) -> list[WebhookOut]:
    return [webhook_out(w) for w in service.list_webhooks(_owner(caller), session=session)]


@router.get("/{webhook_id}", response_model=WebhookOut)
def get_webhook(webhook_id: str, caller: CallerDep, session: SessionDep) -> WebhookOut:
    row = service.get_webhook(webhook_id, session=session, broadcaster_id=_owner(caller))
    return webhook_out(row)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def unsubscribe(webhook_id: str, caller: CallerDep, session: SessionDep) -> Response:
    service.delete_webhook(webhook_id, session=session, broadcaster_id=_owner(caller))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryOut])
def deliveries(
    webhook_id: str,
    caller: CallerDep,
    session: SessionDep,
    limit: int = Query(50, ge=1, le=200),
) -> list[DeliveryOut]:
    """The delivery log, newest first: every notification, its attempts and the answers."""
    row = service.get_webhook(webhook_id, session=session, broadcaster_id=_owner(caller))
    return [
        DeliveryOut.model_validate(d, from_attributes=True)
        for d in service.list_deliveries(row.id, session=session, limit=limit)
    ]
