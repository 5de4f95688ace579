"""Catalog services. Each takes the session as a keyword-only argument and never commits: the
caller's unit of work does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select, true, update
from sqlalchemy.orm import Session, aliased, selectinload

from catalog import keys, search, states
from catalog.models import (
    Asset,
    AssetKind,
    AssetStatus,
    Event,
    Feed,
    Gap,
    Job,
    JobKind,
    JobStatus,
    Rendition,
    RenditionSegment,
    Replay,
    Segment,
    utcnow,
)
from infra.core.errors import Conflict, NotFound

# -- events --------------------------------------------------------------------------------------


def list_events(
    *,
    session: Session,
    limit: int = 100,
    offset: int = 0,
    visible: ColumnElement[bool] | None = None,
) -> tuple[Sequence[Event], int]:
    """Events, newest first, and how many there are in all (of those ``visible`` admits)."""
    where = visible if visible is not None else true()
    query = (
        select(Event)
        .where(where)
        .order_by(Event.created_at.desc(), Event.id)
        .limit(limit)
        .offset(offset)
    )
    total = session.scalar(select(func.count()).select_from(Event).where(where)) or 0
    return session.scalars(query).all(), total


@dataclass(frozen=True)
class Visibility:
    """What a caller may see, as clauses over each table (see :class:`catalog.access.Caller`)."""

    events: ColumnElement[bool]
    feeds: ColumnElement[bool]
    assets: ColumnElement[bool]


def get_event(
    event_id: str, *, session: Session, detail: bool = False, visible: Visibility | None = None
) -> Event:
    """One event by id; with ``detail`` its feeds, assets and renditions are loaded too (only
    those ``visible`` admits)."""
    query = select(Event).where(Event.id == event_id)
    if visible is not None:
        query = query.where(visible.events)
    if detail:
        feeds = Event.feeds if visible is None else Event.feeds.and_(visible.feeds)
        assets = Feed.assets if visible is None else Feed.assets.and_(visible.assets)
        query = query.options(
            selectinload(feeds).selectinload(assets).selectinload(Asset.renditions)
        )
    event = session.scalar(query)
    if event is None:
        raise NotFound(f"no event with id {event_id}")
    return event


def get_event_by_name(name: str, *, session: Session, detail: bool = False) -> Event:
    """One event by its name."""
    event_id = session.scalar(select(Event.id).where(Event.name == name))
    if event_id is None:
        raise NotFound(f"no event named {name!r}")
    return get_event(event_id, session=session, detail=detail)


def create_event(
    name: str,
    *,
    session: Session,
    sport: str | None = None,
    venue: str | None = None,
    clock_origin: datetime | None = None,
    profile: str | None = None,
) -> Event:
    """Create an event; its name must be new."""
    if session.scalar(select(Event.id).where(Event.name == name)) is not None:
        raise Conflict(f"an event named {name!r} already exists")
    event = Event(name=name, sport=sport, venue=venue, clock_origin=clock_origin, profile=profile)
    session.add(event)
    session.flush()
    search.index_event(event, session=session)
    return event


def settle_clock_origin(
    event: Event,
    *,
    session: Session,
    wall_clock: datetime | None = None,
    timecode_s: float | None = None,
) -> tuple[datetime | None, float | None]:
    """Give the event the origins it does not have yet, and return the ones it has.

    Each origin is written only where it is still unset, in one statement: when two feeds place
    their first recordings at the same moment, the first write wins and the other feed reads it
    back, so both sit on the one clock (a read-then-write would let the later one move the
    origin under the first feed's segments)."""
    wanted = ((Event.clock_origin, wall_clock), (Event.timecode_origin, timecode_s))
    for column, value in wanted:
        if value is not None:
            session.execute(
                update(Event)
                .where(Event.id == event.id, column.is_(None))
                .values({column: value})
                .execution_options(synchronize_session=False)
            )
    session.refresh(event, ["clock_origin", "timecode_origin"])
    return event.clock_origin, event.timecode_origin


# -- feeds ---------------------------------------------------------------------------------------


def get_feed(feed_id: str, *, session: Session, visible: ColumnElement[bool] | None = None) -> Feed:
    if visible is None:
        feed = session.get(Feed, feed_id)
    else:
        feed = session.scalar(select(Feed).where(Feed.id == feed_id, visible))
    if feed is None:
        raise NotFound(f"no feed with id {feed_id}")
    return feed


def get_or_create_feed(
    event: Event, name: str, *, session: Session, source: str | None = None
) -> Feed:
    """The event's feed called ``name``, created on first use."""
    feed = session.scalar(select(Feed).where(Feed.event_id == event.id, Feed.name == name))
    if feed is None:
        feed = Feed(event_id=event.id, name=name, source=source)
        session.add(feed)
        session.flush()
        search.index_feed(feed, event, session=session)
    return feed


# -- assets --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssetFilter:
    event_id: str | None = None
    feed_id: str | None = None
    status: AssetStatus | None = None


def list_assets(
    filters: AssetFilter,
    *,
    session: Session,
    limit: int = 100,
    offset: int = 0,
    visible: ColumnElement[bool] | None = None,
) -> tuple[Sequence[Asset], int]:
    """Assets matching ``filters`` (newest first) and how many match in all."""
    query = select(Asset).where(visible if visible is not None else true())
    if filters.event_id:
        query = query.where(Asset.event_id == filters.event_id)
    if filters.feed_id:
        query = query.where(Asset.feed_id == filters.feed_id)
    if filters.status:
        query = query.where(Asset.status == filters.status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = (
        query.options(selectinload(Asset.renditions), selectinload(Asset.feed))
        .order_by(Asset.created_at.desc(), Asset.id)
        .limit(limit)
        .offset(offset)
    )
    return session.scalars(page).all(), total


def get_asset(
    asset_id: str, *, session: Session, visible: ColumnElement[bool] | None = None
) -> Asset:
    """One asset with its feed and renditions (when ``visible`` admits it)."""
    query = (
        select(Asset)
        .where(Asset.id == asset_id, visible if visible is not None else true())
        .options(selectinload(Asset.renditions), selectinload(Asset.feed))
    )
    asset = session.scalar(query)
    if asset is None:
        raise NotFound(f"no asset with id {asset_id}")
    return asset


def add_segment(asset: Asset, segment: Segment, *, session: Session) -> Segment:
    segment.asset_id = asset.id
    segment.feed_id = asset.feed_id
    session.add(segment)
    session.flush()
    return segment


def replace_renditions(asset: Asset, renditions: list[Rendition], *, session: Session) -> None:
    """Make ``renditions`` the asset's whole ladder: rows are matched by name, so a re-run
    updates them in place and one set of rows remains."""
    existing = {
        r.name: r for r in session.scalars(select(Rendition).where(Rendition.asset_id == asset.id))
    }
    wanted = {r.name for r in renditions}
    for name, old in existing.items():
        if name not in wanted:
            session.delete(old)
    for rendition in renditions:
        row = existing.get(rendition.name)
        if row is None:
            rendition.asset_id = asset.id
            session.add(rendition)
            continue
        for column in (
            "width",
            "height",
            "video_kbps",
            "audio_kbps",
            "codecs",
            "playlist_key",
            "segment_count",
            "size_bytes",
        ):
            setattr(row, column, getattr(rendition, column))
    session.flush()


# -- jobs ----------------------------------------------------------------------------------------


def create_job(
    kind: JobKind,
    *,
    session: Session,
    event_id: str | None = None,
    feed_id: str | None = None,
    asset_id: str | None = None,
    subject: str | None = None,
    max_attempts: int = 3,
    options: dict[str, Any] | None = None,
) -> Job:
    job = Job(
        kind=kind,
        event_id=event_id,
        feed_id=feed_id,
        asset_id=asset_id,
        subject=subject,
        max_attempts=max_attempts,
        options=options,
    )
    session.add(job)
    session.flush()
    return job


def order_mezzanine(asset_id: str, *, session: Session, max_attempts: int = 3) -> Job:
    """A mezzanine job for a file recording (a live one has no single original)."""
    asset = get_asset(asset_id, session=session)
    if asset.kind is AssetKind.LIVE:
        raise Conflict("a live recording has no single original to deliver as a mezzanine")
    return create_job(
        JobKind.MEZZANINE,
        session=session,
        event_id=asset.event_id,
        feed_id=asset.feed_id,
        asset_id=asset.id,
        subject=f"mezzanine of {asset.filename}",
        max_attempts=max_attempts,
    )


def get_job(job_id: str, *, session: Session) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job with id {job_id}")
    return job


def list_jobs(
    *, session: Session, event_id: str | None = None, asset_ids: Sequence[str] | None = None
) -> Sequence[Job]:
    query = select(Job).order_by(Job.created_at)
    if event_id:
        query = query.where(Job.event_id == event_id)
    if asset_ids is not None:
        query = query.where(Job.asset_id.in_(asset_ids))
    return session.scalars(query).all()


def claim_job(job_id: str, *, session: Session, stale_after_s: float = 120.0) -> bool:
    """Compare-and-set a job to running. True for a queued job, or a running one whose worker
    stopped beating (it died); False for a job that is finished, running elsewhere or unknown,
    so a redelivered message never runs a job twice at once or again after it ended."""
    stale = utcnow() - timedelta(seconds=stale_after_s)
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            or_(
                Job.status == JobStatus.QUEUED,
                (Job.status == JobStatus.RUNNING)
                & or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < stale),
            ),
        )
        .values(
            status=JobStatus.RUNNING,
            attempts=Job.attempts + 1,
            started_at=now,
            heartbeat_at=now,
            progress=0.0,
        )
    )
    return bool(getattr(result, "rowcount", 0))


def beat_job(job_id: str, *, session: Session) -> None:
    """Say the job's worker is alive (a hold further ahead, see :func:`hold_job`, is kept)."""
    now = utcnow()
    session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            Job.status == JobStatus.RUNNING,
            or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < now),
        )
        .values(heartbeat_at=now)
    )


def hold_job(job: Job, *, seconds: float, session: Session) -> None:
    """Keep the reconciler off a job whose work was handed to other tasks (a chord) for
    ``seconds``: until then the broker itself redelivers any part a dead worker held."""
    job.heartbeat_at = utcnow() + timedelta(seconds=seconds)
    session.flush()


def set_job_progress(job_id: str, progress: float, *, session: Session) -> None:
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.RUNNING)
        .values(progress=max(0.0, min(progress, 1.0)), heartbeat_at=utcnow())
    )


def add_job_progress(job_id: str, step: float, *, session: Session) -> None:
    """Add ``step`` to the progress in one statement, for parts of a job that finish in parallel
    (the job's hold, see :func:`hold_job`, is left as it is)."""
    grown = Job.progress + step
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.RUNNING)
        .values(progress=case((grown > 0.99, 0.99), else_=grown))
    )


def finish_job(job: Job, *, session: Session, error: str | None = None) -> None:
    """Mark ``job`` succeeded, or failed with ``error`` as its reason."""
    job.status = JobStatus.FAILED if error else JobStatus.SUCCEEDED
    job.error = error
    job.finished_at = utcnow()
    if not error:
        job.progress = 1.0
    session.flush()


def retry_or_bury_job(job: Job, reason: str, *, session: Session) -> bool:
    """After a passing fault: queue ``job`` again (True) while attempts remain, else mark it dead
    with the reason (False)."""
    job.error = reason
    if job.attempts >= job.max_attempts:
        job.status = JobStatus.DEAD
        job.error = f"gave up after {job.attempts} attempts: {reason}"
        job.finished_at = utcnow()
        session.flush()
        return False
    job.status = JobStatus.QUEUED
    job.heartbeat_at = None
    session.flush()
    return True


def leftovers_of(job: Job, *, session: Session) -> list[str]:
    """After ``job`` ended without a result (failed for good, or dead): the recording it was
    making says why when nothing of its ladder was published, and the storage prefixes of its
    unpublished partial outputs are returned, for the caller to remove once this commits.
    Whoever ends the job (its worker, or the reconciler burying it) calls this, so nothing
    half-made is left behind and no recording stays ``processing``."""
    if job.kind is JobKind.LADDER and job.asset_id is not None:
        asset = session.get(Asset, job.asset_id)
        if asset is not None and asset.master_playlist_key is None:
            if asset.status in (AssetStatus.INGESTING, AssetStatus.PROCESSING, AssetStatus.FAILED):
                states.fail_asset(asset, job.error)  # a finished live recording stays ready
            return [keys.hls_prefix(asset.event_id, asset.feed_id, asset.id)]
    if job.kind is JobKind.REPLAY:
        replay = session.scalar(select(Replay).where(Replay.job_id == job.id))
        if replay is not None and replay.package_key is None:
            return [keys.replay_prefix(replay.event_id, replay.id)]
    return []


def requeue_job(job: Job, *, session: Session) -> None:
    """An operator's retry of a failed or dead job: a fresh set of attempts."""
    if job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
        raise Conflict(f"job {job.id} is {job.status.value}; only a finished job can be retried")
    job.status = JobStatus.QUEUED
    job.attempts = 0
    job.progress = 0.0
    job.error = None
    job.finished_at = None
    job.heartbeat_at = None
    session.flush()


def never_started_jobs(*, session: Session, before: datetime, limit: int) -> Sequence[Job]:
    """Jobs queued before ``before`` and never claimed by a worker (first attempts only: a
    retry waits for its backoff on the broker)."""
    query = (
        select(Job)
        .where(Job.status == JobStatus.QUEUED, Job.attempts == 0, Job.created_at < before)
        .order_by(Job.created_at)
        .limit(limit)
    )
    return session.scalars(query).all()


def stale_jobs(*, session: Session, stale_after_s: float) -> Sequence[Job]:
    """Running jobs whose worker stopped beating: it was killed or lost its host."""
    stale = utcnow() - timedelta(seconds=stale_after_s)
    query = (
        select(Job)
        .where(
            Job.status == JobStatus.RUNNING,
            or_(Job.heartbeat_at < stale, Job.heartbeat_at.is_(None) & (Job.started_at < stale)),
        )
        .order_by(Job.started_at)
        .with_for_update(skip_locked=True)
    )
    return session.scalars(query).all()


# -- live feeds ----------------------------------------------------------------------------------


def list_feeds(
    *,
    session: Session,
    event_id: str | None = None,
    visible: ColumnElement[bool] | None = None,
) -> Sequence[Feed]:
    query = select(Feed).order_by(Feed.event_id, Feed.name)
    if visible is not None:
        query = query.where(visible)
    if event_id:
        query = query.where(Feed.event_id == event_id)
    return session.scalars(query).all()


def get_feed_by_name(event: Event, name: str, *, session: Session) -> Feed:
    feed = session.scalar(select(Feed).where(Feed.event_id == event.id, Feed.name == name))
    if feed is None:
        raise NotFound(f"no feed {name!r} in event {event.name!r}")
    return feed


def add_live_feed(
    event: Event,
    name: str,
    source: str,
    *,
    session: Session,
    position: str | None = None,
    angle_deg: float | None = None,
) -> Feed:
    """A new camera pulled from ``source``; its name must be new in the event."""
    exists = session.scalar(select(Feed.id).where(Feed.event_id == event.id, Feed.name == name))
    if exists is not None:
        raise Conflict(f"event {event.name!r} already has a feed {name!r}")
    feed = Feed(event_id=event.id, name=name, source=source, position=position, angle_deg=angle_deg)
    session.add(feed)
    session.flush()
    search.index_feed(feed, event, session=session)
    return feed


def find_live_asset(feed_id: str, *, session: Session) -> Asset | None:
    return session.scalar(
        select(Asset).where(Asset.feed_id == feed_id, Asset.kind == AssetKind.LIVE)
    )


def live_asset(feed: Feed, *, session: Session) -> Asset:
    """The feed's live recording, created on first use; every connection appends to it."""
    asset = find_live_asset(feed.id, session=session)
    if asset is None:
        asset = Asset(
            feed_id=feed.id,
            event_id=feed.event_id,
            kind=AssetKind.LIVE,
            status=AssetStatus.RECORDING,
            filename=f"{feed.name} (live)",
            original_key="",
            sha256="",
            size_bytes=0,
            duration_s=0.0,
            clock_source="arrival",
        )
        session.add(asset)
        session.flush()
        index_asset(asset, session=session)
    return asset


def index_asset(asset: Asset, *, session: Session) -> None:
    """(Re)index a recording for search, once it exists or has moved or grown."""
    feed, event = session.get(Feed, asset.feed_id), session.get(Event, asset.event_id)
    assert feed is not None and event is not None
    search.index_asset(asset, feed, event, session=session)


def segment_by_key(key: str, *, session: Session) -> Segment | None:
    return session.scalar(select(Segment).where(Segment.key == key))


def next_sequence(asset_id: str, *, session: Session) -> int:
    last = session.scalar(select(func.max(Segment.sequence)).where(Segment.asset_id == asset_id))
    return 0 if last is None else last + 1


def recent_segments(
    asset_id: str, *, session: Session, limit: int | None = None
) -> Sequence[Segment]:
    """The asset's segments in order; with ``limit``, only the newest ``limit``."""
    query = (
        select(Segment)
        .where(Segment.asset_id == asset_id)
        .options(selectinload(Segment.renditions))
    )
    if limit is None:
        return session.scalars(query.order_by(Segment.sequence)).all()
    newest = session.scalars(query.order_by(Segment.sequence.desc()).limit(limit)).all()
    return list(reversed(newest))


@dataclass(frozen=True)
class WindowHistory:
    """What a sliding window's playlist must know of the segments that slid out of it."""

    discontinuities: int
    """Discontinuities marked before the window, in the variant: the playlist's
    EXT-X-DISCONTINUITY-SEQUENCE (RFC 8216, 4.3.3.3)."""
    seen: bool
    """Some segment before the window has the variant."""
    previous_missing: bool
    """The segment just before the window lacks the variant."""


def window_history(
    asset_id: str, first_sequence: int, variant: str | None, *, session: Session
) -> WindowHistory:
    """The history of the asset's segments before ``first_sequence`` in ``variant`` (the source
    with ``None``). A segment is marked as a discontinuity when it is flagged one, or, in a
    rung, when the segment before it lacks the rung and an earlier one has it (the player
    skips the missing ones): the rule ``api.playlists.media_playlist`` applies in the window.
    Counted in the database, so a playlist of a day-long recording costs no more than a short
    one."""
    seg, prev, earlier = aliased(Segment), aliased(Segment), aliased(Segment)
    before = and_(seg.asset_id == asset_id, seg.sequence < first_sequence)
    if variant is None:
        counted = session.scalar(
            select(func.count()).select_from(seg).where(before, seg.discontinuity.is_(True))
        )
        seen = session.scalar(select(exists().where(before)))
        return WindowHistory(discontinuities=counted or 0, seen=bool(seen), previous_missing=False)

    def has(row: Any) -> ColumnElement[bool]:
        rendition = aliased(RenditionSegment)
        return exists().where(rendition.segment_id == row.id, rendition.variant == variant)

    skipped = and_(
        exists().where(prev.asset_id == asset_id, prev.sequence == seg.sequence - 1, ~has(prev)),
        exists().where(earlier.asset_id == asset_id, earlier.sequence < seg.sequence, has(earlier)),
    )
    counted = session.scalar(
        select(func.count())
        .select_from(seg)
        .where(before, has(seg), or_(seg.discontinuity.is_(True), skipped))
    )
    seen = session.scalar(select(exists().where(before, has(seg))))
    missing = session.scalar(
        select(
            exists().where(
                prev.asset_id == asset_id, prev.sequence == first_sequence - 1, ~has(prev)
            )
        )
    )
    return WindowHistory(
        discontinuities=counted or 0, seen=bool(seen), previous_missing=bool(missing)
    )


def get_segment(segment_id: str, *, session: Session) -> Segment:
    segment = session.scalar(
        select(Segment).where(Segment.id == segment_id).options(selectinload(Segment.renditions))
    )
    if segment is None:
        raise NotFound(f"no segment with id {segment_id}")
    return segment


def list_gaps(feed_id: str, *, session: Session) -> Sequence[Gap]:
    return session.scalars(
        select(Gap).where(Gap.feed_id == feed_id).order_by(Gap.clock_start_s)
    ).all()


def claim_feed(feed_id: str, owner: str, *, session: Session, lease_s: float) -> bool:
    """Take or renew the lease on pulling ``feed_id`` (compare-and-set); False if another
    supervisor holds an unexpired lease."""
    now = utcnow()
    result = session.execute(
        update(Feed)
        .where(
            Feed.id == feed_id,
            or_(Feed.lease_owner.is_(None), Feed.lease_owner == owner, Feed.lease_until < now),
        )
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_s))
    )
    return bool(getattr(result, "rowcount", 0))


def release_feed(feed_id: str, owner: str, *, session: Session) -> None:
    session.execute(
        update(Feed)
        .where(Feed.id == feed_id, Feed.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )
