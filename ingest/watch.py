"""Watch folders and watched bucket prefixes: files dropped there are ingested once.

A drop is ready when its size and modification time (or ETag) have not changed between two
scans, so a file still being copied is left alone. The feed is the drop's first folder
(``cam1/clip.mp4``) or, at the top level, its name up to the first ``_`` or ``-``
(``cam1_0001.mp4``). Once ingested a file moves to ``.done/``; one that cannot be ingested moves
to ``.failed/`` next to a ``.reason.txt`` saying why. In a bucket the drop is deleted after a
successful ingest and tagged into ``.failed/`` otherwise, so nothing is ingested twice and
nothing is lost.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sqlalchemy.orm import Session, sessionmaker

from infra.core.settings import Settings
from infra.core.storage import ObjectStore
from ingest.files import FeedFile, IngestOutcome, ingest_files

MEDIA_SUFFIXES = {".mp4", ".mov", ".mxf", ".ts", ".m2ts", ".mkv", ".m4v", ".avi", ".webm"}
_FEED_PREFIX = re.compile(r"^([A-Za-z0-9]+)[_-]")


def feed_for(relative: PurePosixPath) -> str | None:
    """The feed a dropped file belongs to, from its folder or its name; ``None`` if neither."""
    if len(relative.parts) >= 2:
        return relative.parts[0]
    match = _FEED_PREFIX.match(relative.name)
    return match.group(1) if match else None


def is_candidate(relative: PurePosixPath) -> bool:
    """A media file that is not hidden, not in a bookkeeping folder and not a partial copy."""
    if any(part.startswith(".") for part in relative.parts):
        return False
    return relative.suffix.lower() in MEDIA_SUFFIXES


@dataclass
class Watcher:
    """Remembers what each scan saw, to tell finished drops from ones still arriving."""

    event_id: str
    settings: Settings
    sessions: sessionmaker[Session]
    store: ObjectStore
    seen: dict[str, tuple[object, ...]] = field(default_factory=dict)

    def _stable(self, name: str, signature: tuple[object, ...]) -> bool:
        previous = self.seen.get(name)
        self.seen[name] = signature
        return previous == signature

    def _ingest(self, feed: str, path: Path) -> IngestOutcome:
        [outcome] = ingest_files(
            self.event_id,
            [FeedFile(feed=feed, path=path)],
            settings=self.settings,
            sessions=self.sessions,
            store=self.store,
        )
        return outcome

    def scan_folder(self, folder: Path) -> list[IngestOutcome]:
        """One pass over ``folder``: ingest every drop that has settled."""
        outcomes = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = PurePosixPath(path.relative_to(folder).as_posix())
            if not is_candidate(relative):
                continue
            stat = path.stat()
            if not self._stable(str(relative), (stat.st_size, stat.st_mtime_ns)):
                continue
            feed = feed_for(relative)
            outcome = (
                self._ingest(feed, path)
                if feed
                else IngestOutcome(feed="", path=path, job_id="", error="no feed in its name")
            )
            _file_away(folder, relative, outcome)
            del self.seen[str(relative)]
            outcomes.append(outcome)
        return outcomes

    def scan_prefix(self, prefix: str) -> list[IngestOutcome]:
        """One pass over ``prefix`` in the bucket: ingest every settled object."""
        outcomes = []
        for key in self.store.list_keys(prefix):
            relative = PurePosixPath(key[len(prefix) :].lstrip("/"))
            if not is_candidate(relative):
                continue
            head = self.store.head(key)
            if not self._stable(key, (head.size_bytes, head.sha256)):
                continue
            feed = feed_for(relative)
            with tempfile.TemporaryDirectory(prefix="vantage-drop-") as scratch:
                local = Path(scratch) / relative.name
                self.store.get_file(key, local)
                outcome = (
                    self._ingest(feed, local)
                    if feed
                    else IngestOutcome(feed="", path=local, job_id="", error="no feed in its name")
                )
            if outcome.ok:
                self.store.delete([key])
            else:
                failed = prefix.rstrip("/") + "/.failed/" + str(relative)
                self.store.put_bytes((outcome.error or "").encode(), failed + ".reason.txt")
                self.store.copy(key, failed)
                self.store.delete([key])
            del self.seen[key]
            outcomes.append(outcome)
        return outcomes


def _file_away(folder: Path, relative: PurePosixPath, outcome: IngestOutcome) -> None:
    target = folder / (".done" if outcome.ok else ".failed") / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    (folder / relative).replace(target)
    if not outcome.ok:
        target.with_name(target.name + ".reason.txt").write_text((outcome.error or "") + "\n")
