"""The question a search asks, its checks, and the user's text cut into words (never handed to
the database as query syntax)."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field

from infra.core.errors import BadRequest

KINDS = ("event", "feed", "asset", "marker", "replay")
"""What a document can stand for, by the table it comes from."""


MAX_LIMIT = 100


_TEXT_CHARS = 2_000
_MAX_WORDS = 16


_WORD_CHARS = 64


_WORD = re.compile(r"[^\W_]+")


PLAIN_TAG = re.compile(r"[A-Za-z0-9 _.:+-]+")
"""Tags that Python's JSON encoder (which writes the JSON columns) stores as themselves between
double quotes: a substring test of the stored array then passes over most documents without
parsing them, before the exact test of the array's elements."""


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
    facets: dict[str, dict[str, int]] = field(default_factory=lambda: empty_facets())
    """``kind``, ``sport``, ``event`` (event id) and ``tags`` (the 20 most used), each value with
    the number of documents matching the whole query (every page, not only this one)."""


def check_query(query: SearchQuery) -> None:
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


def words_of(user_text: str) -> list[str]:
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


def empty_facets() -> dict[str, dict[str, int]]:
    return {"kind": {}, "sport": {}, "event": {}, "tags": {}}
