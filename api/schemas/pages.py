"""Pages of results: offset pages for short lists, cursor pages for long ones."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


MAX_OFFSET = 1_000_000_000
"""The deepest offset a page may start at: beyond any catalog, and within every database's
integers (a larger number overflowed SQLite's and answered 500)."""


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class CursorPage(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; ``None`` on the last one."""
