"""Live ingest: one puller per feed, a disk spool, and the supervisor that runs them."""
