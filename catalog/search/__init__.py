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

One subject per module: :mod:`.documents` (what is indexed, and when), :mod:`.query` (the
question and its words), :mod:`.backends` (the SQL that differs between SQLite and PostgreSQL),
:mod:`.facets`, :mod:`.cursors` and :mod:`.pages` (one page of results).
"""

from __future__ import annotations

from catalog.search.documents import (
    index_asset,
    index_event,
    index_feed,
    index_marker,
    index_replay,
    reindex_all,
    reindex_event,
    remove,
)
from catalog.search.facets import TAG_FACET_SIZE
from catalog.search.pages import search
from catalog.search.query import KINDS, MAX_LIMIT, Hit, SearchPage, SearchQuery

__all__ = [
    "KINDS",
    "MAX_LIMIT",
    "TAG_FACET_SIZE",
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
