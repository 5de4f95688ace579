"""``vantage bench api``: the rights-aware catalog at scale.

A fresh catalog (a SQLite file in a temporary folder, or a schema of its own on a PostgreSQL
server) is seeded in bulk with events, feeds, recordings, markers and their search documents,
and with broadcasters holding a mix of rights: everything with territories left out, sports,
events, feeds and single recordings, in various territories, with windows that have closed or
not yet opened, embargoes and quotas. Everything comes from one seeded random generator, so two
runs with the same seed hold the same catalog (only the times move with the clock).

Then, in this process, with a real session per query as a request has:

- search with words and with filters, list (first page) and read one recording, each under a
  broadcaster's rights (callers taken in turn) and the same queries as staff (no rights clause),
  whose ratio is the cost of rights filtering;
- building a broadcaster's caller (its grants and airings), which every request does.

And over HTTP: the real API (uvicorn, one worker process) answering ``GET /v1/assets/{id}``
from several client threads for a fixed time, with broadcaster keys (a mix of recordings inside
and outside their rights, so 200s and 404s) and with an admin key. The API process's CPU time
gives reads per CPU-second, that is per core.

Times are milliseconds: p50, p95 and max of ``repeat`` queries each; the target is a p95 under
50 ms. Nothing here is compared against a fixed figure: the JSON says what was measured.

One subject per module: :mod:`.world` (the sports, cameras, names and scales the catalog is
made of), :mod:`.recordings` (events, feeds, recordings and markers as rows),
:mod:`.rights` (the broadcasters and their grants), :mod:`.seed` (the bulk seeding),
:mod:`.queries` (the in-process queries and their timings), :mod:`.http` (the real API under
load) and :mod:`.run` (the whole benchmark).
"""

from __future__ import annotations

from infra.ops.bench.api.http import api_process, hammer, http_throughput
from infra.ops.bench.api.queries import (
    Viewer,
    filter_queries,
    measure_queries,
    paired,
    summary_ms,
    text_queries,
    timings,
    viewers,
)
from infra.ops.bench.api.recordings import Holder
from infra.ops.bench.api.rights import PROFILES
from infra.ops.bench.api.run import api_benchmark, fresh_database, machine, run_on, scale_for
from infra.ops.bench.api.seed import Seeded, check_indexed, seed_catalog
from infra.ops.bench.api.world import QUICK, TARGET_P95_MS, Scale

__all__ = [
    "PROFILES",
    "QUICK",
    "TARGET_P95_MS",
    "Holder",
    "Scale",
    "Seeded",
    "Viewer",
    "api_benchmark",
    "api_process",
    "check_indexed",
    "filter_queries",
    "fresh_database",
    "hammer",
    "http_throughput",
    "machine",
    "measure_queries",
    "paired",
    "run_on",
    "scale_for",
    "seed_catalog",
    "summary_ms",
    "text_queries",
    "timings",
    "viewers",
]
