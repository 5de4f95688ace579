"""Search over the catalog: events, feeds, recordings, markers and replays, found by their words
and narrowed by filters, the same on SQLite (FTS5) and on PostgreSQL (full text).

Each row worth finding has one document in ``search_documents``, upserted by its kind and id by
the ``index_*`` functions, which the services call whenever they write such a row. A document
carries the event's id and sport, so a rights filter can be applied to the document row alone.

The words a user types are never handed to the database as query syntax: they are cut into
words, and each word becomes a quoted prefix term (``"word"*`` on SQLite, ``'word':*`` on
PostgreSQL), all of which must match.

Results come in pages ordered by relevance (with words) or newest first (without), each page
with an opaque cursor to the next one (keyset pagination, so a page costs the same however deep
it is) and facet counts over everything that matches.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    FromClause,
    Select,
    SQLColumnExpression,
    Text,
    and_,
    cast,
    column,
    delete,
    exists,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, load_only
from sqlalchemy.sql.selectable import TableValuedAlias

from catalog.models import Asset, Base, Event, Feed, Marker, Replay, SearchDocument, utcnow
from infra.core.errors import BadRequest

KINDS = ("event", "feed", "asset", "marker", "replay")
"""What a document can stand for, by the table it comes from."""

MAX_LIMIT = 100
TAG_FACET_SIZE = 20

_DASH = " \u2013 "
_TITLE_CHARS = 300
_BODY_CHARS = 10_000
_TEXT_CHARS = 2_000
_MAX_WORDS = 16
_WORD_CHARS = 64
_WORD = re.compile(r"[^\W_]+")
_PLAIN_TAG = re.compile(r"[A-Za-z0-9 _.:+-]+")
"""Tags that Python's JSON encoder (which writes the JSON columns) stores as themselves between
double quotes: a substring test of the stored array then passes over most documents without
parsing them, before the exact test of the array's elements."""
_CURSOR_CHARS = 1_000
_CURSOR_DIGEST = 12
_CURSOR_KEY = b"vantage.catalog.search.cursor.v1"
_BATCH = 500

_TABLE = Base.metadata.tables["search_documents"]
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


@dataclass(frozen=True)
class SearchQuery:
    """What to look for. Every filter given must hold; ``None`` and empty tuples filter nothing."""

    text: str | None = None
    """Words, each matched as a prefix, all of which must be found; ``None``: no text."""
    event_id: str | None = None
    feed_id: str | None = None
    kinds: tuple[str, ...] = ()
    """Of :data:`KINDS`; empty: every kind."""
    clock_from_s: float | None = None
    """Documents whose event-clock range overlaps ``[clock_from_s, clock_to_s]``; documents
    without a clock range (events, feeds) are left out when either bound is given."""
    clock_to_s: float | None = None
    tags: tuple[str, ...] = ()
    """Tags that must all be present."""
    limit: int = 20
    """Hits per page, brought into 1..100."""
    cursor: str | None = None
    """The ``next_cursor`` of the previous page of the same query."""


@dataclass(frozen=True)
class Hit:
    """One document found."""

    kind: str
    ref_id: str
    title: str
    event_id: str
    feed_id: str | None
    asset_id: str | None
    sport: str | None
    clock_start_s: float | None
    clock_end_s: float | None
    tags: list[str]
    athletes: list[str]
    score: float | None
    """Relevance to the words, higher is better; ``None`` without words."""


@dataclass
class SearchPage:
    """One page of hits, the cursor to the next page (``None`` on the last), and the facets."""

    hits: list[Hit]
    next_cursor: str | None
    facets: dict[str, dict[str, int]] = field(default_factory=lambda: _empty_facets())
    """``kind``, ``sport``, ``event`` (event id) and ``tags`` (the 20 most used), each value with
    the number of documents matching the whole query (every page, not only this one)."""


# -- indexing -------------------------------------------------------------------------------------


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
    if _dialect(session) == "sqlite":
        session.execute(text("INSERT INTO search_fts(search_fts) VALUES ('rebuild')"))
    return count


def reindex_event(event_id: str, *, session: Session) -> int:
    """Rebuild the documents of one event (after it was renamed, or its clock origin moved).
    Returns how many documents the event has."""
    return _rebuild(session, event_id=event_id)


# -- searching ------------------------------------------------------------------------------------


def search(
    query: SearchQuery,
    *,
    session: Session,
    where: ColumnElement[bool] | None = None,
    facets: bool = True,
) -> SearchPage:
    """One page of the documents matching ``query`` and ``where`` (a condition over
    :class:`SearchDocument`, such as a broadcaster's rights), with facet counts over all of them
    unless ``facets`` is false.

    Raises :class:`BadRequest` for an unknown kind, a clock bound that is not a number or a
    range that ends before it starts, and a cursor that is not one this query handed out.
    """
    _check(query)
    limit = min(max(int(query.limit), 1), MAX_LIMIT)
    words = None if query.text is None else _words(query.text)
    fingerprint = _fingerprint(query, words)
    after = _decode_cursor(query.cursor, fingerprint) if query.cursor else None
    _check_cursor_kind(after, ranked=bool(words))
    if words == []:
        return SearchPage(hits=[], next_cursor=None, facets=_empty_facets())
    dialect = _dialect(session)
    conditions = _conditions(query, dialect)
    if where is not None:
        conditions.append(where)
    rows = session.execute(_page(words, conditions, after, limit + 1, dialect)).all()

    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        key: float | str = float(last.key) if words else last.key.isoformat()
        next_cursor = _encode_cursor(fingerprint, key, last.id)
    hits = [
        Hit(
            kind=row.kind,
            ref_id=row.ref_id,
            title=row.title,
            event_id=row.event_id,
            feed_id=row.feed_id,
            asset_id=row.asset_id,
            sport=row.sport,
            clock_start_s=row.clock_start_s,
            clock_end_s=row.clock_end_s,
            tags=list(row.tags or []),
            athletes=list(row.athletes or []),
            score=float(row.key) if words else None,
        )
        for row in rows
    ]
    counts = _facets(session, words, conditions, dialect) if facets else _empty_facets()
    return SearchPage(hits=hits, next_cursor=next_cursor, facets=counts)


def _check(query: SearchQuery) -> None:
    for kind in query.kinds:
        if kind not in KINDS:
            raise BadRequest(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    for name in ("clock_from_s", "clock_to_s"):
        value = getattr(query, name)
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise BadRequest(f"{name} must be a number of seconds")
    if (
        query.clock_from_s is not None
        and query.clock_to_s is not None
        and query.clock_from_s > query.clock_to_s
    ):
        raise BadRequest("clock_from_s is after clock_to_s")


def _words(user_text: str) -> list[str]:
    """The words of what a user typed: runs of letters and digits, lower case, each at most 64
    characters, at most 16 different ones; every other character only separates them."""
    normal = unicodedata.normalize("NFC", user_text[:_TEXT_CHARS])
    words: list[str] = []
    for match in _WORD.finditer(normal):
        word = match.group().lower()[:_WORD_CHARS]
        if word not in words:
            words.append(word)
            if len(words) == _MAX_WORDS:
                break
    return words


def _fts_query(words: Sequence[str]) -> str:
    """An FTS5 query where every word is a quoted prefix term; the words hold no quote, so no
    operator, column filter or grouping can come from them."""
    return " ".join(f'"{word}"*' for word in words)


def _tsquery(words: Sequence[str]) -> str:
    """A ``to_tsquery`` text where every word is a quoted prefix lexeme, all AND-ed."""
    return " & ".join(f"'{word}':*" for word in words)


def _text_vector() -> ColumnElement[Any]:
    """The PostgreSQL text vector: the stored ``to_tsvector('simple', title || ' ' || body)``
    column the migration adds and indexes (it is not in the model: no other database has it)."""
    return literal_column("search_documents.search_vector")


def _conditions(query: SearchQuery, dialect: str) -> list[ColumnElement[bool]]:
    """The query's filters, as conditions on the document row."""
    conditions: list[ColumnElement[bool]] = []
    if query.event_id is not None:
        conditions.append(SearchDocument.event_id == query.event_id)
    if query.feed_id is not None:
        conditions.append(SearchDocument.feed_id == query.feed_id)
    if query.kinds:
        conditions.append(SearchDocument.kind.in_(sorted(set(query.kinds))))
    if query.clock_from_s is not None:
        conditions.append(SearchDocument.clock_end_s >= float(query.clock_from_s))
    if query.clock_to_s is not None:
        conditions.append(SearchDocument.clock_start_s <= float(query.clock_to_s))
    for tag in dict.fromkeys(query.tags):
        if _PLAIN_TAG.fullmatch(tag):
            stored = cast(SearchDocument.tags, Text)
            position = func.instr if dialect == "sqlite" else func.strpos
            conditions.append(position(stored, json.dumps(tag)) > 0)
        elements = _json_elements(SearchDocument.tags, dialect)
        conditions.append(exists(select(1).select_from(elements).where(elements.c.value == tag)))
    return conditions


def _fts_hits(words: Sequence[str], *, scored: bool) -> CTE:
    """The ids of the documents the words match in the SQLite text index, with their relevance
    when ``scored``. Materialized, so that the text index is searched once per statement
    whatever the planner makes of the other conditions (a text search repeated row by row
    would cost a search per document)."""
    fts = table("search_fts", column("rowid"))
    columns: list[ColumnElement[Any]] = [fts.c.rowid.label("doc_id")]
    if scored:
        columns.append((-func.bm25(literal_column("search_fts"))).label("score"))
    return (
        select(*columns)
        .select_from(fts)
        .where(literal_column("search_fts").op("MATCH")(_fts_query(words)))
        .cte("text_hits")
        .prefix_with("MATERIALIZED")
    )


def _page(
    words: list[str] | None,
    conditions: Sequence[ColumnElement[bool]],
    after: tuple[Any, int] | None,
    size: int,
    dialect: str,
) -> Select[Any]:
    """The page's statement. The sort keys of the page's rows are found first, and only those
    rows are then read whole, so that sorting many matches moves little data."""
    source: FromClause = _TABLE
    where = list(conditions)
    key: ColumnElement[Any]
    if words:
        if dialect == "sqlite":
            hits = _fts_hits(words, scored=True)
            source = _TABLE.join(hits, hits.c.doc_id == SearchDocument.id)
            key = hits.c.score
        else:
            vector = _text_vector()
            terms = func.to_tsquery(literal_column("'simple'"), _tsquery(words))
            where.append(vector.op("@@")(terms))
            key = cast(func.ts_rank(vector, terms), postgresql.DOUBLE_PRECISION)
        if after is not None:
            where.append(or_(key < after[0], and_(key == after[0], SearchDocument.id > after[1])))
        order = (key.desc(), SearchDocument.id.asc())
    else:
        key = _TABLE.c.created_at
        if after is not None:
            where.append(or_(key < after[0], and_(key == after[0], SearchDocument.id < after[1])))
        order = (key.desc(), SearchDocument.id.desc())
    keys = (
        select(SearchDocument.id.label("id"), key.label("key"))
        .select_from(source)
        .where(*where)
        .order_by(*order)
        .limit(size)
        .subquery("page_keys")
    )
    return (
        select(
            keys.c.id,
            keys.c.key,
            SearchDocument.kind,
            SearchDocument.ref_id,
            SearchDocument.title,
            SearchDocument.event_id,
            SearchDocument.feed_id,
            SearchDocument.asset_id,
            SearchDocument.sport,
            SearchDocument.clock_start_s,
            SearchDocument.clock_end_s,
            SearchDocument.tags,
            SearchDocument.athletes,
        )
        .select_from(keys.join(_TABLE, SearchDocument.id == keys.c.id))
        .order_by(keys.c.key.desc(), keys.c.id.asc() if words else keys.c.id.desc())
    )


def _json_elements(array: SQLColumnExpression[Any], dialect: str) -> TableValuedAlias:
    """The elements of a JSON array of strings as a table with one column, ``value``."""
    if dialect == "sqlite":
        return func.json_each(array).table_valued("value")
    return func.json_array_elements_text(array).table_valued("value")


def _facets(
    session: Session,
    words: list[str] | None,
    conditions: Sequence[ColumnElement[bool]],
    dialect: str,
) -> dict[str, dict[str, int]]:
    """Counts by kind, sport, event and tag over every matching document, in one statement.

    The matching documents are gathered once and counted four ways; when nothing narrows the
    search, the table itself is counted, so that its indexes on kind, sport and event can
    answer the first three counts.
    """
    source: FromClause
    kind: ColumnElement[Any]
    sport: ColumnElement[Any]
    event_id: ColumnElement[Any]
    tags: ColumnElement[Any]
    if not words and not conditions:
        source = _TABLE
        kind, sport, event_id, tags = (
            _TABLE.c.kind,
            _TABLE.c.sport,
            _TABLE.c.event_id,
            _TABLE.c.tags,
        )
    else:
        matched = select(_TABLE.c.kind, _TABLE.c.sport, _TABLE.c.event_id, _TABLE.c.tags)
        if words and dialect == "sqlite":
            hits = _fts_hits(words, scored=False)
            matched = matched.select_from(_TABLE.join(hits, hits.c.doc_id == _TABLE.c.id))
        elif words:
            terms = func.to_tsquery(literal_column("'simple'"), _tsquery(words))
            matched = matched.where(_text_vector().op("@@")(terms))
        gathered = matched.where(*conditions).cte("matched").prefix_with("MATERIALIZED")
        source = gathered
        kind, sport, event_id, tags = (
            gathered.c.kind,
            gathered.c.sport,
            gathered.c.event_id,
            gathered.c.tags,
        )

    def counted(facet: str, value: ColumnElement[Any], *more: ColumnElement[bool]) -> Select[Any]:
        return (
            select(
                literal_column(f"'{facet}'").label("facet"),
                value.label("value"),
                func.count().label("n"),
            )
            .select_from(source)
            .where(*more)
            .group_by(value)
        )

    elements = _json_elements(tags, dialect)
    top_tags = (
        select(elements.c.value.label("value"), func.count().label("n"))
        .select_from(source.join(elements, true()))
        .where(cast(tags, Text) != "[]")
        .group_by(elements.c.value)
        .order_by(func.count().desc(), elements.c.value)
        .limit(TAG_FACET_SIZE)
        .subquery("top_tags")
    )
    statement = union_all(
        counted("kind", kind),
        counted("sport", sport, sport.is_not(None)),
        counted("event", event_id),
        select(literal_column("'tags'"), top_tags.c.value, top_tags.c.n),
    )
    counts = _empty_facets()
    for facet, value, n in session.execute(statement):
        if value is not None:
            counts[facet][str(value)] = int(n)
    return {
        name: dict(sorted(values.items(), key=lambda item: (-item[1], item[0])))
        for name, values in counts.items()
    }


def _empty_facets() -> dict[str, dict[str, int]]:
    return {"kind": {}, "sport": {}, "event": {}, "tags": {}}


# -- cursors --------------------------------------------------------------------------------------


def _fingerprint(query: SearchQuery, words: list[str] | None) -> str:
    """What a cursor is bound to: the query's words and filters (not its page size)."""
    shape = [
        words,
        query.event_id,
        query.feed_id,
        sorted(set(query.kinds)),
        query.clock_from_s,
        query.clock_to_s,
        sorted(set(query.tags)),
    ]
    encoded = json.dumps(shape, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.blake2b(encoded, digest_size=8).hexdigest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _digest(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=_CURSOR_DIGEST, key=_CURSOR_KEY).digest()


def _encode_cursor(fingerprint: str, key: float | str, last_id: int) -> str:
    """The position after the last hit: its sort key and id, bound to the query, with a check
    digest so that a cursor altered in transit is refused. It holds nothing secret: a cursor
    made up by hand could only move within the results the caller may see anyway."""
    payload = json.dumps([fingerprint, key, last_id], separators=(",", ":")).encode()
    return _b64(_digest(payload) + payload)


def _decode_cursor(cursor: str, fingerprint: str) -> tuple[Any, int]:
    """The sort key and id a cursor holds: a score for a query with words, else a creation time."""
    invalid = BadRequest("invalid cursor")
    if not isinstance(cursor, str) or len(cursor) > _CURSOR_CHARS or not cursor.isascii():
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        if _b64(raw) != cursor:
            raise ValueError(cursor)
        digest, payload = raw[:_CURSOR_DIGEST], raw[_CURSOR_DIGEST:]
        if not hmac.compare_digest(digest, _digest(payload)):
            raise ValueError(cursor)
        data = json.loads(payload)
        if not isinstance(data, list) or len(data) != 3 or data[0] != fingerprint:
            raise ValueError(cursor)
        _, key, last_id = data
        if isinstance(last_id, bool) or not isinstance(last_id, int):
            raise ValueError(cursor)
        if isinstance(key, str):
            return datetime.fromisoformat(key), last_id
        if isinstance(key, bool) or not isinstance(key, int | float) or not math.isfinite(key):
            raise ValueError(cursor)
        return float(key), last_id
    except ValueError:
        raise invalid from None


def _check_cursor_kind(after: tuple[Any, int] | None, ranked: bool) -> None:
    if after is not None and isinstance(after[0], float) != ranked:
        raise BadRequest("invalid cursor")


# -- documents ------------------------------------------------------------------------------------


def _dialect(session: Session) -> str:
    return session.get_bind(mapper=SearchDocument.__mapper__).dialect.name


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
    dialect = _dialect(session)
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite.insert(_TABLE) if dialect == "sqlite" else postgresql.insert(_TABLE)
        statement = insert.on_conflict_do_update(
            index_elements=[_TABLE.c.kind, _TABLE.c.ref_id],
            set_={
                name: insert.excluded[name] for name in _COLUMNS if name not in ("kind", "ref_id")
            },
        )
        for batch in _batches(documents):
            session.execute(statement, batch)
        return
    for document in documents:
        updated = session.execute(
            update(_TABLE)
            .where(_TABLE.c.kind == document["kind"], _TABLE.c.ref_id == document["ref_id"])
            .values(document)
        )
        if not getattr(updated, "rowcount", 0):
            session.execute(_TABLE.insert().values(document))


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
            select(_TABLE.c.id, *(_TABLE.c[name] for name in _COLUMNS)),
            _TABLE.c.event_id,
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
        session.execute(delete(_TABLE).where(_TABLE.c.id.in_(stale[start : start + _BATCH])))
    _upsert(session, changed)
    return len(wanted)


def _same(stored: Any, built: Any) -> bool:
    """Whether a stored value is the one built; SQLite gives times back without their zone."""
    if isinstance(stored, datetime) and isinstance(built, datetime):
        if (stored.tzinfo is None) != (built.tzinfo is None):
            return stored.replace(tzinfo=None) == built.replace(tzinfo=None)
        return stored == built
    return bool(stored == built)


__all__ = [
    "KINDS",
    "MAX_LIMIT",
    "Hit",
    "SearchPage",
    "SearchQuery",
    "index_asset",
    "index_event",
    "index_feed",
    "index_marker",
    "index_replay",
    "reindex_all",
    "reindex_event",
    "remove",
    "search",
]
