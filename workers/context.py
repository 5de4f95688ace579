"""What a worker process holds for its whole life: settings, database sessions, the object store."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy.orm import Session, sessionmaker

from infra.core.database import make_engine, make_session_factory
from infra.core.settings import Settings, get_settings
from infra.core.storage import ObjectStore
from transcode.ffmpeg import find_ffmpeg


@dataclass(frozen=True)
class WorkerContext:
    settings: Settings
    sessions: sessionmaker[Session]
    store: ObjectStore
    ffmpeg: str

    @property
    def stale_after_s(self) -> float:
        return self.settings.jobs.stale_after_s


def build_context(settings: Settings) -> WorkerContext:
    engine = make_engine(settings.database_url, echo=settings.database.echo)
    return WorkerContext(
        settings=settings,
        sessions=make_session_factory(engine),
        store=ObjectStore(settings.storage),
        ffmpeg=find_ffmpeg(settings.media.ffmpeg),
    )


@lru_cache(maxsize=1)
def get_context() -> WorkerContext:
    return build_context(get_settings())
