"""The rows of the seeded catalog's events, feeds, recordings, markers and their search documents,
built in memory and inserted in bulk."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from catalog import tenants
from catalog.access import Principal
from catalog.models import (
    AssetKind,
    AssetStatus,
    Base,
    FeedState,
    Role,
)
from infra.ops.bench.api.world import BATCH, CAMERAS, FIRST_NAMES, SPORTS, SURNAMES, Scale, Sport

_DASH = " \u2013 "
"""What joins the parts of a document's title, as the search service writes them."""


@dataclass(frozen=True)
class Holder:
    """A seeded broadcaster: who it is, where it asks from, its key and its rights profile."""

    id: str
    name: str
    territory: str
    key: str
    profile: str

    def principal(self) -> Principal:
        return Principal(
            Role.BROADCASTER,
            name=self.name,
            broadcaster_id=self.id,
            scopes=frozenset(tenants.ROLE_SCOPES[Role.BROADCASTER]),
            territory=self.territory,
        )


def new_id(rng: Random) -> str:
    """A random (version 4) UUID from ``rng``, as ``str(uuid.uuid4())`` writes one."""
    bits = rng.getrandbits(128)
    text = f"{bits:032x}"
    variant = "89ab"[bits >> 62 & 3]
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{variant}{text[17:20]}-{text[20:]}"


def _hex(rng: Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def bulk_insert(session: Session, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` into ``model``'s table, ``BATCH`` at a time, without ORM objects."""
    for start in range(0, len(rows), BATCH):
        session.execute(insert(model), list(rows[start : start + BATCH]))


def _join(*parts: str | None) -> str:
    return " ".join(part for part in parts if part)


def _document(
    kind: str,
    ref_id: str,
    event: dict[str, Any],
    *,
    title: str,
    body: str,
    created_at: datetime,
    feed_id: str | None = None,
    asset_id: str | None = None,
    clock: tuple[float, float] | None = None,
    moment_at: datetime | None = None,
    tags: list[str] | None = None,
    athletes: list[str] | None = None,
) -> dict[str, Any]:
    """A search document with the fields :mod:`catalog.search` writes for the same row (its
    ``index_*`` functions); checked against ``reindex_all`` by the tests."""
    return {
        "kind": kind,
        "ref_id": ref_id,
        "sport": event["sport"],
        "event_id": event["id"],
        "feed_id": feed_id,
        "asset_id": asset_id,
        "broadcaster_id": None,
        "clock_start_s": None if clock is None else clock[0],
        "clock_end_s": None if clock is None else clock[1],
        "moment_at": moment_at,
        "title": title[:300],
        "body": body,
        "tags": tags or [],
        "athletes": athletes or [],
        "created_at": created_at,
    }


class CatalogRows:
    """Rows for events, feeds, recordings, renditions and markers, with their documents."""

    def __init__(self, scale: Scale, rng: Random, now: datetime) -> None:
        self.scale = scale
        self.rng = rng
        self.now = now
        self.events: list[dict[str, Any]] = []
        self.feeds: list[dict[str, Any]] = []
        self.assets: list[dict[str, Any]] = []
        self.renditions: list[dict[str, Any]] = []
        self.markers: list[dict[str, Any]] = []
        self.documents: list[dict[str, Any]] = []
        self.rosters: dict[str, list[str]] = {}
        self.sport_of: dict[str, Sport] = {}
        self.clock_span_s = scale.assets_per_feed * 300.0

    def build(self) -> None:
        self._events()
        self._feeds()
        self._assets()
        self._markers()

    def _events(self) -> None:
        rng = self.rng
        count = self.scale.event_count
        rounds: Counter[str] = Counter()
        for index in range(count):
            sport = SPORTS[index % len(SPORTS)]
            rounds[sport.name] += 1
            name = f"{sport.competition}{_DASH}{sport.stage} {rounds[sport.name]}"
            if sport.teams:
                home, away = rng.sample(sport.teams, 2)
                name += f": {home} v {away}"
            # Spread over the last 180 days; the newest few are still on (no end yet).
            days_ago = 180.0 * (count - 1 - index) / max(count - 1, 1) + rng.uniform(0, 0.5)
            origin = self.now - timedelta(days=days_ago, hours=3)
            ongoing = index >= count - max(1, count // 30)
            event: dict[str, Any] = {
                "id": new_id(rng),
                "name": name,
                "sport": sport.name,
                "venue": rng.choice(sport.venues),
                "clock_origin": origin,
                "timecode_origin": None,
                "profile": None,
                "ended_at": None if ongoing else origin + timedelta(seconds=self.clock_span_s),
                "created_at": origin - timedelta(days=1),
            }
            self.events.append(event)
            self.sport_of[event["id"]] = sport
            self.rosters[event["id"]] = [
                f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}" for _ in range(16)
            ]
            self.documents.append(
                _document(
                    "event", event["id"], event, title=name,
                    body=_join(sport.name, event["venue"]), created_at=event["created_at"],
                    moment_at=event["ended_at"],
                )
            )  # fmt: skip

    def _feeds(self) -> None:
        for event in self.events:
            for name, position in CAMERAS[: self.scale.feeds_per_event]:
                feed = {
                    "id": new_id(self.rng),
                    "event_id": event["id"],
                    "name": name,
                    "position": position,
                    "source": f"{name.split()[0]}.mxf",
                    "enabled": False,
                    "state": FeedState.STOPPED,
                    "mezzanine": False,
                    "clock_offset_s": 0.0,
                    "created_at": event["created_at"],
                }
                self.feeds.append(feed)
                self.documents.append(
                    _document(
                        "feed", feed["id"], event, title=f"{event['name']}{_DASH}{name}",
                        body=_join(name, position), created_at=feed["created_at"],
                        feed_id=feed["id"],
                    )
                )  # fmt: skip

    def _assets(self) -> None:
        rng = self.rng
        events = {e["id"]: e for e in self.events}
        taken: Counter[str] = Counter()
        for index in range(self.scale.assets):
            feed = self.feeds[index % len(self.feeds)]
            event = events[feed["event_id"]]
            part = taken[feed["id"]]
            taken[feed["id"]] += 1
            start = part * 300.0
            duration = round(rng.uniform(240.0, 299.0), 3)
            end = start + duration
            ongoing = event["ended_at"] is None
            status = AssetStatus.READY
            if ongoing and part == self.scale.assets_per_feed - 1:
                status = AssetStatus.RECORDING
            elif rng.random() < 0.03:
                status = rng.choice((AssetStatus.PROCESSING, AssetStatus.FAILED))
            height = rng.choice((1080, 1080, 1080, 720, 2160))
            asset_id = new_id(rng)
            filename = f"{feed['name'].split()[0]}_{part + 1:03d}.mxf"
            moment = event["clock_origin"] + timedelta(seconds=end)
            created = moment + timedelta(seconds=rng.uniform(5, 90))
            ready = status is AssetStatus.READY
            folder = f"assets/{asset_id}"
            self.assets.append(
                {
                    "id": asset_id,
                    "feed_id": feed["id"],
                    "event_id": event["id"],
                    "kind": AssetKind.LIVE if status is AssetStatus.RECORDING else AssetKind.FILE,
                    "status": status,
                    "filename": filename,
                    "original_key": f"{folder}/original/{filename}",
                    "sha256": _hex(rng, 64),
                    "size_bytes": int(duration * rng.uniform(4e6, 1.2e7)),
                    "duration_s": duration,
                    "container": "mxf",
                    "video_codec": "h264",
                    "audio_codec": "aac",
                    "width": height * 16 // 9,
                    "height": height,
                    "frame_rate": "50/1",
                    "clock_start_s": start,
                    "clock_source": "timecode",
                    "timecode": None,
                    "recorded_at": event["clock_origin"] + timedelta(seconds=start),
                    "poster_key": f"{folder}/poster.jpg" if ready else None,
                    "master_playlist_key": f"{folder}/ladder/master.m3u8" if ready else None,
                    "error": "decoder error at 00:02:11" if status is AssetStatus.FAILED else None,
                    "profile": "broadcast",
                    "created_at": created,
                }
            )
            if ready:
                self._renditions(asset_id, folder, height, duration, created)
            kind = "live" if status is AssetStatus.RECORDING else "file"
            self.documents.append(
                _document(
                    "asset", asset_id, event,
                    title=f"{event['name']}{_DASH}{feed['name']}{_DASH}{filename}",
                    body=_join(feed["position"], kind, "h264", f"{height}p"),
                    created_at=created, feed_id=feed["id"], asset_id=asset_id,
                    clock=(start, end), moment_at=moment,
                )
            )  # fmt: skip

    def _renditions(
        self, asset_id: str, folder: str, height: int, duration: float, created: datetime
    ) -> None:
        for rung, kbps in ((1080, 8000), (720, 4500), (360, 1000)):
            if rung > height:
                continue
            self.renditions.append(
                {
                    "id": new_id(self.rng),
                    "asset_id": asset_id,
                    "name": f"{rung}p",
                    "kind": "video",
                    "width": rung * 16 // 9,
                    "height": rung,
                    "video_kbps": kbps,
                    "audio_kbps": 128,
                    "codecs": "avc1.640028,mp4a.40.2",
                    "frame_rate": "50/1",
                    "bandwidth": int(kbps * 1100),
                    "average_bandwidth": int(kbps * 1000),
                    "playlist_key": f"{folder}/ladder/{rung}p/index.m3u8",
                    "iframe_playlist_key": f"{folder}/ladder/{rung}p/iframes.m3u8",
                    "segment_count": math.ceil(duration / 2.0),
                    "size_bytes": int(duration * kbps * 125),
                    "created_at": created,
                }
            )

    def _markers(self) -> None:
        rng = self.rng
        for index in range(self.scale.marker_count):
            event = self.events[index % len(self.events)]
            sport = self.sport_of[event["id"]]
            tag = rng.choice(sport.tags)
            tags = [tag, "highlight"] if rng.random() < 0.2 else [tag]
            roster = self.rosters[event["id"]]
            athletes = [rng.choice(roster)]
            if rng.random() < 0.25:
                second = rng.choice(roster)
                if second not in athletes:
                    athletes.append(second)
            clock_s = round(rng.uniform(0.0, self.clock_span_s), 2)
            marker = {
                "id": new_id(rng),
                "event_id": event["id"],
                "clock_s": clock_s,
                "label": f"{tag.capitalize()}{_DASH}{athletes[0]} {int(clock_s // 60)}'",
                "tags": tags,
                "athletes": athletes,
                "created_at": event["clock_origin"] + timedelta(seconds=clock_s + 20),
            }
            self.markers.append(marker)
            self.documents.append(
                _document(
                    "marker", marker["id"], event, title=marker["label"],
                    body=_join(event["name"], *tags, *athletes), created_at=marker["created_at"],
                    clock=(clock_s, clock_s),
                    moment_at=event["clock_origin"] + timedelta(seconds=clock_s),
                    tags=tags, athletes=athletes,
                )
            )  # fmt: skip
