"""The broadcasters of the seeded catalog and their rights: profiles from worldwide to single
recordings, territories, windows that have closed or not yet opened, embargoes and quotas."""

from __future__ import annotations

from datetime import datetime, timedelta
from random import Random
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from catalog import tenants
from catalog.models import (
    Airing,
    RightsGrant,
    Role,
)
from infra.core.database import session_scope
from infra.ops.bench.api.recordings import CatalogRows, Holder, bulk_insert, new_id
from infra.ops.bench.api.world import NETWORKS, SPORTS, TERRITORIES, Scale

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
    profile: str, home: str, others: list[str], rng: Random, now: datetime, catalog: CatalogRows
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


def seed_broadcasters(
    sessions: sessionmaker[Session], scale: Scale, rng: Random, now: datetime, catalog: CatalogRows
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
                        "id": new_id(rng),
                        "broadcaster_id": broadcaster.id,
                        "event_id": event["id"],
                        "aired_at": aired,
                    }
                )
            holders.append(Holder(broadcaster.id, name, home, key, profile))
        bulk_insert(session, RightsGrant, grants)
        bulk_insert(session, Airing, airings)
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
        "id": new_id(rng),
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
