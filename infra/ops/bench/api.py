"""``vantage bench api``: the rights-aware catalog at scale.

A fresh catalog (a SQLite file in a temporary folder, or a schema of its own on a PostgreSQL
server) is seeded in bulk with events, feeds, recordings, markers and their search documents,
and with broadcasters holding a mix of rights: everything with territories left out, sports,
events, feeds and single recordings, in various territories, with windows that have closed or
not yet opened, embargoes and quotas. Everything comes from one seeded random generator, so two
runs with the same seed hold the same catalog (only the times move with the clock).

Then, in this process, with a real session per query as a request has:

- search with words and with filters, list (first page) and read one recording, each under a
  broadcaster's rights (callers taken in turn) and the same queries as staff (no rights clause),
  whose ratio is the cost of rights filtering;
- building a broadcaster's caller (its grants and airings), which every request does.

And over HTTP: the real API (uvicorn, one worker process) answering ``GET /v1/assets/{id}``
from several client threads for a fixed time, with broadcaster keys (a mix of recordings inside
and outside their rights, so 200s and 404s) and with an admin key. The API process's CPU time
gives reads per CPU-second, that is per core.

Times are milliseconds: p50, p95 and max of ``repeat`` queries each; the target is a p95 under
50 ms. Nothing here is compared against a fixed figure: the JSON says what was measured.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import httpx
import psutil
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from catalog import services, tenants
from catalog.access import Caller, Principal, caller_for
from catalog.migrate import refresh_statistics, upgrade
from catalog.models import (
    Airing,
    Asset,
    AssetKind,
    AssetStatus,
    Base,
    Event,
    Feed,
    FeedState,
    Marker,
    Rendition,
    RightsGrant,
    Role,
    SearchDocument,
    utcnow,
)
from catalog.search import SearchQuery, search
from infra.core.database import make_engine, make_session_factory, session_scope
from infra.core.errors import BadRequest, NotFound, ServiceUnavailable, VantageError
from infra.core.settings import DatabaseSettings, Settings
from infra.ops.bench.replay import percentile
from infra.ops.bench.transcode import ratio, settings_env

TARGET_P95_MS = 50.0
"""What the issue asks of every catalog query under rights filtering."""
PAGE = 50
"""Rows per listed page, as the API's default."""
BATCH = 5_000
"""Rows per bulk insert."""
WARM_UP = 3
"""Untimed queries before each measurement, so that it starts from warm caches."""

Say = Callable[[str], None]
"""Where the benchmark says what it is doing, a line at a time."""
Query = Callable[[Session, int, bool], object]
"""One query: in a session, the ``i``-th of its kind, under rights (``True``) or as staff."""


@dataclass(frozen=True)
class Scale:
    """How big the seeded catalog is."""

    assets: int = 100_000
    broadcasters: int = 50
    markers: int | None = None
    """``None``: one for every five recordings."""
    feeds_per_event: int = 10
    assets_per_feed: int = 20

    @property
    def marker_count(self) -> int:
        return self.assets // 5 if self.markers is None else self.markers

    @property
    def event_count(self) -> int:
        """Enough events for ``assets_per_feed`` recordings a camera, and one of every sport."""
        per_event = self.feeds_per_event * self.assets_per_feed
        return max(len(SPORTS), math.ceil(self.assets / per_event))


QUICK = Scale(assets=2_000, broadcasters=5, markers=400)
"""A catalog small enough for the test suite."""


# -- the words of the catalog -------------------------------------------------------------------


@dataclass(frozen=True)
class Sport:
    name: str
    competition: str
    stage: str
    venues: tuple[str, ...]
    tags: tuple[str, ...]
    teams: tuple[str, ...] = ()
    """Empty for sports where athletes compete one by one."""


SPORTS = (
    Sport(
        "football", "European Football League", "Matchday",
        ("Wembley Stadium", "Camp Nou", "Allianz Arena", "San Siro", "Estadio da Luz"),
        ("goal", "penalty", "yellow card", "red card", "corner", "save", "offside", "var review"),
        ("Lions", "Falcons", "Rovers", "United", "Athletic", "Wanderers", "Rangers", "City"),
    ),
    Sport(
        "basketball", "Continental Basketball Cup", "Game",
        ("Madison Square Garden", "Mercedes-Benz Arena", "Palau Blaugrana", "Zalgiris Arena"),
        ("dunk", "three pointer", "block", "buzzer beater", "foul", "steal"),
        ("Comets", "Giants", "Storm", "Hawks", "Titans", "Bulls"),
    ),
    Sport(
        "tennis", "Grand Slam Series", "Round",
        ("Centre Court", "Court Philippe-Chatrier", "Arthur Ashe Stadium", "Rod Laver Arena"),
        ("ace", "break point", "match point", "tie break", "rally", "double fault"),
    ),
    Sport(
        "athletics", "World Athletics Tour", "Meeting",
        ("Stade de France", "Olympiastadion", "Hayward Field", "Letzigrund"),
        ("start", "finish", "photo finish", "world record", "false start", "personal best"),
    ),
    Sport(
        "swimming", "Aquatics Grand Prix", "Session",
        ("London Aquatics Centre", "Duna Arena", "La Defense Arena"),
        ("start", "turn", "finish", "world record", "relay changeover"),
    ),
    Sport(
        "cycling", "Grand Tour", "Stage",
        ("Col du Tourmalet", "Champs-Élysées", "Alpe d'Huez", "Mont Ventoux"),
        ("attack", "sprint", "crash", "breakaway", "summit finish", "time gap"),
    ),
    Sport(
        "rugby", "Six Unions Championship", "Round",
        ("Twickenham", "Stade Vélodrome", "Eden Park", "Principality Stadium"),
        ("try", "conversion", "penalty", "scrum", "tackle", "drop goal"),
        ("Dragons", "Bears", "Warriors", "Sharks", "Chiefs", "Stags"),
    ),
    Sport(
        "volleyball", "Volleyball Nations League", "Pool match",
        ("Ahoy Rotterdam", "Ergo Arena", "Ariake Arena"),
        ("spike", "block", "ace", "set point", "dig"),
        ("Eagles", "Wolves", "Panthers", "Kings", "Vipers", "Bisons"),
    ),
    Sport(
        "handball", "Handball Champions Cup", "Group match",
        ("Lanxess Arena", "Jyske Bank Boxen", "Accor Arena"),
        ("goal", "save", "penalty throw", "fast break", "two minutes"),
        ("Vikings", "Foxes", "Lynx", "Saints", "Pirates", "Ravens"),
    ),
    Sport(
        "ice hockey", "Ice Hockey World Series", "Game",
        ("Hartwall Arena", "O2 Arena Prague", "Scotiabank Arena"),
        ("goal", "power play", "penalty shot", "save", "fight", "empty net"),
        ("Flames", "Blades", "Penguins", "Huskies", "Bruins", "Jets"),
    ),
    Sport(
        "rowing", "Rowing World Cup", "Regatta",
        ("Dorney Lake", "Lake Bled", "Henley Reach"),
        ("start", "500 m split", "sprint", "finish", "photo finish"),
    ),
    Sport(
        "gymnastics", "Artistic Gymnastics World Cup", "Final",
        ("Ariake Gymnastics Centre", "Bercy Arena", "Antwerp Sportpaleis"),
        ("vault", "floor", "landing", "dismount", "top score", "fall"),
    ),
)  # fmt: skip

CAMERAS = (
    ("cam1 main", "main stand, halfway line"),
    ("cam2 wide", "high gantry, wide"),
    ("cam3 tight", "main stand, tight follow"),
    ("cam4 left", "main stand, left third"),
    ("cam5 right", "main stand, right third"),
    ("cam6 reverse", "opposite stand, reverse angle"),
    ("cam7 end left", "behind the left end"),
    ("cam8 end right", "behind the right end"),
    ("cam9 spidercam", "cable camera over the field"),
    ("cam10 steadicam", "touchline, roaming"),
    ("cam11 super slow", "main stand, super slow motion"),
    ("cam12 beauty", "roof, beauty shot"),
)
FIRST_NAMES = (
    "Amara", "Lukas", "Sofia", "Mateo", "Yuki", "Noah", "Chiara", "Kwame", "Ines", "Oskar",
    "Leila", "Tomás", "Hana", "Rafael", "Freya", "Dmitri", "Aisha", "Jonas", "Marta", "Kenji",
    "Elena", "Samuel", "Nadia", "Viktor", "Zara", "Pablo", "Ingrid", "Emeka", "Lucía", "Henrik",
)  # fmt: skip
SURNAMES = (
    "Okafor", "Schneider", "Rossi", "Fernandes", "Tanaka", "Johansson", "Moreau", "Mensah",
    "Kowalski", "Novak", "Haddad", "Silva", "Nakamura", "Lindqvist", "Petrov", "Adeyemi",
    "García", "Müller", "Bianchi", "Dubois", "Kariuki", "Andersen", "Papadopoulos", "Horvat",
    "Yilmaz", "Costa", "Van Dijk", "Kim", "Nowak", "Jensen", "Ferrari", "Lopez", "Martins",
    "Ivanova", "Chen", "Osei", "Larsen", "Santos", "Weber", "Romano", "Lefebvre", "Abara",
    "Svensson", "Kovacs", "Hoffmann", "Marino", "Sato", "Diallo", "Eriksen", "Pereira",
    "Wojcik", "Fischer", "Castillo", "Bakker", "Nielsen", "Morales", "Varga", "Quinn",
    "Brennan", "Takahashi",
)  # fmt: skip
TERRITORIES = (
    "GB", "IE", "FR", "DE", "IT", "ES", "PT", "NL", "BE", "CH", "AT", "SE", "NO", "DK", "FI",
    "PL", "CZ", "HU", "GR", "TR", "US", "CA", "BR", "AR", "MX", "JP", "KR", "AU", "NZ", "ZA",
    "NG", "KE", "IN", "SG",
)  # fmt: skip
NETWORKS = (
    "Sport",
    "Sports One",
    "Arena TV",
    "Stadium Channel",
    "Play",
    "Live",
    "Action",
    "Extra",
)
_DASH = " \u2013 "
"""What joins the parts of a document's title, as the search service writes them."""


# -- seeding ------------------------------------------------------------------------------------


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


@dataclass
class Seeded:
    """What was seeded: counts, times, and what queries and requests draw from."""

    counts: dict[str, int]
    seconds: dict[str, float]
    sports: list[str]
    tags: list[str]
    event_ids: list[str]
    asset_ids: list[str]
    clock_span_s: float
    athletes: list[str]
    """Every athlete some marker names."""
    broadcasters: list[Holder]
    admin_key: str
    now: datetime


def _uid(rng: Random) -> str:
    """A random (version 4) UUID from ``rng``, as ``str(uuid.uuid4())`` writes one."""
    bits = rng.getrandbits(128)
    text = f"{bits:032x}"
    variant = "89ab"[bits >> 62 & 3]
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{variant}{text[17:20]}-{text[20:]}"


def _hex(rng: Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _bulk(session: Session, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
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


class _Catalog:
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
                "id": _uid(rng),
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
                    "id": _uid(self.rng),
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
            asset_id = _uid(rng)
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
                    "id": _uid(self.rng),
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
                "id": _uid(rng),
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


PROFILES = ("worldwide", "sports", "events", "feeds", "recordings", "regional")
"""Kinds of rights broadcasters hold, taken in turn:

- ``worldwide``: everything, in every territory but a few left out;
- ``sports``: one to three sports at home;
- ``events``: a few dozen events, some with an embargo counted from the action;
- ``feeds``: some cameras and some single recordings;
- ``recordings``: a closed sport deal and single recordings, with quotas;
- ``regional``: everything, but only in other territories, and one sport at home."""


def _window(rng: Random, now: datetime) -> dict[str, datetime | None]:
    """Most grants are open now; some have closed, some have not opened yet."""
    draw = rng.random()
    if draw < 0.12:
        return {"valid_from": now - timedelta(days=400), "valid_until": now - timedelta(days=30)}
    if draw < 0.20:
        return {"valid_from": now + timedelta(days=30), "valid_until": now + timedelta(days=400)}
    if draw < 0.55:
        return {"valid_from": now - timedelta(days=365), "valid_until": now + timedelta(days=365)}
    return {"valid_from": None, "valid_until": None}


def _terms(
    rng: Random, now: datetime, scope: str, value: str | None, **fixed: Any
) -> tenants.GrantTerms:
    """Grant terms with a random window, media, embargo and quotas, unless ``fixed``."""
    terms: dict[str, Any] = {"scope": scope, "scope_value": value, **_window(rng, now)}
    terms["media"] = rng.choice(
        (("live", "clips", "archive"),) * 3 + (("clips",), ("live", "archive"))
    )
    if rng.random() < 0.3:
        terms["embargo_minutes"] = float(rng.choice((30, 60, 180, 1440)))
        terms["embargo_after"] = rng.choice(("event", "moment", "broadcast"))
    if rng.random() < 0.4:
        terms["max_clip_s"] = float(rng.choice((30, 60, 120)))
        terms["max_event_s"] = float(rng.choice((180, 300, 600)))
        terms["max_day_s"] = float(rng.choice((600, 1800)))
        terms["min_gap_s"] = float(rng.choice((0, 60, 300)))
    terms.update(fixed)
    return tenants.GrantTerms(**terms)


def _grants(
    profile: str, home: str, others: list[str], rng: Random, now: datetime, catalog: _Catalog
) -> list[tenants.GrantTerms]:
    """The grant terms of one broadcaster of ``profile``, broadcasting from ``home``."""
    territories = (home, *others)
    events = [e["id"] for e in catalog.events]
    feeds = [f["id"] for f in catalog.feeds]
    assets = [a["id"] for a in catalog.assets]
    sports = [s.name for s in SPORTS]
    at_home: dict[str, Any] = {"territories": territories}
    if profile == "worldwide":
        away = [t for t in rng.sample(TERRITORIES, 4) if t not in territories]
        return [
            _terms(
                rng, now, "all", None, territories=tuple(away), territories_excluded=True,
                valid_from=None, valid_until=None,
            )
        ]  # fmt: skip
    if profile == "sports":
        return [
            _terms(rng, now, "sport", sport, **at_home)
            for sport in rng.sample(sports, rng.randint(1, 3))
        ]
    if profile == "events":
        chosen = rng.sample(events, min(len(events), rng.randint(10, 60)))
        moment = {"embargo_minutes": 60.0, "embargo_after": "moment"}
        return [
            _terms(rng, now, "event", event_id, **at_home, **(moment if i % 3 == 0 else {}))
            for i, event_id in enumerate(chosen)
        ]
    if profile == "feeds":
        picked = rng.sample(feeds, min(len(feeds), rng.randint(10, 40)))
        singles = rng.sample(assets, min(len(assets), rng.randint(5, 30)))
        return [_terms(rng, now, "feed", feed_id, **at_home) for feed_id in picked] + [
            _terms(rng, now, "asset", asset_id, **at_home) for asset_id in singles
        ]
    if profile == "recordings":
        closed = {"valid_from": now - timedelta(days=700), "valid_until": now - timedelta(days=1)}
        singles = rng.sample(assets, min(len(assets), rng.randint(20, 200)))
        quotas = {"max_clip_s": 60.0, "max_event_s": 300.0, "max_day_s": 900.0}
        return [_terms(rng, now, "sport", rng.choice(sports), **at_home, **closed)] + [
            _terms(rng, now, "asset", asset_id, **at_home, **quotas) for asset_id in singles
        ]
    elsewhere = [t for t in TERRITORIES if t not in territories]
    abroad = tuple(t for t in rng.sample(TERRITORIES, 3) if t not in territories) or (elsewhere[0],)
    return [
        _terms(rng, now, "all", None, territories=abroad, valid_from=None, valid_until=None),
        _terms(rng, now, "sport", rng.choice(sports), **at_home),
    ]


def seed_catalog(
    sessions: sessionmaker[Session],
    scale: Scale,
    *,
    seed: int = 7,
    now: datetime | None = None,
    say: Say = lambda _line: None,
) -> Seeded:
    """Fill an empty, migrated catalog: the recordings and their documents in bulk, then
    broadcasters and keys the way an admin makes them (``catalog.tenants``), and their rights
    and airings in bulk."""
    moment = now or utcnow()
    rng = Random(seed)
    seconds: dict[str, float] = {}
    began = time.perf_counter()
    say(f"seeding {scale.assets} recordings across {scale.event_count} events")
    catalog = _Catalog(scale, rng, moment)
    catalog.build()
    seconds["generate"] = time.perf_counter() - began
    mark = time.perf_counter()
    with session_scope(sessions) as session:
        for model, rows in (
            (Event, catalog.events),
            (Feed, catalog.feeds),
            (Asset, catalog.assets),
            (Rendition, catalog.renditions),
            (Marker, catalog.markers),
            (SearchDocument, catalog.documents),
        ):
            _bulk(session, model, rows)
    seconds["insert"] = time.perf_counter() - mark
    mark = time.perf_counter()
    say(f"seeding {scale.broadcasters} broadcasters and their rights")
    holders, grants, airings, admin_key = _broadcasters(sessions, scale, rng, moment, catalog)
    seconds["rights"] = time.perf_counter() - mark
    seconds = {name: round(value, 3) for name, value in seconds.items()}
    seconds["total"] = round(time.perf_counter() - began, 3)
    tags = sorted({tag for sport in SPORTS for tag in sport.tags})
    return Seeded(
        counts={
            "events": len(catalog.events),
            "feeds": len(catalog.feeds),
            "assets": len(catalog.assets),
            "renditions": len(catalog.renditions),
            "markers": len(catalog.markers),
            "documents": len(catalog.documents),
            "broadcasters": len(holders),
            "grants": grants,
            "airings": airings,
            "keys": len(holders) + 1,
        },
        seconds=seconds,
        sports=[s.name for s in SPORTS],
        tags=tags,
        event_ids=[e["id"] for e in catalog.events],
        asset_ids=[a["id"] for a in catalog.assets],
        clock_span_s=catalog.clock_span_s,
        athletes=sorted({name for m in catalog.markers for name in m["athletes"]}),
        broadcasters=holders,
        admin_key=admin_key,
        now=moment,
    )


def _broadcasters(
    sessions: sessionmaker[Session], scale: Scale, rng: Random, now: datetime, catalog: _Catalog
) -> tuple[list[Holder], int, int, str]:
    holders = []
    grants: list[dict[str, Any]] = []
    airings: list[dict[str, Any]] = []
    ended = [e for e in catalog.events if e["ended_at"] is not None]
    with session_scope(sessions) as session:
        for index in range(scale.broadcasters):
            profile = PROFILES[index % len(PROFILES)]
            home, *others = rng.sample(TERRITORIES, rng.randint(1, 3))
            name = f"{home} {rng.choice(NETWORKS)} {index + 1}"
            broadcaster = tenants.create_broadcaster(name, [home, *others], session=session)
            _, key = tenants.create_key(
                f"{name} bench", Role.BROADCASTER, session=session, broadcaster_id=broadcaster.id
            )
            for terms in _grants(profile, home, others, rng, now, catalog):
                grants.append(_grant_row(broadcaster.id, terms, rng, now))
            for event in rng.sample(ended, len(ended) // 5):
                aired = event["ended_at"] + timedelta(minutes=rng.uniform(-90, 600))
                airings.append(
                    {
                        "id": _uid(rng),
                        "broadcaster_id": broadcaster.id,
                        "event_id": event["id"],
                        "aired_at": aired,
                    }
                )
            holders.append(Holder(broadcaster.id, name, home, key, profile))
        _bulk(session, RightsGrant, grants)
        _bulk(session, Airing, airings)
        _, admin_key = tenants.create_key("bench admin", Role.ADMIN, session=session)
    return holders, len(grants), len(airings), admin_key


def _grant_row(
    broadcaster_id: str, terms: tenants.GrantTerms, rng: Random, now: datetime
) -> dict[str, Any]:
    """The row ``tenants.grant_rights`` writes for ``terms``. The benchmark inserts its grants in
    bulk: none is exclusive, so the exclusivity check that function makes of each grant against
    every other (quadratic in the number of grants) could refuse nothing."""
    assert not terms.exclusive
    return {
        "id": _uid(rng),
        "broadcaster_id": broadcaster_id,
        "scope": terms.scope,
        "scope_value": terms.scope_value,
        "territories": tenants.territory_codes(terms.territories) if terms.territories else [],
        "territories_excluded": terms.territories_excluded,
        "media": list(dict.fromkeys(terms.media)),
        "valid_from": terms.valid_from,
        "valid_until": terms.valid_until,
        "embargo_minutes": terms.embargo_minutes,
        "embargo_after": terms.embargo_after,
        "exclusive": False,
        "max_clip_s": terms.max_clip_s,
        "max_event_s": terms.max_event_s,
        "max_day_s": terms.max_day_s,
        "min_gap_s": terms.min_gap_s,
        "created_at": now,
    }


def check_indexed(sessions: sessionmaker[Session], seeded: Seeded) -> dict[str, int]:
    """Hits for a sport and for an athlete, by text search as staff: the text index holds the
    bulk-inserted documents. Raises when it does not."""
    found = {}
    examples = [seeded.sports[0], *(seeded.athletes[:1])]
    with sessions() as session:
        for words in examples:
            page = search(SearchQuery(text=words), session=session)
            found[words] = sum(page.facets["kind"].values())
    if not all(found.values()):
        raise VantageError(f"the text index does not find the seeded documents: {found}")
    return found


def analyze(engine: Engine) -> None:
    """Bring a freshly loaded catalog to the state it is in once in use: on PostgreSQL what
    autovacuum soon gives it after a bulk load (planner statistics and a visibility map for
    index-only scans), on SQLite the statistics the reconciler refreshes every hour."""
    if engine.dialect.name != "postgresql":
        refresh_statistics(engine)
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in Base.metadata.sorted_tables:
            connection.execute(text(f'VACUUM ANALYZE "{table.name}"'))


# -- measuring ----------------------------------------------------------------------------------


def summary_ms(values: Sequence[float]) -> dict[str, float | int]:
    """Count, p50, p95 and max of times in seconds, as milliseconds."""
    return {
        "count": len(values),
        "p50_ms": round(percentile(list(values), 0.5) * 1000, 3),
        "p95_ms": round(percentile(list(values), 0.95) * 1000, 3),
        "max_ms": round(max(values) * 1000, 3),
    }


def _p50(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def timings(
    sessions: sessionmaker[Session], repeat: int, query: Callable[[Session, int], object]
) -> list[float]:
    """Seconds each of ``repeat`` calls of ``query(session, i)`` took (``i`` from 0), each in a
    session of its own as a request has, after a few untimed calls (``i`` from ``repeat``)."""
    for i in range(repeat, repeat + WARM_UP):
        with sessions() as session:
            query(session, i)
    times = []
    for i in range(repeat):
        with sessions() as session:
            began = time.perf_counter()
            query(session, i)
            times.append(time.perf_counter() - began)
    return times


def paired(
    sessions: sessionmaker[Session], repeat: int, query: Query
) -> tuple[list[float], list[float]]:
    """:func:`timings` of each query under rights and as staff, one right after the other
    (taking turns at going first), so that neither finds the caches warmed by the other more
    often: the seconds under rights, then as staff."""
    for i in range(repeat, repeat + WARM_UP):
        for rights in (True, False):
            with sessions() as session:
                query(session, i, rights)
    times: dict[bool, list[float]] = {True: [], False: []}
    for i in range(repeat):
        for rights in (True, False) if i % 2 == 0 else (False, True):
            with sessions() as session:
                began = time.perf_counter()
                query(session, i, rights)
                times[rights].append(time.perf_counter() - began)
    return times[True], times[False]


@dataclass
class Viewer:
    """A broadcaster as the queries see it: its caller and what it may see."""

    holder: Holder
    caller: Caller
    events: list[str] = field(default_factory=list)
    assets: list[str] = field(default_factory=list)


def viewers(sessions: sessionmaker[Session], seeded: Seeded) -> list[Viewer]:
    """Every broadcaster's caller now, with the events and recordings its rights show."""
    found = []
    with sessions() as session:
        for holder in seeded.broadcasters:
            caller = caller_for(holder.principal(), session=session, now=seeded.now)
            events = list(session.scalars(select(Event.id).where(caller.events())))
            assets = list(session.scalars(select(Asset.id).where(caller.assets())))
            found.append(Viewer(holder, caller, sorted(events), sorted(assets)))
    return found


def _compare(rights: Sequence[float], staff: Sequence[float]) -> dict[str, Any]:
    return {
        "rights": summary_ms(rights),
        "staff": summary_ms(staff),
        "rights_cost": ratio(_p50(rights), _p50(staff)),
    }


def _by_kind(kinds: Sequence[str], times: Sequence[float]) -> dict[str, list[float]]:
    grouped: dict[str, list[float]] = {}
    for index, value in enumerate(times):
        grouped.setdefault(kinds[index % len(kinds)], []).append(value)
    return grouped


def text_queries(seeded: Seeded, rng: Random, count: int) -> list[tuple[str, str]]:
    """``count`` (kind, words) pairs, taking the kinds in turn: a sport, the start of the
    surname of an athlete some marker names, and two words (a tag and a surname)."""
    queries = []
    named = [name.split(" ", 1)[1] for name in seeded.athletes] or list(SURNAMES)
    for index in range(count):
        surname = rng.choice(named).split()[0].lower()
        match index % 3:
            case 0:
                queries.append(("sport", rng.choice(seeded.sports).split()[-1]))
            case 1:
                queries.append(("athlete_prefix", surname[: rng.randint(3, 5)]))
            case _:
                tag = rng.choice(seeded.tags).split()[0]
                queries.append(("two_words", f"{tag} {surname}"))
    return queries


def filter_queries(
    seeded: Seeded, people: Sequence[Viewer], rng: Random, count: int
) -> list[tuple[str, SearchQuery]]:
    """``count`` (kind, query) pairs without words, taking the kinds in turn: one event's
    recordings and markers over ten minutes of its clock, one event's markers, and every
    recording (newest first). Events are ones the broadcaster of that turn may see."""
    queries = []
    for index in range(count):
        person = people[index % len(people)]
        event_id = rng.choice(person.events or seeded.event_ids)
        start = round(rng.uniform(0.0, max(seeded.clock_span_s - 600.0, 0.0)), 1)
        match index % 3:
            case 0:
                query = SearchQuery(
                    event_id=event_id, clock_from_s=start, clock_to_s=start + 600.0,
                    kinds=("asset", "marker"),
                )  # fmt: skip
                queries.append(("event_clock_range", query))
            case 1:
                queries.append(("event_markers", SearchQuery(event_id=event_id, kinds=("marker",))))
            case _:
                queries.append(("all_recordings", SearchQuery(kinds=("asset",))))
    return queries


def measure_queries(
    sessions: sessionmaker[Session],
    seeded: Seeded,
    *,
    repeat: int,
    seed: int = 7,
    people: Sequence[Viewer] | None = None,
    say: Say = lambda _line: None,
) -> dict[str, Any]:
    """Every catalog query under broadcasters' rights (taken in turn) and as staff."""
    rng = Random(seed + 1)
    people = list(people) if people is not None else viewers(sessions, seeded)
    if not people:
        raise BadRequest("the benchmark needs at least one broadcaster")
    now = seeded.now

    def person(i: int) -> Viewer:
        return people[i % len(people)]

    results: dict[str, Any] = {}
    say("timing callers")
    results["caller_for"] = summary_ms(
        timings(
            sessions, repeat,
            lambda s, i: caller_for(person(i).holder.principal(), session=s, now=now),
        )
    )  # fmt: skip

    say("timing text search")
    words = text_queries(seeded, rng, repeat + WARM_UP)
    kinds = [kind for kind, _ in words]

    def text_search(session: Session, i: int, rights: bool) -> object:
        where = person(i).caller.documents() if rights else None
        return search(SearchQuery(text=words[i][1]), session=session, where=where)

    with_rights, as_staff = paired(sessions, repeat, text_search)
    by_rights = _by_kind(kinds, with_rights)
    by_staff = _by_kind(kinds, as_staff)
    results["search_text"] = _compare(with_rights, as_staff) | {
        "by_query": {kind: _compare(by_rights[kind], by_staff[kind]) for kind in by_rights},
        "examples": sorted({w for _, w in words[:9]}),
    }

    say("timing search with filters")
    filters = filter_queries(seeded, people, rng, repeat + WARM_UP)
    filter_kinds = [kind for kind, _ in filters]

    def filtered(session: Session, i: int, rights: bool) -> object:
        where = person(i).caller.documents(available_now=True) if rights else None
        return search(filters[i][1], session=session, where=where)

    with_rights, as_staff = paired(sessions, repeat, filtered)
    by_rights = _by_kind(filter_kinds, with_rights)
    by_staff = _by_kind(filter_kinds, as_staff)
    results["search_filters"] = _compare(with_rights, as_staff) | {
        "by_query": {kind: _compare(by_rights[kind], by_staff[kind]) for kind in by_rights},
        "available_now": True,
    }

    say("timing lists")
    totals: dict[str, int] = {}

    def listed(session: Session, i: int, rights: bool) -> object:
        who = person(i)
        visible = who.caller.assets() if rights else None
        rows, total = services.list_assets(
            services.AssetFilter(), session=session, limit=PAGE, visible=visible
        )
        totals[who.holder.id if rights else "staff"] = total
        return rows

    with_rights, as_staff = paired(sessions, repeat, listed)
    visible_totals = [totals[p.holder.id] for p in people if p.holder.id in totals]
    results["list"] = _compare(with_rights, as_staff) | {
        "page": PAGE,
        "staff_total": totals["staff"],
        "broadcaster_totals": {
            "min": min(visible_totals),
            "median": int(statistics.median(visible_totals)),
            "max": max(visible_totals),
        },
    }

    say("timing reads")
    picks = [_pick(person(i), seeded, rng) for i in range(repeat + WARM_UP)]
    outcomes: Counter[str] = Counter()

    def read(session: Session, i: int, rights: bool) -> object:
        visible = person(i).caller.assets() if rights else None
        try:
            asset = services.get_asset(picks[i], session=session, visible=visible)
        except NotFound:
            if i < repeat:
                outcomes["not_found" if rights else "staff_not_found"] += 1
            return None
        if i < repeat:
            outcomes["found" if rights else "staff_found"] += 1
        return asset

    with_rights, as_staff = paired(sessions, repeat, read)
    results["read"] = _compare(with_rights, as_staff) | {
        "found": outcomes["found"],
        "not_found": outcomes["not_found"],
        "staff_not_found": outcomes["staff_not_found"],
    }
    return results


def _pick(person: Viewer, seeded: Seeded, rng: Random) -> str:
    """A recording id: half the time one the broadcaster may see, else any (mostly not)."""
    if person.assets and rng.random() < 0.5:
        return rng.choice(person.assets)
    return rng.choice(seeded.asset_ids)


# -- over HTTP ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def api_process(settings: Settings, log: Path, *, ready_s: float = 60.0) -> Iterator[Any]:
    """The real API (uvicorn, one worker process, no access log) with ``settings``, in its own
    process group; yields its ``psutil.Process`` once ``/health`` answers, stops it on exit."""
    root = Path(__file__).resolve().parents[3]
    argv = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
    argv += ["--app-dir", str(root), "--host", "127.0.0.1", "--port", str(settings.api.port)]
    argv += ["--workers", "1", "--no-access-log", "--log-level", "warning"]
    with log.open("ab") as handle:
        proc = subprocess.Popen(
            argv,
            env=settings_env(settings, os.environ),
            cwd=settings.home,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + ready_s
        while True:
            try:
                if httpx.get(settings.api.public_url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise ServiceUnavailable(
                    f"the benchmark's API did not start: {log.read_text()[-2000:]}"
                )
            time.sleep(0.1)
        yield psutil.Process(proc.pid)
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 15)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, 9)
                proc.wait()


def _cpu_s(process: Any) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def hammer(
    url: str, requests: Sequence[tuple[str, str]], *, seconds: float, clients: int, server: Any
) -> dict[str, Any]:
    """``GET /v1/assets/{id}`` with each (key, id) of ``requests`` in turn from ``clients``
    threads for ``seconds``: requests a second, latency, statuses, and the server's CPU."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    statuses: list[Counter[int]] = [Counter() for _ in range(clients)]
    errors: list[str] = []
    start = threading.Barrier(clients + 1)
    stop = threading.Event()

    def client(slot: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            index = slot
            start.wait()
            while not stop.is_set():
                key, asset_id = requests[index % len(requests)]
                index += clients
                began = time.perf_counter()
                try:
                    answer = http.get(
                        f"/v1/assets/{asset_id}", headers={"Authorization": f"Bearer {key}"}
                    )
                except httpx.HTTPError as exc:
                    errors.append(type(exc).__name__)
                    continue
                latencies[slot].append(time.perf_counter() - began)
                statuses[slot][answer.status_code] += 1

    threads = [
        threading.Thread(target=client, args=(slot,), daemon=True) for slot in range(clients)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    cpu_before, began = _cpu_s(server), time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(60)
    wall = time.perf_counter() - began
    cpu = _cpu_s(server) - cpu_before
    everything = [value for values in latencies for value in values]
    counts: Counter[int] = Counter()
    for found in statuses:
        counts.update(found)
    done = len(everything)
    return {
        "clients": clients,
        "seconds": round(wall, 3),
        "requests": done,
        "requests_per_s": round(done / wall, 1) if wall > 0 else None,
        "latency": summary_ms(everything) if everything else None,
        "status": {str(code): n for code, n in sorted(counts.items())},
        "errors": dict(Counter(errors)),
        "server_cpu_s": round(cpu, 3),
        "reads_per_cpu_s": ratio(done, cpu, 1),
    }


def http_throughput(
    settings: Settings,
    database_url: str,
    seeded: Seeded,
    people: Sequence[Viewer],
    *,
    seconds: float,
    clients: int,
    seed: int = 7,
    say: Say = lambda _line: None,
) -> dict[str, Any]:
    """Asset reads over HTTP by broadcasters (inside and outside their rights) and by an
    admin, against one API process on the seeded catalog."""
    rng = Random(seed + 2)
    port = _free_port()
    served = settings.model_copy(
        update={
            "database": DatabaseSettings(url=database_url),
            "api": settings.api.model_copy(
                update={
                    "host": "127.0.0.1",
                    "port": port,
                    "public_url": f"http://127.0.0.1:{port}",
                    "rate_per_minute": 1_000_000,
                }
            ),
        }
    )
    mixed = []
    for _ in range(4_000):
        person = rng.choice(list(people))
        mixed.append((person.holder.key, _pick(person, seeded, rng)))
    admin = [(seeded.admin_key, rng.choice(seeded.asset_ids)) for _ in range(4_000)]
    with tempfile.TemporaryDirectory(prefix="vantage-bench-api-") as home:
        served = served.model_copy(update={"home": Path(home)})
        say("starting the API")
        with api_process(served, Path(home) / "api.log") as server:
            url = served.api.public_url
            hammer(url, mixed[:200], seconds=min(1.0, seconds), clients=clients, server=server)
            say(f"reading assets over HTTP for {seconds:g} s as broadcasters")
            broadcasters = hammer(url, mixed, seconds=seconds, clients=clients, server=server)
            say(f"reading assets over HTTP for {seconds:g} s as an admin")
            staff = hammer(url, admin, seconds=seconds, clients=clients, server=server)
    return {
        "endpoint": "GET /v1/assets/{id}",
        "api_processes": 1,
        "broadcaster_keys": broadcasters,
        "admin_key": staff,
    }


# -- the whole benchmark ------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def _with_schema(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def fresh_database(
    database_url: str | None, *, keep: bool = False, say: Say = lambda _line: None
) -> Iterator[tuple[str, str]]:
    """A new, empty database: a SQLite file in a temporary folder (``database_url`` is
    ``None``), or a new schema ``vantage_bench_<hex>`` on the PostgreSQL server given. Yields
    its URL and where it is; removed afterwards unless ``keep``."""
    if database_url is None:
        folder = Path(tempfile.mkdtemp(prefix="vantage-bench-api-"))
        try:
            yield f"sqlite:///{folder / 'catalog.db'}", str(folder / "catalog.db")
        finally:
            if keep:
                say(f"kept {folder / 'catalog.db'}")
            else:
                shutil.rmtree(folder, ignore_errors=True)
        return
    if not database_url.startswith("postgresql"):
        raise BadRequest(
            "--database-url takes a PostgreSQL URL (postgresql+psycopg://...); "
            "the SQLite run always uses a new file of its own"
        )
    schema = f"vantage_bench_{secrets.token_hex(4)}"
    admin = make_engine(database_url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield _with_schema(database_url, schema), f"schema {schema}"
        finally:
            if keep:
                say(f"kept schema {schema}")
            else:
                with admin.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


def _met(queries: dict[str, Any]) -> dict[str, bool]:
    """Whether each query's p95 is under the target, under rights and as staff. Requests over
    HTTP are left out: their clients keep the API busy, so their latency is mostly queueing
    (clients / throughput), not what a request costs."""
    met = {}
    for name, found in queries.items():
        if "rights" in found:
            met[name] = found["rights"]["p95_ms"] < TARGET_P95_MS
            met[f"{name}_staff"] = found["staff"]["p95_ms"] < TARGET_P95_MS
        else:
            met[name] = found["p95_ms"] < TARGET_P95_MS
    return met


def run_on(
    settings: Settings,
    database_url: str,
    *,
    scale: Scale,
    seed: int = 7,
    repeat: int = 200,
    http_seconds: float = 5.0,
    http_clients: int = 4,
    say: Say = lambda _line: None,
) -> dict[str, Any]:
    """Migrate and seed the empty database at ``database_url``, then measure it (HTTP too
    unless ``http_seconds`` is 0)."""
    host = machine()
    engine = make_engine(database_url)
    try:
        say("migrating")
        upgrade(engine)
        sessions = make_session_factory(engine)
        seeded = seed_catalog(sessions, scale, seed=seed, say=say)
        analyze(engine)
        indexed = check_indexed(sessions, seeded)
        people = viewers(sessions, seeded)
        queries = measure_queries(
            sessions, seeded, repeat=repeat, seed=seed, people=people, say=say
        )
        http = None
        if http_seconds > 0:
            http = http_throughput(
                settings, database_url, seeded, people, seconds=http_seconds,
                clients=http_clients, seed=seed, say=say,
            )  # fmt: skip
        server = None
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                server = connection.execute(text("SHOW server_version")).scalar()
    finally:
        engine.dispose()
    return {
        "machine": host,
        "database": engine.dialect.name,
        "database_version": server or sqlite3.sqlite_version,
        "seed": {
            "random_seed": seed,
            "counts": seeded.counts,
            "seconds": seeded.seconds,
            "profiles": dict(Counter(h.profile for h in seeded.broadcasters)),
            "text_index_hits": indexed,
            "analyzed": True,
        },
        "repeat": repeat,
        "queries": queries,
        "http": http,
        "target_p95_ms": TARGET_P95_MS,
        "met": _met(queries),
    }


def api_benchmark(
    settings: Settings,
    *,
    scale: Scale = Scale(),
    seed: int = 7,
    repeat: int = 200,
    http_seconds: float = 5.0,
    http_clients: int = 4,
    database_url: str | None = None,
    both: bool = False,
    keep: bool = False,
    say: Say = lambda _line: None,
) -> dict[str, Any]:
    """The benchmark on a fresh SQLite file, or on a fresh schema of the PostgreSQL given, or
    (``both``) on each in turn: one run's JSON, or ``{"runs": [...]}`` with both."""
    if both and database_url is None:
        raise BadRequest("--both runs SQLite and then PostgreSQL: give --database-url too")
    if repeat < 1 or scale.assets < 1 or scale.broadcasters < 1:
        raise BadRequest("repeat, assets and broadcasters must be at least 1")
    targets: list[str | None] = [None, database_url] if both else [database_url]
    runs = []
    for target in targets:
        with fresh_database(target, keep=keep, say=say) as (url, where):
            say(f"database: {where}")
            runs.append(
                run_on(
                    settings, url, scale=scale, seed=seed, repeat=repeat,
                    http_seconds=http_seconds, http_clients=http_clients, say=say,
                )
            )  # fmt: skip
    if len(runs) == 1:
        return runs[0]
    return {
        "machine": runs[0]["machine"],
        "target_p95_ms": TARGET_P95_MS,
        "runs": runs,
    }


def scale_for(
    *,
    quick: bool,
    assets: int | None = None,
    broadcasters: int | None = None,
    markers: int | None = None,
) -> Scale:
    """The default or quick scale, with whatever was given instead."""
    base = QUICK if quick else Scale()
    changes: dict[str, Any] = {}
    if assets is not None:
        changes["assets"] = assets
        changes["markers"] = markers
    if markers is not None:
        changes["markers"] = markers
    if broadcasters is not None:
        changes["broadcasters"] = broadcasters
    return replace(base, **changes)
