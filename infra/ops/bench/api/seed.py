"""Seeding a fresh catalog in bulk, events and recordings then broadcasters, from one seeded
random generator, and checking that every row was indexed for search."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from random import Random

from sqlalchemy.orm import Session, sessionmaker

from catalog.models import (
    Asset,
    Event,
    Feed,
    Marker,
    Rendition,
    SearchDocument,
    utcnow,
)
from catalog.search import SearchQuery, search
from infra.core.database import session_scope
from infra.core.errors import VantageError
from infra.ops.bench.api.recordings import CatalogRows, Holder, bulk_insert
from infra.ops.bench.api.rights import seed_broadcasters
from infra.ops.bench.api.world import SPORTS, Say, Scale


@dataclass
class Seeded:
    """What was seeded: counts, times, and what queries and requests draw from."""

    counts: dict[str, int]
    seconds: dict[str, float]
    sports: list[str]
    tags: list[str]
    event_ids: list[str]
    asset_ids: list[str]
    clock_span_s: float
    athletes: list[str]
    """Every athlete some marker names."""
    broadcasters: list[Holder]
    admin_key: str
    now: datetime


def seed_catalog(
    sessions: sessionmaker[Session],
    scale: Scale,
    *,
    seed: int = 7,
    now: datetime | None = None,
    say: Say = lambda _line: None,
) -> Seeded:
    """Fill an empty, migrated catalog: the recordings and their documents in bulk, then
    broadcasters and keys the way an admin makes them (``catalog.tenants``), and their rights
    and airings in bulk."""
    moment = now or utcnow()
    rng = Random(seed)
    seconds: dict[str, float] = {}
    began = time.perf_counter()
    say(f"seeding {scale.assets} recordings across {scale.event_count} events")
    catalog = CatalogRows(scale, rng, moment)
    catalog.build()
    seconds["generate"] = time.perf_counter() - began
    mark = time.perf_counter()
    with session_scope(sessions) as session:
        for model, rows in (
            (Event, catalog.events),
            (Feed, catalog.feeds),
            (Asset, catalog.assets),
            (Rendition, catalog.renditions),
            (Marker, catalog.markers),
            (SearchDocument, catalog.documents),
        ):
            bulk_insert(session, model, rows)
    seconds["insert"] = time.perf_counter() - mark
    mark = time.perf_counter()
    say(f"seeding {scale.broadcasters} broadcasters and their rights")
    holders, grants, airings, admin_key = seed_broadcasters(sessions, scale, rng, moment, catalog)
    seconds["rights"] = time.perf_counter() - mark
    seconds = {name: round(value, 3) for name, value in seconds.items()}
    seconds["total"] = round(time.perf_counter() - began, 3)
    tags = sorted({tag for sport in SPORTS for tag in sport.tags})
    return Seeded(
        counts={
            "events": len(catalog.events),
            "feeds": len(catalog.feeds),
            "assets": len(catalog.assets),
            "renditions": len(catalog.renditions),
            "markers": len(catalog.markers),
            "documents": len(catalog.documents),
            "broadcasters": len(holders),
            "grants": grants,
            "airings": airings,
            "keys": len(holders) + 1,
        },
        seconds=seconds,
        sports=[s.name for s in SPORTS],
        tags=tags,
        event_ids=[e["id"] for e in catalog.events],
        asset_ids=[a["id"] for a in catalog.assets],
        clock_span_s=catalog.clock_span_s,
        athletes=sorted({name for m in catalog.markers for name in m["athletes"]}),
        broadcasters=holders,
        admin_key=admin_key,
        now=moment,
    )


def check_indexed(sessions: sessionmaker[Session], seeded: Seeded) -> dict[str, int]:
    """Hits for a sport and for an athlete, by text search as staff: the text index holds the
    bulk-inserted documents. Raises when it does not."""
    found = {}
    examples = [seeded.sports[0], *(seeded.athletes[:1])]
    with sessions() as session:
        for words in examples:
            page = search(SearchQuery(text=words), session=session)
            found[words] = sum(page.facets["kind"].values())
    if not all(found.values()):
        raise VantageError(f"the text index does not find the seeded documents: {found}")
    return found
