"""Request dependencies: settings, one database session per request, the object store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from infra.core.database import session_scope
from infra.core.queue import send_job_after_commit
from infra.core.settings import Settings
from infra.core.storage import ObjectStore


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _store(request: Request) -> ObjectStore:
    store: ObjectStore = request.app.state.store
    return store


def _session_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    return factory


class JobQueue:
    """Jobs a request wants enqueued; they are sent only once its session has committed, so a
    worker never receives a job id it cannot yet read."""

    def __init__(self, session: Session, settings: Settings) -> None:
        self.session, self.settings = session, settings

    def send(self, task_name: str, job_id: str) -> None:
        send_job_after_commit(self.session, self.settings, task_name, job_id)


def _session(request: Request) -> Iterator[Session]:
    """One session per request: committed when the handler returns, rolled back if it raises;
    then the jobs the handler queued are sent."""
    with session_scope(request.app.state.sessions) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(_settings)]
StoreDep = Annotated[ObjectStore, Depends(_store)]
# scope="function": the commit happens before the response is sent, so a client that reads
# back what it just wrote (from any process) always finds it.
SessionDep = Annotated[Session, Depends(_session, scope="function")]
SessionFactoryDep = Annotated[sessionmaker[Session], Depends(_session_factory)]


def _jobs(session: SessionDep, settings: SettingsDep) -> JobQueue:
    return JobQueue(session, settings)


JobsDep = Annotated[JobQueue, Depends(_jobs)]
