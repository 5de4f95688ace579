"""Search across events, sports, feeds, recordings, markers (tags, athletes) and replays, within
the caller's rights, with facets and cursor pagination."""

from __future__ import annotations

from fastapi import APIRouter, Query

from api.auth import READ, CallerDep
from api.deps import SessionDep, SettingsDep
from api.schemas import SearchHitOut, SearchOut
from catalog import search as service

router = APIRouter(tags=["search"])

_PATHS = {
    "event": "/v1/events/{ref}",
    "feed": "/v1/feeds/{ref}",
    "asset": "/v1/assets/{ref}",
    "replay": "/v1/replays/{ref}",
    "marker": "/v1/events/{event}/markers",
}


@router.get("/v1/search", response_model=SearchOut, dependencies=[READ])
def search(
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    q: str | None = Query(None, max_length=200, description="Words; each matches as a prefix."),
    event_id: str | None = Query(None, max_length=36),
    feed_id: str | None = Query(None, max_length=36),
    kind: list[str] = Query(default_factory=list, description="event, feed, asset, marker, replay"),
    tag: list[str] = Query(default_factory=list, description="Tags that must all be present."),
    from_s: float | None = Query(None, description="Event-clock range start, seconds."),
    to_s: float | None = Query(None, description="Event-clock range end, seconds."),
    available_now: bool = Query(
        False, description="Only media you could receive now (no embargo still running)."
    ),
    facets: bool = Query(True, description="Count facets (on the first page); false is faster."),
    limit: int = Query(20, ge=1, le=100),
    cursor: str | None = Query(None, max_length=500),
) -> SearchOut:
    """Full-text search within your rights. SQLite FTS5 on the embedded stack, PostgreSQL full
    text at scale; the same answers from both."""
    query = service.SearchQuery(
        text=q if q and q.strip() else None,
        event_id=event_id,
        feed_id=feed_id,
        kinds=tuple(kind),
        clock_from_s=from_s,
        clock_to_s=to_s,
        tags=tuple(tag),
        limit=limit,
        cursor=cursor,
    )
    page = service.search(
        query,
        session=session,
        where=caller.documents(available_now=available_now),
        facets=facets and cursor is None,
    )
    base = settings.api.public_url.rstrip("/")
    return SearchOut(
        items=[
            SearchHitOut(
                kind=hit.kind,
                id=hit.ref_id,
                title=hit.title,
                event_id=hit.event_id,
                feed_id=hit.feed_id,
                asset_id=hit.asset_id,
                sport=hit.sport,
                clock_start_s=hit.clock_start_s,
                clock_end_s=hit.clock_end_s,
                tags=hit.tags,
                athletes=hit.athletes,
                score=hit.score,
                url=base + _PATHS[hit.kind].format(ref=hit.ref_id, event=hit.event_id),
            )
            for hit in page.hits
        ],
        next_cursor=page.next_cursor,
        facets=page.facets,
    )
