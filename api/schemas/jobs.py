"""Jobs as callers see them: kind, status, progress, attempts and output."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, field_validator


class JobOut(BaseModel):
    """Read from a job row (``JobOut.model_validate(job, from_attributes=True)``)."""

    id: str
    kind: str
    status: str
    progress: float
    event_id: str | None
    feed_id: str | None
    asset_id: str | None
    subject: str | None
    error: str | None
    attempts: int
    max_attempts: int
    heartbeat_at: datetime | None
    options: dict[str, Any] | None
    output: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @field_validator("progress")
    @classmethod
    def _rounded(cls, value: float) -> float:
        return round(value, 4)
