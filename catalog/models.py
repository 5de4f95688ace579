"""Catalog tables. Ids are UUID strings: safe to hand to broadcasters, never enumerable.

Over 600 lines on purpose: every table in one module, so the one metadata (with its naming
convention), the relationships between tables and the migrations' view of them stay together."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A moment, always in UTC and always timezone-aware, on every database. (SQLite keeps no
    offset: without this it would hand back naive times, and store aware ones unconverted.)"""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class AssetStatus(enum.StrEnum):
    INGESTING = "ingesting"
    RECORDING = "recording"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class AssetKind(enum.StrEnum):
    FILE = "file"
    LIVE = "live"


class FeedState(enum.StrEnum):
    IDLE = "idle"
    CONNECTING = "connecting"
    LIVE = "live"
    STALLED = "stalled"
    STOPPED = "stopped"
    FAILED = "failed"


class JobKind(enum.StrEnum):
    INGEST = "ingest"
    LADDER = "ladder"
    LIVE_SEGMENT = "live_segment"
    QC = "qc"
    PROXY = "proxy"
    THUMBNAILS = "thumbnails"
    MEZZANINE = "mezzanine"
    REPLAY = "replay"
    SYNC = "sync"
    """Measure each feed's offset from its content and move it on the event clock."""


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    """Failed for good: the input is at fault, so another attempt would fail the same way."""
    DEAD = "dead"
    """Every attempt allowed failed on a passing fault (storage, a killed worker, a timeout)."""

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.DEAD)


class ReplayKind(enum.StrEnum):
    ANGLES = "angles"
    """One frame-accurate clip per feed."""
    MOSAIC = "mosaic"
    """The synchronized angles in a 2x2 or 3x3 grid."""
    SEQUENCE = "sequence"
    """A cut list across angles, with optional slow motion."""
    SWEEP = "sweep"
    """Freeze at an instant and move around the cameras, then play on."""


def _enum(kind: type[enum.StrEnum], name: str) -> Enum:
    return Enum(
        kind,
        name=name,
        native_enum=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


class Event(Base):
    """A sporting event (a match, a heat, a session) with its own clock."""

    __tablename__ = "events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    sport: Mapped[str | None] = mapped_column(String(100))
    venue: Mapped[str | None] = mapped_column(String(200))
    clock_origin: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """Wall-clock instant of event-clock zero, for feeds placed by creation time."""
    timecode_origin: Mapped[float | None] = mapped_column(Float)
    """Time-of-day timecode (seconds) of event-clock zero, for feeds placed by timecode."""
    profile: Mapped[str | None] = mapped_column(String(100))
    """Encoding profile of the event's ladders; ``None``: the configured default."""
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the event finished (the final whistle); embargoes counted from the event's end
    start here, and nothing under such an embargo is available while it is ``None``."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    feeds: Mapped[list[Feed]] = relationship(
        back_populates="event", lazy="raise", order_by="Feed.name"
    )


class Feed(Base):
    """A camera at the venue."""

    __tablename__ = "feeds"
    __table_args__ = (UniqueConstraint("event_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[str | None] = mapped_column(String(200))
    """Where the camera stands, in the venue's words (e.g. "north stand, halfway line")."""
    angle_deg: Mapped[float | None] = mapped_column(Float)
    """Bearing of the camera around the field of play, 0-360, for angular ordering."""
    source: Mapped[str | None] = mapped_column(Text)
    """Where the feed comes from: a file name, or a live URL (srt://, rtmp://, rtsp://, https://)."""
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    """The operator wants it pulled (``feeds start``) or not (``feeds stop``)."""
    state: Mapped[FeedState] = mapped_column(_enum(FeedState, "feed_state"), default=FeedState.IDLE)
    state_detail: Mapped[str | None] = mapped_column(Text)
    mezzanine: Mapped[bool] = mapped_column(Boolean, default=False)
    """True when the source's GOP made stream copy impossible and it is re-encoded on ingest."""
    clock_offset_s: Mapped[float] = mapped_column(Float, default=0.0)
    """Added to the feed's own timestamps to place it on the event clock."""
    clock_drift_ppm: Mapped[float | None] = mapped_column(Float)
    clock_confidence: Mapped[float | None] = mapped_column(Float)
    clock_method: Mapped[str | None] = mapped_column(String(20))
    bitrate_kbps: Mapped[float | None] = mapped_column(Float)
    last_segment_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lag_s: Mapped[float | None] = mapped_column(Float)
    """Segment closed at the puller -> recorded in the catalog, for the latest segment."""
    source_format: Mapped[str | None] = mapped_column(String(80))
    """What the source sends, as of the latest segment: ``h264 1920x1080 25``."""
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    """The supervisor pulling this feed; one at a time, however many run."""
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    event: Mapped[Event] = relationship(back_populates="feeds", lazy="raise")
    assets: Mapped[list[Asset]] = relationship(
        back_populates="feed", lazy="raise", order_by="Asset.created_at"
    )


class Asset(Base):
    """A recording of a feed, stored as its original plus renditions."""

    __tablename__ = "assets"
    __table_args__ = (Index("ix_assets_newest", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    feed_id: Mapped[str] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    kind: Mapped[AssetKind] = mapped_column(_enum(AssetKind, "asset_kind"), default=AssetKind.FILE)
    status: Mapped[AssetStatus] = mapped_column(
        _enum(AssetStatus, "asset_status"), default=AssetStatus.INGESTING
    )
    filename: Mapped[str] = mapped_column(String(255))
    original_key: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    duration_s: Mapped[float] = mapped_column(Float)
    container: Mapped[str | None] = mapped_column(String(100))
    video_codec: Mapped[str | None] = mapped_column(String(50))
    audio_codec: Mapped[str | None] = mapped_column(String(50))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    frame_rate: Mapped[str | None] = mapped_column(String(20))
    """Exact frame rate as a fraction, e.g. ``30000/1001``."""
    clock_start_s: Mapped[float] = mapped_column(Float, default=0.0)
    """Where the recording starts on the event clock, in seconds."""
    clock_source: Mapped[str] = mapped_column(String(20), default="none")
    """What placed it there: ``timecode``, ``creation_time``, ``offset`` or ``none``."""
    timecode: Mapped[str | None] = mapped_column(String(20))
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    poster_key: Mapped[str | None] = mapped_column(String(1024))
    master_playlist_key: Mapped[str | None] = mapped_column(String(1024))
    error: Mapped[str | None] = mapped_column(Text)
    qc: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    profile: Mapped[str | None] = mapped_column(String(100))
    """The encoding profile the ladder was made with."""
    interlaced: Mapped[bool | None] = mapped_column(Boolean)
    dash_manifest_key: Mapped[str | None] = mapped_column(String(1024))
    proxy_key: Mapped[str | None] = mapped_column(String(1024))
    """The editor proxy: low resolution, burnt-in timecode and camera, short GOP."""
    thumbnails_key: Mapped[str | None] = mapped_column(String(1024))
    """The WebVTT thumbnail track; its sprite sheets sit next to it."""
    thumbnails: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Scene cuts, the posters chosen at them, and the sprite layout."""
    mezzanine_key: Mapped[str | None] = mapped_column(String(1024))
    loudness: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Measured loudness and the target it was normalised to, when the profile asks for one."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    feed: Mapped[Feed] = relationship(back_populates="assets", lazy="raise")
    renditions: Mapped[list[Rendition]] = relationship(
        back_populates="asset",
        lazy="raise",
        # Rungs tallest first, then the audio track (no height), on every database.
        order_by="(Rendition.kind.desc(), Rendition.height.desc(), Rendition.name)",
        cascade="all, delete-orphan",
    )
    segments: Mapped[list[Segment]] = relationship(
        back_populates="asset", lazy="raise", order_by="Segment.sequence"
    )


class Segment(Base):
    """A stored piece of a feed's recording, placed on the event clock.

    A file ingest stores one segment (the whole file); live ingest stores one per GOP-aligned cut.
    """

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("asset_id", "sequence"), UniqueConstraint("key"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    feed_id: Mapped[str] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(1024))
    clock_start_s: Mapped[float] = mapped_column(Float)
    duration_s: Mapped[float] = mapped_column(Float)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    discontinuity: Mapped[bool] = mapped_column(Boolean, default=False)
    """The first segment after a gap or a reconnect."""
    program_date_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """Wall-clock time of the segment's first frame."""
    clock_source: Mapped[str] = mapped_column(String(20), default="arrival")
    """What placed it on the clock: ``arrival`` or the source's ``program-date-time``."""
    clock_uncertainty_s: Mapped[float | None] = mapped_column(Float)
    """How far its placement may be off by that source's own resolution; ``None`` when
    unknown (arrival: as far as the network and the machine delayed it)."""
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the puller closed the segment file (live ingest)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    asset: Mapped[Asset] = relationship(back_populates="segments", lazy="raise")
    renditions: Mapped[list[RenditionSegment]] = relationship(
        back_populates="segment", lazy="raise", order_by="RenditionSegment.variant"
    )


class RenditionSegment(Base):
    """A live segment transcoded to one rung (``720p``, ``360p``) as it landed."""

    __tablename__ = "rendition_segments"
    __table_args__ = (UniqueConstraint("segment_id", "variant"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    segment_id: Mapped[str] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), index=True
    )
    variant: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(1024))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    bandwidth: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    segment: Mapped[Segment] = relationship(back_populates="renditions", lazy="raise")


class Gap(Base):
    """Time on a feed's timeline with no recording: a dropped source, a stop, a restart."""

    __tablename__ = "gaps"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    feed_id: Mapped[str] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    asset_id: Mapped[str | None] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    clock_start_s: Mapped[float] = mapped_column(Float)
    clock_end_s: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Rendition(Base):
    """One rung of an asset's ABR ladder, packaged as an HLS media playlist and its segments."""

    __tablename__ = "renditions"
    __table_args__ = (UniqueConstraint("asset_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10), default="video", server_default="video")
    """``video`` (a rung) or ``audio`` (the shared audio track of a CMAF ladder)."""
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    video_kbps: Mapped[int | None] = mapped_column(Integer)
    audio_kbps: Mapped[int | None] = mapped_column(Integer)
    codecs: Mapped[str] = mapped_column(String(100))
    frame_rate: Mapped[str | None] = mapped_column(String(20))
    bandwidth: Mapped[int | None] = mapped_column(Integer)
    """Peak bits per second over the segments, as measured."""
    average_bandwidth: Mapped[int | None] = mapped_column(Integer)
    playlist_key: Mapped[str] = mapped_column(String(1024))
    iframe_playlist_key: Mapped[str | None] = mapped_column(String(1024))
    segment_count: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    asset: Mapped[Asset] = relationship(back_populates="renditions", lazy="raise")


class Job(Base):
    """A unit of background work with its state, progress and, when it failed, the reason."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[JobKind] = mapped_column(_enum(JobKind, "job_kind"))
    status: Mapped[JobStatus] = mapped_column(
        _enum(JobStatus, "job_status"), default=JobStatus.QUEUED, index=True
    )
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    event_id: Mapped[str | None] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    feed_id: Mapped[str | None] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    asset_id: Mapped[str | None] = mapped_column(
        ForeignKey("assets.id", ondelete="SET NULL"), index=True
    )
    subject: Mapped[str | None] = mapped_column(Text)
    """What the job works on, in words (a file name, a feed name), for jobs that failed early."""
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """Touched while a worker runs the job; a stale heartbeat means the worker is gone."""
    options: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Marker(Base):
    """A moment of the event worth replaying: a goal, a finish, a foul."""

    __tablename__ = "markers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    clock_s: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(200))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    athletes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReplayRule(Base):
    """Every new marker of the event with ``tag`` gets replays of ``kinds`` around it."""

    __tablename__ = "replay_rules"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    tag: Mapped[str] = mapped_column(String(100))
    kinds: Mapped[list[str]] = mapped_column(JSON)
    before_s: Mapped[float] = mapped_column(Float, default=5.0)
    after_s: Mapped[float] = mapped_column(Float, default=5.0)
    options: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Replay(Base):
    """A replay order and, once made, its outputs (a derived asset of its source recordings)."""

    __tablename__ = "replays"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ReplayKind] = mapped_column(_enum(ReplayKind, "replay_kind"))
    clock_start_s: Mapped[float] = mapped_column(Float)
    clock_end_s: Mapped[float] = mapped_column(Float)
    marker_id: Mapped[str | None] = mapped_column(ForeignKey("markers.id", ondelete="SET NULL"))
    feed_ids: Mapped[list[str]] = mapped_column(JSON)
    """The angles, in the order asked for (a sweep orders them by position itself)."""
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    outputs: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    manifest_key: Mapped[str | None] = mapped_column(String(1024))
    package_key: Mapped[str | None] = mapped_column(String(1024))
    broadcaster_id: Mapped[str | None] = mapped_column(
        ForeignKey("broadcasters.id", ondelete="CASCADE"), index=True
    )
    """The broadcaster who ordered it (only they see it); ``None``: the host's own replay, seen by
    every broadcaster whose rights cover all of its sources."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    sources: Mapped[list[ReplaySource]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="ReplaySource.position"
    )


class ReplaySource(Base):
    """Lineage: a recording a replay was cut from, so its rights can be derived from theirs."""

    __tablename__ = "replay_sources"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    replay_id: Mapped[str] = mapped_column(ForeignKey("replays.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    feed_id: Mapped[str] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)


# -- broadcasters, their keys and rights -----------------------------------------------------------


class Role(enum.StrEnum):
    ADMIN = "admin"
    """Everything, including keys, broadcasters, rights and the audit trail."""
    OPERATOR = "operator"
    """Runs events, feeds, ingest and jobs; sees the whole catalog."""
    EDITOR = "editor"
    """Searches and previews the whole catalog, adds markers and orders replays."""
    BROADCASTER = "broadcaster"
    """A rights-holding broadcaster: sees and receives only what its rights grant."""

    @property
    def staff(self) -> bool:
        return self is not Role.BROADCASTER


class Broadcaster(Base):
    """A rights-holding broadcaster (RHB)."""

    __tablename__ = "broadcasters"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    territories: Mapped[list[str]] = mapped_column(JSON, default=list)
    """ISO 3166-1 alpha-2 codes it broadcasts in; the first is its home territory."""
    usage_serial: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Bumped by every use, so that quota checks of one broadcaster run one at a time."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiKey(Base):
    """An API key. Only a hash of its secret is kept; the key itself is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    """The public part of the key, used to find it."""
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    broadcaster_id: Mapped[str | None] = mapped_column(
        ForeignKey("broadcasters.id", ondelete="CASCADE"), index=True
    )
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EditorSession(Base):
    """A signed-in browser: an API key exchanged for an HttpOnly cookie. Only a hash of the
    cookie is kept; signing out revokes the row."""

    __tablename__ = "editor_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RightsGrant(Base):
    """What one broadcaster may use, where, when and how much."""

    __tablename__ = "rights_grants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    broadcaster_id: Mapped[str] = mapped_column(
        ForeignKey("broadcasters.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(String(10))
    """``all``, ``sport``, ``event``, ``feed`` or ``asset``."""
    scope_value: Mapped[str | None] = mapped_column(String(200))
    """The sport's name, or the event's, feed's or asset's id."""
    territories: Mapped[list[str]] = mapped_column(JSON, default=list)
    territories_excluded: Mapped[bool] = mapped_column(Boolean, default=False)
    """The territories are the ones left out (everywhere else is granted)."""
    media: Mapped[list[str]] = mapped_column(JSON)
    """Of ``live``, ``clips``, ``archive``."""
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    embargo_minutes: Mapped[float] = mapped_column(Float, default=0.0)
    embargo_after: Mapped[str] = mapped_column(String(12), default="event")
    """``event`` (its end), ``moment`` (the action shown) or ``broadcast`` (the broadcaster's own
    broadcast of the event)."""
    exclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    max_clip_s: Mapped[float | None] = mapped_column(Float)
    max_event_s: Mapped[float | None] = mapped_column(Float)
    max_day_s: Mapped[float | None] = mapped_column(Float)
    min_gap_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Airing(Base):
    """A broadcaster's own broadcast of an event, for embargoes counted from it."""

    __tablename__ = "airings"
    __table_args__ = (UniqueConstraint("broadcaster_id", "event_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    broadcaster_id: Mapped[str] = mapped_column(ForeignKey("broadcasters.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    aired_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Usage(Base):
    """One use of media by a broadcaster: a download or a clip, counted against its quotas."""

    __tablename__ = "usage"
    __table_args__ = (Index("ix_usage_quota", "broadcaster_id", "grant_id", "at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    broadcaster_id: Mapped[str] = mapped_column(
        ForeignKey("broadcasters.id", ondelete="CASCADE"), index=True
    )
    grant_id: Mapped[str | None] = mapped_column(
        ForeignKey("rights_grants.id", ondelete="SET NULL"), index=True
    )
    key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    asset_id: Mapped[str | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"))
    replay_id: Mapped[str | None] = mapped_column(ForeignKey("replays.id", ondelete="SET NULL"))
    media: Mapped[str] = mapped_column(String(10))
    action: Mapped[str] = mapped_column(String(40))
    seconds: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class AuditRecord(Base):
    """A delivery decision: who asked for what, when, and what was decided and why."""

    __tablename__ = "audit"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    key_id: Mapped[str | None] = mapped_column(String(36))
    role: Mapped[str] = mapped_column(String(16))
    broadcaster_id: Mapped[str | None] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(40))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(36))
    territory: Mapped[str | None] = mapped_column(String(2))
    result: Mapped[str] = mapped_column(String(16))
    """``granted`` or ``denied``."""
    reason: Mapped[str] = mapped_column(Text)
    grant_id: Mapped[str | None] = mapped_column(String(36))
    client: Mapped[str | None] = mapped_column(String(100))


class Webhook(Base):
    """A broadcaster's subscription to notifications, signed with its own secret."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    broadcaster_id: Mapped[str] = mapped_column(
        ForeignKey("broadcasters.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    topics: Mapped[list[str]] = mapped_column(JSON)
    """Of ``replay.ready``, ``asset.new``, ``feed.live``."""
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookDelivery(Base):
    """One notification to one webhook, with every attempt's outcome."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    webhook_id: Mapped[str] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), index=True
    )
    topic: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    """``pending``, ``delivered`` or ``failed`` (every attempt used)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SearchDocument(Base):
    """What search finds: an event, feed, recording, marker or replay, in words, with the columns
    rights and filters need. Kept up to date by the services that write those rows."""

    __tablename__ = "search_documents"
    __table_args__ = (
        UniqueConstraint("kind", "ref_id"),
        Index("ix_search_documents_newest", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(10))
    ref_id: Mapped[str] = mapped_column(String(36))
    sport: Mapped[str | None] = mapped_column(String(100), index=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    feed_id: Mapped[str | None] = mapped_column(String(36), index=True)
    asset_id: Mapped[str | None] = mapped_column(String(36), index=True)
    broadcaster_id: Mapped[str | None] = mapped_column(String(36))
    """A replay ordered by one broadcaster is found by that broadcaster only."""
    clock_start_s: Mapped[float | None] = mapped_column(Float)
    clock_end_s: Mapped[float | None] = mapped_column(Float)
    moment_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """Wall-clock time of the end of what it shows, for embargoes counted from the action."""
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    athletes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
