"""Response and request bodies. The CLI prints the same shapes with ``--json``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import PurePosixPath
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from catalog.models import (
    Asset,
    AssetKind,
    Event,
    Feed,
    Job,
    Marker,
    Rendition,
    Replay,
    ReplayKind,
    ReplayRule,
)
from infra.core.settings import Settings
from infra.core.storage import ObjectStore

T = TypeVar("T")


class RenditionOut(BaseModel):
    name: str
    kind: str
    """``video`` (a rung) or ``audio`` (the audio track every rung of a CMAF ladder shares)."""
    width: int | None
    height: int | None
    frame_rate: str | None
    video_kbps: int | None
    audio_kbps: int | None
    codecs: str
    bandwidth: int | None
    """Peak bits per second over the segments, as measured (with the audio, for a rung)."""
    average_bandwidth: int | None
    playlist_key: str | None
    """Where it is in the bucket (staff only)."""
    playlist_url: str
    iframe_playlist_url: str | None
    segment_count: int
    size_bytes: int


class AssetOut(BaseModel):
    id: str
    event_id: str
    feed_id: str
    feed: str | None = None
    status: str
    filename: str
    original_key: str | None
    """Where the original is in the bucket (staff only)."""
    sha256: str
    size_bytes: int
    duration_s: float
    video_codec: str | None
    audio_codec: str | None
    width: int | None
    height: int | None
    frame_rate: str | None
    clock_start_s: float
    clock_end_s: float
    clock_source: str
    timecode: str | None
    recorded_at: datetime | None
    error: str | None
    master_playlist_key: str | None
    playlist_url: str | None
    poster_url: str | None
    download_url: str | None
    qc: dict[str, Any] | None
    """EBU R128 loudness and black, freeze and silence runs, once the QC job has run."""
    profile: str | None
    """The encoding profile of the ladder."""
    interlaced: bool | None
    dash_url: str | None
    proxy_url: str | None
    """The editor proxy: burnt-in timecode and camera, a keyframe every 10 frames."""
    thumbnails_url: str | None
    """A WebVTT thumbnail track whose cues point into sprite sheets."""
    thumbnails: dict[str, Any] | None
    """Scene cuts (seconds) and the posters chosen at them."""
    mezzanine_url: str | None
    loudness: dict[str, Any] | None
    """Measured loudness and the target, when the profile normalises it."""
    renditions: list[RenditionOut]
    created_at: datetime


class FeedOut(BaseModel):
    id: str
    event_id: str
    name: str
    position: str | None
    angle_deg: float | None
    source: str | None
    enabled: bool
    state: str
    state_detail: str | None
    mezzanine: bool
    source_format: str | None
    clock_offset_s: float
    clock_drift_ppm: float | None
    clock_confidence: float | None
    clock_method: str | None
    bitrate_kbps: float | None
    last_segment_at: datetime | None
    lag_s: float | None
    live_playlist_url: str | None
    assets: list[AssetOut] = Field(default_factory=list)


class FeedCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$")
    source: str = Field(min_length=1, max_length=2000)
    """srt://, rtmp://, rtsp:// or http(s):// (HLS)."""
    position: str | None = Field(default=None, max_length=200)
    angle_deg: float | None = Field(default=None, ge=0, lt=360)
    start: bool = False


class GapOut(BaseModel):
    clock_start_s: float
    clock_end_s: float
    reason: str


class EventSummary(BaseModel):
    id: str
    name: str
    sport: str | None
    venue: str | None
    clock_origin: datetime | None
    profile: str | None
    ended_at: datetime | None = None
    """When the event finished; embargoes counted from its end start here."""
    created_at: datetime


class EventOut(EventSummary):
    feeds: list[FeedOut]


class EventCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    sport: str | None = Field(default=None, max_length=100)
    venue: str | None = Field(default=None, max_length=200)
    clock_origin: datetime | None = None
    profile: str | None = Field(default=None, max_length=100)
    """Encoding profile of the event's ladders (``GET /v1/profiles``); default: configured."""
    ended_at: datetime | None = None


class EventEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ended_at: datetime | None = None
    """When the event finished; default: now."""


class IngestFeedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feed: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$")
    path: str = Field(min_length=1, max_length=1024)
    """A path relative to the server's ingest folder (``VANTAGE_MEDIA__INGEST_ROOT``)."""
    offset_s: float | None = None

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        parts = PurePosixPath(value).parts
        if value.startswith("/") or ".." in parts or "\\" in value:
            raise ValueError("must be a relative path inside the ingest folder")
        return value


class IngestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feeds: list[IngestFeedIn] = Field(min_length=1, max_length=64)


class IngestResultOut(BaseModel):
    feed: str
    job_id: str
    asset_id: str | None
    ladder_job_id: str | None
    qc_job_id: str | None
    clock_start_s: float | None
    clock_source: str | None
    error: str | None


class JobOut(BaseModel):
    id: str
    kind: str
    status: str
    progress: float
    event_id: str | None
    feed_id: str | None
    asset_id: str | None
    subject: str | None
    error: str | None
    attempts: int
    max_attempts: int
    heartbeat_at: datetime | None
    options: dict[str, Any] | None
    output: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


MAX_OFFSET = 1_000_000_000
"""The deepest offset a page may start at: beyond any catalog, and within every database's
integers (a larger number overflowed SQLite's and answered 500)."""


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class DownloadOut(BaseModel):
    url: str
    expires_in_s: int
    sha256: str
    size_bytes: int


# -- builders ------------------------------------------------------------------------------------


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
    return EventSummary(
        id=event.id,
        name=event.name,
        sport=event.sport,
        venue=event.venue,
        clock_origin=event.clock_origin,
        profile=event.profile,
        ended_at=event.ended_at,
        created_at=event.created_at,
    )


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
    token_for: TokenFor = _no_token,
) -> FeedOut:
    """A feed; its source address (which may hold credentials) is for staff only."""
    base = settings.api.public_url.rstrip("/")
    live = feed.source is not None and "://" in feed.source
    return FeedOut(
        id=feed.id,
        event_id=feed.event_id,
        name=feed.name,
        position=feed.position,
        angle_deg=feed.angle_deg,
        source=feed.source if staff else None,
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
    settings: Settings, event: Event, *, staff: bool = True, token_for: TokenFor = _no_token
) -> EventOut:
    return EventOut(
        **event_summary(event).model_dump(),
        feeds=[feed_out(settings, f, staff=staff, token_for=token_for) for f in event.feeds],
    )


def job_out(job: Job) -> JobOut:
    return JobOut(
        id=job.id,
        kind=job.kind.value,
        status=job.status.value,
        progress=round(job.progress, 4),
        event_id=job.event_id,
        feed_id=job.feed_id,
        asset_id=job.asset_id,
        subject=job.subject,
        error=job.error,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        heartbeat_at=job.heartbeat_at,
        options=job.options,
        output=job.output,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


# -- replays -------------------------------------------------------------------------------------


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
    return MarkerOut(
        id=marker.id,
        event_id=marker.event_id,
        clock_s=marker.clock_s,
        label=marker.label,
        tags=list(marker.tags),
        athletes=list(marker.athletes),
        replay_ids=replay_ids or [],
    )


def rule_out(rule: ReplayRule) -> RuleOut:
    return RuleOut(
        id=rule.id,
        tag=rule.tag,
        kinds=list(rule.kinds),
        before_s=rule.before_s,
        after_s=rule.after_s,
        options=rule.options,
    )


# -- broadcasters, keys, rights, usage, audit ----------------------------------------------------

Territory = Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]


class BroadcasterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    territories: list[Territory] = Field(min_length=1, max_length=250)
    """ISO 3166-1 alpha-2 codes it broadcasts in; the first is its home territory."""


class BroadcasterOut(BaseModel):
    id: str
    name: str
    territories: list[str]
    created_at: datetime


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Literal["all", "sport", "event", "feed", "asset"]
    scope_value: str | None = Field(default=None, max_length=200)
    """The sport's name, or the event's, feed's or asset's id (nothing for ``all``)."""
    territories: list[Territory] = Field(default_factory=list, max_length=250)
    territories_excluded: bool = False
    """The territories listed are left out; everywhere else is granted."""
    media: list[Literal["live", "clips", "archive"]] = Field(
        default=["live", "clips", "archive"], min_length=1
    )
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    embargo_minutes: float = Field(default=0.0, ge=0, le=525_600)
    embargo_after: Literal["event", "moment", "broadcast"] = "event"
    exclusive: bool = False
    max_clip_s: float | None = Field(default=None, gt=0)
    max_event_s: float | None = Field(default=None, gt=0)
    max_day_s: float | None = Field(default=None, gt=0)
    min_gap_s: float | None = Field(default=None, ge=0)


class GrantOut(GrantIn):
    model_config = ConfigDict(extra="ignore")

    id: str
    broadcaster_id: str
    created_at: datetime


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: Literal["admin", "operator", "editor", "broadcaster"]
    broadcaster_id: str | None = Field(default=None, max_length=200)
    scopes: list[Literal["read", "deliver", "order", "webhooks", "admin", "operate"]] | None = None
    """Default: everything the role allows."""
    expires_at: datetime | None = None


class KeyOut(BaseModel):
    id: str
    prefix: str
    name: str
    role: str
    broadcaster_id: str | None
    scopes: list[str]
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime


class KeyCreated(KeyOut):
    key: str
    """The key itself. Shown this once: only a hash of it is kept."""


class MeOut(BaseModel):
    role: str
    name: str
    key_id: str | None
    broadcaster_id: str | None
    broadcaster: str | None
    territory: str | None
    scopes: list[str]


class AiringIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    aired_at: datetime | None = None
    """When your broadcast of the event went out; default: now."""


class GrantUsageOut(BaseModel):
    grant_id: str
    scope: str
    scope_value: str | None
    media: list[str]
    uses: int
    used_today_s: float
    max_day_s: float | None
    used_by_event_s: dict[str, float]
    max_event_s: float | None
    max_clip_s: float | None
    min_gap_s: float | None
    last_use_at: datetime | None
    next_use_at: datetime | None
    """When the minimum gap between uses lets the next one through."""


class UsageOut(BaseModel):
    broadcaster_id: str
    day: str
    """The UTC day that daily quotas count."""
    grants: list[GrantUsageOut]


class AuditOut(BaseModel):
    id: str
    at: datetime
    key_id: str | None
    role: str
    broadcaster_id: str | None
    action: str
    subject_kind: str
    subject_id: str
    territory: str | None
    result: str
    reason: str
    grant_id: str | None
    client: str | None


class CursorPage(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; ``None`` on the last one."""


# -- webhooks ------------------------------------------------------------------------------------


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2000)
    topics: list[Literal["replay.ready", "asset.new", "feed.live"]] = Field(min_length=1)


class WebhookOut(BaseModel):
    id: str
    url: str
    topics: list[str]
    active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str
    """Signs every notification (``Vantage-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
    "<t>." + body>``). Shown this once."""


class DeliveryOut(BaseModel):
    id: str
    topic: str
    status: str
    attempts: int
    response_status: int | None
    error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    payload: dict[str, Any]


# -- search --------------------------------------------------------------------------------------


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
