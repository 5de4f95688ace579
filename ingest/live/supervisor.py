"""The supervisor: keeps one puller running for every enabled live feed.

Run it as ``vantage feeds supervise`` (``vantage up`` does). It polls the catalog, so starting
and stopping a feed from the API or the CLI needs no other channel.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from sqlalchemy import select

from catalog import services
from catalog.models import Feed
from infra.core.database import make_engine, make_session_factory, session_scope
from infra.core.settings import Settings
from infra.core.storage import ObjectStore
from ingest.live.puller import FeedPuller
from ingest.live.spool import LiveRuntime, drain
from transcode.ffmpeg import find_ffmpeg

log = logging.getLogger(__name__)


def make_runtime(settings: Settings) -> LiveRuntime:
    engine = make_engine(settings.database_url)
    return LiveRuntime(
        settings=settings,
        sessions=make_session_factory(engine),
        store=ObjectStore(settings.storage),
        ffmpeg=find_ffmpeg(settings.media.ffmpeg),
    )


class Supervisor:
    """Runs pullers for the enabled feeds it holds a lease on. Several supervisors (on several
    hosts) share the feeds: a lease is renewed every poll and taken over once it expires."""

    def __init__(
        self, runtime: LiveRuntime, poll_s: float = 1.0, lease_s: float | None = None
    ) -> None:
        self.runtime = runtime
        self.poll_s = poll_s
        self.lease_s = lease_s if lease_s is not None else runtime.settings.live.lease_s
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.pullers: dict[str, FeedPuller] = {}

    def enabled_feeds(self) -> set[str]:
        with session_scope(self.runtime.sessions) as session:
            query = select(Feed.id).where(Feed.enabled.is_(True), Feed.source.is_not(None))
            return set(session.scalars(query))

    def _claim(self, feed_ids: set[str]) -> set[str]:
        held = set()
        for feed_id in feed_ids:
            with session_scope(self.runtime.sessions) as session:
                if services.claim_feed(feed_id, self.owner, session=session, lease_s=self.lease_s):
                    held.add(feed_id)
        return held

    def _release(self, feed_id: str) -> None:
        with session_scope(self.runtime.sessions) as session:
            services.release_feed(feed_id, self.owner, session=session)

    def reconcile(self) -> None:
        """Start pullers for enabled feeds we can lease, stop those whose feed was stopped."""
        wanted = self.enabled_feeds()
        for feed_id, puller in list(self.pullers.items()):
            if not puller.is_alive():
                del self.pullers[feed_id]
                self._release(feed_id)
            elif feed_id not in wanted:
                puller.stop()
        wanted = self._claim(wanted | set(self.pullers))
        for feed_id, puller in self.pullers.items():
            if feed_id not in wanted:  # our lease was taken over: someone else pulls it now
                puller.stop("another supervisor took the feed over")
        for feed_id in wanted - set(self.pullers):
            puller = FeedPuller(feed_id, self.runtime)
            self.pullers[feed_id] = puller
            puller.start()

    def run(self, stop: threading.Event) -> None:
        spool = self.runtime.settings.spool_dir
        if spool.exists():
            for feed_dir in sorted(p for p in spool.iterdir() if p.is_dir()):
                count, problem = drain(self.runtime, feed_dir.name)
                if count or problem:
                    log.info(
                        "drained %d segments of %s (%s)", count, feed_dir.name, problem or "ok"
                    )
        while not stop.is_set():
            try:
                self.reconcile()
            except Exception:
                log.exception("supervisor pass failed; retrying")
            stop.wait(self.poll_s)
        for puller in self.pullers.values():
            puller.stop("supervisor shut down")
        for feed_id, puller in self.pullers.items():
            puller.join(30)
            self._release(feed_id)
