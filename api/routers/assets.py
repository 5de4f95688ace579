"""Assets: listing, detail, presigned download, poster, and playable HLS."""

from __future__ import annotations

import re

from fastapi import APIRouter, Query, Response
from fastapi.responses import RedirectResponse

from api.deps import JobsDep, SessionDep, SettingsDep, StoreDep
from api.schemas import AssetOut, DownloadOut, JobOut, Page, asset_out, job_out
from catalog import services
from catalog.models import AssetKind, AssetStatus
from infra.errors import Conflict, NotFound
from infra.queue import JOB_TASKS
from infra.storage import ObjectStore, content_type_for

router = APIRouter(prefix="/v1/assets", tags=["assets"])

# A file below an asset's ladder folder: "master.m3u8", "manifest.mpd", "720p/index.m3u8",
# "720p/init.mp4", "720p/seg_00001.m4s", "720p/seg_00001.ts".
_LADDER_PATH = re.compile(
    r"^(?:[A-Za-z0-9_-]{1,32}/)?[A-Za-z0-9_-]{1,64}\.(?:m3u8|mpd|ts|m4s|mp4)$"
)
_THUMBNAIL_PATH = re.compile(r"^[A-Za-z0-9_-]{1,64}\.(?:vtt|jpg)$")
_MANIFESTS = (".m3u8", ".mpd", ".vtt")


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
        200: {
            "content": {"application/vnd.apple.mpegurl": {}, "application/dash+xml": {}},
            "description": "A playlist or the DASH manifest",
        },
        307: {"description": "A segment: redirect to its presigned URL"},
    },
)
def hls(asset_id: str, path: str, session: SessionDep, store: StoreDep) -> Response:
    """The asset's ladder: HLS master, media and I-frame playlists, and the DASH manifest. They
    are served here, so their relative URIs resolve back to this route; every segment is a
    redirect to a short-lived presigned URL."""
    asset = services.get_asset(asset_id, session=session)
    if not asset.master_playlist_key or not _LADDER_PATH.match(path):
        raise NotFound(f"no {path} for asset {asset_id}")
    return _serve(store, asset.master_playlist_key.rsplit("/", 1)[0] + "/" + path, path, asset_id)


@router.get(
    "/{asset_id}/thumbnails/{path}",
    response_model=None,
    responses={
        200: {"content": {"text/vtt": {}}, "description": "The WebVTT thumbnail track"},
        307: {"description": "A sprite sheet or poster: redirect to its presigned URL"},
    },
)
def thumbnails(asset_id: str, path: str, session: SessionDep, store: StoreDep) -> Response:
    """The scrubbing thumbnails: ``thumbnails.vtt`` and the sprite sheets its cues point into."""
    asset = services.get_asset(asset_id, session=session)
    if not asset.thumbnails_key or not _THUMBNAIL_PATH.match(path):
        raise NotFound(f"no {path} for asset {asset_id}")
    return _serve(store, asset.thumbnails_key.rsplit("/", 1)[0] + "/" + path, path, asset_id)


@router.get("/{asset_id}/proxy.mp4", response_class=RedirectResponse, status_code=307)
def proxy(asset_id: str, session: SessionDep, store: StoreDep) -> RedirectResponse:
    """The editor proxy (a redirect to a presigned URL; browsers play and seek it as it is)."""
    asset = services.get_asset(asset_id, session=session)
    if not asset.proxy_key:
        raise NotFound(f"asset {asset_id} has no proxy yet")
    return RedirectResponse(store.presigned_get(asset.proxy_key), status_code=307)


@router.post("/{asset_id}/mezzanine", response_model=JobOut, status_code=202)
def order_mezzanine(
    asset_id: str, session: SessionDep, settings: SettingsDep, jobs: JobsDep
) -> JobOut:
    """Order an XDCAM HD422 MXF OP1a file of the asset for a broadcast editing system; answers
    with the job (its progress is at ``/v1/jobs/{id}``)."""
    job = services.order_mezzanine(
        asset_id, session=session, max_attempts=settings.jobs.max_attempts
    )
    jobs.send(JOB_TASKS["mezzanine"], job.id)
    return job_out(job)


@router.get("/{asset_id}/mezzanine.mxf", response_class=RedirectResponse, status_code=307)
def mezzanine(asset_id: str, session: SessionDep, store: StoreDep) -> RedirectResponse:
    """The XDCAM HD422 file, once made (a redirect to a presigned download URL)."""
    asset = services.get_asset(asset_id, session=session)
    if not asset.mezzanine_key:
        raise NotFound(f"asset {asset_id} has no mezzanine; order one with POST .../mezzanine")
    name = asset.mezzanine_key.rsplit("/", 1)[-1]
    return RedirectResponse(store.presigned_get(asset.mezzanine_key, filename=name), 307)


def _serve(store: ObjectStore, key: str, path: str, asset_id: str) -> Response:
    if path.endswith(_MANIFESTS):
        return Response(
            store.get_bytes(key),
            media_type=content_type_for(key),
            headers={"Cache-Control": "private, max-age=5"},
        )
    if not store.exists(key):
        raise NotFound(f"no {path} for asset {asset_id}")
    return RedirectResponse(store.presigned_get(key, expires_s=900), status_code=307)
