"""Live feeds: add, start, stop, state, gaps, and playlists rendered from segment rows."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import RedirectResponse

from api.auth import OPERATE, READ, CallerDep, MediaCallerDep, check_bound, media_token
from api.builders import feed_out, job_out
from api.deps import JobsDep, SessionDep, SettingsDep, StoreDep
from api.guards import allow_asset, visible_asset
from api.playlists import SOURCE, master_playlist, media_playlist, sign_hls, variants_of
from api.schemas import FeedCreate, FeedOut, GapOut, JobOut
from catalog import access, services, states
from catalog.models import Asset, AssetKind, AssetStatus, JobKind
from infra.core.errors import BadRequest, NotFound
from infra.core.queue import JOB_TASKS
from infra.core.settings import Settings
from ingest.media.segmenter import protocol_of

router = APIRouter(tags=["feeds"])

HLS = "application/vnd.apple.mpegurl"
_NO_CACHE = {"Cache-Control": "no-cache"}


@router.get("/v1/events/{event_id}/feeds", response_model=list[FeedOut], dependencies=[READ])
def list_feeds(
    event_id: str, caller: CallerDep, session: SessionDep, settings: SettingsDep
) -> list[FeedOut]:
    """The event's feeds (those the caller has rights to) with state, clock and live playlist."""
    services.get_event(event_id, session=session, visible=caller.visibility())
    feeds = services.list_feeds(session=session, event_id=event_id, visible=caller.feeds())
    staff, operates = caller.principal.staff, caller.principal.operates
    return [feed_out(settings, f, with_assets=False, staff=staff, operates=operates) for f in feeds]


@router.post(
    "/v1/events/{event_id}/feeds",
    response_model=FeedOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[OPERATE],
)
def add_feed(
    event_id: str, body: FeedCreate, session: SessionDep, settings: SettingsDep
) -> FeedOut:
    """Add a live camera; with ``start`` it is pulled at once."""
    try:
        protocol = protocol_of(body.source)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    if protocol == "file":
        raise BadRequest("a live feed needs a srt://, rtmp://, rtsp:// or http(s):// source")
    event = services.get_event(event_id, session=session)
    feed = services.add_live_feed(
        event, body.name, body.source, session=session,
        position=body.position, angle_deg=body.angle_deg,
    )  # fmt: skip
    if body.start:
        states.start_feed(feed)
    return feed_out(settings, feed, with_assets=False)


@router.post(
    "/v1/events/{event_id}/sync",
    response_model=JobOut,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[OPERATE],
)
def sync(
    event_id: str,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    jobs: JobsDep,
    reference: str | None = None,
    window_s: float = Query(20.0, ge=3, le=120),
) -> JobOut:
    """Queue a sync: a worker measures each feed's offset against ``reference`` (default: the
    first feed) from audio, or from motion where there is none, and moves it on the event clock.
    Follow the job (``Location``) for its progress; its output lists each feed's move."""
    event = services.get_event(event_id, session=session)
    job = services.create_job(
        JobKind.SYNC,
        session=session,
        event_id=event.id,
        subject=f"sync {event.name}" + (f" to {reference}" if reference else ""),
        max_attempts=settings.jobs.max_attempts,
        options={"reference": reference, "window_s": window_s},
    )
    jobs.send(JOB_TASKS["sync"], job.id)
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return job_out(job)


@router.get("/v1/feeds/{feed_id}", response_model=FeedOut, dependencies=[READ])
def get_feed(
    feed_id: str, caller: CallerDep, session: SessionDep, settings: SettingsDep
) -> FeedOut:
    """One feed: state, bitrate, last segment, lag, clock offset."""
    feed = services.get_feed(feed_id, session=session, visible=caller.feeds())
    principal = caller.principal
    return feed_out(
        settings, feed, with_assets=False, staff=principal.staff, operates=principal.operates
    )


@router.post(
    "/v1/feeds/{feed_id}/start",
    response_model=FeedOut,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[OPERATE],
)
def start_feed(feed_id: str, session: SessionDep, settings: SettingsDep) -> FeedOut:
    """Ask the supervisor to pull the feed."""
    feed = services.get_feed(feed_id, session=session)
    if not feed.source or protocol_of(feed.source) == "file":
        raise BadRequest(f"feed {feed.name} has no live source")
    states.start_feed(feed)
    return feed_out(settings, feed, with_assets=False)


@router.post(
    "/v1/feeds/{feed_id}/stop",
    response_model=FeedOut,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[OPERATE],
)
def stop_feed(feed_id: str, session: SessionDep, settings: SettingsDep) -> FeedOut:
    """Ask the supervisor to stop pulling; the last segment is closed and recorded."""
    feed = services.get_feed(feed_id, session=session)
    states.stop_feed(feed)
    return feed_out(settings, feed, with_assets=False)


@router.get("/v1/feeds/{feed_id}/gaps", response_model=list[GapOut], dependencies=[READ])
def gaps(feed_id: str, caller: CallerDep, session: SessionDep) -> list[GapOut]:
    """Stretches of the event clock with no recording from this feed, and why."""
    services.get_feed(feed_id, session=session, visible=caller.feeds())
    return [
        GapOut(clock_start_s=g.clock_start_s, clock_end_s=g.clock_end_s, reason=g.reason)
        for g in services.list_gaps(feed_id, session=session)
    ]


def _live_asset(feed_id: str, caller: access.Caller, session: SessionDep) -> Asset:
    feed = services.get_feed(feed_id, session=session, visible=caller.feeds())
    asset = services.find_live_asset(feed.id, session=session)
    if asset is None:
        raise NotFound(f"feed {feed.name} has no recording yet")
    check_bound(caller, asset.id, f"live playlist for feed {feed_id}")
    return visible_asset(asset.id, caller, session)


def _token(request: Request, caller: access.Caller, settings: Settings, asset: Asset) -> str:
    return request.query_params.get("token") or media_token(caller, settings, asset.id)


def _segment_uri(settings: Settings, token: str) -> str:
    base = settings.api.public_url.rstrip("/")
    return base + "/v1/segments/{segment}/{variant}.ts?token=" + quote(token, safe="")


@router.get("/v1/feeds/{feed_id}/live.m3u8", response_class=Response)
def live_master(
    feed_id: str,
    request: Request,
    caller: MediaCallerDep,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """Master playlist of the feed's live window: the live rungs and the source. Every URL in
    it carries a media token for the caller, bound to the recording and expiring."""
    asset = _live_asset(feed_id, caller, session)
    allow_asset(caller, asset, "stream.live", request=request, session=session)
    window = services.recent_segments(
        asset.id, session=session, limit=settings.live.window_segments
    )
    body = master_playlist(variants_of(window), "live/{variant}.m3u8")
    body = sign_hls(body, _token(request, caller, settings, asset))
    return Response(body, media_type=HLS, headers=_NO_CACHE)


@router.get("/v1/feeds/{feed_id}/live/{variant}.m3u8", response_class=Response)
def live_media(
    feed_id: str,
    variant: str,
    request: Request,
    caller: MediaCallerDep,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """Sliding-window media playlist; it gains an ENDLIST once the recording is finished."""
    asset = _live_asset(feed_id, caller, session)
    allow_asset(caller, asset, "stream.live", request=request, session=session)
    token = _token(request, caller, settings, asset)
    return _media(asset, variant, session, settings, token, limit=settings.live.window_segments)


def _recording(asset_id: str, caller: access.Caller, session: SessionDep) -> Asset:
    check_bound(caller, asset_id, f"recording {asset_id}")
    asset = visible_asset(asset_id, caller, session)
    if asset.kind is not AssetKind.LIVE:
        raise NotFound(f"asset {asset_id} is not a live recording")
    return asset


def _media(
    asset: Asset,
    variant: str,
    session: SessionDep,
    settings: Settings,
    token: str,
    *,
    limit: int | None,
) -> Response:
    """A media playlist of the recording's newest ``limit`` segments (all with ``None``); it
    ends with ENDLIST once the recording is finished."""
    segments = services.recent_segments(asset.id, session=session, limit=limit)
    ended = asset.status is not AssetStatus.RECORDING
    history = None
    if limit is not None and segments:
        rung = None if variant == SOURCE else variant
        history = services.window_history(asset.id, segments[0].sequence, rung, session=session)
    uri = _segment_uri(settings, token)
    body = media_playlist(segments, variant, uri, ended=ended, history=history)
    return Response(body, media_type=HLS, headers=_NO_CACHE)


@router.get("/v1/assets/{asset_id}/recording.m3u8", response_class=Response)
def recording_master(
    asset_id: str,
    request: Request,
    caller: MediaCallerDep,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """Master playlist of a whole live recording."""
    asset = _recording(asset_id, caller, session)
    allow_asset(caller, asset, "stream", request=request, session=session)
    segments = services.recent_segments(asset.id, session=session)
    if not segments:
        raise NotFound(f"live recording {asset_id} has no segments yet")
    body = master_playlist(variants_of(segments), "recording/{variant}.m3u8")
    body = sign_hls(body, _token(request, caller, settings, asset))
    return Response(body, media_type=HLS, headers=_NO_CACHE)


@router.get("/v1/assets/{asset_id}/recording/{variant}.m3u8", response_class=Response)
def recording_media(
    asset_id: str,
    variant: str,
    request: Request,
    caller: MediaCallerDep,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """The whole recording: a VOD playlist once finished, an event playlist while recording."""
    asset = _recording(asset_id, caller, session)
    allow_asset(caller, asset, "stream", request=request, session=session)
    token = _token(request, caller, settings, asset)
    return _media(asset, variant, session, settings, token, limit=None)


@router.get("/v1/segments/{segment_id}/{variant}.ts", response_class=RedirectResponse)
def segment(
    segment_id: str,
    variant: str,
    request: Request,
    caller: MediaCallerDep,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
) -> RedirectResponse:
    """A segment (source or rung): a redirect to a short-lived presigned URL, for a caller
    whose token (or key) opens its recording, while its rights still hold."""
    row = services.get_segment(segment_id, session=session)
    check_bound(caller, row.asset_id, f"segment {segment_id}")
    asset = visible_asset(row.asset_id, caller, session)
    allow_asset(caller, asset, "stream", request=request, session=session)
    if variant == SOURCE:
        key = row.key
    else:
        match = next((r for r in row.renditions if r.variant == variant), None)
        if match is None:
            raise NotFound(f"segment {segment_id} has no {variant} rendition")
        key = match.key
    return RedirectResponse(
        store.presigned_get(key, expires_s=settings.api.download_ttl_s), status_code=307
    )
