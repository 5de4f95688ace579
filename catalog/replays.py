"""Catalog services for markers, auto-replay rules, replay orders and where their pictures come
from. Each takes the session as a keyword-only argument and never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from catalog import search, services
from catalog.models import (
    Asset,
    AssetKind,
    AssetStatus,
    Feed,
    Job,
    JobKind,
    JobStatus,
    Marker,
    Replay,
    ReplayKind,
    ReplayRule,
    ReplaySource,
    Segment,
)
from infra.core.errors import BadRequest, NotFound, TooManyRequests
from infra.core.settings import ReplaySettings

_EDGE_S = 0.021
"""Slack at a recording's edges and between segments: about half a frame at 25 fps."""


@dataclass(frozen=True)
class Coverage:
    """What one feed recorded over a stretch of the event clock."""

    feed_id: str
    feed: str
    angle_deg: float | None
    asset_id: str
    pieces: list[tuple[str, float, float]]
    """(object key, event-clock start, duration) of each piece, in order."""


# -- markers and rules ---------------------------------------------------------------------------


def add_marker(
    event_id: str,
    clock_s: float,
    label: str,
    *,
    session: Session,
    tags: Sequence[str] = (),
    athletes: Sequence[str] = (),
) -> Marker:
    """A new marker on the event clock (found by search by its label, tags and athletes)."""
    event = services.get_event(event_id, session=session)
    marker = Marker(
        event_id=event_id, clock_s=clock_s, label=label, tags=list(tags), athletes=list(athletes)
    )
    session.add(marker)
    session.flush()
    search.index_marker(marker, event, session=session)
    return marker


def list_markers(event_id: str, *, session: Session) -> Sequence[Marker]:
    return session.scalars(
        select(Marker).where(Marker.event_id == event_id).order_by(Marker.clock_s)
    ).all()


def get_marker(marker_id: str, *, session: Session) -> Marker:
    marker = session.get(Marker, marker_id)
    if marker is None:
        raise NotFound(f"no marker with id {marker_id}")
    return marker


def add_rule(
    event_id: str,
    tag: str,
    kinds: Sequence[ReplayKind],
    *,
    session: Session,
    before_s: float = 5.0,
    after_s: float = 5.0,
    options: dict[str, Any] | None = None,
) -> ReplayRule:
    """Every later marker of the event tagged ``tag`` gets replays of ``kinds`` around it."""
    services.get_event(event_id, session=session)
    rule = ReplayRule(
        event_id=event_id,
        tag=tag,
        kinds=[kind.value for kind in kinds],
        before_s=before_s,
        after_s=after_s,
        options=options,
    )
    session.add(rule)
    session.flush()
    return rule


def list_rules(event_id: str, *, session: Session) -> Sequence[ReplayRule]:
    return session.scalars(
        select(ReplayRule).where(ReplayRule.event_id == event_id).order_by(ReplayRule.created_at)
    ).all()


def rules_for(marker: Marker, *, session: Session) -> list[ReplayRule]:
    """The event's rules that ``marker``'s tags trigger."""
    return [
        rule for rule in list_rules(marker.event_id, session=session) if rule.tag in marker.tags
    ]


# -- where the pictures come from ---------------------------------------------------------------


def coverage(
    feed: Feed, start_s: float, end_s: float, *, session: Session, asset_id: str | None = None
) -> Coverage:
    """The newest recording of ``feed`` that covers [start_s, end_s] without a hole (only the
    recording ``asset_id`` when given: the one an order was checked on).

    Raises :class:`BadRequest` naming the feed when the range is outside what it recorded or
    crosses a gap in its recording.
    """
    query = select(Asset).where(Asset.feed_id == feed.id, Asset.status != AssetStatus.FAILED)
    if asset_id is not None:
        query = query.where(Asset.id == asset_id)
    assets = session.scalars(query.order_by(Asset.created_at.desc())).all()
    if asset_id is not None and not assets:
        raise BadRequest(
            f"recording {asset_id} of feed {feed.name}, which the replay was ordered from, is "
            "gone or failed"
        )
    everything: list[tuple[str, float, float]] = []
    for asset in assets:
        if asset.kind is AssetKind.FILE:
            pieces = [(asset.original_key, asset.clock_start_s, asset.duration_s)]
        else:
            segments = session.scalars(
                select(Segment)
                .where(
                    Segment.asset_id == asset.id,
                    Segment.clock_start_s < end_s,
                    Segment.clock_start_s + Segment.duration_s > start_s,
                )
                .order_by(Segment.clock_start_s, Segment.sequence)
            ).all()
            pieces = [(s.key, s.clock_start_s, s.duration_s) for s in segments]
        if pieces and _first_hole(pieces, start_s, end_s) is None:
            return Coverage(feed.id, feed.name, feed.angle_deg, asset.id, pieces)
        everything += pieces
    hole = _first_hole(everything, start_s, end_s) or (start_s, end_s)
    raise BadRequest(
        f"feed {feed.name} recorded nothing from {hole[0]:.3f} s to {hole[1]:.3f} s on the event "
        f"clock (a gap, or outside its recording); the replay needs {start_s:.3f}-{end_s:.3f} s"
    )


def _first_hole(
    pieces: Sequence[tuple[str, float, float]], start_s: float, end_s: float
) -> tuple[float, float] | None:
    """The first stretch of [start_s, end_s] no piece covers, or ``None``."""
    reached = start_s
    for _, begin, duration in sorted(pieces, key=lambda p: p[1]):
        if begin > reached + _EDGE_S:
            return reached, begin
        reached = max(reached, begin + duration)
        if reached >= end_s - _EDGE_S:
            return None
    return (reached, end_s) if reached < end_s - _EDGE_S else None


# -- replay orders -------------------------------------------------------------------------------


def create_replay(
    event_id: str,
    kind: ReplayKind,
    start_s: float,
    end_s: float,
    feeds: Sequence[Feed],
    sources: Sequence[Coverage],
    *,
    session: Session,
    marker_id: str | None = None,
    options: dict[str, Any] | None = None,
) -> Replay:
    """Record a replay order and its lineage (the recordings it is cut from)."""
    replay = Replay(
        event_id=event_id,
        kind=kind,
        clock_start_s=start_s,
        clock_end_s=end_s,
        marker_id=marker_id,
        feed_ids=[feed.id for feed in feeds],
        options=options or {},
        sources=[
            ReplaySource(position=i, feed_id=source.feed_id, asset_id=source.asset_id)
            for i, source in enumerate(sources)
        ],
    )
    session.add(replay)
    session.flush()
    return replay


def pinned_sources(replay: Replay, *, session: Session) -> list[Coverage]:
    """What each of the replay's recordings covers now, in the order's order: the recordings
    pinned when it was ordered (and its rights checked on), never another recording of the
    same feed made since. A live recording has grown since; it must still cover the range."""
    if not replay.sources:
        raise BadRequest(f"replay {replay.id} records no recordings to cut from")
    return [
        coverage(
            services.get_feed(source.feed_id, session=session),
            replay.clock_start_s,
            replay.clock_end_s,
            session=session,
            asset_id=source.asset_id,
        )
        for source in replay.sources
    ]


def get_replay(replay_id: str, *, session: Session) -> Replay:
    replay = session.scalar(
        select(Replay).where(Replay.id == replay_id).options(selectinload(Replay.sources))
    )
    if replay is None:
        raise NotFound(f"no replay with id {replay_id}")
    return replay


def list_replays(event_id: str, *, session: Session) -> Sequence[Replay]:
    return session.scalars(
        select(Replay)
        .where(Replay.event_id == event_id)
        .options(selectinload(Replay.sources))
        .order_by(Replay.created_at)
    ).all()


def event_feeds(
    event_id: str,
    feed_ids: Sequence[str] | None,
    *,
    session: Session,
    visible: services.Visibility | None = None,
) -> list[Feed]:
    """The feeds a replay asks for, in its order (all of the event's that are ``visible`` by
    default). A feed of another event, or one the caller may not see, is refused."""
    listed = services.list_feeds(
        session=session, event_id=event_id, visible=visible.feeds if visible else None
    )
    all_feeds = {f.id: f for f in listed}
    if not feed_ids:
        if not all_feeds:
            raise BadRequest("the event has no feeds")
        return sorted(all_feeds.values(), key=lambda f: f.name)
    chosen = []
    for feed_id in feed_ids:
        feed = all_feeds.get(feed_id)
        if feed is None:
            raise BadRequest(f"feed {feed_id} is not a feed of event {event_id}")
        chosen.append(feed)
    if len({f.id for f in chosen}) != len(chosen):
        raise BadRequest("a feed is named twice")
    return chosen


@dataclass(frozen=True)
class ReplayOrder:
    """A replay as asked for, before it is checked against what was recorded."""

    event_id: str
    kind: ReplayKind
    start_s: float | None = None
    end_s: float | None = None
    marker_id: str | None = None
    before_s: float = 5.0
    after_s: float = 5.0
    feed_ids: Sequence[str] | None = None
    options: dict[str, Any] | None = None


def _number(options: dict[str, Any], name: str) -> float | None:
    value = options.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"{name} must be a number")
    return float(value)


def _check_bounds(
    kind: ReplayKind, length_s: float, feeds: int, options: dict[str, Any], limits: ReplaySettings
) -> None:
    """What one order may ask of a worker: every refusal names the bound."""
    if length_s > limits.max_range_s:
        raise BadRequest(
            f"a replay covers at most {limits.max_range_s:g} s; this is {length_s:.1f} s"
        )
    if length_s * feeds > limits.max_source_seconds:
        raise BadRequest(
            f"{feeds} angles of {length_s:.1f} s is {length_s * feeds:.0f} s of pictures to "
            f"decode; one order takes at most {limits.max_source_seconds:g} s (fewer angles or a "
            "shorter range)"
        )
    lines = _number(options, "lines")
    if lines is not None and not (144 <= lines <= limits.max_lines and lines == int(lines)):
        raise BadRequest(f"lines must be a whole number from 144 to {limits.max_lines}")
    columns = _number(options, "columns")
    if columns is not None and (kind is not ReplayKind.MOSAIC or columns not in (1, 2, 3)):
        raise BadRequest("columns is for a mosaic: 1, 2 or 3")
    slow = options.get("slow_motion")
    if slow is not None:
        if kind is not ReplayKind.SEQUENCE or not isinstance(slow, dict):
            raise BadRequest("slow_motion is for a sequence: {start_s, end_s, factor}")
        factor = _number(slow, "factor")
        if factor is not None and not 1.0 <= factor <= limits.max_slow_motion:
            raise BadRequest(f"slow_motion factor must be from 1 to {limits.max_slow_motion:g}")
        for name in ("start_s", "end_s"):
            if _number(slow, name) is None:
                raise BadRequest(f"slow_motion needs {name} on the event clock")


IN_FLIGHT = (JobStatus.QUEUED, JobStatus.RUNNING)


def _check_in_flight(broadcaster_id: str, most: int, *, session: Session) -> None:
    waiting = session.scalar(
        select(func.count())
        .select_from(Replay)
        .join(Job, Job.id == Replay.job_id)
        .where(Replay.broadcaster_id == broadcaster_id, Job.status.in_(IN_FLIGHT))
    )
    if (waiting or 0) >= most:
        raise TooManyRequests(
            f"{waiting} of your replay orders are still being made (at most {most} at once); "
            "order again when one has finished",
            retry_after_s=5,
        )


def place_order(
    order: ReplayOrder,
    *,
    session: Session,
    max_attempts: int = 3,
    visible: services.Visibility | None = None,
    broadcaster_id: str | None = None,
    limits: ReplaySettings | None = None,
) -> Replay:
    """Check an order against the event and its recordings, then record it with its job.

    Every refusal is a :class:`BadRequest` (or :class:`NotFound` for an unknown event or
    marker) with the reason, raised before anything is written. The caller sends the job
    after its transaction commits. A broadcaster's order (``broadcaster_id``) only reaches the
    event and feeds ``visible`` to it; its rights on the sources are the caller's to enforce.
    """
    services.get_event(order.event_id, session=session, visible=visible)
    start_s, end_s = order.start_s, order.end_s
    if order.marker_id is not None:
        marker = get_marker(order.marker_id, session=session)
        if marker.event_id != order.event_id:
            raise BadRequest(f"marker {marker.id} belongs to another event")
        if order.before_s < 0 or order.after_s < 0:
            raise BadRequest("before_s and after_s cannot be negative")
        start_s, end_s = marker.clock_s - order.before_s, marker.clock_s + order.after_s
    if start_s is None or end_s is None:
        raise BadRequest("give start_s and end_s on the event clock, or a marker_id")
    if end_s <= start_s:
        raise BadRequest(f"the range {start_s:.3f}-{end_s:.3f} s is empty or backwards")
    limits = limits or ReplaySettings()
    options = dict(order.options or {})
    feeds = event_feeds(order.event_id, order.feed_ids, session=session, visible=visible)
    _check_bounds(order.kind, end_s - start_s, len(feeds), options, limits)
    if broadcaster_id is not None:
        _check_in_flight(broadcaster_id, limits.max_in_flight, session=session)
    if order.kind is ReplayKind.MOSAIC and not 2 <= len(feeds) <= 9:
        raise BadRequest(f"a mosaic takes 2 to 9 feeds, not {len(feeds)}")
    if order.kind is ReplayKind.SWEEP:
        if len(feeds) < 2:
            raise BadRequest("a sweep needs at least two feeds")
        unplaced = [f.name for f in feeds if f.angle_deg is None]
        if unplaced:
            raise BadRequest(f"a sweep needs each camera's angle; none for {', '.join(unplaced)}")
        at_s = float(options.get("at_s", start_s))
        if not start_s <= at_s < end_s:
            raise BadRequest(f"the sweep's instant {at_s:.3f} s is outside the range")
        options["at_s"] = at_s
        direction = options.get("direction", "clockwise")
        if direction not in ("clockwise", "counterclockwise"):
            raise BadRequest(f"direction {direction!r} is not clockwise or counterclockwise")
        for name, low, high in (("duration_s", 0.2, 30.0), ("hold_s", 0.0, 10.0),
                                ("resume_s", 0.0, 30.0)):  # fmt: skip
            value = options.get(name)
            if value is not None and not (
                isinstance(value, int | float) and low <= float(value) <= high
            ):
                raise BadRequest(f"{name} must be a number from {low:g} to {high:g}")
        if at_s + float(options.get("resume_s", 2.0)) > end_s + 1e-6:
            raise BadRequest("the range must last until the sweep has resumed (at_s + resume_s)")
    if order.kind is ReplayKind.SEQUENCE:
        options["cuts"] = _checked_cuts(options.get("cuts"), feeds, start_s, end_s)
    sources = [coverage(feed, start_s, end_s, session=session) for feed in feeds]
    job = services.create_job(
        JobKind.REPLAY,
        session=session,
        event_id=order.event_id,
        subject=f"{order.kind.value} {start_s:.2f}-{end_s:.2f} s",
        max_attempts=max_attempts,
    )
    replay = create_replay(
        order.event_id,
        order.kind,
        start_s,
        end_s,
        feeds,
        sources,
        session=session,
        marker_id=order.marker_id,
        options=options,
    )
    replay.job_id = job.id
    replay.broadcaster_id = broadcaster_id
    job.options = {"replay_id": replay.id}
    session.flush()
    search.index_replay(
        replay, services.get_event(order.event_id, session=session), session=session
    )
    return replay


def _checked_cuts(
    raw: Any, feeds: Sequence[Feed], start_s: float, end_s: float
) -> list[dict[str, Any]]:
    """A sequence's cut list: [{"feed_id", "at_s"}, ...], in time order, inside the range; the
    first cut starts the replay."""
    if not isinstance(raw, list) or not raw:
        raise BadRequest("a sequence needs options.cuts: [{feed_id, at_s}, ...]")
    known = {f.id for f in feeds}
    cuts: list[dict[str, Any]] = []
    for i, cut in enumerate(raw):
        if not isinstance(cut, dict) or "feed_id" not in cut or "at_s" not in cut:
            raise BadRequest(f"cut {i} needs a feed_id and an at_s")
        if cut["feed_id"] not in known:
            raise BadRequest(f"cut {i}: feed {cut['feed_id']} is not one of the replay's feeds")
        at_s = float(cut["at_s"])
        if not start_s <= at_s < end_s:
            raise BadRequest(f"cut {i} at {at_s:.3f} s is outside the range")
        if cuts and at_s <= cuts[-1]["at_s"]:
            raise BadRequest(f"cut {i} at {at_s:.3f} s does not come after the one before")
        cuts.append({"feed_id": cut["feed_id"], "at_s": at_s})
    cuts[0]["at_s"] = start_s
    return cuts
