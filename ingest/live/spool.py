"""The spool: segments on local disk until they are safely in the bucket and the catalog.

A segment goes closed -> checksummed -> uploaded -> recorded -> deleted, in that order, so a
crash at any point leaves it either still on disk (and retried) or fully recorded. Keys are
derived from the puller session and file name and the catalog refuses a second row for a key,
so a retry never records a segment twice.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from catalog import keys, services
from catalog.models import Asset, Gap, Segment
from infra.core.database import after_commit, session_scope
from infra.core.errors import StorageError
from infra.core.queue import send_job
from infra.core.settings import Settings
from infra.core.storage import ObjectStore, sha256_file
from ingest.media.segmenter import (
    LIST_NAME,
    ClosedSegment,
    parse_segment_list,
    segment_format,
    segment_timing,
)

log = logging.getLogger(__name__)

ANCHOR_NAME = "anchor.json"
ANCHOR_SEGMENTS = 4
"""Segments over which a connection's wall-clock anchor may still tighten."""
LIVE_SEGMENT_TASK = "vantage.transcode_live_segment"


@dataclass
class Anchor:
    """Ties a puller session's own timestamps to the wall clock: the first frame of its first
    segment arrived at ``wall`` (epoch seconds) and had presentation time ``pts``."""

    reason: str
    """Why this session started: recorded as the gap before it, if there is one."""
    wall: float | None = None
    pts: float | None = None
    settled: int = 0
    """Segments that have bounded ``wall`` so far; after a few the anchor is fixed, so a later
    measured offset (``events sync``) is not undone by arrival jitter."""
    source: str = "arrival"
    """What placed the session: ``arrival`` (when segments closed), or the source's own clock
    (``program-date-time``), which arrival never moves."""

    @classmethod
    def load(cls, session_dir: Path) -> Anchor:
        path = session_dir / ANCHOR_NAME
        if not path.exists():
            return cls(reason="puller restarted")
        return cls(**json.loads(path.read_text()))

    def save(self, session_dir: Path) -> None:
        tmp = session_dir / (ANCHOR_NAME + ".tmp")
        tmp.write_text(json.dumps(asdict(self)))
        tmp.replace(session_dir / ANCHOR_NAME)

    def wall_clock(self, pts: float) -> float:
        assert self.wall is not None and self.pts is not None
        return self.wall + (pts - self.pts)


@dataclass(frozen=True)
class Recorded:
    segment_id: str
    clock_start_s: float
    duration_s: float
    lag_s: float
    format_change: str | None = None
    """Set when this segment's format differs from the feed's previous one."""


@dataclass(frozen=True)
class LiveRuntime:
    """What pullers and the supervisor share."""

    settings: Settings
    sessions: sessionmaker[Session]
    store: ObjectStore
    ffmpeg: str
    enqueue: bool = True


def pending(session_dir: Path, *, final: bool) -> list[ClosedSegment]:
    """Segments of a session still on disk, in order. With ``final`` (the puller has exited) a
    last file that never made it into the list is included if anything in it decodes."""
    listed = []
    list_path = session_dir / LIST_NAME
    if list_path.exists():
        listed = parse_segment_list(list_path.read_text())
    names = {s.filename for s in listed}
    ready = [s for s in listed if (session_dir / s.filename).exists()]
    if final:
        for path in sorted(session_dir.glob("*.ts")):
            if path.name not in names:
                salvaged = segment_timing(path)
                if salvaged is None:
                    path.unlink()
                else:
                    ready.append(salvaged)
    return ready


def record(
    runtime: LiveRuntime, feed_id: str, session_dir: Path, closed: ClosedSegment
) -> Recorded | None:
    """Upload and record one closed segment; ``None`` when it was already recorded.

    Raises :class:`StorageError` when the bucket cannot take it: the file stays in the spool.
    """
    path = session_dir / closed.filename
    closed_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    anchor = Anchor.load(session_dir)
    # A segment cannot close before its last frame was captured, so each one bounds the wall
    # time of the session's first frame from above; segments read in a burst (an HLS live edge,
    # a jitter buffer) bound it loosely, real-time ones tightly. Keep the tightest bound seen
    # over the first few segments of the connection, then hold it.
    if anchor.wall is None:
        anchor.pts = closed.start_s
    assert anchor.pts is not None
    bound = closed_at.timestamp() - (closed.end_s - anchor.pts)
    moved = 0.0
    if anchor.wall is None:
        anchor.wall = bound
        anchor.settled = 1
        anchor.save(session_dir)
    elif anchor.settled < ANCHOR_SEGMENTS:
        anchor.settled += 1
        if bound < anchor.wall - 0.02:
            moved = bound - anchor.wall
            anchor.wall = bound
    with session_scope(runtime.sessions) as session:
        feed = services.get_feed(feed_id, session=session)
        asset = services.live_asset(feed, session=session)
        key = keys.live_segment_key(
            feed.event_id, feed.id, asset.id, session_dir.name, closed.filename
        )
        if services.segment_by_key(key, session=session) is not None:
            path.unlink(missing_ok=True)
            return None
        event_id, asset_id = feed.event_id, asset.id
    digest = sha256_file(path)
    media_format = segment_format(path)
    stored = runtime.store.put_file(path, key, sha256=digest)
    wall_start = anchor.wall_clock(closed.start_s)
    try:
        with session_scope(runtime.sessions) as session:
            if moved:
                _shift_session(session, feed_id, key.rsplit("/", 1)[0] + "/", moved)
            result = _insert(
                session, feed_id, event_id, asset_id, key, closed, wall_start, closed_at,
                stored.size_bytes, digest, anchor, media_format,
            )  # fmt: skip
            if runtime.enqueue:
                segment_id = result.segment_id
                after_commit(session, lambda: _send_live_segment(runtime, segment_id, key))
    except IntegrityError:
        # Another drain recorded it between our check and our insert.
        path.unlink(missing_ok=True)
        return None
    anchor.save(session_dir)
    path.unlink(missing_ok=True)
    return result


def _shift_session(session: Session, feed_id: str, prefix: str, seconds: float) -> None:
    """Move the segments of one puller session (and the gap before it) by ``seconds``."""
    rows = session.scalars(
        select(Segment).where(Segment.feed_id == feed_id, Segment.key.startswith(prefix))
    ).all()
    if not rows:
        return
    first = min(rows, key=lambda s: s.sequence)
    gap = session.scalar(
        select(Gap).where(Gap.feed_id == feed_id, Gap.clock_end_s == first.clock_start_s)
    )
    for row in rows:
        row.clock_start_s = round(row.clock_start_s + seconds, 6)
        if row.program_date_time is not None:
            row.program_date_time += timedelta(seconds=seconds)
    if gap is not None:
        gap.clock_end_s = round(gap.clock_end_s + seconds, 6)
        if gap.clock_end_s <= gap.clock_start_s:
            session.delete(gap)
    if first.sequence == 0:
        asset = session.get(Asset, first.asset_id)
        if asset is not None:
            asset.clock_start_s = first.clock_start_s
    session.flush()


def _insert(
    session: Session,
    feed_id: str,
    event_id: str,
    asset_id: str,
    key: str,
    closed: ClosedSegment,
    wall_start: float,
    closed_at: datetime,
    size: int,
    digest: str,
    anchor: Anchor,
    media_format: str | None,
) -> Recorded:
    feed = services.get_feed(feed_id, session=session)
    event = services.get_event(event_id, session=session)
    origin = event.clock_origin
    if origin is None:  # the event's first recording: it sets the clock, unless another just did
        origin, _ = services.settle_clock_origin(
            event, wall_clock=datetime.fromtimestamp(wall_start, UTC), session=session
        )
        assert origin is not None
    clock_start = round(wall_start - origin.timestamp() + feed.clock_offset_s, 6)
    previous = services.recent_segments(asset_id, session=session, limit=1)
    first_of_session = not any(s.key.startswith(key.rsplit("/", 1)[0] + "/") for s in previous)
    if first_of_session and previous:
        last = previous[0]
        last_end = last.clock_start_s + last.duration_s
        if clock_start - last_end > 0.1:
            session.add(
                Gap(
                    feed_id=feed_id,
                    asset_id=asset_id,
                    clock_start_s=round(last_end, 6),
                    clock_end_s=clock_start,
                    reason=anchor.reason,
                )
            )
    change = None
    if media_format and feed.source_format and media_format != feed.source_format:
        # A player must reset its decoder here: the segment starts a discontinuity.
        change = f"source changed from {feed.source_format} to {media_format}"
    if media_format:
        feed.source_format = media_format
    segment = Segment(
        asset_id=asset_id,
        feed_id=feed_id,
        sequence=services.next_sequence(asset_id, session=session),
        key=key,
        clock_start_s=clock_start,
        duration_s=closed.duration_s,
        size_bytes=size,
        sha256=digest,
        discontinuity=(first_of_session and bool(previous)) or change is not None,
        program_date_time=datetime.fromtimestamp(wall_start, UTC),
        clock_source=anchor.source,
        # The tag is written to the millisecond; arrival's error is not known from here.
        clock_uncertainty_s=0.001 if anchor.source != "arrival" else None,
        closed_at=closed_at,
    )
    session.add(segment)
    session.flush()
    now = datetime.now(UTC)
    lag = (now - closed_at).total_seconds()
    feed.last_segment_at = now
    feed.lag_s = round(lag, 3)
    if closed.duration_s > 0:
        feed.bitrate_kbps = round(size * 8 / closed.duration_s / 1000, 1)
    asset = services.get_asset(asset_id, session=session)
    asset.clock_source = anchor.source
    if not previous:
        asset.clock_start_s = clock_start
    asset.duration_s = round(clock_start + closed.duration_s - asset.clock_start_s, 6)
    asset.size_bytes += size
    return Recorded(segment.id, clock_start, closed.duration_s, lag, change)


@dataclass(frozen=True)
class Committed:
    count: int
    storage_problem: str | None = None
    """Why the bucket refused a segment; it and the rest wait in the spool."""
    format_change: str | None = None


def commit_ready(
    runtime: LiveRuntime, feed_id: str, session_dir: Path, *, final: bool
) -> Committed:
    """Record every segment of the session that is ready, in order."""
    count, change = 0, None
    for closed in pending(session_dir, final=final):
        try:
            recorded = record(runtime, feed_id, session_dir, closed)
        except StorageError as exc:
            return Committed(count, exc.detail, change)
        if recorded is not None:
            count += 1
            change = recorded.format_change or change
    if final and not any(session_dir.glob("*.ts")):
        shutil.rmtree(session_dir, ignore_errors=True)
    return Committed(count, None, change)


def drain(
    runtime: LiveRuntime, feed_id: str, *, skip: Path | None = None
) -> tuple[int, str | None]:
    """Record what earlier sessions of the feed left in the spool (after a crash or an outage)."""
    feed_dir = runtime.settings.spool_dir / feed_id
    total = 0
    if not feed_dir.exists():
        return 0, None
    for session_dir in sorted(p for p in feed_dir.iterdir() if p.is_dir()):
        if skip is not None and session_dir == skip:
            continue
        committed = commit_ready(runtime, feed_id, session_dir, final=True)
        total += committed.count
        if committed.storage_problem:
            return total, committed.storage_problem
    return total, None


def _send_live_segment(runtime: LiveRuntime, segment_id: str, key: str) -> None:
    try:
        send_job(runtime.settings, LIVE_SEGMENT_TASK, segment_id)
    except Exception as exc:  # noqa: BLE001 - the source segment is safe; renditions can wait
        log.warning("could not enqueue live transcode of %s: %s", key, exc)
