"""Events, their feeds and assets, and file ingest into them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, status
from starlette.concurrency import run_in_threadpool

from api.auth import OPERATE, READ, CallerDep, media_token
from api.builders import event_out, event_summary
from api.deps import SessionDep, SessionFactoryDep, SettingsDep, StoreDep
from api.problems import problem
from api.schemas import (
    MAX_OFFSET,
    EventCreate,
    EventEnd,
    EventOut,
    EventSummary,
    IngestIn,
    IngestResultOut,
    Page,
)
from catalog import access, services
from catalog.models import utcnow
from infra.core.errors import BadRequest
from infra.core.settings import Settings
from ingest.files import FeedFile, ingest_files
from transcode.profiles import load_profile

router = APIRouter(prefix="/v1/events", tags=["events"])


def event_detail(
    event_id: str, caller: access.Caller, session: SessionDep, settings: Settings
) -> EventOut:
    """An event with the feeds and recordings the caller may see, media URLs signed for it."""
    event = services.get_event(event_id, session=session, detail=True, visible=caller.visibility())
    signs = "deliver" in caller.principal.scopes and caller.principal.key_id is not None

    def token_for(asset_id: str) -> str | None:
        return media_token(caller, settings, asset_id) if signs else None

    principal = caller.principal
    return event_out(
        settings, event, staff=principal.staff, operates=principal.operates, token_for=token_for
    )


@router.get("", response_model=Page[EventSummary], dependencies=[READ])
def list_events(
    caller: CallerDep,
    session: SessionDep,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> Page[EventSummary]:
    """Events, newest first (those the caller has rights to)."""
    events, total = services.list_events(
        session=session, limit=limit, offset=offset, visible=caller.events()
    )
    return Page(
        items=[event_summary(e) for e in events],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post(
    "", response_model=EventOut, status_code=status.HTTP_201_CREATED, dependencies=[OPERATE]
)
def create_event(
    body: EventCreate, caller: CallerDep, session: SessionDep, settings: SettingsDep
) -> EventOut:
    """Create an event, optionally with its own encoding profile."""
    if body.profile is not None:
        load_profile(body.profile, settings.media.profiles_dir)  # 400 with the known names
    event = services.create_event(
        body.name,
        session=session,
        sport=body.sport,
        venue=body.venue,
        clock_origin=body.clock_origin,
        profile=body.profile,
    )
    event.ended_at = body.ended_at
    return event_detail(event.id, caller, session, settings)


@router.get("/{event_id}", response_model=EventOut, dependencies=[READ])
def get_event(
    event_id: str, caller: CallerDep, session: SessionDep, settings: SettingsDep
) -> EventOut:
    """One event with its feeds, their assets and renditions (those the caller has rights to)."""
    return event_detail(event_id, caller, session, settings)


@router.post("/{event_id}/end", response_model=EventOut, dependencies=[OPERATE])
def end_event(
    event_id: str, body: EventEnd, caller: CallerDep, session: SessionDep, settings: SettingsDep
) -> EventOut:
    """Record that the event finished (now, or at ``ended_at``): embargoes counted from the
    event's end run from here."""
    event = services.get_event(event_id, session=session)
    event.ended_at = body.ended_at or utcnow()
    session.flush()
    return event_detail(event.id, caller, session, settings)


@router.post(
    "/{event_id}/ingest",
    response_model=list[IngestResultOut],
    status_code=status.HTTP_201_CREATED,
    responses={422: {"description": "One or more files could not be ingested"}},
    dependencies=[OPERATE],
)
async def ingest(
    event_id: str,
    body: IngestIn,
    session: SessionDep,
    sessions: SessionFactoryDep,
    settings: SettingsDep,
    store: StoreDep,
) -> Any:
    # Ingest commits per file (a failed file still records its failed job), so it gets the
    # session factory; the request's session only checks the event.
    """Ingest files from the server's ingest folder, one per feed, and enqueue their ladders."""
    services.get_event(event_id, session=session)
    root = settings.media.ingest_root
    if root is None:
        raise BadRequest("ingest by path is disabled: set VANTAGE_MEDIA__INGEST_ROOT")
    root = root.resolve()
    files = []
    for item in body.feeds:
        path = (root / item.path).resolve()
        if not path.is_relative_to(root):
            raise BadRequest(f"{item.path}: outside the ingest folder")
        files.append(FeedFile(feed=item.feed, path=path, offset_s=item.offset_s))
    outcomes = await run_in_threadpool(
        ingest_files,
        event_id,
        files,
        settings=settings,
        sessions=sessions,
        store=store,
    )
    results = [
        IngestResultOut(
            feed=o.feed,
            job_id=o.job_id,
            asset_id=o.asset_id,
            ladder_job_id=o.ladder_job_id,
            qc_job_id=o.qc_job_id,
            clock_start_s=o.clock_start_s,
            clock_source=o.clock_source,
            error=o.error,
        )
        for o in outcomes
    ]
    failed = [r for r in results if r.error]
    if failed:
        detail = "; ".join(f"{r.feed}: {r.error}" for r in failed)
        return problem(
            422,
            detail,
            "Ingest failed",
            results=[r.model_dump() for r in results],
        )
    return results
