"""Schema migrations (Alembic), run from code so operators never need an alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

_SCRIPTS = Path(__file__).with_name("migrations")
# The full-text index lives beside the tables, made by hand in the migration that adds search.
_TEXT_INDEX = ("search_fts", "ix_search_documents_text", "search_vector")


def include_object(_obj: object, name: str | None, *_: object) -> bool:
    """What schema comparison looks at: everything but the hand-made full-text index."""
    return not (name or "").startswith(_TEXT_INDEX)


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to ``revision``."""
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a new migration from the models (a developer command)."""
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def refresh_statistics(engine: Engine) -> None:
    """Give SQLite's query planner statistics (``ANALYZE``), which it otherwise never gathers:
    without them it picks the wrong index for search pages and recent-first listings once the
    catalog is large. PostgreSQL's autovacuum keeps its own; nothing to do there."""
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
