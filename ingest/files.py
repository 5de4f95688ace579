"""File ingest: probe, validate, checksum, upload the original, register, place each feed on the
event clock, and enqueue its transcode.

Every file gets an ingest job. A file that fails leaves that job ``failed`` with the reason and
nothing else behind: no feed, asset or segment row, and no object in the bucket.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from catalog import keys, services
from catalog.models import Asset, AssetStatus, JobKind, Segment, new_id
from infra.core.database import session_scope
from infra.core.errors import BadRequest, StorageError, VantageError
from infra.core.queue import JOB_TASKS, send_job_after_commit
from infra.core.settings import Settings
from infra.core.storage import ObjectStore, sha256_file
from ingest.media.clock import ClockSource, EventOrigin, absolute_reference, origin_for, place
from transcode.errors import MediaError, TranscodeError
from transcode.probe import MediaInfo, probe

FOLLOW_UP = (JobKind.LADDER, JobKind.QC, JobKind.PROXY, JobKind.THUMBNAILS)
"""What every new recording gets next: its ladder, QC, editor proxy and thumbnails."""

log = logging.getLogger(__name__)

StepCallback = Callable[[str, str, float], None]
"""Called with (feed name, step, fraction of that feed's ingest done)."""


@dataclass(frozen=True)
class FeedFile:
    """One camera's file: the feed it belongs to, where it is, an optional clock offset (s)."""

    feed: str
    path: Path
    offset_s: float | None = None


@dataclass(frozen=True)
class IngestOutcome:
    feed: str
    path: Path
    job_id: str
    asset_id: str | None = None
    ladder_job_id: str | None = None
    qc_job_id: str | None = None
    follow_up: dict[str, str] = field(default_factory=dict)
    """Job id of each follow-up job by kind (ladder, qc, proxy, thumbnails)."""
    clock_start_s: float | None = None
    clock_source: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def parse_feed_argument(value: str) -> FeedFile:
    """Parse the CLI's ``NAME=PATH`` or ``NAME=PATH@OFFSET`` feed argument."""
    name, sep, rest = value.partition("=")
    if not sep or not name.strip() or not rest:
        raise ValueError(f"expected NAME=PATH, got {value!r}")
    offset = None
    path_text = rest
    if "@" in rest:
        path_text, _, offset_text = rest.rpartition("@")
        try:
            offset = float(offset_text)
        except ValueError:
            path_text, offset = rest, None
    return FeedFile(feed=name.strip(), path=Path(path_text).expanduser(), offset_s=offset)


def ingest_files(
    event_id: str,
    files: list[FeedFile],
    *,
    settings: Settings,
    sessions: sessionmaker[Session],
    store: ObjectStore,
    on_step: StepCallback | None = None,
    enqueue: bool = True,
) -> list[IngestOutcome]:
    """Ingest ``files`` into the event ``event_id``; returns one outcome per file, in order."""
    names = [f.feed for f in files]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise BadRequest(f"feed named more than once: {', '.join(sorted(duplicates))}")
    step = on_step or (lambda _feed, _step, _fraction: None)

    with session_scope(sessions) as session:
        event = services.get_event(event_id, session=session)
        job_ids = [
            services.create_job(
                JobKind.INGEST,
                session=session,
                event_id=event.id,
                subject=f"{f.feed}: {f.path.name}",
            ).id
            for f in files
        ]

    probed: dict[int, MediaInfo] = {}
    outcomes: dict[int, IngestOutcome] = {}
    for index, item in enumerate(files):
        step(item.feed, "probing", 0.05)
        try:
            info = probe(item.path)
            if info.video is None:
                raise MediaError(f"{item.path.name}: no video stream")
            if info.size_bytes > settings.media.max_input_bytes:
                raise MediaError(f"{item.path.name}: larger than the ingest limit")
            probed[index] = info
        except (VantageError, TranscodeError) as exc:
            outcomes[index] = _fail(sessions, job_ids[index], item, exc.detail)
            step(item.feed, "failed", 1.0)

    placements = _place_on_clock(event_id, files, probed, sessions)

    for index, info in probed.items():
        item = files[index]
        outcomes[index] = _store_and_register(
            event_id,
            item,
            info,
            placements[index],
            job_ids[index],
            store,
            sessions,
            step,
            max_attempts=settings.jobs.max_attempts,
            enqueue=settings if enqueue else None,
        )
    return [outcomes[i] for i in range(len(files))]


def _place_on_clock(
    event_id: str,
    files: list[FeedFile],
    probed: dict[int, MediaInfo],
    sessions: sessionmaker[Session],
) -> dict[int, tuple[float, ClockSource]]:
    references = {}
    for index, info in probed.items():
        assert info.video is not None
        references[index] = absolute_reference(
            info.timecode, info.creation_time, info.video.frame_rate
        )
    with session_scope(sessions) as session:
        event = services.get_event(event_id, session=session)
        origin = origin_for(
            EventOrigin(event.clock_origin, event.timecode_origin), list(references.values())
        )
        # Files of the same event ingested at once: the first to set an origin sets it for all.
        origin = EventOrigin(*services.settle_clock_origin(
            event, wall_clock=origin.wall_clock, timecode_s=origin.timecode_s, session=session
        ))  # fmt: skip
    placements = {}
    for index, (source, reference) in references.items():
        placement = place(source, reference, origin, files[index].offset_s)
        placements[index] = (placement.start_s, placement.source)
    return placements


def _store_and_register(
    event_id: str,
    item: FeedFile,
    info: MediaInfo,
    placement: tuple[float, ClockSource],
    job_id: str,
    store: ObjectStore,
    sessions: sessionmaker[Session],
    step: StepCallback,
    *,
    max_attempts: int,
    enqueue: Settings | None,
) -> IngestOutcome:
    """Upload one probed file and register its recording; with ``enqueue`` (the settings of the
    broker to use), its follow-up jobs are sent once they are committed."""
    assert info.video is not None
    asset_id = new_id()
    uploaded: str | None = None
    try:
        with session_scope(sessions) as session:
            event = services.get_event(event_id, session=session)
            feed = services.get_or_create_feed(
                event, item.feed, session=session, source=str(item.path.name)
            )
            feed_id = feed.id
        step(item.feed, "checksum", 0.15)
        digest = sha256_file(item.path)
        key = keys.original_key(event_id, feed_id, asset_id, item.path.name)
        step(item.feed, "uploading", 0.3)
        stored = store.put_file(item.path, key, sha256=digest)
        uploaded = key
        step(item.feed, "registering", 0.9)
        start_s, source = placement
        with session_scope(sessions) as session:
            asset = Asset(
                id=asset_id,
                feed_id=feed_id,
                event_id=event_id,
                status=AssetStatus.PROCESSING,
                filename=item.path.name,
                original_key=key,
                sha256=digest,
                size_bytes=stored.size_bytes,
                duration_s=info.duration_s,
                container=info.container,
                video_codec=info.video.codec,
                audio_codec=info.audio.codec if info.audio else None,
                width=info.video.display_size[0],
                height=info.video.display_size[1],
                frame_rate=str(info.video.frame_rate),
                clock_start_s=start_s,
                clock_source=source.value,
                timecode=info.timecode,
                recorded_at=info.creation_time,
            )
            session.add(asset)
            session.flush()
            services.index_asset(asset, session=session)
            services.add_segment(
                asset,
                Segment(
                    sequence=0,
                    key=key,
                    clock_start_s=start_s,
                    duration_s=info.duration_s,
                    size_bytes=stored.size_bytes,
                    sha256=digest,
                ),
                session=session,
            )
            job = services.get_job(job_id, session=session)
            job.feed_id, job.asset_id = feed_id, asset_id
            services.finish_job(job, session=session)
            follow_up = {
                kind.value: services.create_job(
                    kind,
                    session=session,
                    event_id=event_id,
                    feed_id=feed_id,
                    asset_id=asset_id,
                    subject=f"{item.feed}: {item.path.name}",
                    max_attempts=max_attempts,
                ).id
                for kind in FOLLOW_UP
            }
            if enqueue is not None:
                for kind, follow_up_id in follow_up.items():
                    send_job_after_commit(session, enqueue, JOB_TASKS[kind], follow_up_id)
    except Exception as exc:  # noqa: BLE001 - recorded as the job's reason, then cleaned up
        if uploaded:
            _forget_object(store, uploaded)
        if isinstance(exc, VantageError | TranscodeError):
            reason = exc.detail
        else:
            reason = f"{type(exc).__name__}: {exc}"
        step(item.feed, "failed", 1.0)
        return _fail(sessions, job_id, item, reason)
    step(item.feed, "registered", 1.0)
    return IngestOutcome(
        feed=item.feed,
        path=item.path,
        job_id=job_id,
        asset_id=asset_id,
        ladder_job_id=follow_up[JobKind.LADDER.value],
        qc_job_id=follow_up[JobKind.QC.value],
        follow_up=follow_up,
        clock_start_s=start_s,
        clock_source=source.value,
    )


def _forget_object(store: ObjectStore, key: str) -> None:
    try:
        store.delete([key])
    except StorageError as exc:
        # The catalog never recorded it: say where the orphan is so an operator can remove it.
        log.warning("could not remove %s after a failed ingest: %s", key, exc)


def _fail(
    sessions: sessionmaker[Session], job_id: str, item: FeedFile, reason: str
) -> IngestOutcome:
    with session_scope(sessions) as session:
        services.finish_job(
            services.get_job(job_id, session=session), session=session, error=reason
        )
    return IngestOutcome(feed=item.feed, path=item.path, job_id=job_id, error=reason)
