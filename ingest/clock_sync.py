"""Measure every feed of an event against a reference feed, from content, and move each feed
on the event clock by what was measured.

The same stretch of the event clock is cut from each feed's recording (the last ``window_s``
seconds all feeds cover), so what the measurement finds is exactly the correction: after it, the
same moment sits at the same event time on every feed.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from catalog import search, services
from catalog.models import Asset, AssetKind, Feed, Gap, Segment
from infra.core.database import session_scope
from infra.core.errors import BadRequest
from infra.core.storage import ObjectStore
from ingest.media.sync import measure_offset, picture_lead, sync_clip_args
from transcode import pictures
from transcode.errors import FFmpegError, MediaError
from transcode.ffmpeg import run_ffmpeg


@dataclass(frozen=True)
class FeedSync:
    feed: str
    correction_s: float
    """How far the feed was moved on the event clock."""
    offset_s: float
    """The feed's offset after the move."""
    confidence: float
    method: str


@dataclass(frozen=True)
class _Span:
    feed_id: str
    name: str
    asset_id: str
    start: float
    end: float
    pieces: list[tuple[str, float, float]]
    """(key, clock start, duration) of what covers the span, in order."""


def _span(session: Session, feed_id: str) -> _Span | None:
    feed = services.get_feed(feed_id, session=session)
    asset = services.find_live_asset(feed_id, session=session)
    if asset is None:
        files = [a for a in services.list_assets(
            services.AssetFilter(feed_id=feed_id), session=session, limit=1
        )[0] if a.kind is AssetKind.FILE]  # fmt: skip
        if not files:
            return None
        asset = files[0]
        return _Span(
            feed_id, feed.name, asset.id, asset.clock_start_s,
            asset.clock_start_s + asset.duration_s,
            [(asset.original_key, asset.clock_start_s, asset.duration_s)],
        )  # fmt: skip
    segments = list(services.recent_segments(asset.id, session=session))
    if not segments:
        return None
    # Measure on the current connection only: across a reconnect the content jumps.
    restarts = [i for i, s in enumerate(segments) if s.discontinuity]
    if restarts:
        segments = segments[restarts[-1] :]
    pieces = [(s.key, s.clock_start_s, s.duration_s) for s in segments]
    return _Span(feed_id, feed.name, asset.id, pieces[0][1], pieces[-1][1] + pieces[-1][2], pieces)


def _cut(
    ffmpeg: str, store: ObjectStore, span: _Span, start: float, end: float, folder: Path
) -> tuple[Path, float]:
    """The feed's media for event-clock [start, end] as one local file, and the event time its
    first moment sits at (later than ``start`` when the recording has a hole there)."""
    wanted = [p for p in span.pieces if p[1] < end and p[1] + p[2] > start]
    joined = folder / f"{span.feed_id}.joined"
    with joined.open("wb") as out:
        for index, (key, _, _) in enumerate(wanted):
            part = folder / f"{span.feed_id}-{index}.part"
            store.get_file(key, part)
            out.write(part.read_bytes())
            part.unlink()
    first = wanted[0][1]
    begins = max(start, first)
    # A segment sits on the clock by its first picture; ffmpeg seeks from the file's first
    # packet, which may be sound a little before it.
    into = begins - first + picture_lead(joined)
    clip = folder / f"{span.feed_id}.mkv"
    try:
        run_ffmpeg(ffmpeg, sync_clip_args(joined, into, end - begins, clip), timeout_s=300)
    except FFmpegError as exc:
        raise MediaError(f"{span.name}: cannot cut {start:.1f}-{end:.1f} s for sync") from exc
    return clip, begins


def sync_event(
    event_id: str,
    *,
    sessions: sessionmaker[Session],
    store: ObjectStore,
    ffmpeg: str,
    reference: str | None = None,
    window_s: float = 20.0,
) -> list[FeedSync]:
    """Measure and apply each feed's offset against ``reference`` (default: the first feed)."""
    with session_scope(sessions) as session:
        event = services.get_event(event_id, session=session)
        feeds = services.list_feeds(session=session, event_id=event.id)
        spans = [s for s in (_span(session, f.id) for f in feeds) if s is not None]
    if len(spans) < 2:
        raise BadRequest("sync needs at least two feeds with recordings")
    ref = next((s for s in spans if s.name == reference), spans[0]) if reference else spans[0]
    if reference and ref.name != reference:
        raise BadRequest(f"no recorded feed named {reference!r}")
    start = max(s.start for s in spans)
    end = min(s.end for s in spans)
    if end - start < 3.0:
        raise BadRequest("the feeds share less than 3 s of the event clock; record longer")
    start = max(start, end - window_s)
    results = []
    with tempfile.TemporaryDirectory(prefix="vantage-sync-") as scratch:
        folder = Path(scratch)
        ref_clip, ref_begins = _cut(ffmpeg, store, ref, start, end, folder)
        for span in spans:
            if span is ref:
                continue
            clip, begins = _cut(ffmpeg, store, span, start, end, folder)
            estimate = measure_offset(ffmpeg, ref_clip, clip, max_lag_s=(end - start) / 3)
            # A moment ``t`` into this clip is at ``begins + t``; the reference shows it
            # ``offset_s`` later into its own clip, at ``ref_begins + t + offset_s``.
            correction = round(ref_begins - begins + estimate.offset_s, 4)
            with session_scope(sessions) as session:
                _move(session, span, correction)
                feed = services.get_feed(span.feed_id, session=session)
                feed.clock_confidence = round(estimate.confidence, 3)
                feed.clock_method = estimate.method
                results.append(
                    FeedSync(span.name, correction, feed.clock_offset_s,
                             feed.clock_confidence, estimate.method)
                )  # fmt: skip
    with session_scope(sessions) as session:
        session.execute(  # a write first, as in _move
            update(Feed)
            .where(Feed.id == ref.feed_id)
            .values(clock_method="reference", clock_confidence=1.0)
        )
        search.reindex_event(event_id, session=session)
    return results


def _move(session: Session, span: _Span, correction: float) -> None:
    """Shift the feed, its recording, segments and gaps by ``correction`` seconds.

    The transaction starts with a write: on SQLite, one that read first and then wrote after a
    puller committed a segment would fail at once ("database is locked") instead of waiting."""
    session.execute(
        update(Segment)
        .where(Segment.feed_id == span.feed_id)
        .values(clock_start_s=Segment.clock_start_s + correction)
    )
    session.execute(
        update(Gap)
        .where(Gap.feed_id == span.feed_id)
        .values(
            clock_start_s=Gap.clock_start_s + correction, clock_end_s=Gap.clock_end_s + correction
        )
    )
    session.execute(
        update(Asset)
        .where(Asset.feed_id == span.feed_id)
        .values(clock_start_s=Asset.clock_start_s + correction)
    )
    feed = services.get_feed(span.feed_id, session=session)
    feed.clock_offset_s = round(feed.clock_offset_s + correction, 4)


def picture_at(
    sessions: sessionmaker[Session], store: ObjectStore, feed_id: str, at_s: float, folder: Path
) -> pictures.Picture:
    """The picture a live feed shows at event time ``at_s`` (BGR), decoded from its segment."""
    with session_scope(sessions) as session:
        asset = services.find_live_asset(feed_id, session=session)
        segments = services.recent_segments(asset.id, session=session) if asset else []
        # The newest recording of that instant, should two connections overlap there.
        segment = next(
            (
                s
                for s in reversed(segments)
                if s.clock_start_s <= at_s < s.clock_start_s + s.duration_s
            ),
            None,
        )
        if segment is None:
            raise BadRequest(f"feed {feed_id} has no segment at {at_s:.3f} s")
        key, start = segment.key, segment.clock_start_s
    local = folder / f"{feed_id}-{round(at_s * 1000)}{Path(key).suffix}"  # read by its container
    store.get_file(key, local)
    try:
        return pictures.picture_at(local, at_s - start)
    except MediaError as exc:
        raise MediaError(f"feed {feed_id}: nothing decodes at {at_s:.3f} s") from exc
    finally:
        local.unlink(missing_ok=True)
