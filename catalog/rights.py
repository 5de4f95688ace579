"""The rights engine: may this broadcaster, in this territory, now, use this media this way?

Pure: grants, the subject and the usage so far come in as dataclasses, a :class:`Decision` with
its reason goes out. The catalog turns rows into these and applies the decision; the same rules
are turned into SQL for listings by :mod:`catalog.access`.

The rules, in the order they are checked:

1. *Scope*: a grant covers everything (``all``), a sport, an event, a feed or one recording.
2. *Territory*: the territory the request is made for is in the grant's list (or, for a grant
   that lists exclusions, not in it).
3. *Window*: now is within ``[valid_from, valid_until)``.

   A subject no grant passes 1-3 for is outside the broadcaster's rights: it does not exist for
   them (the API answers 404). Among the grants that pass, delivery then needs:

4. *Media*: the grant includes the kind of use (``live``, ``clips``, ``archive``).
5. *Embargo*: the embargo has run out, counted from the event's end, from the moment the media
   shows, or from the broadcaster's own broadcast of the event.
6. *Quotas*, news-access style: one use is at most ``max_clip_s``; uses of one event add up to at
   most ``max_event_s`` and uses in one UTC day to at most ``max_day_s``; consecutive uses are
   ``min_gap_s`` apart.

The first grant that allows the use is the one it is counted against. When none does, the
reason given is that of the grant that came closest (the furthest rule it passed); a subject
outside every grant is only ever "outside your rights", which tells nothing of what exists.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta


class Scope(enum.StrEnum):
    ALL = "all"
    SPORT = "sport"
    EVENT = "event"
    FEED = "feed"
    ASSET = "asset"


class Media(enum.StrEnum):
    LIVE = "live"
    """Live playback of a feed while it records."""
    CLIPS = "clips"
    """Replays and clips cut from the recordings."""
    ARCHIVE = "archive"
    """Whole recordings once recorded: VOD playback, downloads, mezzanine files."""


class EmbargoAfter(enum.StrEnum):
    EVENT = "event"
    """Counted from the event's end."""
    MOMENT = "moment"
    """Counted from the moment the media shows (the end of the clip or recording)."""
    BROADCAST = "broadcast"
    """Counted from the broadcaster's own broadcast of the event."""


class Verdict(enum.StrEnum):
    GRANTED = "granted"
    OUTSIDE = "outside"
    """No grant covers it here and now: to this broadcaster it does not exist."""
    MEDIA = "media"
    EMBARGOED = "embargoed"
    QUOTA = "quota"

    @property
    def rank(self) -> int:
        """How far a use got through the rules; the closest failure gives the reason."""
        return list(Verdict).index(self) if self is not Verdict.GRANTED else 99


@dataclass(frozen=True)
class Grant:
    id: str
    scope: Scope
    scope_value: str | None = None
    territories: frozenset[str] = frozenset()
    territories_excluded: bool = False
    media: frozenset[Media] = frozenset(Media)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    embargo_minutes: float = 0.0
    embargo_after: EmbargoAfter = EmbargoAfter.EVENT
    exclusive: bool = False
    max_clip_s: float | None = None
    max_event_s: float | None = None
    max_day_s: float | None = None
    min_gap_s: float | None = None

    def covers(self, subject: Subject) -> bool:
        """Rule 1: the subject is within the grant's scope."""
        match self.scope:
            case Scope.ALL:
                return True
            case Scope.SPORT:
                return subject.sport is not None and subject.sport == self.scope_value
            case Scope.EVENT:
                return subject.event_id == self.scope_value
            case Scope.FEED:
                return subject.feed_id is not None and subject.feed_id == self.scope_value
            case Scope.ASSET:
                return subject.asset_id is not None and subject.asset_id == self.scope_value
        return False  # pragma: no cover - every scope is matched above

    def allows_territory(self, territory: str) -> bool:
        """Rule 2."""
        listed = territory in self.territories
        return not listed if self.territories_excluded else listed

    def in_window(self, now: datetime) -> bool:
        """Rule 3."""
        if self.valid_from is not None and now < self.valid_from:
            return False
        return self.valid_until is None or now < self.valid_until

    def available_from(self, subject: Subject) -> datetime | None:
        """Rule 5, for a grant with an embargo: when it runs out; ``None`` while its starting
        point is unknown (the event has not ended, the broadcaster has not aired it)."""
        start = {
            EmbargoAfter.EVENT: subject.event_ended_at,
            EmbargoAfter.MOMENT: subject.moment_at,
            EmbargoAfter.BROADCAST: subject.aired_at,
        }[self.embargo_after]
        return None if start is None else start + timedelta(minutes=self.embargo_minutes)


@dataclass(frozen=True)
class Subject:
    """What is asked for, with what the rules need to know about it."""

    event_id: str
    sport: str | None = None
    feed_id: str | None = None
    asset_id: str | None = None
    event_ended_at: datetime | None = None
    moment_at: datetime | None = None
    """Wall-clock time of the end of what it shows."""
    aired_at: datetime | None = None
    """The asking broadcaster's own broadcast of the event, if it has told us."""


@dataclass(frozen=True)
class UsageSoFar:
    """A broadcaster's earlier uses under one grant."""

    event_s: float = 0.0
    """Seconds used of the subject's event."""
    day_s: float = 0.0
    """Seconds used in the current UTC day."""
    last_use_at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str
    grant_id: str | None = None
    available_from: datetime | None = None
    """For an embargo or a minimum gap: when asking again will succeed."""

    @property
    def granted(self) -> bool:
        return self.verdict is Verdict.GRANTED


NO_USAGE = UsageSoFar()


def visible_grants(grants: Iterable[Grant], territory: str, now: datetime) -> list[Grant]:
    """Grants that count here and now (rules 2 and 3); scope is checked per subject."""
    return [g for g in grants if g.allows_territory(territory) and g.in_window(now)]


def is_visible(grants: Iterable[Grant], subject: Subject, *, territory: str, now: datetime) -> bool:
    """Whether the subject exists for the broadcaster at all (rules 1-3)."""
    return any(g.covers(subject) for g in visible_grants(grants, territory, now))


def decide(
    grants: Sequence[Grant],
    subject: Subject,
    *,
    territory: str,
    media: Media,
    now: datetime,
    seconds: float | None = None,
    usage: Callable[[Grant], UsageSoFar] | None = None,
) -> Decision:
    """Whether ``seconds`` of ``media`` of ``subject`` may be used now (``None``: a use that
    is not counted, such as watching a stream). ``usage`` gives the uses so far under a grant;
    it is only asked for grants with quotas."""
    best = Decision(Verdict.OUTSIDE, "outside your rights")
    for grant in grants:
        decision = _decide_one(grant, subject, territory, media, now, seconds, usage)
        if decision.granted:
            return decision
        if decision.verdict.rank > best.verdict.rank:
            best = decision
    return best


def decide_all(
    grants: Sequence[Grant],
    subjects: Sequence[Subject],
    *,
    territory: str,
    media: Media,
    now: datetime,
    seconds: float | None = None,
    usage: Callable[[Grant], UsageSoFar] | None = None,
) -> Decision:
    """A derived work (a replay, a mosaic, a sweep) gets the intersection of its sources'
    rights: it is allowed only if each source is; the first refusal is the answer."""
    if not subjects:
        return Decision(Verdict.OUTSIDE, "a derived work without sources is outside any rights")
    granted: Decision | None = None
    for subject in subjects:
        decision = decide(
            grants, subject, territory=territory, media=media, now=now, seconds=seconds,
            usage=usage,
        )  # fmt: skip
        if not decision.granted:
            return decision
        granted = granted or decision
    assert granted is not None
    return granted


def _decide_one(
    grant: Grant,
    subject: Subject,
    territory: str,
    media: Media,
    now: datetime,
    seconds: float | None,
    usage: Callable[[Grant], UsageSoFar] | None,
) -> Decision:
    if not grant.covers(subject):
        return Decision(Verdict.OUTSIDE, "outside your rights")
    if not grant.allows_territory(territory):
        return Decision(Verdict.OUTSIDE, f"not licensed in {territory}")
    if not grant.in_window(now):
        return Decision(Verdict.OUTSIDE, "outside your rights window")
    if media not in grant.media:
        kinds = ", ".join(sorted(grant.media)) or "nothing"
        return Decision(Verdict.MEDIA, f"your rights cover {kinds}, not {media}", grant.id)
    opens = grant.available_from(subject) if grant.embargo_minutes > 0 else now
    if opens is None:
        basis = {
            EmbargoAfter.EVENT: "the event ends",
            EmbargoAfter.MOMENT: "the moment is placed in time",
            EmbargoAfter.BROADCAST: "your own broadcast of the event",
        }[grant.embargo_after]
        return Decision(
            Verdict.EMBARGOED,
            f"embargoed until {grant.embargo_minutes:g} min after {basis}",
            grant.id,
        )
    if now < opens:
        return Decision(
            Verdict.EMBARGOED,
            f"embargoed until {opens.isoformat(timespec='seconds')}",
            grant.id,
            available_from=opens,
        )
    if seconds is not None:
        refusal = _quota(grant, seconds, now, usage)
        if refusal is not None:
            return refusal
    return Decision(Verdict.GRANTED, f"granted by rights {grant.id}", grant.id)


def _quota(
    grant: Grant, seconds: float, now: datetime, usage: Callable[[Grant], UsageSoFar] | None
) -> Decision | None:
    if grant.max_clip_s is not None and seconds > grant.max_clip_s + 1e-6:
        return Decision(
            Verdict.QUOTA,
            f"{seconds:.1f} s is longer than the {grant.max_clip_s:g} s allowed per clip",
            grant.id,
        )
    limited = (grant.max_event_s, grant.max_day_s, grant.min_gap_s)
    if all(limit is None for limit in limited):
        return None
    so_far = usage(grant) if usage is not None else NO_USAGE
    if grant.max_event_s is not None and so_far.event_s + seconds > grant.max_event_s + 1e-6:
        left = max(grant.max_event_s - so_far.event_s, 0.0)
        return Decision(
            Verdict.QUOTA,
            f"{seconds:.1f} s would pass the {grant.max_event_s:g} s allowed per event "
            f"({left:.1f} s left)",
            grant.id,
        )
    if grant.max_day_s is not None and so_far.day_s + seconds > grant.max_day_s + 1e-6:
        left = max(grant.max_day_s - so_far.day_s, 0.0)
        day = now.astimezone(UTC).date() + timedelta(days=1)
        tomorrow = (
            datetime.combine(day, time.min, tzinfo=UTC) if seconds <= grant.max_day_s else None
        )
        return Decision(
            Verdict.QUOTA,
            f"{seconds:.1f} s would pass the {grant.max_day_s:g} s allowed per day "
            f"({left:.1f} s left today)",
            grant.id,
            available_from=tomorrow,
        )
    if grant.min_gap_s is not None and so_far.last_use_at is not None:
        next_use = so_far.last_use_at + timedelta(seconds=grant.min_gap_s)
        if now < next_use:
            return Decision(
                Verdict.QUOTA,
                f"uses must be {grant.min_gap_s:g} s apart; next at "
                f"{next_use.isoformat(timespec='seconds')}",
                grant.id,
                available_from=next_use,
            )
    return None


@dataclass(frozen=True)
class Holding:
    """A grant as held by a broadcaster, for exclusivity checks across broadcasters."""

    broadcaster_id: str
    grant: Grant


def territories_overlap(a: Grant, b: Grant, universe: frozenset[str]) -> bool:
    """Whether two grants share a territory; ``universe`` is every territory either names."""

    def granted(g: Grant) -> frozenset[str]:
        return universe - g.territories if g.territories_excluded else g.territories

    if a.territories_excluded and b.territories_excluded:
        return True  # both cover all but a finite list: the rest of the world overlaps
    return bool(granted(a) & granted(b))


def windows_overlap(a: Grant, b: Grant) -> bool:
    lo = max((t for t in (a.valid_from, b.valid_from) if t is not None), default=None)
    hi = min((t for t in (a.valid_until, b.valid_until) if t is not None), default=None)
    return lo is None or hi is None or lo < hi


def scopes_overlap(a: Grant, b: Grant) -> bool:
    """Conservative: ``all`` overlaps anything, equal scopes overlap on equal values, and
    different narrow scopes are assumed to overlap (a sport holds events, an event feeds)."""
    if Scope.ALL in (a.scope, b.scope):
        return True
    if a.scope == b.scope:
        return a.scope_value == b.scope_value
    return True


def exclusivity_conflicts(
    broadcaster_id: str,
    new: Grant,
    held: Iterable[Holding],
    *,
    related: Callable[[Grant, Grant], bool] = scopes_overlap,
) -> list[Holding]:
    """Grants of other broadcasters that an exclusive grant would collide with (or that hold
    exclusively what ``new`` asks for): same media, territory, time and scope."""
    conflicts = []
    for holding in held:
        other = holding.grant
        if holding.broadcaster_id == broadcaster_id or not (new.exclusive or other.exclusive):
            continue
        universe = new.territories | other.territories
        if (
            new.media & other.media
            and territories_overlap(new, other, universe)
            and windows_overlap(new, other)
            and related(new, other)
        ):
            conflicts.append(holding)
    return conflicts
