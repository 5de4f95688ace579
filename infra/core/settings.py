"""The one settings object. Nothing else in Vantage reads the environment.

Every field can be set as ``VANTAGE_<GROUP>__<FIELD>`` (for example
``VANTAGE_STORAGE__ENDPOINT_URL``) or in a ``.env`` file. The defaults describe the
embedded stack that ``vantage up`` starts.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024
EMBEDDED_SECRET = "vantage-secret"  # noqa: S105 - the embedded store's loopback-only credential
EMBEDDED_SIGNING_KEY = "vantage-development-signing-key"
MIN_SIGNING_KEY_CHARS = 32
_PLACEHOLDERS = ("change", "secret", "example", "placeholder", "your-", "xxxx", "todo", "dev")


def weak_signing_key(key: str) -> str | None:
    """Why ``key`` cannot sign tokens for anyone beyond this machine, or ``None`` when it can:
    the development default, anything short, or a placeholder left from an example file."""
    if key == EMBEDDED_SIGNING_KEY:
        return "it is the development default"
    if len(key) < MIN_SIGNING_KEY_CHARS:
        return f"it is shorter than {MIN_SIGNING_KEY_CHARS} characters"
    lowered = key.lower()
    template = any(c in key for c in "<>{} ") or "random" in lowered
    if template or any(word in lowered for word in _PLACEHOLDERS) or len(set(key)) < 10:
        return "it looks like a placeholder"
    return None


def serves_beyond_loopback(host: str) -> bool:
    return host not in ("127.0.0.1", "::1", "localhost")


class StorageSettings(BaseModel):
    endpoint_url: str | None = "http://127.0.0.1:8333"
    """S3 endpoint; ``None`` means AWS S3 itself."""
    public_endpoint_url: str | None = None
    """Endpoint used in presigned URLs when clients reach the store by another address."""
    region: str = "us-east-1"
    access_key: str = "vantage"
    secret_key: str = EMBEDDED_SECRET
    bucket: str = "vantage-media"
    part_size_mib: int = Field(default=16, ge=16, le=64)
    presign_expiry_s: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    unfinished_upload_days: int = Field(default=2, ge=1, le=365)
    """Multipart uploads left unfinished this long are aborted by the bucket's lifecycle rule
    (set at ``vantage init``), where the store keeps such rules."""


class BrokerSettings(BaseModel):
    url: str = "redis://127.0.0.1:6390/0"
    publish_timeout_s: float = Field(default=3.0, gt=0, le=60)
    """How long a publish (or a connection for one) may wait on the broker before it fails."""
    visibility_timeout_s: int = 4 * 3600
    """Longer than the longest task, so Redis never redelivers a task that is still running."""
    result_backend: str | None = None
    """Where chunked encodes' chords keep their parts' results; ``None``: the broker for Redis,
    else the catalog database."""
    namespace: str = Field(default="", pattern=r"^[A-Za-z0-9_-]*$")
    """Prefix of every queue name, so several installations (staging beside production, or
    parallel test runs) can share one broker; empty: the plain names."""


class DatabaseSettings(BaseModel):
    url: str | None = None
    """SQLAlchemy URL; ``None`` means the SQLite file ``<home>/vantage.db``."""
    echo: bool = False


class MediaSettings(BaseModel):
    ffmpeg: str | None = None
    """ffmpeg binary; ``None``: ``ffmpeg`` on PATH, else the one in the imageio-ffmpeg wheel."""
    profile: str = "broadcast"
    """Encoding profile of events that name none (see ``vantage profiles list``)."""
    profiles_dir: Path | None = None
    """Folder of the operator's own profiles (YAML or JSON); they replace built-ins by name."""
    chunk_seconds: float = Field(default=20.0, gt=1)
    """Length of the GOP-aligned chunks a long VOD file is split into across workers."""
    chunk_min_s: float = Field(default=90.0, ge=0)
    """Files shorter than this are encoded in one process; 0 chunks everything."""
    proxy_lines: int = Field(default=360, ge=144, le=1080)
    thumbnail_interval_s: float = Field(default=2.0, gt=0)
    ingest_root: Path | None = None
    """Folder the API may ingest files from; ``None`` disables ingest-by-path over the API."""
    max_input_bytes: int = 200 * 1024 * MIB
    transcode_timeout_s: int = 3 * 3600


class LiveSettings(BaseModel):
    spool_dir: Path | None = None
    """Where pullers write segments before upload; ``None`` means ``<home>/spool``."""
    segment_s: float = Field(default=2.0, gt=0)
    timeout_s: float = Field(default=5.0, gt=0)
    """A source that sends nothing for this long is dropped and reconnected."""
    stall_after_s: float = Field(default=6.0, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)
    give_up_after: int = Field(default=20, ge=1)
    """Connection attempts without a single segment before the feed is marked failed."""
    variants: list[int] = Field(default_factory=lambda: [720, 360])
    """Rungs each live segment is transcoded to as it lands."""
    min_free_spool_mb: int = Field(default=512, ge=0)
    """A puller does not start (and says so) when the spool has less free space than this."""
    window_segments: int = Field(default=10, ge=3)
    """Segments in a live (sliding-window) playlist."""
    lease_s: float = Field(default=15.0, ge=2)
    """How long a supervisor's hold on a feed lasts without renewal: a dead supervisor's feeds
    are taken over by another this long after it stopped renewing."""
    source_clock: bool = False
    """Place HLS sources by their own ``EXT-X-PROGRAM-DATE-TIME`` instead of arrival time.
    Exact against the encoder's stamps; off by default while the content sync is made to agree
    with it (with it on, the sync measured cameras 0.4 s apart as aligned in some test runs)."""
    hls_origins: list[str] = Field(default_factory=list)
    """Origins (``https://cdn.example.com``) an HLS feed's playlists may send its puller to,
    besides the feed's own: nothing else named in a playlist is fetched."""


class JobSettings(BaseModel):
    max_attempts: int = Field(default=3, ge=1, le=20)
    """Attempts a job gets against passing faults (storage down, a killed worker) before it is
    dead; faults of the input fail it at once."""
    retry_base_s: float = Field(default=10.0, gt=0)
    """First retry delay; each further retry waits twice as long, up to ten minutes."""
    stale_after_s: float = Field(default=120.0, ge=5)
    """A running job whose heartbeat is older than this has lost its worker."""
    reconcile_every_s: float = Field(default=30.0, gt=0)


class APISettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8800
    public_url: str = "http://127.0.0.1:8800"
    """Base URL that playlist and download links are built on."""
    page_limit: int = 200
    signing_key: str = EMBEDDED_SIGNING_KEY
    """Secret that playlist and segment tokens are signed with; the same on every API host."""
    token_ttl_s: int = Field(default=7200, ge=60, le=24 * 3600)
    """How long a signed playlist (and every URL in it) keeps working."""
    download_ttl_s: int = Field(default=300, ge=30, le=24 * 3600)
    """Lifetime of a presigned download or segment URL handed to a broadcaster."""
    cors_origins: list[str] = Field(default_factory=list)
    """Origins allowed to call the API from a browser: the editors' UI, nothing else."""
    media_origins: list[str] = Field(default_factory=lambda: ["*"])
    """Origins whose players may read signed media (playlists, manifests, sprites, segments, on
    the API and in the bucket): a media token carries its own authority, so any by default; a
    list narrows it, an empty list keeps signed media same-origin."""
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    rate_per_minute: int = Field(default=600, ge=1)
    """Requests one API key may make per minute, across every API process when the broker is
    Redis; bursts of at most a sixth of it in ten seconds."""
    media_rate_per_minute: int = Field(default=600, ge=1)
    """Playlist and segment requests one media token (one viewer) may make per minute; they do
    not draw on the key's own budget."""
    audit_retention_days: int = Field(default=400, ge=1)
    """How long delivery decisions stay in the audit trail: a rights year and a season of
    disputes by default; the reconciler removes older records every hour."""
    session_ttl_s: int = Field(default=12 * 3600, ge=300, le=7 * 24 * 3600)
    """How long an editor stays signed in to the web UI (never past the key's own expiry)."""
    webhook_attempts: int = Field(default=6, ge=1, le=20)
    """Attempts to deliver one webhook notification (backoff 10 s, 20 s, 40 s ...)."""
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    webhook_private_hosts: bool = False
    """Allow webhook URLs on loopback, private and link-local addresses (an on-premises
    receiver); off, so a broadcaster cannot aim our workers at the internal network."""


class ReplaySettings(BaseModel):
    """Bounds on one replay order, so no order can take a worker's memory (and, redelivered,
    its neighbours'): refused at order time with the reason."""

    max_range_s: float = Field(default=120.0, gt=0, le=3600)
    """The longest range one order may cover."""
    max_source_seconds: float = Field(default=600.0, gt=0)
    """Range length times the number of angles: what the worker decodes."""
    max_lines: int = Field(default=1080, ge=144, le=2160)
    """The tallest output picture (``lines``) an order may ask for."""
    max_slow_motion: float = Field(default=8.0, ge=1, le=16)
    """The largest slow-motion factor."""
    max_in_flight: int = Field(default=5, ge=1, le=1000)
    """Orders of one broadcaster queued or running at once; more wait for those to finish."""


class LogSettings(BaseModel):
    format: Literal["console", "json"] = "console"
    """``json``: one object per line for log shippers; ``console``: readable lines."""
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class MetricsSettings(BaseModel):
    worker_port: int | None = Field(default=None, ge=1, le=65535)
    """Where a worker serves its ``/metrics`` (all its pool processes summed); none by default.
    Several workers on one host each need their own (``vantage up`` counts up from 9810)."""


class StackSettings(BaseModel):
    """Ports of the embedded stack; chosen away from the standard PostgreSQL/Redis/S3 ports."""

    s3_port: int = 8333
    master_port: int = 9333
    volume_port: int = 18080
    filer_port: int = 18888
    redis_port: int = 6390
    simulator_port: int = 9700
    """HLS server of ``vantage simulate`` and the demo's live cameras."""
    workers: int = 1
    worker_concurrency: int = 2


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VANTAGE_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    environment: str = "development"
    home: Path = Path("var")
    storage: StorageSettings = Field(default_factory=StorageSettings)
    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    media: MediaSettings = Field(default_factory=MediaSettings)
    live: LiveSettings = Field(default_factory=LiveSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    api: APISettings = Field(default_factory=APISettings)
    stack: StackSettings = Field(default_factory=StackSettings)
    replays: ReplaySettings = Field(default_factory=ReplaySettings)
    log: LogSettings = Field(default_factory=LogSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @model_validator(mode="after")
    def _no_embedded_secret_in_production(self) -> Settings:
        if self.environment != "development" and self.storage.secret_key == EMBEDDED_SECRET:
            raise ValueError(
                "VANTAGE_STORAGE__SECRET_KEY still has the embedded default; set a real secret"
            )
        if self.environment != "development" and self.api.signing_key == EMBEDDED_SIGNING_KEY:
            raise ValueError(
                "VANTAGE_API__SIGNING_KEY still has the development default; set a real secret"
            )
        return self

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.home / 'vantage.db'}"

    @property
    def spool_dir(self) -> Path:
        return self.live.spool_dir or self.home / "spool"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
