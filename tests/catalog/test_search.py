"""Catalog search on a real SQLite file and, when VANTAGE_TEST_DATABASE_URL is set, on PostgreSQL:
indexing, safe prefix matching, filters, rights conditions, facets and keyset pages."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, event, exists, select, text, update
from sqlalchemy.orm import Session

from catalog import search as catalog_search
from catalog.migrate import upgrade
from catalog.models import (
    Asset,
    AssetKind,
    Broadcaster,
    Event,
    Feed,
    Marker,
    Replay,
    ReplayKind,
    SearchDocument,
)
from catalog.search import SearchPage, SearchQuery, search
from infra.core.database import make_engine, make_session_factory
from infra.core.errors import BadRequest

PG_URL = os.environ.get("VANTAGE_TEST_DATABASE_URL")
ORIGIN = datetime(2026, 8, 28, 18, 0, tzinfo=UTC)
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]
"""SQLite always; PostgreSQL too when a database is given."""


# -- databases --------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated database: a SQLite file, or a fresh schema on the PostgreSQL given."""
    if request.param == "sqlite":
        db = make_engine(f"sqlite:///{tmp_path_factory.mktemp('search') / 'catalog.db'}")
        upgrade(db)
        yield db
        db.dispose()
        return
    assert PG_URL
    schema = f"vantage_search_{secrets.token_hex(4)}"
    admin = make_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    db = make_engine(f"{PG_URL}{separator}options=-csearch_path%3D{schema}")
    try:
        upgrade(db)
        yield db
    finally:
        db.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """One unit of work per test, rolled back afterwards, so every test starts empty."""
    with make_session_factory(engine)() as unit:
        try:
            yield unit
        finally:
            unit.rollback()


def is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


# -- a small catalog ----------------------------------------------------------------------------


@dataclass
class Catalog:
    zurich: Event
    final: Event
    cam1: Feed
    cam2: Feed
    tactical: Feed
    heat_cam1: Asset
    heat_cam2: Asset
    first_half: Asset
    photo_finish: Marker
    false_start: Marker
    goal: Marker
    save: Marker
    sweep: Replay
    angles: Replay
    broadcaster: Broadcaster

    def all_refs(self) -> set[tuple[str, str]]:
        refs = {("event", e.id) for e in (self.zurich, self.final)}
        refs |= {("feed", f.id) for f in (self.cam1, self.cam2, self.tactical)}
        refs |= {("asset", a.id) for a in (self.heat_cam1, self.heat_cam2, self.first_half)}
        refs |= {
            ("marker", m.id) for m in (self.photo_finish, self.false_start, self.goal, self.save)
        }
        refs |= {("replay", r.id) for r in (self.sweep, self.angles)}
        return refs


def make_asset(feed: Feed, filename: str, start: float, duration: float, **extra: Any) -> Asset:
    return Asset(
        feed_id=feed.id,
        event_id=feed.event_id,
        filename=filename,
        original_key=f"originals/{filename}",
        sha256="0" * 64,
        size_bytes=1000,
        duration_s=duration,
        clock_start_s=start,
        **extra,
    )


def build(session: Session) -> Catalog:
    """Two events, three cameras, three recordings, four markers and two replays, all indexed."""
    zurich = Event(
        name="Zürich Weltklasse", sport="athletics", venue="Letzigrund", clock_origin=ORIGIN
    )
    final = Event(name="Cup Final", sport="football", venue="Wembley")
    broadcaster = Broadcaster(name="SRF", territories=["CH"])
    session.add_all([zurich, final, broadcaster])
    session.flush()
    cam1 = Feed(event_id=zurich.id, name="cam1", position="finish line")
    cam2 = Feed(event_id=zurich.id, name="cam2", position="back straight")
    tactical = Feed(event_id=final.id, name="tactical", position="main stand")
    session.add_all([cam1, cam2, tactical])
    session.flush()
    heat_cam1 = make_asset(cam1, "heat1_cam1.mp4", 0.0, 60.0, height=1080, video_codec="h264")
    heat_cam2 = make_asset(cam2, "heat1_cam2.mp4", 10.0, 60.0)
    first_half = make_asset(
        tactical,
        "first_half.mp4",
        0.0,
        2700.0,
        kind=AssetKind.FILE,
        recorded_at=datetime(2026, 5, 30, 16, 0, tzinfo=UTC),
    )
    session.add_all([heat_cam1, heat_cam2, first_half])
    photo_finish = Marker(
        event_id=zurich.id,
        clock_s=12.0,
        label="Photo finish 100m",
        tags=["finish", "sprint"],
        athletes=["Faith Kipyegon"],
    )
    false_start = Marker(event_id=zurich.id, clock_s=3.0, label="False start", tags=["start"])
    goal = Marker(
        event_id=final.id,
        clock_s=1234.0,
        label="Goal by Müller",
        tags=["goal", "header"],
        athletes=["Thomas Müller"],
    )
    save = Marker(event_id=final.id, clock_s=2000.0, label="Penalty save", tags=["penalty", "goal"])
    session.add_all([photo_finish, false_start, goal, save])
    session.flush()
    sweep = Replay(
        event_id=zurich.id,
        kind=ReplayKind.SWEEP,
        clock_start_s=7.0,
        clock_end_s=17.0,
        marker_id=photo_finish.id,
        feed_ids=[cam1.id, cam2.id],
    )
    angles = Replay(
        event_id=final.id,
        kind=ReplayKind.ANGLES,
        clock_start_s=1229.0,
        clock_end_s=1239.0,
        marker_id=goal.id,
        feed_ids=[tactical.id],
        broadcaster_id=broadcaster.id,
    )
    session.add_all([sweep, angles])
    session.flush()

    for e in (zurich, final):
        catalog_search.index_event(e, session=session)
    for f, e in ((cam1, zurich), (cam2, zurich), (tactical, final)):
        catalog_search.index_feed(f, e, session=session)
    for a, f, e in (
        (heat_cam1, cam1, zurich),
        (heat_cam2, cam2, zurich),
        (first_half, tactical, final),
    ):
        catalog_search.index_asset(a, f, e, session=session)
    for m, e in ((photo_finish, zurich), (false_start, zurich), (goal, final), (save, final)):
        catalog_search.index_marker(m, e, session=session)
    catalog_search.index_replay(sweep, zurich, session=session)
    catalog_search.index_replay(angles, final, session=session)
    return Catalog(
        zurich, final, cam1, cam2, tactical, heat_cam1, heat_cam2, first_half,
        photo_finish, false_start, goal, save, sweep, angles, broadcaster,
    )  # fmt: skip


@pytest.fixture
def cat(session: Session) -> Catalog:
    return build(session)


def document(session: Session, kind: str, ref_id: str) -> SearchDocument:
    return session.execute(
        select(SearchDocument).where(SearchDocument.kind == kind, SearchDocument.ref_id == ref_id)
    ).scalar_one()


def refs(page: SearchPage) -> set[tuple[str, str]]:
    return {(hit.kind, hit.ref_id) for hit in page.hits}


def find(session: Session, **fields: Any) -> SearchPage:
    return search(SearchQuery(**{"limit": 100, **fields}), session=session)


def same_instant(stored: datetime | None, expected: datetime) -> bool:
    """SQLite gives times back without their zone (as UTC wall-clock fields)."""
    assert stored is not None
    if stored.tzinfo is None:
        return stored == expected.astimezone(UTC).replace(tzinfo=None)
    return stored == expected


# -- indexing ---------------------------------------------------------------------------------


def test_index_event(session: Session, cat: Catalog) -> None:
    doc = document(session, "event", cat.zurich.id)
    assert doc.title == "Zürich Weltklasse"
    assert "athletics" in doc.body and "Letzigrund" in doc.body
    assert (doc.sport, doc.event_id) == ("athletics", cat.zurich.id)
    assert doc.feed_id is None and doc.clock_start_s is None


def test_index_event_gives_its_sport_to_every_document(session: Session, cat: Catalog) -> None:
    cat.final.sport = "soccer"
    catalog_search.index_event(cat.final, session=session)
    sports = session.scalars(
        select(SearchDocument.sport).where(SearchDocument.event_id == cat.final.id)
    ).all()
    assert len(sports) == 6 and set(sports) == {"soccer"}


def test_index_feed(session: Session, cat: Catalog) -> None:
    doc = document(session, "feed", cat.cam1.id)
    assert doc.title == "Zürich Weltklasse \u2013 cam1"
    assert "finish line" in doc.body
    assert (doc.feed_id, doc.event_id, doc.sport) == (cat.cam1.id, cat.zurich.id, "athletics")


def test_index_asset(session: Session, cat: Catalog) -> None:
    doc = document(session, "asset", cat.heat_cam2.id)
    assert doc.title == "Zürich Weltklasse \u2013 cam2 \u2013 heat1_cam2.mp4"
    assert (doc.clock_start_s, doc.clock_end_s) == (10.0, 70.0)
    assert (doc.feed_id, doc.asset_id, doc.event_id) == (
        cat.cam2.id,
        cat.heat_cam2.id,
        cat.zurich.id,
    )
    assert same_instant(doc.moment_at, ORIGIN + timedelta(seconds=70))
    assert "1080p" in document(session, "asset", cat.heat_cam1.id).body

    # No clock origin: the end of the recording by its own recording time.
    doc = document(session, "asset", cat.first_half.id)
    assert same_instant(doc.moment_at, datetime(2026, 5, 30, 16, 45, tzinfo=UTC))
    # Neither: no moment.
    cat.first_half.recorded_at = None
    catalog_search.index_asset(cat.first_half, cat.tactical, cat.final, session=session)
    session.expire_all()
    assert document(session, "asset", cat.first_half.id).moment_at is None


def test_index_marker(session: Session, cat: Catalog) -> None:
    doc = document(session, "marker", cat.photo_finish.id)
    assert doc.title == "Photo finish 100m"
    assert doc.tags == ["finish", "sprint"] and doc.athletes == ["Faith Kipyegon"]
    assert "sprint" in doc.body and "Kipyegon" in doc.body
    assert (doc.clock_start_s, doc.clock_end_s) == (12.0, 12.0)
    assert same_instant(doc.moment_at, ORIGIN + timedelta(seconds=12))
    assert (doc.sport, doc.event_id) == ("athletics", cat.zurich.id)
    assert document(session, "marker", cat.goal.id).moment_at is None


def test_index_replay(session: Session, cat: Catalog) -> None:
    sweep = document(session, "replay", cat.sweep.id)
    assert "Photo finish 100m" in sweep.title and "sweep" in sweep.title
    assert "cam1" in sweep.body and "cam2" in sweep.body
    assert sweep.feed_id is None, "two cameras: no single feed"
    assert sweep.broadcaster_id is None
    assert (sweep.clock_start_s, sweep.clock_end_s) == (7.0, 17.0)
    assert same_instant(sweep.moment_at, ORIGIN + timedelta(seconds=17))
    assert sweep.tags == ["finish", "sprint"]

    angles = document(session, "replay", cat.angles.id)
    assert angles.feed_id == cat.tactical.id
    assert angles.broadcaster_id == cat.broadcaster.id
    assert (angles.sport, angles.event_id) == ("football", cat.final.id)
    assert "angles" in angles.body and "tactical" in angles.body


def test_upsert_does_not_duplicate(session: Session, cat: Catalog) -> None:
    cat.photo_finish.label = "Dead heat"
    for _ in range(3):
        catalog_search.index_marker(cat.photo_finish, cat.zurich, session=session)
    count = session.scalar(
        select(text("count(*)"))
        .select_from(SearchDocument)
        .where(SearchDocument.kind == "marker", SearchDocument.ref_id == cat.photo_finish.id)
    )
    assert count == 1
    assert ("marker", cat.photo_finish.id) in refs(find(session, text="dead heat"))
    assert ("marker", cat.photo_finish.id) not in refs(find(session, text="photo"))


def test_index_flushes_rows_not_yet_written(session: Session, cat: Catalog) -> None:
    marker = Marker(event_id=cat.final.id, clock_s=90.0, label="Kick off", tags=[])
    session.add(marker)
    catalog_search.index_marker(marker, cat.final, session=session)
    assert refs(find(session, text="kick")) == {("marker", marker.id)}


def test_remove(session: Session, cat: Catalog) -> None:
    assert catalog_search.remove("marker", cat.goal.id, session=session) == 1
    assert ("marker", cat.goal.id) not in refs(find(session, text="muller"))
    assert catalog_search.remove("marker", cat.goal.id, session=session) == 0
    # A feed takes its recordings' documents with it; an event takes all of its own.
    assert catalog_search.remove("feed", cat.cam1.id, session=session) == 2
    assert catalog_search.remove("event", cat.final.id, session=session) == 5
    assert {hit.event_id for hit in find(session).hits} == {cat.zurich.id}
    with pytest.raises(ValueError):
        catalog_search.remove("gap", cat.goal.id, session=session)


def test_reindex_all_rebuilds_from_the_tables(session: Session, cat: Catalog) -> None:
    everything = cat.all_refs()
    assert catalog_search.reindex_all(session=session) == len(everything)
    assert refs(find(session)) == everything

    session.execute(delete(SearchDocument).where(SearchDocument.kind == "asset"))
    session.execute(
        update(SearchDocument)
        .where(SearchDocument.ref_id == cat.save.id)
        .values(title="wrong", sport="curling")
    )
    orphan = Marker(event_id=cat.final.id, clock_s=1.0, label="Orphan", tags=[])
    session.add(orphan)
    catalog_search.index_marker(orphan, cat.final, session=session)
    session.execute(delete(Marker).where(Marker.id == orphan.id))

    assert catalog_search.reindex_all(session=session) == len(everything)
    assert refs(find(session)) == everything
    assert refs(find(session, text="penalty")) == {("marker", cat.save.id)}
    assert find(session, text="wrong").hits == []
    assert find(session, text="orphan").hits == []
    assert find(session).facets["sport"] == {"athletics": 8, "football": 6}


def test_reindex_event(session: Session, cat: Catalog) -> None:
    cat.final.name = "Champions Cup Final"
    session.flush()
    assert catalog_search.reindex_event(cat.final.id, session=session) == 6
    page = find(session, text="champions", kinds=("event", "feed", "asset", "replay"))
    titles = [hit.title for hit in page.hits]
    assert len(titles) == 4 and all(t.startswith("Champions Cup Final") for t in titles)
    assert find(session, text="champions", kinds=("asset",)).hits[0].ref_id == cat.first_half.id


# -- matching ---------------------------------------------------------------------------------


def test_prefix_matching(session: Session, cat: Catalog) -> None:
    found = refs(find(session, text="weltk"))
    assert ("event", cat.zurich.id) in found
    assert ("asset", cat.heat_cam1.id) in found
    assert all(hit.event_id == cat.zurich.id for hit in find(session, text="weltk").hits)
    assert refs(find(session, text="pen")) == {("marker", cat.save.id)}
    assert refs(find(session, text="PHOTO")) >= {("marker", cat.photo_finish.id)}


def test_every_word_must_match(session: Session, cat: Catalog) -> None:
    assert refs(find(session, text="weltklasse cam2")) == {
        ("feed", cat.cam2.id),
        ("asset", cat.heat_cam2.id),
        ("replay", cat.sweep.id),
    }
    assert refs(find(session, text="photo fin")) == {
        ("marker", cat.photo_finish.id),
        ("replay", cat.sweep.id),
    }
    assert find(session, text="photo penalty").hits == []


def test_relevance_orders_hits(session: Session, cat: Catalog) -> None:
    page = find(session, text="goal")
    assert ("marker", cat.goal.id) in refs(page)
    scores = [hit.score for hit in page.hits]
    assert all(isinstance(score, float) for score in scores)
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    assert all(hit.score is None for hit in find(session).hits)


def test_accents(session: Session, cat: Catalog) -> None:
    assert ("event", cat.zurich.id) in refs(find(session, text="Zürich"))
    decomposed = "Zu\u0308rich"
    assert ("event", cat.zurich.id) in refs(find(session, text=decomposed))
    if is_sqlite(session):
        assert ("event", cat.zurich.id) in refs(find(session, text="zurich"))
        assert ("marker", cat.goal.id) in refs(find(session, text="muller"))
        assert ("marker", cat.goal.id) in refs(find(session, text="MÜLLER"))


HOSTILE = [
    '"',
    '""',
    'goal"',
    "NEAR(",
    "NEAR(goal start)",
    "*",
    "goal*",
    "a:b",
    "title:goal",
    "-x",
    "-goal",
    ")))",
    "(((",
    "goal OR start",
    "goal AND NOT start",
    "^goal",
    "'",
    "goal' | 'start",
    "!goal & start:*",
    "\\",
    "%_%",
    "\x00",
    "",
    "   ",
    "x" * 10_000,
    "goal " * 5_000,
    "é" * 300,
    "🏃‍♀️ 🥇",
    "_ _ _",
    "{goal}",
    "goal + start",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_text_never_raises(session: Session, cat: Catalog, hostile: str) -> None:
    page = find(session, text=hostile)
    assert isinstance(page, SearchPage)
    for hit in page.hits:
        assert hit.kind in catalog_search.KINDS


def test_operators_are_words_not_syntax(session: Session, cat: Catalog) -> None:
    # "OR" is a word that must be found too, not a union of the other two.
    assert find(session, text="goal OR start").hits == []
    # A column filter is two words; a minus is not a negation.
    assert refs(find(session, text="title:goal")) == set()
    assert ("marker", cat.goal.id) in refs(find(session, text="-goal"))
    assert ("marker", cat.goal.id) in refs(find(session, text='"goal'))
    assert ("marker", cat.goal.id) in refs(find(session, text="(goal)))"))


def test_text_without_words_finds_nothing(session: Session, cat: Catalog) -> None:
    for nothing in ("", "   ", "***", '"" ::', "_"):
        page = find(session, text=nothing)
        assert page.hits == [] and page.next_cursor is None
        assert page.facets == {"kind": {}, "sport": {}, "event": {}, "tags": {}}


# -- filters ----------------------------------------------------------------------------------


def test_filters(session: Session, cat: Catalog) -> None:
    assert {hit.event_id for hit in find(session, event_id=cat.final.id).hits} == {cat.final.id}
    assert refs(find(session, feed_id=cat.cam1.id)) == {
        ("feed", cat.cam1.id),
        ("asset", cat.heat_cam1.id),
    }
    assert refs(find(session, feed_id=cat.tactical.id, kinds=("replay",))) == {
        ("replay", cat.angles.id)
    }
    assert {hit.kind for hit in find(session, kinds=("marker", "replay")).hits} == {
        "marker",
        "replay",
    }
    assert refs(find(session, text="goal", kinds=("replay",))) == {("replay", cat.angles.id)}


def test_clock_overlap(session: Session, cat: Catalog) -> None:
    found = refs(find(session, event_id=cat.zurich.id, clock_from_s=65.0, clock_to_s=80.0))
    assert found == {("asset", cat.heat_cam2.id)}
    found = refs(find(session, event_id=cat.zurich.id, clock_from_s=12.0, clock_to_s=12.0))
    assert found == {
        ("asset", cat.heat_cam1.id),
        ("asset", cat.heat_cam2.id),
        ("marker", cat.photo_finish.id),
        ("replay", cat.sweep.id),
    }
    found = refs(find(session, event_id=cat.zurich.id, clock_to_s=5.0))
    assert found == {("asset", cat.heat_cam1.id), ("marker", cat.false_start.id)}
    found = refs(find(session, event_id=cat.final.id, clock_from_s=2000.0))
    assert found == {("asset", cat.first_half.id), ("marker", cat.save.id)}
    with pytest.raises(BadRequest):
        find(session, clock_from_s=10.0, clock_to_s=5.0)
    with pytest.raises(BadRequest):
        find(session, clock_from_s=float("nan"))


def test_tags_must_all_be_present(session: Session, cat: Catalog) -> None:
    assert refs(find(session, tags=("goal",))) == {
        ("marker", cat.goal.id),
        ("marker", cat.save.id),
        ("replay", cat.angles.id),
    }
    assert refs(find(session, tags=("goal", "header"))) == {
        ("marker", cat.goal.id),
        ("replay", cat.angles.id),
    }
    assert refs(find(session, tags=("goal", "header"), kinds=("marker",))) == {
        ("marker", cat.goal.id)
    }
    assert find(session, tags=("goal", "sprint")).hits == []
    assert find(session, tags=("go",)).hits == []


def test_tags_that_need_escaping(session: Session, cat: Catalog) -> None:
    odd = ["Ünlü", 'say "hi"', "50%_off", "a\\b", "🥇"]
    marker = Marker(event_id=cat.final.id, clock_s=5.0, label="Odd tags", tags=odd)
    session.add(marker)
    catalog_search.index_marker(marker, cat.final, session=session)
    for tag in odd:
        assert refs(find(session, tags=(tag,))) == {("marker", marker.id)}, tag
    assert refs(find(session, tags=tuple(odd))) == {("marker", marker.id)}
    assert find(session, tags=("50%",)).hits == []
    assert find(session, tags=("Unlu",)).hits == []
    assert find(session, event_id=cat.final.id).facets["tags"]["Ünlü"] == 1


def test_unknown_kind_is_refused(session: Session, cat: Catalog) -> None:
    with pytest.raises(BadRequest):
        find(session, kinds=("gap",))


def test_where_clause_restricts_results(session: Session, cat: Catalog) -> None:
    only_athletics = SearchDocument.sport == "athletics"
    page = search(SearchQuery(limit=100), session=session, where=only_athletics)
    assert {hit.sport for hit in page.hits} == {"athletics"}
    assert page.facets["sport"] == {"athletics": 8}
    assert search(SearchQuery(text="goal"), session=session, where=only_athletics).hits == []

    at_wembley = exists(
        select(Event.id).where(Event.id == SearchDocument.event_id, Event.venue == "Wembley")
    )
    page = search(SearchQuery(text="goal", limit=100), session=session, where=at_wembley)
    assert refs(page) == {
        ("marker", cat.goal.id),
        ("marker", cat.save.id),
        ("replay", cat.angles.id),
    }
    mine_or_hosts = SearchDocument.broadcaster_id.is_(None)
    page = search(SearchQuery(kinds=("replay",)), session=session, where=mine_or_hosts)
    assert refs(page) == {("replay", cat.sweep.id)}


def test_facets_can_be_left_out(session: Session, cat: Catalog) -> None:
    page = search(SearchQuery(text="goal", limit=1), session=session, facets=False)
    assert len(page.hits) == 1 and page.next_cursor is not None
    assert page.facets == {"kind": {}, "sport": {}, "event": {}, "tags": {}}


def test_facets_count_everything_that_matches(session: Session, cat: Catalog) -> None:
    page = search(SearchQuery(limit=1), session=session)
    assert len(page.hits) == 1
    assert page.facets["kind"] == {"marker": 4, "asset": 3, "feed": 3, "event": 2, "replay": 2}
    assert page.facets["sport"] == {"athletics": 8, "football": 6}
    assert page.facets["event"] == {cat.zurich.id: 8, cat.final.id: 6}
    assert page.facets["tags"] == {
        "goal": 3,
        "finish": 2,
        "header": 2,
        "sprint": 2,
        "penalty": 1,
        "start": 1,
    }

    page = find(session, text="goal", event_id=cat.final.id)
    assert page.facets["kind"] == {"marker": 2, "replay": 1}
    assert page.facets["event"] == {cat.final.id: 3}
    assert page.facets["tags"] == {"goal": 3, "header": 2, "penalty": 1}


def test_tag_facet_keeps_the_twenty_most_used(session: Session, cat: Catalog) -> None:
    for n in range(30):
        tags = [f"tag{n:02d}", *(["common"] if n % 2 else [])]
        marker = Marker(event_id=cat.final.id, clock_s=float(n), label=f"m{n}", tags=tags)
        session.add(marker)
        catalog_search.index_marker(marker, cat.final, session=session)
    tags = find(session).facets["tags"]
    assert len(tags) == catalog_search.TAG_FACET_SIZE
    assert list(tags)[:2] == ["common", "goal"] and tags["common"] == 15


# -- pages ------------------------------------------------------------------------------------


def walk(session: Session, query: SearchQuery) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    cursor: str | None = None
    for _ in range(1000):
        page = search(replace(query, cursor=cursor), session=session)
        assert len(page.hits) <= query.limit
        seen.extend((hit.kind, hit.ref_id) for hit in page.hits)
        cursor = page.next_cursor
        if cursor is None:
            return seen
        assert len(page.hits) == query.limit
    raise AssertionError("pages never ended")


def many_goals(session: Session, cat: Catalog, count: int = 40) -> None:
    """Markers whose relevance to "goal" differs, with many ties, and created in one instant."""
    now = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
    for n in range(count):
        label = " ".join(["goal"] * (1 + n % 3) + ["scramble"] * (n % 5))
        marker = Marker(
            event_id=cat.final.id,
            clock_s=float(n),
            label=label,
            tags=["goal"],
            created_at=now if n % 2 else now + timedelta(seconds=n),
        )
        session.add(marker)
        catalog_search.index_marker(marker, cat.final, session=session)


@pytest.mark.parametrize("words", [None, "goal"])
@pytest.mark.parametrize("limit", [1, 3, 7])
def test_pages_walk_everything_once(
    session: Session, cat: Catalog, words: str | None, limit: int
) -> None:
    many_goals(session, cat)
    everything = search(SearchQuery(text=words, limit=100), session=session)
    assert everything.next_cursor is None
    expected = [(hit.kind, hit.ref_id) for hit in everything.hits]
    assert len(expected) == (43 if words else 54)
    walked = walk(session, SearchQuery(text=words, limit=limit))
    assert walked == expected
    assert len(set(walked)) == len(walked)


def test_pages_with_filters_and_where(session: Session, cat: Catalog) -> None:
    many_goals(session, cat)
    query = SearchQuery(text="goal", kinds=("marker",), tags=("goal",), limit=4)
    walked = walk(session, query)
    assert len(walked) == len(set(walked)) == 42
    page = search(query, session=session, where=SearchDocument.clock_start_s < 10)
    assert len(page.hits) == 4 and page.next_cursor is not None
    rest = search(replace(query, cursor=page.next_cursor), session=session)
    assert not refs(page) & refs(rest)


def test_limit_is_clamped(session: Session, cat: Catalog) -> None:
    many_goals(session, cat, count=100)
    assert len(search(SearchQuery(limit=0), session=session).hits) == 1
    assert len(search(SearchQuery(limit=-5), session=session).hits) == 1
    page = search(SearchQuery(limit=10_000), session=session)
    assert len(page.hits) == catalog_search.MAX_LIMIT and page.next_cursor is not None


def tampered(cursor: str) -> list[str]:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    flipped = bytearray(raw)
    flipped[-3] ^= 0x01
    forged = base64.urlsafe_b64encode(bytes(flipped)).rstrip(b"=").decode()
    swapped = cursor[:-1] + ("A" if cursor[-1] != "A" else "B")
    return [
        forged,
        swapped,
        cursor[:-4],
        cursor + "A",
        cursor + "==",
        "x",
        "!!!!",
        "é",
        " " + cursor,
    ]


@pytest.mark.parametrize("words", [None, "goal"])
def test_tampered_cursor_is_refused(session: Session, cat: Catalog, words: str | None) -> None:
    many_goals(session, cat)
    query = SearchQuery(text=words, limit=2)
    cursor = search(query, session=session).next_cursor
    assert cursor is not None
    assert cursor.replace("-", "").replace("_", "").isalnum()
    assert search(replace(query, cursor=cursor), session=session).hits
    for bad in [*tampered(cursor), "", "A" * 5000]:
        if bad == "":
            continue
        with pytest.raises(BadRequest, match="invalid cursor"):
            search(replace(query, cursor=bad), session=session)
    # A cursor belongs to its query.
    for other in (
        SearchQuery(text="penalty", limit=2),
        SearchQuery(text=None if words else "goal", limit=2),
        replace(query, event_id=cat.zurich.id),
        replace(query, kinds=("marker",)),
    ):
        with pytest.raises(BadRequest, match="invalid cursor"):
            search(replace(other, cursor=cursor), session=session)
    # The page size may change between pages.
    assert search(replace(query, cursor=cursor, limit=5), session=session).hits


# -- plans ------------------------------------------------------------------------------------


def test_text_search_uses_the_text_index(session: Session, cat: Catalog) -> None:
    """The page query searches the FTS5 table once on SQLite, however selective the other
    filters, and goes through the GIN expression index on PostgreSQL (so the query's
    expression is exactly the index's)."""
    statements: list[tuple[str, Any]] = []
    query = SearchQuery(text="goal")
    if is_sqlite(session):
        query = replace(query, kinds=("marker",), event_id=cat.final.id)
    bind = session.get_bind()

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(bind, "before_cursor_execute", capture)
    try:
        search(query, session=session)
    finally:
        event.remove(bind, "before_cursor_execute", capture)
    statement, parameters = statements[0]
    connection = session.connection()
    if is_sqlite(session):
        plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        details = " | ".join(str(row[-1]) for row in plan)
        assert details.count("VIRTUAL TABLE INDEX") == 1, details
        assert "MATERIALIZE text_hits" in details, details
        assert "search_documents USING INTEGER PRIMARY KEY" in details, details
    else:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = connection.exec_driver_sql("EXPLAIN " + statement, parameters).all()
        details = "\n".join(str(row[0]) for row in plan)
        assert "ix_search_documents_text" in details, details
