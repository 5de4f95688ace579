"""The catalog's queries timed in this process, each with a real session as a request has: under
a broadcaster's rights and the same as staff, side by side."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from random import Random
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from catalog import services
from catalog.access import Caller, caller_for
from catalog.migrate import refresh_statistics
from catalog.models import (
    Asset,
    Base,
    Event,
)
from catalog.search import SearchQuery, search
from infra.core.errors import BadRequest, NotFound
from infra.ops.bench.api.recordings import Holder
from infra.ops.bench.api.seed import Seeded
from infra.ops.bench.api.world import PAGE, SURNAMES, WARM_UP, Query, Say
from infra.ops.bench.figures import percentile, ratio


def analyze(engine: Engine) -> None:
    """Bring a freshly loaded catalog to the state it is in once in use: on PostgreSQL what
    autovacuum soon gives it after a bulk load (planner statistics and a visibility map for
    index-only scans), on SQLite the statistics the reconciler refreshes every hour."""
    if engine.dialect.name != "postgresql":
        refresh_statistics(engine)
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in Base.metadata.sorted_tables:
            connection.execute(text(f'VACUUM ANALYZE "{table.name}"'))


def summary_ms(values: Sequence[float]) -> dict[str, float | int]:
    """Count, p50, p95 and max of times in seconds, as milliseconds."""
    return {
        "count": len(values),
        "p50_ms": round(percentile(list(values), 0.5) * 1000, 3),
        "p95_ms": round(percentile(list(values), 0.95) * 1000, 3),
        "max_ms": round(max(values) * 1000, 3),
    }


def _p50(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def timings(
    sessions: sessionmaker[Session], repeat: int, query: Callable[[Session, int], object]
) -> list[float]:
    """Seconds each of ``repeat`` calls of ``query(session, i)`` took (``i`` from 0), each in a
    session of its own as a request has, after a few untimed calls (``i`` from ``repeat``)."""
    for i in range(repeat, repeat + WARM_UP):
        with sessions() as session:
            query(session, i)
    times = []
    for i in range(repeat):
        with sessions() as session:
            began = time.perf_counter()
            query(session, i)
            times.append(time.perf_counter() - began)
    return times


def paired(
    sessions: sessionmaker[Session], repeat: int, query: Query
) -> tuple[list[float], list[float]]:
    """:func:`timings` of each query under rights and as staff, one right after the other
    (taking turns at going first), so that neither finds the caches warmed by the other more
    often: the seconds under rights, then as staff."""
    for i in range(repeat, repeat + WARM_UP):
        for rights in (True, False):
            with sessions() as session:
                query(session, i, rights)
    times: dict[bool, list[float]] = {True: [], False: []}
    for i in range(repeat):
        for rights in (True, False) if i % 2 == 0 else (False, True):
            with sessions() as session:
                began = time.perf_counter()
                query(session, i, rights)
                times[rights].append(time.perf_counter() - began)
    return times[True], times[False]


@dataclass
class Viewer:
    """A broadcaster as the queries see it: its caller and what it may see."""

    holder: Holder
    caller: Caller
    events: list[str] = field(default_factory=list)
    assets: list[str] = field(default_factory=list)


def viewers(sessions: sessionmaker[Session], seeded: Seeded) -> list[Viewer]:
    """Every broadcaster's caller now, with the events and recordings its rights show."""
    found = []
    with sessions() as session:
        for holder in seeded.broadcasters:
            caller = caller_for(holder.principal(), session=session, now=seeded.now)
            events = list(session.scalars(select(Event.id).where(caller.events())))
            assets = list(session.scalars(select(Asset.id).where(caller.assets())))
            found.append(Viewer(holder, caller, sorted(events), sorted(assets)))
    return found


def _compare(rights: Sequence[float], staff: Sequence[float]) -> dict[str, Any]:
    return {
        "rights": summary_ms(rights),
        "staff": summary_ms(staff),
        "rights_cost": ratio(_p50(rights), _p50(staff)),
    }


def _by_kind(kinds: Sequence[str], times: Sequence[float]) -> dict[str, list[float]]:
    grouped: dict[str, list[float]] = {}
    for index, value in enumerate(times):
        grouped.setdefault(kinds[index % len(kinds)], []).append(value)
    return grouped


def text_queries(seeded: Seeded, rng: Random, count: int) -> list[tuple[str, str]]:
    """``count`` (kind, words) pairs, taking the kinds in turn: a sport, the start of the
    surname of an athlete some marker names, and two words (a tag and a surname)."""
    queries = []
    named = [name.split(" ", 1)[1] for name in seeded.athletes] or list(SURNAMES)
    for index in range(count):
        surname = rng.choice(named).split()[0].lower()
        match index % 3:
            case 0:
                queries.append(("sport", rng.choice(seeded.sports).split()[-1]))
            case 1:
                queries.append(("athlete_prefix", surname[: rng.randint(3, 5)]))
            case _:
                tag = rng.choice(seeded.tags).split()[0]
                queries.append(("two_words", f"{tag} {surname}"))
    return queries


def filter_queries(
    seeded: Seeded, people: Sequence[Viewer], rng: Random, count: int
) -> list[tuple[str, SearchQuery]]:
    """``count`` (kind, query) pairs without words, taking the kinds in turn: one event's
    recordings and markers over ten minutes of its clock, one event's markers, and every
    recording (newest first). Events are ones the broadcaster of that turn may see."""
    queries = []
    for index in range(count):
        person = people[index % len(people)]
        event_id = rng.choice(person.events or seeded.event_ids)
        start = round(rng.uniform(0.0, max(seeded.clock_span_s - 600.0, 0.0)), 1)
        match index % 3:
            case 0:
                query = SearchQuery(
                    event_id=event_id, clock_from_s=start, clock_to_s=start + 600.0,
                    kinds=("asset", "marker"),
                )  # fmt: skip
                queries.append(("event_clock_range", query))
            case 1:
                queries.append(("event_markers", SearchQuery(event_id=event_id, kinds=("marker",))))
            case _:
                queries.append(("all_recordings", SearchQuery(kinds=("asset",))))
    return queries


def measure_queries(
    sessions: sessionmaker[Session],
    seeded: Seeded,
    *,
    repeat: int,
    seed: int = 7,
    people: Sequence[Viewer] | None = None,
    say: Say = lambda _line: None,
) -> dict[str, Any]:
    """Every catalog query under broadcasters' rights (taken in turn) and as staff."""
    rng = Random(seed + 1)
    people = list(people) if people is not None else viewers(sessions, seeded)
    if not people:
        raise BadRequest("the benchmark needs at least one broadcaster")
    now = seeded.now

    def person(i: int) -> Viewer:
        return people[i % len(people)]

    results: dict[str, Any] = {}
    say("timing callers")
    results["caller_for"] = summary_ms(
        timings(
            sessions, repeat,
            lambda s, i: caller_for(person(i).holder.principal(), session=s, now=now),
        )
    )  # fmt: skip

    say("timing text search")
    words = text_queries(seeded, rng, repeat + WARM_UP)
    kinds = [kind for kind, _ in words]

    def text_search(session: Session, i: int, rights: bool) -> object:
        where = person(i).caller.documents() if rights else None
        return search(SearchQuery(text=words[i][1]), session=session, where=where)

    with_rights, as_staff = paired(sessions, repeat, text_search)
    by_rights = _by_kind(kinds, with_rights)
    by_staff = _by_kind(kinds, as_staff)
    results["search_text"] = _compare(with_rights, as_staff) | {
        "by_query": {kind: _compare(by_rights[kind], by_staff[kind]) for kind in by_rights},
        "examples": sorted({w for _, w in words[:9]}),
    }

    say("timing search with filters")
    filters = filter_queries(seeded, people, rng, repeat + WARM_UP)
    filter_kinds = [kind for kind, _ in filters]

    def filtered(session: Session, i: int, rights: bool) -> object:
        where = person(i).caller.documents(available_now=True) if rights else None
        return search(filters[i][1], session=session, where=where)

    with_rights, as_staff = paired(sessions, repeat, filtered)
    by_rights = _by_kind(filter_kinds, with_rights)
    by_staff = _by_kind(filter_kinds, as_staff)
    results["search_filters"] = _compare(with_rights, as_staff) | {
        "by_query": {kind: _compare(by_rights[kind], by_staff[kind]) for kind in by_rights},
        "available_now": True,
    }

    say("timing lists")
    totals: dict[str, int] = {}

    def listed(session: Session, i: int, rights: bool) -> object:
        who = person(i)
        visible = who.caller.assets() if rights else None
        rows, total = services.list_assets(
            services.AssetFilter(), session=session, limit=PAGE, visible=visible
        )
        totals[who.holder.id if rights else "staff"] = total
        return rows

    with_rights, as_staff = paired(sessions, repeat, listed)
    visible_totals = [totals[p.holder.id] for p in people if p.holder.id in totals]
    results["list"] = _compare(with_rights, as_staff) | {
        "page": PAGE,
        "staff_total": totals["staff"],
        "broadcaster_totals": {
            "min": min(visible_totals),
            "median": int(statistics.median(visible_totals)),
            "max": max(visible_totals),
        },
    }

    say("timing reads")
    picks = [pick_asset(person(i), seeded, rng) for i in range(repeat + WARM_UP)]
    outcomes: Counter[str] = Counter()

    def read(session: Session, i: int, rights: bool) -> object:
        visible = person(i).caller.assets() if rights else None
        try:
            asset = services.get_asset(picks[i], session=session, visible=visible)
        except NotFound:
            if i < repeat:
                outcomes["not_found" if rights else "staff_not_found"] += 1
            return None
        if i < repeat:
            outcomes["found" if rights else "staff_found"] += 1
        return asset

    with_rights, as_staff = paired(sessions, repeat, read)
    results["read"] = _compare(with_rights, as_staff) | {
        "found": outcomes["found"],
        "not_found": outcomes["not_found"],
        "staff_not_found": outcomes["staff_not_found"],
    }
    return results


def pick_asset(person: Viewer, seeded: Seeded, rng: Random) -> str:
    """A recording id: half the time one the broadcaster may see, else any (mostly not)."""
    if person.assets and rng.random() < 0.5:
        return rng.choice(person.assets)
    return rng.choice(seeded.asset_ids)
