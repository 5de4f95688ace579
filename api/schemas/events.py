"""Events, their feeds and recordings (assets with their renditions), and file ingest."""

from __future__ import annotations

from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


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


class DownloadOut(BaseModel):
    url: str
    expires_in_s: int
    sha256: str
    size_bytes: int
