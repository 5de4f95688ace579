"""Assets: listing, detail, presigned download, poster, and playable HLS."""

from __future__ import annotations

import re

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from api.auth import (
    DELIVER,
    EDIT,
    READ,
    CallerDep,
    MediaCallerDep,
    media_token,
)
from api.builders import asset_out, job_out
from api.deps import JobsDep, SessionDep, SettingsDep, StoreDep
from api.guards import MediaAsset, VisibleAsset, allow_asset
from api.playlists import sign_hls, sign_mpd
from api.ratelimit import stills
from api.schemas import MAX_OFFSET, AssetOut, DownloadOut, JobOut, Page
from catalog import access, services
from catalog.models import Asset, AssetKind, AssetStatus
from catalog.rights import Media
from infra.core.errors import Conflict, NotFound
from infra.core.queue import JOB_TASKS
from infra.core.storage import ObjectStore, content_type_for

router = APIRouter(prefix="/v1/assets", tags=["assets"])

# A file below an asset's ladder folder: "master.m3u8", "manifest.mpd", "720p/index.m3u8",
# "720p/init.mp4", "720p/seg_00001.m4s", "720p/seg_00001.ts".
_LADDER_PATH = re.compile(
    r"^(?:[A-Za-z0-9_-]{1,32}/)?[A-Za-z0-9_-]{1,64}\.(?:m3u8|mpd|ts|m4s|mp4)$"
)
_THUMBNAIL_PATH = re.compile(r"^[A-Za-z0-9_-]{1,64}\.(?:vtt|jpg)$")
_MANIFESTS = (".m3u8", ".mpd", ".vtt")


@router.get("", response_model=Page[AssetOut], dependencies=[READ])
def list_assets(
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    event_id: str | None = None,
    feed_id: str | None = None,
    status: AssetStatus | None = None,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> Page[AssetOut]:
    """Assets, newest first, filtered by event, feed and status."""
    filters = services.AssetFilter(event_id=event_id, feed_id=feed_id, status=status)
    assets, total = services.list_assets(
        filters, session=session, limit=limit, offset=offset, visible=caller.assets()
    )
    return Page(
        items=[_out(caller, settings, a) for a in assets],
        total=total,
        limit=limit,
        offset=offset,
    )


def _out(caller: access.Caller, settings: SettingsDep, asset: Asset) -> AssetOut:
    token = (
        media_token(caller, settings, asset.id) if "deliver" in caller.principal.scopes else None
    )
    return asset_out(settings, asset, asset.feed.name, token=token, staff=caller.principal.staff)


@router.get("/{asset_id}", response_model=AssetOut, dependencies=[READ])
def get_asset(asset: VisibleAsset, caller: CallerDep, settings: SettingsDep) -> AssetOut:
    """One asset with its renditions, its playable master playlist (signed for the caller) and
    its download link."""
    return _out(caller, settings, asset)


@router.get(
    "/{asset_id}/download",
    response_model=DownloadOut,
    responses={307: {"description": "Redirect to the presigned URL (with redirect=true)"}},
    dependencies=[DELIVER],
)
def download(
    asset: VisibleAsset,
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    redirect: bool = False,
) -> DownloadOut | RedirectResponse:
    """A short-lived presigned URL for the original recording; counted against quotas."""
    if asset.kind is AssetKind.LIVE:
        raise Conflict("a live recording has no single original; use its recording.m3u8")
    allow_asset(
        caller, asset, "download", request=request, session=session,
        media=Media.ARCHIVE, seconds=asset.duration_s,
    )  # fmt: skip
    expiry = (
        settings.storage.presign_expiry_s if caller.principal.staff else settings.api.download_ttl_s
    )
    url = store.presigned_get(asset.original_key, expires_s=expiry, filename=asset.filename)
    if redirect:
        return RedirectResponse(url, status_code=307)
    return DownloadOut(
        url=url, expires_in_s=expiry, sha256=asset.sha256, size_bytes=asset.size_bytes
    )


@router.get(
    "/{asset_id}/poster.jpg",
    response_class=RedirectResponse,
    status_code=307,
    dependencies=[READ],
)
@stills
def poster(
    asset: VisibleAsset, request: Request, caller: CallerDep, session: SessionDep, store: StoreDep
) -> RedirectResponse:
    """The poster thumbnail (a redirect to a presigned URL): a still of the recording, so the
    same decision as its pictures (media, embargo), checked but not audited."""
    allow_asset(caller, asset, "still", request=request, session=session, record=False)
    if not asset.poster_key:
        raise NotFound(f"asset {asset.id} has no poster yet")
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
def hls(
    asset: MediaAsset,
    path: str,
    request: Request,
    caller: MediaCallerDep,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
) -> Response:
    """The asset's ladder: HLS master, media and I-frame playlists, and the DASH manifest. They
    are served here with a media token on every URI they hold, bound to the caller and the
    asset and expiring (``api.token_ttl_s``); every segment is a redirect to a short-lived
    presigned URL. Called with an API key, a new token is issued; called with a token, the same
    token is carried on, so a leaked playlist stops working when it expires."""
    if not asset.master_playlist_key or not _LADDER_PATH.match(path):
        raise NotFound(f"no {path} for asset {asset.id}")
    allow_asset(caller, asset, "stream", request=request, session=session)
    token = request.query_params.get("token") or media_token(caller, settings, asset.id)
    key = asset.master_playlist_key.rsplit("/", 1)[0] + "/" + path
    return _serve(store, key, path, asset.id, token=token, ttl=settings.api.download_ttl_s)


@router.get(
    "/{asset_id}/thumbnails/{path}",
    response_model=None,
    responses={
        200: {"content": {"text/vtt": {}}, "description": "The WebVTT thumbnail track"},
        307: {"description": "A sprite sheet or poster: redirect to its presigned URL"},
    },
)
@stills
def thumbnails(
    asset: MediaAsset,
    path: str,
    request: Request,
    caller: MediaCallerDep,
    session: SessionDep,
    store: StoreDep,
) -> Response:
    """The scrubbing thumbnails: ``thumbnails.vtt`` and the sprite sheets its cues point into;
    stills of the recording, under the same decision as its pictures, checked but not audited."""
    allow_asset(caller, asset, "still", request=request, session=session, record=False)
    if not asset.thumbnails_key or not _THUMBNAIL_PATH.match(path):
        raise NotFound(f"no {path} for asset {asset.id}")
    return _serve(store, asset.thumbnails_key.rsplit("/", 1)[0] + "/" + path, path, asset.id)


@router.get(
    "/{asset_id}/proxy.mp4",
    response_class=RedirectResponse,
    status_code=307,
    dependencies=[EDIT],
)
def proxy(asset_id: str, session: SessionDep, store: StoreDep) -> RedirectResponse:
    """The editor proxy, for staff (a redirect to a presigned URL; browsers play and seek it as
    it is). Broadcasters get the ladder, under their rights."""
    asset = services.get_asset(asset_id, session=session)
    if not asset.proxy_key:
        raise NotFound(f"asset {asset_id} has no proxy yet")
    return RedirectResponse(store.presigned_get(asset.proxy_key), status_code=307)


@router.post("/{asset_id}/mezzanine", response_model=JobOut, status_code=202, dependencies=[EDIT])
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


@router.get(
    "/{asset_id}/mezzanine.mxf",
    response_class=RedirectResponse,
    status_code=307,
    dependencies=[DELIVER],
)
def mezzanine(
    asset: VisibleAsset,
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
) -> RedirectResponse:
    """The XDCAM HD422 file, once made (a redirect to a presigned download URL); an archive
    download, counted against quotas."""
    if not asset.mezzanine_key:
        raise NotFound(f"asset {asset.id} has no mezzanine; order one with POST .../mezzanine")
    allow_asset(
        caller, asset, "download.mezzanine", request=request, session=session,
        media=Media.ARCHIVE, seconds=asset.duration_s,
    )  # fmt: skip
    name = asset.mezzanine_key.rsplit("/", 1)[-1]
    url = store.presigned_get(
        asset.mezzanine_key, filename=name, expires_s=settings.api.download_ttl_s
    )
    return RedirectResponse(url, 307)


def _serve(
    store: ObjectStore,
    key: str,
    path: str,
    asset_id: str,
    *,
    token: str | None = None,
    ttl: int = 900,
) -> Response:
    if path.endswith(_MANIFESTS):
        body = store.get_bytes(key).decode()
        if token is not None and path.endswith(".m3u8"):
            body = sign_hls(body, token)
        elif token is not None and path.endswith(".mpd"):
            body = sign_mpd(body, token)
        return Response(
            body,
            media_type=content_type_for(key),
            headers={"Cache-Control": "private, max-age=5"},
        )
    if not store.exists(key):
        raise NotFound(f"no {path} for asset {asset_id}")
    return RedirectResponse(store.presigned_get(key, expires_s=ttl), status_code=307)
