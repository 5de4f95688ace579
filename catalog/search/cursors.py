"""Opaque, signed page cursors bound to the query they came from (keyset pagination)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from datetime import datetime
from typing import Any

from catalog.search.query import SearchQuery
from infra.core.errors import BadRequest

_CURSOR_CHARS = 1_000


_CURSOR_DIGEST = 12


_CURSOR_KEY = b"vantage.catalog.search.cursor.v1"


def query_fingerprint(query: SearchQuery, words: list[str] | None) -> str:
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


def encode_cursor(fingerprint: str, key: float | str, last_id: int) -> str:
    """The position after the last hit: its sort key and id, bound to the query, with a check
    digest so that a cursor altered in transit is refused. It holds nothing secret: a cursor
    made up by hand could only move within the results the caller may see anyway."""
    payload = json.dumps([fingerprint, key, last_id], separators=(",", ":")).encode()
    return _b64(_digest(payload) + payload)


def decode_cursor(cursor: str, fingerprint: str) -> tuple[Any, int]:
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


def check_cursor_kind(after: tuple[Any, int] | None, ranked: bool) -> None:
    if after is not None and isinstance(after[0], float) != ranked:
        raise BadRequest("invalid cursor")
