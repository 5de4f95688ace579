"""Broadcasters, their rights (grants), API keys, usage and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Territory = Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]


class BroadcasterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    territories: list[Territory] = Field(min_length=1, max_length=250)
    """ISO 3166-1 alpha-2 codes it broadcasts in; the first is its home territory."""


class BroadcasterOut(BaseModel):
    id: str
    name: str
    territories: list[str]
    created_at: datetime


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Literal["all", "sport", "event", "feed", "asset"]
    scope_value: str | None = Field(default=None, max_length=200)
    """The sport's name, or the event's, feed's or asset's id (nothing for ``all``)."""
    territories: list[Territory] = Field(default_factory=list, max_length=250)
    territories_excluded: bool = False
    """The territories listed are left out; everywhere else is granted."""
    media: list[Literal["live", "clips", "archive"]] = Field(
        default=["live", "clips", "archive"], min_length=1
    )
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    embargo_minutes: float = Field(default=0.0, ge=0, le=525_600)
    embargo_after: Literal["event", "moment", "broadcast"] = "event"
    exclusive: bool = False
    max_clip_s: float | None = Field(default=None, gt=0)
    max_event_s: float | None = Field(default=None, gt=0)
    max_day_s: float | None = Field(default=None, gt=0)
    min_gap_s: float | None = Field(default=None, ge=0)


class GrantOut(GrantIn):
    model_config = ConfigDict(extra="ignore")

    id: str
    broadcaster_id: str
    created_at: datetime


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: Literal["admin", "operator", "editor", "broadcaster"]
    broadcaster_id: str | None = Field(default=None, max_length=200)
    scopes: list[Literal["read", "deliver", "order", "webhooks", "admin", "operate"]] | None = None
    """Default: everything the role allows."""
    expires_at: datetime | None = None


class KeyOut(BaseModel):
    id: str
    prefix: str
    name: str
    role: str
    broadcaster_id: str | None
    scopes: list[str]
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime


class KeyCreated(KeyOut):
    key: str
    """The key itself. Shown this once: only a hash of it is kept."""


class MeOut(BaseModel):
    role: str
    name: str
    key_id: str | None
    broadcaster_id: str | None
    broadcaster: str | None
    territory: str | None
    scopes: list[str]


class AiringIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    aired_at: datetime | None = None
    """When your broadcast of the event went out; default: now."""


class GrantUsageOut(BaseModel):
    grant_id: str
    scope: str
    scope_value: str | None
    media: list[str]
    uses: int
    used_today_s: float
    max_day_s: float | None
    used_by_event_s: dict[str, float]
    max_event_s: float | None
    max_clip_s: float | None
    min_gap_s: float | None
    last_use_at: datetime | None
    next_use_at: datetime | None
    """When the minimum gap between uses lets the next one through."""


class UsageOut(BaseModel):
    broadcaster_id: str
    day: str
    """The UTC day that daily quotas count."""
    grants: list[GrantUsageOut]


class AuditOut(BaseModel):
    id: str
    at: datetime
    key_id: str | None
    role: str
    broadcaster_id: str | None
    action: str
    subject_kind: str
    subject_id: str
    territory: str | None
    result: str
    reason: str
    grant_id: str | None
    client: str | None
