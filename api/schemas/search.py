"""Search hits and pages with their facets."""

from __future__ import annotations

from pydantic import BaseModel


class SearchHitOut(BaseModel):
    kind: str
    """``event``, ``feed``, ``asset`` (a recording), ``marker`` or ``replay``."""
    id: str
    title: str
    event_id: str
    feed_id: str | None
    asset_id: str | None
    sport: str | None
    clock_start_s: float | None
    clock_end_s: float | None
    tags: list[str]
    athletes: list[str]
    score: float | None
    url: str
    """Where the object itself is in this API."""


class SearchOut(BaseModel):
    items: list[SearchHitOut]
    next_cursor: str | None
    """Pass as ``cursor`` (with the same query) for the next page; ``None`` on the last."""
    facets: dict[str, dict[str, int]]
    """Counts over every match (all pages): ``kind``, ``sport``, ``event``, ``tags``; on the
    first page only (later pages of the same query have the same counts)."""
