"""The catalog benchmark at a small scale on SQLite: what it seeds is what the catalog's own
services would have written, rights really hide recordings, and its JSON adds up. Speed is
never asserted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from catalog import search as catalog_search
from catalog import services
from catalog.models import Asset, Event, Feed, Marker, Rendition, RightsGrant, SearchDocument
from infra.core.database import make_engine, make_session_factory
from infra.core.errors import BadRequest, NotFound
from infra.core.settings import Settings
from infra.ops.bench.api import (
    QUICK,
    Seeded,
    Viewer,
    api_benchmark,
    fresh_database,
    measure_queries,
    run_on,
    scale_for,
    seed_catalog,
    viewers,
)

REPEAT = 5


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    from catalog.migrate import upgrade

    db = make_engine(f"sqlite:///{tmp_path_factory.mktemp('bench-api') / 'catalog.db'}")
    upgrade(db)
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture(scope="module")
def seeded(sessions: sessionmaker[Session]) -> Seeded:
    return seed_catalog(sessions, QUICK, seed=11)


@pytest.fixture(scope="module")
def people(sessions: sessionmaker[Session], seeded: Seeded) -> list[Viewer]:
    return viewers(sessions, seeded)


def _count(session: Session, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_the_catalog_holds_what_was_seeded(sessions: sessionmaker[Session], seeded: Seeded) -> None:
    counts = seeded.counts
    assert counts["assets"] == QUICK.assets
    assert counts["broadcasters"] == QUICK.broadcasters
    assert counts["markers"] == QUICK.marker_count
    with sessions() as session:
        assert _count(session, Asset) == counts["assets"]
        assert _count(session, Event) == counts["events"]
        assert _count(session, Feed) == counts["feeds"]
        assert _count(session, Marker) == counts["markers"]
        assert _count(session, Rendition) == counts["renditions"]
        assert _count(session, RightsGrant) == counts["grants"]
        assert _count(session, SearchDocument) == counts["documents"]
        assert counts["documents"] == (
            counts["events"] + counts["feeds"] + counts["assets"] + counts["markers"]
        )
        # Every sport has events.
        assert session.scalar(select(func.count(func.distinct(Event.sport)))) == 12


def test_the_same_seed_seeds_the_same_catalog(tmp_path: Path) -> None:
    from catalog.migrate import upgrade

    names = []
    for run in range(2):
        db = make_engine(f"sqlite:///{tmp_path / f'{run}.db'}")
        upgrade(db)
        factory = make_session_factory(db)
        seeded = seed_catalog(factory, replace_scale(assets=300, broadcasters=3), seed=5)
        with factory() as session:
            names.append(
                (
                    seeded.asset_ids,
                    list(session.scalars(select(Event.name).order_by(Event.name))),
                    list(session.scalars(select(RightsGrant.scope).order_by(RightsGrant.scope))),
                )
            )
        db.dispose()
    assert names[0] == names[1]


def replace_scale(**changes: int) -> Any:
    return scale_for(quick=True, **changes)


def test_documents_are_the_ones_the_search_service_writes(
    sessions: sessionmaker[Session], seeded: Seeded
) -> None:
    """Rebuilding every document from the tables rewrites any that differ: none do."""
    columns = [c for c in SearchDocument.__table__.columns if c.name != "id"]

    def snapshot(session: Session) -> dict[tuple[str, str], tuple[Any, ...]]:
        rows = session.execute(select(*columns))
        return {(row.kind, row.ref_id): tuple(row) for row in rows}

    with sessions() as session:
        before = snapshot(session)
        assert catalog_search.reindex_all(session=session) == seeded.counts["documents"]
        after = snapshot(session)
        session.rollback()
    assert after == before


def test_the_text_index_finds_the_seeded_documents(
    sessions: sessionmaker[Session], seeded: Seeded
) -> None:
    with sessions() as session:
        page = catalog_search.search(
            catalog_search.SearchQuery(text=seeded.sports[0]), session=session
        )
        assert page.hits
        assert page.facets["kind"]["event"] == seeded.counts["events"] // 12
        prefix = seeded.athletes[0].split()[-1][:4].lower()
        athletes = catalog_search.search(
            catalog_search.SearchQuery(text=prefix, kinds=("marker",)), session=session
        )
        assert athletes.hits
        assert all(
            any(word.lower().startswith(prefix) for name in hit.athletes for word in name.split())
            for hit in athletes.hits
        )


def test_rights_hide_recordings(
    sessions: sessionmaker[Session], seeded: Seeded, people: list[Viewer]
) -> None:
    profiles = {p.holder.profile for p in people}
    assert {"worldwide", "sports", "events", "feeds", "recordings"} <= profiles
    with sessions() as session:
        _, staff_total = services.list_assets(services.AssetFilter(), session=session, limit=1)
        narrow = min(people, key=lambda p: len(p.assets))
        _, total = services.list_assets(
            services.AssetFilter(), session=session, limit=1, visible=narrow.caller.assets()
        )
        assert total == len(narrow.assets) < staff_total == QUICK.assets
        hidden = next(i for i in seeded.asset_ids if i not in set(narrow.assets))
        with pytest.raises(NotFound):
            services.get_asset(hidden, session=session, visible=narrow.caller.assets())
        assert services.get_asset(hidden, session=session).id == hidden
        if narrow.assets:
            shown = narrow.assets[0]
            assert services.get_asset(shown, session=session, visible=narrow.caller.assets())
        worldwide = next(p for p in people if p.holder.profile == "worldwide")
        assert len(worldwide.assets) == QUICK.assets


def _summary_ok(found: dict[str, Any], count: int) -> None:
    assert found["count"] == count
    assert 0 <= found["p50_ms"] <= found["p95_ms"] <= found["max_ms"]


def test_measured_queries_add_up(
    sessions: sessionmaker[Session], seeded: Seeded, people: list[Viewer]
) -> None:
    queries = measure_queries(sessions, seeded, repeat=REPEAT, seed=3, people=people)
    _summary_ok(queries["caller_for"], REPEAT)
    for name in ("search_text", "search_filters", "list", "read"):
        _summary_ok(queries[name]["rights"], REPEAT)
        _summary_ok(queries[name]["staff"], REPEAT)
        assert queries[name]["rights_cost"] > 0
    assert set(queries["search_text"]["by_query"]) == {"sport", "athlete_prefix", "two_words"}
    listed = queries["list"]
    assert listed["staff_total"] == QUICK.assets
    assert listed["broadcaster_totals"]["min"] < listed["staff_total"]
    read = queries["read"]
    assert read["found"] + read["not_found"] == REPEAT
    assert read["staff_not_found"] == 0


def test_the_whole_benchmark_over_http(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, home=tmp_path)
    result = api_benchmark(settings, scale=QUICK, seed=2, repeat=REPEAT, http_seconds=1.0)
    assert result["database"] == "sqlite"
    assert result["machine"]["cpus"] >= 1
    assert result["seed"]["counts"]["assets"] == QUICK.assets
    assert result["seed"]["counts"]["broadcasters"] == QUICK.broadcasters
    assert all(hits > 0 for hits in result["seed"]["text_index_hits"].values())
    assert result["target_p95_ms"] == 50
    assert set(result["met"]) >= {"search_text", "search_filters", "list", "read", "caller_for"}
    assert all(isinstance(value, bool) for value in result["met"].values())
    http = result["http"]
    for name in ("broadcaster_keys", "admin_key"):
        run = http[name]
        assert run["requests"] > 0
        assert not run["errors"]
        assert sum(run["status"].values()) == run["requests"]
        _summary_ok(run["latency"], run["requests"])
        assert run["server_cpu_s"] > 0
    assert set(http["broadcaster_keys"]["status"]) <= {"200", "404"}
    assert http["admin_key"]["status"] == {"200": http["admin_key"]["requests"]}


def test_a_run_on_a_database_without_http(tmp_path: Path) -> None:
    with fresh_database(None) as (url, where):
        folder = Path(where).parent
        result = run_on(
            Settings(_env_file=None, home=tmp_path),
            url,
            scale=replace_scale(assets=300, broadcasters=2),
            repeat=2,
            http_seconds=0,
        )
        assert folder.exists()
    assert not folder.exists()
    assert result["http"] is None


def test_what_the_benchmark_refuses() -> None:
    settings = Settings(_env_file=None)
    with pytest.raises(BadRequest, match="--database-url"):
        api_benchmark(settings, scale=QUICK, both=True)
    with pytest.raises(BadRequest, match="PostgreSQL"):
        api_benchmark(settings, scale=QUICK, database_url="sqlite:///elsewhere.db")


def test_scales() -> None:
    assert scale_for(quick=False).assets == 100_000
    assert scale_for(quick=False).marker_count == 20_000
    assert scale_for(quick=False).event_count == 500
    assert scale_for(quick=True) == QUICK
    assert scale_for(quick=True, assets=500).marker_count == 100
    assert scale_for(quick=True, markers=7).marker_count == 7
