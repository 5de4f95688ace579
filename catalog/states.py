"""The feed and recording state machines. Every change of a feed's state or a recording's status
goes through a verb here: the move is checked against the table below, and a verb whose result is
already in place does nothing and says so (``False``), so a repeated API call, a redelivered task
or a puller reporting the same thing twice changes nothing. Verbs take loaded rows and never
commit; the caller's session scope does.

Feeds::

    idle ──start──▶ connecting ──▶ live ◀──▶ stalled (also: a full spool, before connecting)
                       ▲  │          │          │
                       │  └──────────┴──────────┴──▶ stopped | failed
                       └───────────── start ◀────────────┘

Recordings (assets)::

    ingesting ──▶ processing ──▶ ready ◀──┐        recording ──▶ ready | failed
         └──────────┴──────────▶ failed ──┘ retry     ▲ a live feed that starts again
"""

from __future__ import annotations

from catalog.models import Asset, AssetStatus, Feed, FeedState
from infra.core.errors import Conflict
from infra.core.logs import redact_or_none

FEED_MOVES: dict[FeedState, frozenset[FeedState]] = {
    FeedState.IDLE: frozenset({FeedState.CONNECTING, FeedState.STALLED, FeedState.STOPPED}),
    FeedState.CONNECTING: frozenset(
        {FeedState.LIVE, FeedState.STALLED, FeedState.STOPPED, FeedState.FAILED}
    ),
    FeedState.LIVE: frozenset(
        {FeedState.STALLED, FeedState.CONNECTING, FeedState.STOPPED, FeedState.FAILED}
    ),
    FeedState.STALLED: frozenset(
        {FeedState.LIVE, FeedState.CONNECTING, FeedState.STOPPED, FeedState.FAILED}
    ),
    FeedState.STOPPED: frozenset({FeedState.CONNECTING, FeedState.STALLED}),
    FeedState.FAILED: frozenset({FeedState.CONNECTING, FeedState.STALLED}),
}
"""Where a feed may go from each state. Staying put (with a new detail) is always allowed. A
puller that finds its spool disk full says ``stalled`` before it ever connects."""

ASSET_MOVES: dict[AssetStatus, frozenset[AssetStatus]] = {
    AssetStatus.INGESTING: frozenset(
        {AssetStatus.PROCESSING, AssetStatus.READY, AssetStatus.FAILED}
    ),
    AssetStatus.PROCESSING: frozenset({AssetStatus.READY, AssetStatus.FAILED}),
    AssetStatus.RECORDING: frozenset({AssetStatus.READY, AssetStatus.FAILED}),
    AssetStatus.READY: frozenset({AssetStatus.RECORDING}),
    AssetStatus.FAILED: frozenset(
        {AssetStatus.PROCESSING, AssetStatus.READY, AssetStatus.RECORDING}
    ),
}
"""Where a recording may go from each status. A ready recording being transcoded again stays
ready (it keeps playing) until the new ladder replaces the old one."""


class IllegalMove(Conflict):
    """A state change the machine does not allow (a stopped feed going live without a start)."""


def _move_feed(feed: Feed, state: FeedState, detail: str | None) -> bool:
    detail = redact_or_none(detail)  # a source's error can quote its URL, passphrase and all
    if feed.state is state:
        changed = feed.state_detail != detail
        feed.state_detail = detail
        return changed
    if state not in FEED_MOVES[feed.state]:
        raise IllegalMove(f"feed {feed.name}: cannot go from {feed.state} to {state}")
    feed.state, feed.state_detail = state, detail
    return True


def _move_asset(asset: Asset, status: AssetStatus, error: str | None = None) -> bool:
    if asset.status is status:
        changed = asset.error != error
        asset.error = error
        return changed
    if status not in ASSET_MOVES[asset.status]:
        raise IllegalMove(f"recording {asset.filename}: cannot go from {asset.status} to {status}")
    asset.status, asset.error = status, error
    return True


# -- feeds ---------------------------------------------------------------------------------------


def start_feed(feed: Feed, *, detail: str | None = "start requested") -> bool:
    """Ask the supervisor to pull the feed: enabled, connecting. A feed already enabled is left as
    it is (it may be live)."""
    if feed.enabled:
        return False
    feed.enabled = True
    _move_feed(feed, FeedState.CONNECTING, detail)
    return True


def stop_feed(feed: Feed) -> bool:
    """Ask the supervisor to stop pulling; the puller reports ``stopped`` once the last segment
    is recorded."""
    if not feed.enabled:
        return False
    feed.enabled = False
    return True


def report_feed(feed: Feed, state: FeedState, detail: str | None = None) -> bool:
    """What the feed's puller saw. A feed that failed is disabled: it is pulled again only when an
    operator starts it."""
    changed = _move_feed(feed, state, detail)
    if state is FeedState.FAILED:
        feed.enabled = False
    return changed


# -- recordings ----------------------------------------------------------------------------------


def begin_processing(asset: Asset) -> bool:
    """A ladder job starts on the recording. A ready one stays ready (it keeps playing)."""
    if asset.status is AssetStatus.READY:
        return False
    return _move_asset(asset, AssetStatus.PROCESSING)


def publish_asset(asset: Asset) -> bool:
    """The recording's ladder is published. True the first time it becomes ready."""
    return _move_asset(asset, AssetStatus.READY)


def fail_asset(asset: Asset, reason: str | None) -> bool:
    """A final failure, with the reason the recording shows."""
    return _move_asset(asset, AssetStatus.FAILED, reason)


def start_recording(asset: Asset) -> bool:
    """A live feed's recording grows again (its feed went live)."""
    return _move_asset(asset, AssetStatus.RECORDING)


def end_recording(asset: Asset) -> bool:
    """A live feed stopped or failed: its recording is ready when it holds anything, else failed."""
    if asset.size_bytes:
        return _move_asset(asset, AssetStatus.READY)
    return _move_asset(asset, AssetStatus.FAILED, asset.error)
