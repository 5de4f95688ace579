"""Webhook subscriptions and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2000)
    topics: list[Literal["replay.ready", "asset.new", "feed.live"]] = Field(min_length=1)


class WebhookOut(BaseModel):
    id: str
    url: str
    topics: list[str]
    active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str
    """Signs every notification (``Vantage-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
    "<t>." + body>``). Shown this once."""


class DeliveryOut(BaseModel):
    id: str
    topic: str
    status: str
    attempts: int
    response_status: int | None
    error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    payload: dict[str, Any]
