"""Live feeds: add, start, stop, state, gaps, and playlists rendered from segment rows."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from api.deps import SessionDep, SessionFactoryDep, SettingsDep, StoreDep
from api.playlists import SOURCE, master_playlist, media_playlist, variants_of
from api.schemas import FeedCreate, FeedOut, GapOut, feed_out
from catalog import services
from catalog.models import Asset, AssetKind, AssetStatus, FeedState
from infra.errors import BadRequest, NotFound
from infra.settings import Settings
from ingest.clock_sync import sync_event
from ingest.media.segmenter import protocol_of
from transcode.ffmpeg import find_ffmpeg

router = APIRouter(tags=["feeds"])

HLS = "application/vnd.apple.mpegurl"
_NO_CACHE = {"Cache-Control": "no-cache"}


@router.get("/v1/events/{event_id}/feeds", response_model=list[FeedOut])
def list_feeds(event_id: str, session: SessionDep, settings: SettingsDep) -> list[FeedOut]:
    """The event's feeds with their state, clock and live playlist."""
    services.get_event(event_id, session=session)
    feeds = services.list_feeds(session=session, event_id=event_id)
    return [feed_out(settings, f, with_assets=False) for f in feeds]


@router.post(
    "/v1/events/{event_id}/feeds", response_model=FeedOut, status_code=status.HTTP_201_CREATED
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
        feed.enabled, feed.state = True, FeedState.CONNECTING
    return feed_out(settings, feed, with_assets=False)


@router.post("/v1/events/{event_id}/sync", response_model=list[FeedOut])
async def sync(
    event_id: str,
    session: SessionDep,
    sessions: SessionFactoryDep,
    settings: SettingsDep,
    store: StoreDep,
    reference: str | None = None,
    window_s: float = Query(20.0, ge=3, le=120),
) -> list[FeedOut]:
    """Measure each feed's offset against ``reference`` (default: the first feed) from audio, or
    from motion where there is none, and move it on the event clock accordingly."""
    services.get_event(event_id, session=session)
    await run_in_threadpool(
        sync_event,
        event_id,
        sessions=sessions,
        store=store,
        ffmpeg=find_ffmpeg(settings.media.ffmpeg),
        reference=reference,
        window_s=window_s,
    )
    session.expire_all()
    feeds = services.list_feeds(session=session, event_id=event_id)
    return [feed_out(settings, f, with_assets=False) for f in feeds]


@router.get("/v1/feeds/{feed_id}", response_model=FeedOut)
def get_feed(feed_id: str, session: SessionDep, settings: SettingsDep) -> FeedOut:
    """One feed: state, bitrate, last segment, lag, clock offset."""
    return feed_out(settings, services.get_feed(feed_id, session=session), with_assets=False)


@router.post(
    "/v1/feeds/{feed_id}/start", response_model=FeedOut, status_code=status.HTTP_202_ACCEPTED
)
def start_feed(feed_id: str, session: SessionDep, settings: SettingsDep) -> FeedOut:
    """Ask the supervisor to pull the feed."""
    feed = services.get_feed(feed_id, session=session)
    if not feed.source or protocol_of(feed.source) == "file":
        raise BadRequest(f"feed {feed.name} has no live source")
    if not feed.enabled:
        feed.enabled, feed.state, feed.state_detail = True, FeedState.CONNECTING, "start requested"
    return feed_out(settings, feed, with_assets=False)


@router.post(
    "/v1/feeds/{feed_id}/stop", response_model=FeedOut, status_code=status.HTTP_202_ACCEPTED
)
def stop_feed(feed_id: str, session: SessionDep, settings: SettingsDep) -> FeedOut:
    """Ask the supervisor to stop pulling; the last segment is closed and recorded."""
    feed = services.get_feed(feed_id, session=session)
    feed.enabled = False
    return feed_out(settings, feed, with_assets=False)


@router.get("/v1/feeds/{feed_id}/gaps", response_model=list[GapOut])
def gaps(feed_id: str, session: SessionDep) -> list[GapOut]:
    """Stretches of the event clock with no recording from this feed, and why."""
    services.get_feed(feed_id, session=session)
    return [
        GapOut(clock_start_s=g.clock_start_s, clock_end_s=g.clock_end_s, reason=g.reason)
        for g in services.list_gaps(feed_id, session=session)
    ]


def _live_asset(feed_id: str, session: SessionDep) -> Asset:
    feed = services.get_feed(feed_id, session=session)
    asset = services.find_live_asset(feed.id, session=session)
    if asset is None:
        raise NotFound(f"feed {feed.name} has no recording yet")
    return asset


def _segment_uri(settings: Settings) -> str:
    return settings.api.public_url.rstrip("/") + "/v1/segments/{segment}/{variant}.ts"


@router.get("/v1/feeds/{feed_id}/live.m3u8", response_class=Response)
def live_master(feed_id: str, session: SessionDep, settings: SettingsDep) -> Response:
    """Master playlist of the feed's live window: the live rungs and the source."""
    asset = _live_asset(feed_id, session)
    window = services.recent_segments(
        asset.id, session=session, limit=settings.live.window_segments
    )
    body = master_playlist(variants_of(window), "live/{variant}.m3u8")
    return Response(body, media_type=HLS, headers=_NO_CACHE)


@router.get("/v1/feeds/{feed_id}/live/{variant}.m3u8", response_class=Response)
def live_media(feed_id: str, variant: str, session: SessionDep, settings: SettingsDep) -> Response:
    """Sliding-window media playlist; it gains an ENDLIST once the recording is finished."""
    asset = _live_asset(feed_id, session)
    return _media(asset, variant, session, settings, limit=settings.live.window_segments)


def _recording(asset_id: str, session: SessionDep) -> Asset:
    asset = services.get_asset(asset_id, session=session)
    if asset.kind is not AssetKind.LIVE:
        raise NotFound(f"asset {asset_id} is not a live recording")
    return asset


def _media(
    asset: Asset, variant: str, session: SessionDep, settings: Settings, *, limit: int | None
) -> Response:
    """A media playlist of the recording's newest ``limit`` segments (all with ``None``); it
    ends with ENDLIST once the recording is finished."""
    segments = services.recent_segments(asset.id, session=session, limit=limit)
    ended = asset.status is not AssetStatus.RECORDING
    body = media_playlist(segments, variant, _segment_uri(settings), ended=ended)
    return Response(body, media_type=HLS, headers=_NO_CACHE)


@router.get("/v1/assets/{asset_id}/recording.m3u8", response_class=Response)
def recording_master(asset_id: str, session: SessionDep, settings: SettingsDep) -> Response:
    """Master playlist of a whole live recording."""
    asset = _recording(asset_id, session)
    segments = services.recent_segments(asset.id, session=session)
    if not segments:
        raise NotFound(f"live recording {asset_id} has no segments yet")
    body = master_playlist(variants_of(segments), "recording/{variant}.m3u8")
    return Response(body, media_type=HLS, headers=_NO_CACHE)


@router.get("/v1/assets/{asset_id}/recording/{variant}.m3u8", response_class=Response)
def recording_media(
    asset_id: str, variant: str, session: SessionDep, settings: SettingsDep
) -> Response:
    """The whole recording: a VOD playlist once finished, an event playlist while recording."""
    return _media(_recording(asset_id, session), variant, session, settings, limit=None)


@router.get("/v1/segments/{segment_id}/{variant}.ts", response_class=RedirectResponse)
def segment(
    segment_id: str, variant: str, session: SessionDep, store: StoreDep
) -> RedirectResponse:
    """A segment (source or rung): a redirect to a short-lived presigned URL."""
    row = services.get_segment(segment_id, session=session)
    if variant == SOURCE:
        key = row.key
    else:
        match = next((r for r in row.renditions if r.variant == variant), None)
        if match is None:
            raise NotFound(f"segment {segment_id} has no {variant} rendition")
        key = match.key
    return RedirectResponse(store.presigned_get(key, expires_s=900), status_code=307)
