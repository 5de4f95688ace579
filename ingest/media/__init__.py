"""Pure ingest helpers: no database, storage or broker."""
