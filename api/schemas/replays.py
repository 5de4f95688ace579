"""Replays, markers and the rules that order replays from tagged markers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from catalog.models import (
    ReplayKind,
)


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: str
    kind: ReplayKind
    start_s: float | None = None
    """Start of the range on the event clock; or give ``marker_id``."""
    end_s: float | None = None
    marker_id: str | None = None
    before_s: float = Field(default=5.0, ge=0, le=600)
    """With a marker: seconds before it."""
    after_s: float = Field(default=5.0, ge=0, le=600)
    feed_ids: list[str] | None = Field(default=None, max_length=16)
    """The angles (default: every feed of the event)."""
    options: dict[str, Any] = Field(default_factory=dict)
    """mosaic: ``columns``; sequence: ``cuts`` [{feed_id, at_s}], ``slow_motion``
    {start_s, end_s, factor}; sweep: ``at_s``, ``duration_s``, ``direction``
    (clockwise|counterclockwise), ``hold_s``, ``resume_s``; all: ``lines`` (output size)."""


class ReplayOutput(BaseModel):
    name: str
    kind: str
    feed: str | None
    url: str | None
    """A presigned URL; for a host replay, broadcasters get theirs from ``.../download``."""
    sha256: str
    size_bytes: int
    frames: int
    first_frame: int | None
    """The angle's first frame, counted from the start of the recording it was cut from."""
    last_frame: int | None
    order: list[str] | None = None
    """A sweep's cameras, in the order it passes them."""


class ReplayOut(BaseModel):
    id: str
    event_id: str
    kind: str
    start_s: float
    end_s: float
    marker_id: str | None
    feed_ids: list[str]
    options: dict[str, Any]
    job_id: str | None
    status: str
    progress: float
    error: str | None
    sources: list[dict[str, str]]
    """Lineage: the feed and recording (asset) each angle was cut from."""
    outputs: list[ReplayOutput]
    manifest_url: str | None
    package_url: str | None
    """Every output and the manifest in one signed zip."""
    ordered_by: str | None = None
    """The broadcaster who ordered it; ``None`` for the host's own replays."""
    download_url: str | None = None
    """The zip through the API: checked against the caller's rights and counted as a clip."""


class MarkerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    clock_s: float
    label: str = Field(min_length=1, max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=20)
    athletes: list[str] = Field(default_factory=list, max_length=50)


class MarkerOut(BaseModel):
    id: str
    event_id: str
    clock_s: float
    label: str
    tags: list[str]
    athletes: list[str]
    replay_ids: list[str] = []
    """Replays the event's rules ordered for this marker."""


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tag: str = Field(min_length=1, max_length=100)
    kinds: list[Literal["angles", "mosaic", "sweep"]] = Field(min_length=1)
    before_s: float = Field(default=5.0, ge=0, le=600)
    after_s: float = Field(default=5.0, ge=0, le=600)
    options: dict[str, Any] | None = None


class RuleOut(BaseModel):
    id: str
    tag: str
    kinds: list[str]
    before_s: float
    after_s: float
    options: dict[str, Any] | None


class SourceClearance(BaseModel):
    feed_id: str
    feed: str
    verdict: str
    """``granted``, or why not: ``embargoed``, ``quota``, ``media``, ``outside`` (no right covers
    it here, in this territory, now); ``unrecorded`` when the feed has no recording of the whole
    range."""
    reason: str
    available_from: datetime | None = None


class ClearanceOut(BaseModel):
    """Whether a clip of the range may be ordered now, from the same decision an order gets
    (nothing is counted or recorded by asking)."""

    event_id: str
    start_s: float
    end_s: float
    verdict: str
    reason: str
    available_from: datetime | None = None
    left_today_s: float | None = None
    """Seconds of clips the granting right still allows today (``None``: no daily quota)."""
    sources: list[SourceClearance]
