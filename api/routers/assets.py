"""Assets: listing, detail, presigned download, poster, and playable HLS."""

from __future__ import annotations

import re

from fastapi import APIRouter, Query, Response
from fastapi.responses import RedirectResponse

from api.deps import SessionDep, SettingsDep, StoreDep
from api.schemas import AssetOut, DownloadOut, Page, asset_out
from catalog import services
from catalog.models import AssetKind, AssetStatus
from infra.errors import Conflict, NotFound
from infra.storage import content_type_for

router = APIRouter(prefix="/v1/assets", tags=["assets"])

# A file below an asset's HLS folder: "master.m3u8", "720p/index.m3u8", "720p/seg_00001.ts".
_HLS_PATH = re.compile(r"^(?:[A-Za-z0-9_-]{1,32}/)?[A-Za-z0-9_-]{1,64}\.(?:m3u8|ts|m4s|mp4|vtt)$")


@router.get("", response_model=Page[AssetOut])
def list_assets(
    session: SessionDep,
    settings: SettingsDep,
    event_id: str | None = None,
    feed_id: str | None = None,
    status: AssetStatus | None = None,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0),
) -> Page[AssetOut]:
    """Assets, newest first, filtered by event, feed and status."""
    filters = services.AssetFilter(event_id=event_id, feed_id=feed_id, status=status)
    assets, total = services.list_assets(filters, session=session, limit=limit, offset=offset)
    return Page(
        items=[asset_out(settings, a, a.feed.name) for a in assets],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{asset_id}", response_model=AssetOut)
def get_asset(asset_id: str, session: SessionDep, settings: SettingsDep) -> AssetOut:
    """One asset with its renditions, its playable master playlist and its download link."""
    asset = services.get_asset(asset_id, session=session)
    return asset_out(settings, asset, asset.feed.name)


@router.get(
    "/{asset_id}/download",
    response_model=DownloadOut,
    responses={307: {"description": "Redirect to the presigned URL (with redirect=true)"}},
)
def download(
    asset_id: str,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    redirect: bool = False,
) -> DownloadOut | RedirectResponse:
    """A presigned, expiring URL for the original recording."""
    asset = services.get_asset(asset_id, session=session)
    if asset.kind is AssetKind.LIVE:
        raise Conflict("a live recording has no single original; use its recording.m3u8")
    expiry = settings.storage.presign_expiry_s
    url = store.presigned_get(asset.original_key, expires_s=expiry, filename=asset.filename)
    if redirect:
        return RedirectResponse(url, status_code=307)
    return DownloadOut(
        url=url, expires_in_s=expiry, sha256=asset.sha256, size_bytes=asset.size_bytes
    )


@router.get("/{asset_id}/poster.jpg", response_class=RedirectResponse, status_code=307)
def poster(asset_id: str, session: SessionDep, store: StoreDep) -> RedirectResponse:
    """The poster thumbnail (a redirect to a presigned URL)."""
    asset = services.get_asset(asset_id, session=session)
    if not asset.poster_key:
        raise NotFound(f"asset {asset_id} has no poster yet")
    return RedirectResponse(store.presigned_get(asset.poster_key), status_code=307)


@router.get(
    "/{asset_id}/hls/{path:path}",
    response_model=None,
    responses={
        200: {"content": {"application/vnd.apple.mpegurl": {}}, "description": "A playlist"},
        307: {"description": "A segment: redirect to its presigned URL"},
    },
)
def hls(asset_id: str, path: str, session: SessionDep, store: StoreDep) -> Response:
    """The asset's HLS ladder. Playlists are served here, so their relative URIs resolve back to
    this route; every segment is a redirect to a short-lived presigned URL."""
    asset = services.get_asset(asset_id, session=session)
    if not asset.master_playlist_key or not _HLS_PATH.match(path):
        raise NotFound(f"no {path} for asset {asset_id}")
    key = asset.master_playlist_key.rsplit("/", 1)[0] + "/" + path
    if path.endswith(".m3u8"):
        body = store.get_bytes(key)
        return Response(
            body,
            media_type=content_type_for(key),
            headers={"Cache-Control": "private, max-age=5"},
        )
    if not store.exists(key):
        raise NotFound(f"no {path} for asset {asset_id}")
    return RedirectResponse(store.presigned_get(key, expires_s=900), status_code=307)
