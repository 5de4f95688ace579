"""One search document per row worth finding, upserted by kind and id whenever the services write
such a row, and rebuilt in batches for an event or the whole catalog."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    delete,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, load_only

from catalog.models import Asset, Event, Feed, Marker, Replay, SearchDocument, utcnow
from catalog.search.backends import DOCUMENTS, dialect_of
from catalog.search.query import KINDS

_DASH = " \u2013 "


_TITLE_CHARS = 300


_BODY_CHARS = 10_000


_BATCH = 500


_COLUMNS = (
    "kind",
    "ref_id",
    "sport",
    "event_id",
    "feed_id",
    "asset_id",
    "broadcaster_id",
    "clock_start_s",
    "clock_end_s",
    "moment_at",
    "title",
    "body",
    "tags",
    "athletes",
    "created_at",
)


def index_event(event: Event, *, session: Session) -> None:
    """Index an event by its name, sport and venue, and give its other documents its sport."""
    _flushed(session, event)
    _upsert(session, [_event_document(event)])
    session.execute(
        update(SearchDocument)
        .where(
            SearchDocument.event_id == event.id,
            SearchDocument.sport.is_distinct_from(event.sport),
        )
        .values(sport=event.sport)
        .execution_options(synchronize_session=False)
    )


def index_feed(feed: Feed, event: Event, *, session: Session) -> None:
    """Index a camera by its event's name, its own name and its position."""
    _flushed(session, feed, event)
    _upsert(session, [_feed_document(feed, event)])


def index_asset(asset: Asset, feed: Feed, event: Event, *, session: Session) -> None:
    """Index a recording by event, camera and file name, with its range on the event clock."""
    _flushed(session, asset, feed, event)
    _upsert(session, [_asset_document(asset, feed, event)])


def index_marker(marker: Marker, event: Event, *, session: Session) -> None:
    """Index a marker by its label, tags and athletes, at its instant on the event clock."""
    _flushed(session, marker, event)
    _upsert(session, [_marker_document(marker, event)])


def index_replay(replay: Replay, event: Event, *, session: Session) -> None:
    """Index a replay by its kind, its marker's label, tags and athletes and its cameras' names."""
    _flushed(session, replay, event)
    rows = session.execute(select(Feed.id, Feed.name).where(Feed.id.in_(replay.feed_ids)))
    names = {feed_id: name for feed_id, name in rows}
    marker = session.get(Marker, replay.marker_id) if replay.marker_id else None
    _upsert(session, [_replay_document(replay, event, names, marker)])


def remove(kind: str, ref_id: str, *, session: Session) -> int:
    """Remove a row's document, and with an event's all of the event's documents, with a feed's
    the documents of its recordings. Returns how many documents went."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    condition: ColumnElement[bool] = and_(
        SearchDocument.kind == kind, SearchDocument.ref_id == ref_id
    )
    if kind == "event":
        condition = or_(condition, SearchDocument.event_id == ref_id)
    elif kind == "feed":
        condition = or_(
            condition, and_(SearchDocument.kind == "asset", SearchDocument.feed_id == ref_id)
        )
    result = session.execute(
        delete(SearchDocument).where(condition).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def reindex_all(*, session: Session) -> int:
    """Rebuild every document from the tables: documents that differ from their rows are
    rewritten, missing ones added, ones whose row is gone removed; on SQLite the text index is
    then rebuilt from the documents, which repairs it whatever state it was in. Returns how many
    documents the catalog has."""
    count = _rebuild(session, event_id=None)
    if dialect_of(session) == "sqlite":
        session.execute(text("INSERT INTO search_fts(search_fts) VALUES ('rebuild')"))
    return count


def reindex_event(event_id: str, *, session: Session) -> int:
    """Rebuild the documents of one event (after it was renamed, or its clock origin moved).
    Returns how many documents the event has."""
    return _rebuild(session, event_id=event_id)


def _flushed(session: Session, *rows: Event | Feed | Asset | Marker | Replay) -> None:
    """Flush when a row has no id or creation time yet (added to the session, not yet written)."""
    if any(row.id is None or row.created_at is None for row in rows):
        session.flush()


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _join(*parts: str | None) -> str:
    return " ".join(part for part in parts if part)


def _unique(values: Iterable[str] | None) -> list[str]:
    return list(dict.fromkeys(str(v).strip() for v in values or () if str(v).strip()))


def _on_clock(event: Event, clock_s: float | None) -> datetime | None:
    """Wall-clock time of an instant of the event clock, when the event's clock has an origin."""
    if event.clock_origin is None or clock_s is None:
        return None
    return event.clock_origin + timedelta(seconds=clock_s)


def _document(
    kind: str,
    ref_id: str,
    event: Event,
    *,
    title: str,
    body: str,
    created_at: datetime | None,
    feed_id: str | None = None,
    asset_id: str | None = None,
    broadcaster_id: str | None = None,
    clock_start_s: float | None = None,
    clock_end_s: float | None = None,
    moment_at: datetime | None = None,
    tags: list[str] | None = None,
    athletes: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "ref_id": ref_id,
        "sport": event.sport,
        "event_id": event.id,
        "feed_id": feed_id,
        "asset_id": asset_id,
        "broadcaster_id": broadcaster_id,
        "clock_start_s": clock_start_s,
        "clock_end_s": clock_end_s,
        "moment_at": moment_at,
        "title": _clip(title, _TITLE_CHARS),
        "body": _clip(body, _BODY_CHARS),
        "tags": tags or [],
        "athletes": athletes or [],
        "created_at": created_at or utcnow(),
    }


def _event_document(event: Event) -> dict[str, Any]:
    return _document(
        "event",
        event.id,
        event,
        title=event.name,
        body=_join(event.sport, event.venue),
        created_at=event.created_at,
        moment_at=event.ended_at,
    )


def _feed_document(feed: Feed, event: Event) -> dict[str, Any]:
    return _document(
        "feed",
        feed.id,
        event,
        title=f"{event.name}{_DASH}{feed.name}",
        body=_join(feed.name, feed.position),
        created_at=feed.created_at,
        feed_id=feed.id,
    )


def _asset_document(asset: Asset, feed: Feed, event: Event) -> dict[str, Any]:
    duration = asset.duration_s or 0.0
    start = asset.clock_start_s or 0.0
    end = start + duration
    moment = _on_clock(event, end)
    if moment is None and asset.recorded_at is not None:
        moment = asset.recorded_at + timedelta(seconds=duration)
    kind = getattr(asset.kind, "value", asset.kind)
    return _document(
        "asset",
        asset.id,
        event,
        title=f"{event.name}{_DASH}{feed.name}{_DASH}{asset.filename}",
        body=_join(
            feed.position,
            str(kind) if kind else None,
            asset.video_codec,
            f"{asset.height}p" if asset.height else None,
        ),
        created_at=asset.created_at,
        feed_id=feed.id,
        asset_id=asset.id,
        clock_start_s=start,
        clock_end_s=end,
        moment_at=moment,
    )


def _marker_document(marker: Marker, event: Event) -> dict[str, Any]:
    tags = _unique(marker.tags)
    athletes = _unique(marker.athletes)
    return _document(
        "marker",
        marker.id,
        event,
        title=marker.label,
        body=_join(event.name, *tags, *athletes),
        created_at=marker.created_at,
        clock_start_s=marker.clock_s,
        clock_end_s=marker.clock_s,
        moment_at=_on_clock(event, marker.clock_s),
        tags=tags,
        athletes=athletes,
    )


def _replay_document(
    replay: Replay, event: Event, feed_names: dict[str, str], marker: Marker | None
) -> dict[str, Any]:
    kind = str(getattr(replay.kind, "value", replay.kind))
    feed_ids = list(dict.fromkeys(replay.feed_ids or []))
    names = [feed_names[feed_id] for feed_id in feed_ids if feed_id in feed_names]
    tags = _unique(marker.tags) if marker else []
    athletes = _unique(marker.athletes) if marker else []
    title = _DASH.join(
        part for part in (event.name, marker.label if marker else None, f"{kind} replay") if part
    )
    return _document(
        "replay",
        replay.id,
        event,
        title=title,
        body=_join(kind, "replay", *names, *tags, *athletes),
        created_at=replay.created_at,
        feed_id=feed_ids[0] if len(feed_ids) == 1 else None,
        broadcaster_id=replay.broadcaster_id,
        clock_start_s=replay.clock_start_s,
        clock_end_s=replay.clock_end_s,
        moment_at=_on_clock(event, replay.clock_end_s),
        tags=tags,
        athletes=athletes,
    )


def _upsert(session: Session, documents: Sequence[dict[str, Any]]) -> None:
    """Insert documents, or update the ones whose kind and id are there already."""
    if not documents:
        return
    dialect = dialect_of(session)
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite.insert(DOCUMENTS) if dialect == "sqlite" else postgresql.insert(DOCUMENTS)
        statement = insert.on_conflict_do_update(
            index_elements=[DOCUMENTS.c.kind, DOCUMENTS.c.ref_id],
            set_={
                name: insert.excluded[name] for name in _COLUMNS if name not in ("kind", "ref_id")
            },
        )
        for batch in _batches(documents):
            session.execute(statement, batch)
        return
    for document in documents:
        updated = session.execute(
            update(DOCUMENTS)
            .where(DOCUMENTS.c.kind == document["kind"], DOCUMENTS.c.ref_id == document["ref_id"])
            .values(document)
        )
        if not getattr(updated, "rowcount", 0):
            session.execute(DOCUMENTS.insert().values(document))


def _batches(documents: Sequence[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(documents), _BATCH):
        yield list(documents[start : start + _BATCH])


def _rebuild(session: Session, *, event_id: str | None) -> int:
    """Make the documents of one event (or of all) match the tables, writing only what differs."""
    session.flush()

    def scoped(statement: Select[Any], event_column: Any) -> Select[Any]:
        return statement if event_id is None else statement.where(event_column == event_id)

    events = {e.id: e for e in session.scalars(scoped(select(Event), Event.id))}
    feeds = {f.id: f for f in session.scalars(scoped(select(Feed), Feed.event_id))}
    markers = {m.id: m for m in session.scalars(scoped(select(Marker), Marker.event_id))}
    feed_names = {feed_id: feed.name for feed_id, feed in feeds.items()}

    wanted: dict[tuple[str, str], dict[str, Any]] = {}

    def want(document: dict[str, Any]) -> None:
        wanted[(document["kind"], document["ref_id"])] = document

    for event in events.values():
        want(_event_document(event))
    for feed in feeds.values():
        if feed.event_id in events:
            want(_feed_document(feed, events[feed.event_id]))
    for marker in markers.values():
        if marker.event_id in events:
            want(_marker_document(marker, events[marker.event_id]))
    assets = scoped(
        select(Asset).options(
            load_only(
                Asset.id,
                Asset.feed_id,
                Asset.event_id,
                Asset.kind,
                Asset.filename,
                Asset.duration_s,
                Asset.clock_start_s,
                Asset.recorded_at,
                Asset.video_codec,
                Asset.height,
                Asset.created_at,
            )
        ),
        Asset.event_id,
    )
    for asset in session.scalars(assets.execution_options(yield_per=1000)):
        feed = feeds.get(asset.feed_id)
        if feed is not None and asset.event_id in events:
            want(_asset_document(asset, feed, events[asset.event_id]))
    for replay in session.scalars(scoped(select(Replay), Replay.event_id)):
        if replay.event_id in events:
            marker = markers.get(replay.marker_id) if replay.marker_id else None
            want(_replay_document(replay, events[replay.event_id], feed_names, marker))

    existing_rows = session.execute(
        scoped(
            select(DOCUMENTS.c.id, *(DOCUMENTS.c[name] for name in _COLUMNS)),
            DOCUMENTS.c.event_id,
        )
    ).mappings()
    stale: list[int] = []
    changed: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for row in existing_rows:
        key = (row["kind"], row["ref_id"])
        document = wanted.get(key)
        if document is None:
            stale.append(row["id"])
            continue
        seen.add(key)
        if any(not _same(row[name], document[name]) for name in _COLUMNS):
            changed.append(document)
    changed.extend(document for key, document in wanted.items() if key not in seen)
    for start in range(0, len(stale), _BATCH):
        session.execute(delete(DOCUMENTS).where(DOCUMENTS.c.id.in_(stale[start : start + _BATCH])))
    _upsert(session, changed)
    return len(wanted)


def _same(stored: Any, built: Any) -> bool:
    """Whether a stored value is the one built; SQLite gives times back without their zone."""
    if isinstance(stored, datetime) and isinstance(built, datetime):
        if (stored.tzinfo is None) != (built.tzinfo is None):
            return stored.replace(tzinfo=None) == built.replace(tzinfo=None)
        return stored == built
    return bool(stored == built)
