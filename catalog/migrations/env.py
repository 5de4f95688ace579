"""Alembic environment. Run through :func:`catalog.migrate.upgrade`, which passes the connection."""

from __future__ import annotations

from alembic import context

from catalog.migrate import include_object
from catalog.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
