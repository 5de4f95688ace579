"""Two floors: `infra.core`, the foundations (settings, database, storage, queue, errors) that
every package stands on, and `infra.ops`, the operator's tools (CLI, benchmarks, stack, simulator,
doctor) on top of everything. `infra/deploy/` holds the files that run Vantage elsewhere."""
