"""The whole benchmark: a fresh database, the seed, the queries and the HTTP load, as one JSON."""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import shutil
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import text

from catalog.migrate import upgrade
from infra.core.database import make_engine, make_session_factory
from infra.core.errors import BadRequest
from infra.core.settings import Settings
from infra.ops.bench.api.http import http_throughput
from infra.ops.bench.api.queries import analyze, measure_queries, viewers
from infra.ops.bench.api.seed import check_indexed, seed_catalog
from infra.ops.bench.api.world import QUICK, TARGET_P95_MS, Say, Scale


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def _with_schema(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def fresh_database(
    database_url: str | None, *, keep: bool = False, say: Say = lambda _line: None
) -> Iterator[tuple[str, str]]:
    """A new, empty database: a SQLite file in a temporary folder (``database_url`` is
    ``None``), or a new schema ``vantage_bench_<hex>`` on the PostgreSQL server given. Yields
    its URL and where it is; removed afterwards unless ``keep``."""
    if database_url is None:
        folder = Path(tempfile.mkdtemp(prefix="vantage-bench-api-"))
        try:
            yield f"sqlite:///{folder / 'catalog.db'}", str(folder / "catalog.db")
        finally:
            if keep:
                say(f"kept {folder / 'catalog.db'}")
            else:
                shutil.rmtree(folder, ignore_errors=True)
        return
    if not database_url.startswith("postgresql"):
        raise BadRequest(
            "--database-url takes a PostgreSQL URL (postgresql+psycopg://...); "
            "the SQLite run always uses a new file of its own"
        )
    schema = f"vantage_bench_{secrets.token_hex(4)}"
    admin = make_engine(database_url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield _with_schema(database_url, schema), f"schema {schema}"
        finally:
            if keep:
                say(f"kept schema {schema}")
            else:
                with admin.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


def _met(queries: dict[str, Any]) -> dict[str, bool]:
    """Whether each query's p95 is under the target, under rights and as staff. Requests over
    HTTP are left out: their clients keep the API busy, so their latency is mostly queueing
    (clients / throughput), not what a request costs."""
    met = {}
    for name, found in queries.items():
        if "rights" in found:
            met[name] = found["rights"]["p95_ms"] < TARGET_P95_MS
            met[f"{name}_staff"] = found["staff"]["p95_ms"] < TARGET_P95_MS
        else:
            met[name] = found["p95_ms"] < TARGET_P95_MS
    return met


def run_on(
    settings: Settings,
    database_url: str,
    *,
    scale: Scale,
    seed: int = 7,
    repeat: int = 200,
    http_seconds: float = 5.0,
    http_clients: int = 4,
    say: Say = lambda _line: None,
) -> dict[str, Any]:
    """Migrate and seed the empty database at ``database_url``, then measure it (HTTP too
    unless ``http_seconds`` is 0)."""
    host = machine()
    engine = make_engine(database_url)
    try:
        say("migrating")
        upgrade(engine)
        sessions = make_session_factory(engine)
        seeded = seed_catalog(sessions, scale, seed=seed, say=say)
        analyze(engine)
        indexed = check_indexed(sessions, seeded)
        people = viewers(sessions, seeded)
        queries = measure_queries(
            sessions, seeded, repeat=repeat, seed=seed, people=people, say=say
        )
        http = None
        if http_seconds > 0:
            http = http_throughput(
                settings, database_url, seeded, people, seconds=http_seconds,
                clients=http_clients, seed=seed, say=say,
            )  # fmt: skip
        server = None
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                server = connection.execute(text("SHOW server_version")).scalar()
    finally:
        engine.dispose()
    return {
        "machine": host,
        "database": engine.dialect.name,
        "database_version": server or sqlite3.sqlite_version,
        "seed": {
            "random_seed": seed,
            "counts": seeded.counts,
            "seconds": seeded.seconds,
            "profiles": dict(Counter(h.profile for h in seeded.broadcasters)),
            "text_index_hits": indexed,
            "analyzed": True,
        },
        "repeat": repeat,
        "queries": queries,
        "http": http,
        "target_p95_ms": TARGET_P95_MS,
        "met": _met(queries),
    }


def api_benchmark(
    settings: Settings,
    *,
    scale: Scale = Scale(),
    seed: int = 7,
    repeat: int = 200,
    http_seconds: float = 5.0,
    http_clients: int = 4,
    database_url: str | None = None,
    both: bool = False,
    keep: bool = False,
    say: Say = lambda _line: None,
) -> dict[str, Any]:
    """The benchmark on a fresh SQLite file, or on a fresh schema of the PostgreSQL given, or
    (``both``) on each in turn: one run's JSON, or ``{"runs": [...]}`` with both."""
    if both and database_url is None:
        raise BadRequest("--both runs SQLite and then PostgreSQL: give --database-url too")
    if repeat < 1 or scale.assets < 1 or scale.broadcasters < 1:
        raise BadRequest("repeat, assets and broadcasters must be at least 1")
    targets: list[str | None] = [None, database_url] if both else [database_url]
    runs = []
    for target in targets:
        with fresh_database(target, keep=keep, say=say) as (url, where):
            say(f"database: {where}")
            runs.append(
                run_on(
                    settings, url, scale=scale, seed=seed, repeat=repeat,
                    http_seconds=http_seconds, http_clients=http_clients, say=say,
                )
            )  # fmt: skip
    if len(runs) == 1:
        return runs[0]
    return {
        "machine": runs[0]["machine"],
        "target_p95_ms": TARGET_P95_MS,
        "runs": runs,
    }


def scale_for(
    *,
    quick: bool,
    assets: int | None = None,
    broadcasters: int | None = None,
    markers: int | None = None,
) -> Scale:
    """The default or quick scale, with whatever was given instead."""
    base = QUICK if quick else Scale()
    changes: dict[str, Any] = {}
    if assets is not None:
        changes["assets"] = assets
        changes["markers"] = markers
    if markers is not None:
        changes["markers"] = markers
    if broadcasters is not None:
        changes["broadcasters"] = broadcasters
    return replace(base, **changes)
