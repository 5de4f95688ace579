"""Request and response bodies, one module per subject. The CLI prints the same shapes with
``--json``. Turning catalog rows into these bodies (the URLs they carry, the fields only staff
see) is :mod:`api.builders`' work.
"""

from __future__ import annotations

from api.schemas.access import (
    AiringIn,
    AuditOut,
    BroadcasterIn,
    BroadcasterOut,
    GrantIn,
    GrantOut,
    GrantUsageOut,
    KeyCreated,
    KeyIn,
    KeyOut,
    MeOut,
    Territory,
    UsageOut,
)
from api.schemas.events import (
    AssetOut,
    DownloadOut,
    EventCreate,
    EventEnd,
    EventOut,
    EventSummary,
    FeedCreate,
    FeedOut,
    GapOut,
    IngestFeedIn,
    IngestIn,
    IngestResultOut,
    RenditionOut,
)
from api.schemas.jobs import JobOut
from api.schemas.pages import MAX_OFFSET, CursorPage, Page, T
from api.schemas.replays import (
    ClearanceOut,
    MarkerIn,
    MarkerOut,
    ReplayIn,
    ReplayOut,
    ReplayOutput,
    RuleIn,
    RuleOut,
)
from api.schemas.search import SearchHitOut, SearchOut
from api.schemas.webhooks import DeliveryOut, WebhookCreated, WebhookIn, WebhookOut

__all__ = [
    "MAX_OFFSET",
    "AiringIn",
    "AssetOut",
    "AuditOut",
    "BroadcasterIn",
    "BroadcasterOut",
    "ClearanceOut",
    "CursorPage",
    "DeliveryOut",
    "DownloadOut",
    "EventCreate",
    "EventEnd",
    "EventOut",
    "EventSummary",
    "FeedCreate",
    "FeedOut",
    "GapOut",
    "GrantIn",
    "GrantOut",
    "GrantUsageOut",
    "IngestFeedIn",
    "IngestIn",
    "IngestResultOut",
    "JobOut",
    "KeyCreated",
    "KeyIn",
    "KeyOut",
    "MarkerIn",
    "MarkerOut",
    "MeOut",
    "Page",
    "RenditionOut",
    "ReplayIn",
    "ReplayOut",
    "ReplayOutput",
    "RuleIn",
    "RuleOut",
    "SearchHitOut",
    "SearchOut",
    "T",
    "Territory",
    "UsageOut",
    "WebhookCreated",
    "WebhookIn",
    "WebhookOut",
]
