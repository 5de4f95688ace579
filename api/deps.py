"""Request dependencies: settings, one database session per request, the object store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from infra.settings import Settings
from infra.storage import ObjectStore


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _store(request: Request) -> ObjectStore:
    store: ObjectStore = request.app.state.store
    return store


def _session_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    return factory


def _session(request: Request) -> Iterator[Session]:
    """One session per request: committed when the handler returns, rolled back if it raises."""
    session: Session = request.app.state.sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SettingsDep = Annotated[Settings, Depends(_settings)]
StoreDep = Annotated[ObjectStore, Depends(_store)]
# scope="function": the commit happens before the response is sent, so a client that reads
# back what it just wrote (from any process) always finds it.
SessionDep = Annotated[Session, Depends(_session, scope="function")]
SessionFactoryDep = Annotated[sessionmaker[Session], Depends(_session_factory)]
