"""One page of results: ordered by relevance (with words) or newest first (without), with facets
and the cursor to the next page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    and_,
    cast,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from catalog.models import SearchDocument
from catalog.search.backends import (
    DOCUMENTS,
    conditions_for,
    dialect_of,
    fts_hits,
    text_vector,
    tsquery,
)
from catalog.search.cursors import (
    check_cursor_kind,
    decode_cursor,
    encode_cursor,
    query_fingerprint,
)
from catalog.search.facets import count_facets
from catalog.search.query import (
    MAX_LIMIT,
    Hit,
    SearchPage,
    SearchQuery,
    check_query,
    empty_facets,
    words_of,
)


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
    check_query(query)
    limit = min(max(int(query.limit), 1), MAX_LIMIT)
    words = None if query.text is None else words_of(query.text)
    fingerprint = query_fingerprint(query, words)
    after = decode_cursor(query.cursor, fingerprint) if query.cursor else None
    check_cursor_kind(after, ranked=bool(words))
    if words == []:
        return SearchPage(hits=[], next_cursor=None, facets=empty_facets())
    dialect = dialect_of(session)
    conditions = conditions_for(query, dialect)
    if where is not None:
        conditions.append(where)
    rows = session.execute(_page(words, conditions, after, limit + 1, dialect)).all()

    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        key: float | str = float(last.key) if words else last.key.isoformat()
        next_cursor = encode_cursor(fingerprint, key, last.id)
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
    counts = count_facets(session, words, conditions, dialect) if facets else empty_facets()
    return SearchPage(hits=hits, next_cursor=next_cursor, facets=counts)


def _page(
    words: list[str] | None,
    conditions: Sequence[ColumnElement[bool]],
    after: tuple[Any, int] | None,
    size: int,
    dialect: str,
) -> Select[Any]:
    """The page's statement. The sort keys of the page's rows are found first, and only those
    rows are then read whole, so that sorting many matches moves little data."""
    source: FromClause = DOCUMENTS
    where = list(conditions)
    key: ColumnElement[Any]
    if words:
        if dialect == "sqlite":
            hits = fts_hits(words, scored=True)
            source = DOCUMENTS.join(hits, hits.c.doc_id == SearchDocument.id)
            key = hits.c.score
        else:
            vector = text_vector()
            terms = func.to_tsquery(literal_column("'simple'"), tsquery(words))
            where.append(vector.op("@@")(terms))
            key = cast(func.ts_rank(vector, terms), postgresql.DOUBLE_PRECISION)
        if after is not None:
            where.append(or_(key < after[0], and_(key == after[0], SearchDocument.id > after[1])))
        order = (key.desc(), SearchDocument.id.asc())
    else:
        key = DOCUMENTS.c.created_at
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
        .select_from(keys.join(DOCUMENTS, SearchDocument.id == keys.c.id))
        .order_by(keys.c.key.desc(), keys.c.id.asc() if words else keys.c.id.desc())
    )
