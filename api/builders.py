"""Catalog rows turned into response bodies: the media URLs they carry (with the caller's token,
or presigned), and the fields only staff see."""

from __future__ import annotations

from collections.abc import Callable

from api.schemas.events import AssetOut, EventOut, EventSummary, FeedOut, RenditionOut
from api.schemas.jobs import JobOut
from api.schemas.replays import MarkerOut, ReplayOut, ReplayOutput, RuleOut
from catalog.models import (
    Asset,
    AssetKind,
    Event,
    Feed,
    Job,
    Marker,
    Rendition,
    Replay,
    ReplayRule,
)
from infra.core.logs import redact_or_none
from infra.core.settings import Settings
from infra.core.storage import ObjectStore


def asset_links(settings: Settings, asset_id: str) -> tuple[str, str]:
    base = settings.api.public_url.rstrip("/") + f"/v1/assets/{asset_id}"
    return base + "/hls/master.m3u8", base + "/download"


def signed(url: str, token: str | None) -> str:
    """A media URL with the caller's token, so players that cannot send headers can use it."""
    return url if token is None else f"{url}?token={token}"


def rendition_out(
    settings: Settings,
    asset_id: str,
    rendition: Rendition,
    *,
    token: str | None = None,
    staff: bool = True,
) -> RenditionOut:
    base = settings.api.public_url.rstrip("/") + f"/v1/assets/{asset_id}/hls/"
    return RenditionOut(
        name=rendition.name,
        kind=rendition.kind,
        width=rendition.width,
        height=rendition.height,
        frame_rate=rendition.frame_rate,
        video_kbps=rendition.video_kbps,
        audio_kbps=rendition.audio_kbps,
        codecs=rendition.codecs,
        bandwidth=rendition.bandwidth,
        average_bandwidth=rendition.average_bandwidth,
        playlist_key=rendition.playlist_key if staff else None,
        playlist_url=signed(base + f"{rendition.name}/index.m3u8", token),
        iframe_playlist_url=(
            signed(base + f"{rendition.name}/iframes.m3u8", token)
            if rendition.iframe_playlist_key
            else None
        ),
        segment_count=rendition.segment_count,
        size_bytes=rendition.size_bytes,
    )


def asset_out(
    settings: Settings,
    asset: Asset,
    feed_name: str | None = None,
    *,
    token: str | None = None,
    staff: bool = True,
) -> AssetOut:
    """An asset as the caller may see it: media URLs carry ``token`` (a signed media token for
    the caller) and storage keys and worker errors are for staff only."""
    playlist, download = asset_links(settings, asset.id)
    base = settings.api.public_url.rstrip("/") + f"/v1/assets/{asset.id}"
    return AssetOut(
        id=asset.id,
        event_id=asset.event_id,
        feed_id=asset.feed_id,
        feed=feed_name,
        status=asset.status.value,
        filename=asset.filename,
        original_key=asset.original_key if staff else None,
        sha256=asset.sha256,
        size_bytes=asset.size_bytes,
        duration_s=asset.duration_s,
        video_codec=asset.video_codec,
        audio_codec=asset.audio_codec,
        width=asset.width,
        height=asset.height,
        frame_rate=asset.frame_rate,
        clock_start_s=asset.clock_start_s,
        clock_end_s=round(asset.clock_start_s + asset.duration_s, 6),
        clock_source=asset.clock_source,
        timecode=asset.timecode,
        recorded_at=asset.recorded_at,
        error=asset.error if staff else ("failed" if asset.error else None),
        master_playlist_key=asset.master_playlist_key if staff else None,
        playlist_url=(
            signed(f"{base}/recording.m3u8", token)
            if asset.kind is AssetKind.LIVE
            else (signed(playlist, token) if asset.master_playlist_key else None)
        ),
        poster_url=signed(base + "/poster.jpg", token) if asset.poster_key else None,
        download_url=download if asset.kind is AssetKind.FILE else None,
        qc=asset.qc,
        profile=asset.profile,
        interlaced=asset.interlaced,
        dash_url=signed(f"{base}/hls/manifest.mpd", token) if asset.dash_manifest_key else None,
        proxy_url=f"{base}/proxy.mp4" if asset.proxy_key and staff else None,
        thumbnails_url=(
            signed(f"{base}/thumbnails/thumbnails.vtt", token) if asset.thumbnails_key else None
        ),
        thumbnails=asset.thumbnails,
        mezzanine_url=f"{base}/mezzanine.mxf" if asset.mezzanine_key else None,
        loudness=asset.loudness,
        renditions=[
            rendition_out(settings, asset.id, r, token=token, staff=staff) for r in asset.renditions
        ],
        created_at=asset.created_at,
    )


def event_summary(event: Event) -> EventSummary:
    return EventSummary.model_validate(event, from_attributes=True)


TokenFor = Callable[[str], str | None]
"""The caller's media token for an asset id (``None``: no token)."""


def _no_token(_asset_id: str) -> None:
    return None


def feed_out(
    settings: Settings,
    feed: Feed,
    *,
    with_assets: bool = True,
    staff: bool = True,
    operates: bool = True,
    token_for: TokenFor = _no_token,
) -> FeedOut:
    """A feed; its source address (which may hold credentials) is for staff only, and whole
    (passphrase, stream key) for those who operate the feeds: editors see it redacted."""
    base = settings.api.public_url.rstrip("/")
    live = feed.source is not None and "://" in feed.source
    return FeedOut(
        id=feed.id,
        event_id=feed.event_id,
        name=feed.name,
        position=feed.position,
        angle_deg=feed.angle_deg,
        source=(feed.source if operates else redact_or_none(feed.source)) if staff else None,
        enabled=feed.enabled,
        state=feed.state.value,
        state_detail=feed.state_detail if staff else None,
        mezzanine=feed.mezzanine,
        source_format=feed.source_format,
        clock_offset_s=feed.clock_offset_s,
        clock_drift_ppm=feed.clock_drift_ppm,
        clock_confidence=feed.clock_confidence,
        clock_method=feed.clock_method,
        bitrate_kbps=feed.bitrate_kbps,
        last_segment_at=feed.last_segment_at,
        lag_s=feed.lag_s,
        live_playlist_url=f"{base}/v1/feeds/{feed.id}/live.m3u8" if live else None,
        assets=(
            [
                asset_out(settings, a, feed.name, token=token_for(a.id), staff=staff)
                for a in feed.assets
            ]
            if with_assets
            else []
        ),
    )


def event_out(
    settings: Settings,
    event: Event,
    *,
    staff: bool = True,
    operates: bool = True,
    token_for: TokenFor = _no_token,
) -> EventOut:
    return EventOut(
        **event_summary(event).model_dump(),
        feeds=[
            feed_out(settings, f, staff=staff, operates=operates, token_for=token_for)
            for f in event.feeds
        ],
    )


def job_out(job: Job) -> JobOut:
    return JobOut.model_validate(job, from_attributes=True)


def replay_out(
    replay: Replay,
    job: Job | None,
    store: ObjectStore,
    *,
    links: bool = True,
    expires_s: int | None = None,
    api_url: str | None = None,
) -> ReplayOut:
    """A replay with its job's state, its outputs and package behind signed URLs (``links``
    false: without them, for a broadcaster who has yet to download a host replay)."""

    def presign(key: str | None, filename: str | None = None) -> str | None:
        if not links or not key:
            return None
        return store.presigned_get(key, filename=filename, expires_s=expires_s)

    outputs = [
        ReplayOutput(
            name=item["name"],
            kind=item["kind"],
            feed=item.get("feed"),
            url=presign(item["key"], item["name"]),
            sha256=item["sha256"],
            size_bytes=item["size_bytes"],
            frames=item["frames"],
            first_frame=item.get("first_frame"),
            last_frame=item.get("last_frame"),
            order=item.get("order"),
        )
        for item in replay.outputs or []
    ]
    return ReplayOut(
        id=replay.id,
        event_id=replay.event_id,
        kind=replay.kind.value,
        start_s=replay.clock_start_s,
        end_s=replay.clock_end_s,
        marker_id=replay.marker_id,
        feed_ids=list(replay.feed_ids),
        options=replay.options,
        job_id=replay.job_id,
        status=job.status.value if job else "unknown",
        progress=round(job.progress, 4) if job else 0.0,
        error=job.error if job else None,
        sources=[{"feed_id": s.feed_id, "asset_id": s.asset_id} for s in replay.sources],
        outputs=outputs,
        manifest_url=presign(replay.manifest_key),
        package_url=presign(replay.package_key, f"replay-{replay.id}.zip"),
        ordered_by=replay.broadcaster_id,
        download_url=(
            f"{api_url.rstrip('/')}/v1/replays/{replay.id}/download"
            if api_url and replay.package_key
            else None
        ),
    )


def marker_out(marker: Marker, replay_ids: list[str] | None = None) -> MarkerOut:
    out = MarkerOut.model_validate(marker, from_attributes=True)
    out.replay_ids = replay_ids or []
    return out


def rule_out(rule: ReplayRule) -> RuleOut:
    return RuleOut.model_validate(rule, from_attributes=True)
