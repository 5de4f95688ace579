"""The SQL that differs between the two backends: SQLite's FTS5 match and PostgreSQL's text
search, each word a quoted prefix term, and the filters every search applies."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    SQLColumnExpression,
    Text,
    cast,
    column,
    exists,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TableValuedAlias

from catalog.models import Base, SearchDocument
from catalog.search.query import PLAIN_TAG, SearchQuery

DOCUMENTS = Base.metadata.tables["search_documents"]


def _fts_query(words: Sequence[str]) -> str:
    """An FTS5 query where every word is a quoted prefix term; the words hold no quote, so no
    operator, column filter or grouping can come from them."""
    return " ".join(f'"{word}"*' for word in words)


def tsquery(words: Sequence[str]) -> str:
    """A ``to_tsquery`` text where every word is a quoted prefix lexeme, all AND-ed."""
    return " & ".join(f"'{word}':*" for word in words)


def text_vector() -> ColumnElement[Any]:
    """The PostgreSQL text vector: the stored ``to_tsvector('simple', title || ' ' || body)``
    column the migration adds and indexes (it is not in the model: no other database has it)."""
    return literal_column("search_documents.search_vector")


def conditions_for(query: SearchQuery, dialect: str) -> list[ColumnElement[bool]]:
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
        if PLAIN_TAG.fullmatch(tag):
            stored = cast(SearchDocument.tags, Text)
            position = func.instr if dialect == "sqlite" else func.strpos
            conditions.append(position(stored, json.dumps(tag)) > 0)
        elements = json_elements(SearchDocument.tags, dialect)
        conditions.append(exists(select(1).select_from(elements).where(elements.c.value == tag)))
    return conditions


def fts_hits(words: Sequence[str], *, scored: bool) -> CTE:
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


def json_elements(array: SQLColumnExpression[Any], dialect: str) -> TableValuedAlias:
    """The elements of a JSON array of strings as a table with one column, ``value``."""
    if dialect == "sqlite":
        return func.json_each(array).table_valued("value")
    return func.json_array_elements_text(array).table_valued("value")


def dialect_of(session: Session) -> str:
    return session.get_bind(mapper=SearchDocument.__mapper__).dialect.name
