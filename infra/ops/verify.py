"""Does the bucket hold what the catalog says it holds? ``vantage storage verify``.

Every key the catalog names (originals, posters, playlists and manifests, proxies, sprites,
mezzanines, live segments and their renditions, replay manifests and bundles) must exist; every
object under ``events/`` must belong to something the catalog knows (an asset or a replay whose
row exists, and under a live folder a segment or rendition the catalog recorded); and a sample of
the objects whose SHA-256 the catalog recorded is read back and hashed.

Multipart uploads begun more than a day ago and never completed (a process killed mid-upload)
are listed too; ``--repair`` aborts them.

An object the catalog never recorded (an upload whose commit never came, work of a deleted
asset) is an *orphan*, and ``--repair`` removes orphans only: a missing object is never "fixed"
by forgetting it in the catalog, it is reported for an operator to restore.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import Asset, Rendition, RenditionSegment, Replay, Segment, utcnow
from infra.core.errors import NotFound
from infra.core.storage import ObjectStore

_ASSET_KEY = re.compile(r"^events/[^/]+/feeds/[^/]+/assets/(?P<asset>[^/]+)/(?P<rest>.*)$")
_REPLAY_KEY = re.compile(r"^events/[^/]+/replays/(?P<replay>[^/]+)/")


@dataclass
class Verification:
    objects: int = 0
    referenced: int = 0
    missing: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    checked: int = 0
    removed: int = 0
    unfinished: list[str] = field(default_factory=list)
    """Multipart uploads begun long ago and never completed (their parts take space)."""
    aborted: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.orphans or self.corrupt or self.unfinished)


def catalog_keys(session: Session) -> tuple[set[str], set[str], set[str], dict[str, str]]:
    """What the catalog names: every key, the assets and replays it knows, and the SHA-256 it
    recorded per key (originals and live segments)."""
    named: set[str] = set()
    checksums: dict[str, str] = {}
    assets: set[str] = set()
    for row in session.execute(
        select(
            Asset.id, Asset.original_key, Asset.sha256, Asset.poster_key,
            Asset.master_playlist_key, Asset.dash_manifest_key, Asset.proxy_key,
            Asset.thumbnails_key, Asset.mezzanine_key,
        )
    ):  # fmt: skip
        assets.add(row[0])
        named.update(key for key in row[3:] if key)
        if row[1]:
            named.add(row[1])
            if row[2]:
                checksums[row[1]] = row[2]
    for playlist, iframes in session.execute(
        select(Rendition.playlist_key, Rendition.iframe_playlist_key)
    ):
        named.update(key for key in (playlist, iframes) if key)
    for key, digest in session.execute(select(Segment.key, Segment.sha256)):
        named.add(key)
        if digest:
            checksums[key] = digest
    named.update(session.scalars(select(RenditionSegment.key)))
    replays: set[str] = set()
    for replay_id, manifest, package in session.execute(
        select(Replay.id, Replay.manifest_key, Replay.package_key)
    ):
        replays.add(replay_id)
        named.update(key for key in (manifest, package) if key)
    # Live recordings' originals are their segments: the asset row names a folder, not a file.
    return named, assets, replays, checksums


def verify_storage(
    session: Session,
    store: ObjectStore,
    *,
    sample: int = 20,
    repair: bool = False,
    event_id: str | None = None,
    unfinished_after: timedelta = timedelta(hours=24),
) -> Verification:
    """Check the whole bucket, or with ``event_id`` that event's objects only."""
    prefix = f"events/{event_id}/" if event_id else "events/"
    named, assets, replays, checksums = catalog_keys(session)
    named = {k for k in named if k.startswith(prefix)}
    checksums = {k: v for k, v in checksums.items() if k.startswith(prefix)}
    found: set[str] = set()
    result = Verification()
    for key in store.list_keys(prefix):
        found.add(key)
        if _orphan(key, named, assets, replays):
            result.orphans.append(key)
    result.objects = len(found)
    result.referenced = len(named)
    result.missing = sorted(k for k in named if k not in found and not k.endswith("/"))
    present = sorted(k for k in checksums if k in found)
    for key in random.sample(present, min(sample, len(present))):
        try:
            if store.sha256_of(key) != checksums[key]:
                result.corrupt.append(key)
        except NotFound:
            result.missing.append(key)
        result.checked += 1
    stale = store.unfinished_uploads(prefix, started_before=utcnow() - unfinished_after)
    result.unfinished = [key for key, _ in stale]
    if repair and result.orphans:
        store.delete(result.orphans)
        result.removed = len(result.orphans)
    if repair:
        for key, upload_id in stale:
            store.abort_upload(key, upload_id)
        result.aborted = len(stale)
    return result


def _orphan(key: str, named: set[str], assets: set[str], replays: set[str]) -> bool:
    if key in named:
        return False
    asset = _ASSET_KEY.match(key)
    if asset:
        if asset["asset"] not in assets:
            return True
        # A live folder holds exactly the segments and renditions the catalog recorded.
        return asset["rest"].startswith("live/")
    replay = _REPLAY_KEY.match(key)
    if replay:
        return replay["replay"] not in replays
    return False  # not under a layout Vantage owns: leave it be
