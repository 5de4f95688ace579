"""Database engine and session scope. SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout for many processes,
    PostgreSQL has JIT compilation turned off."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    engine = create_engine(url, echo=echo, pool_pre_ping=True)
    if engine.dialect.name == "postgresql":

        @event.listens_for(engine, "connect")
        def _postgres_settings(dbapi_conn: Any, _record: Any) -> None:
            # The catalog's queries are short; JIT compilation (triggered by the cost estimates
            # of rights-filtered queries) costs far more than it saves.
            with dbapi_conn.cursor() as cursor:
                cursor.execute("SET jit = off")
            dbapi_conn.commit()

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


log = logging.getLogger(__name__)

_AFTER_COMMIT = "vantage.after_commit"


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once the session's transaction has committed: the one way to send a job
    or a webhook delivery for rows written in it, so a worker never gets an id it cannot read
    yet, and nothing is sent for a change that was rolled back."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


def commit(session: Session) -> None:
    """Commit, then run what was left for after the commit, in order. What was committed stays
    committed whatever an action does: one that fails (a broker away) is logged and the next
    still runs; what it should have sent is found again by the reconciler (queued jobs never
    sent, overdue webhook deliveries)."""
    session.commit()
    actions: list[Callable[[], None]] = session.info.pop(_AFTER_COMMIT, [])
    for action in actions:
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - committed work must not be reported as failed
            log.error("after commit: %s failed: %s", getattr(action, "__name__", "an action"), exc)


def discard(session: Session) -> None:
    """Roll back, forgetting what was left for after a commit that will not happen."""
    session.info.pop(_AFTER_COMMIT, None)
    session.rollback()


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit when the block succeeds (then run its after-commit actions),
    roll back when it raises."""
    session = factory()
    try:
        yield session
    except BaseException:
        discard(session)
        session.close()
        raise
    try:
        commit(session)
    finally:
        session.close()
