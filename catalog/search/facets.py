"""Facet counts (kinds, sports, events, feeds, tags, athletes) over everything a search matches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    Text,
    cast,
    func,
    literal_column,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from catalog.search.backends import DOCUMENTS, fts_hits, json_elements, text_vector, tsquery
from catalog.search.query import empty_facets

TAG_FACET_SIZE = 20


def count_facets(
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
        source = DOCUMENTS
        kind, sport, event_id, tags = (
            DOCUMENTS.c.kind,
            DOCUMENTS.c.sport,
            DOCUMENTS.c.event_id,
            DOCUMENTS.c.tags,
        )
    else:
        matched = select(
            DOCUMENTS.c.kind, DOCUMENTS.c.sport, DOCUMENTS.c.event_id, DOCUMENTS.c.tags
        )
        if words and dialect == "sqlite":
            hits = fts_hits(words, scored=False)
            matched = matched.select_from(DOCUMENTS.join(hits, hits.c.doc_id == DOCUMENTS.c.id))
        elif words:
            terms = func.to_tsquery(literal_column("'simple'"), tsquery(words))
            matched = matched.where(text_vector().op("@@")(terms))
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

    elements = json_elements(tags, dialect)
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
    counts = empty_facets()
    for facet, value, n in session.execute(statement):
        if value is not None:
            counts[facet][str(value)] = int(n)
    return {
        name: dict(sorted(values.items(), key=lambda item: (-item[1], item[0])))
        for name, values in counts.items()
    }
