"""Who is asking, and what they may see and use.

A :class:`Caller` is built once per request from the API key (or signed token) and the
broadcaster's grants. It answers two questions:

- *What exists for them*: SQL clauses that listings, search and single-object reads add to their
  queries (:meth:`Caller.assets`, :meth:`Caller.events` ...). Staff see everything; a broadcaster
  sees what some grant covers in its territory and window (rules 1-3 of :mod:`catalog.rights`).
  Reading one object through the same clause as the listing keeps the two in agreement: an
  object outside the caller's rights is simply not found.
- *Whether a use is allowed*: :func:`authorize` runs the rights engine on the subjects (all the
  sources, for a derived work), with quotas checked and the use recorded under a per-broadcaster
  lock, so parallel requests cannot overrun a quota.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, false, func, or_, select, true, update
from sqlalchemy.orm import Session

from catalog import rights
from catalog.models import (
    Airing,
    Asset,
    AuditRecord,
    Broadcaster,
    Event,
    Feed,
    Replay,
    ReplaySource,
    RightsGrant,
    Role,
    SearchDocument,
    Usage,
    Webhook,
)
from catalog.services import Visibility
from catalog.tenants import aware, engine_grant


@dataclass(frozen=True)
class Principal:
    """The holder of an API key."""

    role: Role
    key_id: str | None = None
    name: str = ""
    broadcaster_id: str | None = None
    scopes: frozenset[str] = frozenset()
    territory: str | None = None
    """The territory this request is made for (a broadcaster's own, its home by default)."""
    bound_asset: str | None = None
    """Set when the caller came with a signed media token: the one asset it opens."""

    @property
    def staff(self) -> bool:
        return self.role.staff

    @property
    def operates(self) -> bool:
        """Admins and operators: who sees a feed's source address with its credentials."""
        return self.role in (Role.ADMIN, Role.OPERATOR)


@dataclass
class Caller:
    """A principal with its grants as they stand now."""

    principal: Principal
    now: datetime
    grants: list[rights.Grant] = field(default_factory=list)
    """All of the broadcaster's grants (for decisions)."""
    live: list[rights.Grant] = field(default_factory=list)
    """Those that count in this territory at this moment (for visibility)."""
    aired: dict[str, datetime] = field(default_factory=dict)

    @property
    def unrestricted(self) -> bool:
        return self.principal.staff

    # -- what exists for the caller ------------------------------------------------------------

    def _sets(self, grants: Sequence[rights.Grant] | None = None) -> dict[rights.Scope, set[Any]]:
        sets: dict[rights.Scope, set[Any]] = {scope: set() for scope in rights.Scope}
        for grant in self.live if grants is None else grants:
            sets[grant.scope].add(grant.scope_value)
        return sets

    def assets(
        self,
        event_col: Any = Asset.event_id,
        feed_col: Any = Asset.feed_id,
        asset_col: Any = Asset.id,
        *,
        grants: Sequence[rights.Grant] | None = None,
    ) -> ColumnElement[bool]:
        """Recordings the caller may see, over any columns that hold their ids."""
        if self.unrestricted:
            return true()
        sets = self._sets(grants)
        if sets[rights.Scope.ALL]:
            return true()
        parts: list[ColumnElement[bool]] = []
        if sets[rights.Scope.SPORT]:
            sports = select(Event.id).where(Event.sport.in_(sets[rights.Scope.SPORT]))
            parts.append(event_col.in_(sports))
        if sets[rights.Scope.EVENT]:
            parts.append(event_col.in_(sets[rights.Scope.EVENT]))
        if sets[rights.Scope.FEED]:
            parts.append(feed_col.in_(sets[rights.Scope.FEED]))
        if sets[rights.Scope.ASSET]:
            parts.append(asset_col.in_(sets[rights.Scope.ASSET]))
        return or_(*parts) if parts else false()

    def feeds(self, event_col: Any = Feed.event_id, feed_col: Any = Feed.id) -> ColumnElement[bool]:
        """Feeds the caller may see: covered themselves, or holding a covered recording."""
        if self.unrestricted:
            return true()
        covered = self.assets(
            event_col, feed_col, Feed.id, grants=self._narrowed(rights.Scope.ASSET)
        )
        granted_assets = self._sets()[rights.Scope.ASSET]
        if granted_assets:
            holding = select(Asset.feed_id).where(Asset.id.in_(granted_assets))
            return or_(covered, feed_col.in_(holding))
        return covered

    def events(self, event_col: Any = Event.id) -> ColumnElement[bool]:
        """Events the caller may see: covered, or holding a covered feed or recording."""
        if self.unrestricted:
            return true()
        sets = self._sets()
        if sets[rights.Scope.ALL]:
            return true()
        parts: list[ColumnElement[bool]] = []
        if sets[rights.Scope.SPORT]:
            parts.append(
                event_col.in_(select(Event.id).where(Event.sport.in_(sets[rights.Scope.SPORT])))
            )
        if sets[rights.Scope.EVENT]:
            parts.append(event_col.in_(sets[rights.Scope.EVENT]))
        if sets[rights.Scope.FEED]:
            parts.append(
                event_col.in_(select(Feed.event_id).where(Feed.id.in_(sets[rights.Scope.FEED])))
            )
        if sets[rights.Scope.ASSET]:
            parts.append(
                event_col.in_(select(Asset.event_id).where(Asset.id.in_(sets[rights.Scope.ASSET])))
            )
        return or_(*parts) if parts else false()

    def replays(
        self,
        replay_col: Any = Replay.id,
        event_col: Any = Replay.event_id,
        owner_col: Any = Replay.broadcaster_id,
    ) -> ColumnElement[bool]:
        """Replays the caller may see: the host's own or its own orders, and in both cases only
        while every source is within its rights (a derived work gets the intersection)."""
        if self.unrestricted:
            return true()
        outside = exists(
            select(ReplaySource.id).where(
                ReplaySource.replay_id == replay_col,
                ~self.assets(event_col, ReplaySource.feed_id, ReplaySource.asset_id),
            )
        )
        owner = or_(owner_col.is_(None), owner_col == self.principal.broadcaster_id)
        return and_(owner, ~outside)

    def documents(self, *, available_now: bool = False) -> ColumnElement[bool]:
        """Search documents the caller may find; with ``available_now``, only media it could
        receive at this moment (embargoes over)."""
        doc = SearchDocument
        if self.unrestricted:
            return true()
        visible = or_(
            and_(doc.kind.in_(("event", "marker")), self.events(doc.event_id)),
            and_(doc.kind == "feed", self.feeds(doc.event_id, doc.feed_id)),
            and_(doc.kind == "asset", self.assets(doc.event_id, doc.feed_id, doc.asset_id)),
            and_(doc.kind == "replay", self.replays(doc.ref_id, doc.event_id, doc.broadcaster_id)),
        )
        if not available_now:
            return visible
        media_docs = doc.kind.in_(("asset", "replay", "marker"))
        # One clause per embargo rule, not per grant: a broadcaster may hold hundreds of grants
        # of single recordings under the same rule.
        by_rule: dict[tuple[float, rights.EmbargoAfter], list[rights.Grant]] = {}
        for grant in self.live:
            rule = (max(grant.embargo_minutes, 0.0), grant.embargo_after)
            if rule[0] == 0:
                rule = (0.0, rights.EmbargoAfter.EVENT)
            by_rule.setdefault(rule, []).append(grant)
        open_now = [
            and_(
                self.assets(doc.event_id, doc.feed_id, doc.asset_id, grants=group),
                self._open(group[0]),
            )
            for group in by_rule.values()
        ]
        return and_(visible, or_(~media_docs, or_(*open_now) if open_now else false()))

    def _open(self, grant: rights.Grant) -> ColumnElement[bool]:
        """Documents whose embargo under ``grant`` is over."""
        if grant.embargo_minutes <= 0:
            return true()
        cutoff = self.now - timedelta(minutes=grant.embargo_minutes)
        doc = SearchDocument
        if grant.embargo_after is rights.EmbargoAfter.EVENT:
            ended = select(Event.id).where(Event.ended_at.is_not(None), Event.ended_at <= cutoff)
            return doc.event_id.in_(ended)
        if grant.embargo_after is rights.EmbargoAfter.MOMENT:
            return and_(doc.moment_at.is_not(None), doc.moment_at <= cutoff)
        aired = select(Airing.event_id).where(
            Airing.broadcaster_id == self.principal.broadcaster_id, Airing.aired_at <= cutoff
        )
        return doc.event_id.in_(aired)

    def _narrowed(self, drop: rights.Scope) -> list[rights.Grant]:
        return [g for g in self.live if g.scope is not drop]

    def visibility(self) -> Visibility:
        return Visibility(self.events(), self.feeds(), self.assets())

    # -- subjects ------------------------------------------------------------------------------

    def subject(
        self, event: Event, *, feed_id: str | None, asset_id: str | None, moment: datetime | None
    ) -> rights.Subject:
        return rights.Subject(
            event_id=event.id,
            sport=event.sport,
            feed_id=feed_id,
            asset_id=asset_id,
            event_ended_at=aware(event.ended_at) if event.ended_at else None,
            moment_at=moment,
            aired_at=self.aired.get(event.id),
        )

    def asset_subject(self, asset: Asset, event: Event) -> rights.Subject:
        return self.subject(
            event, feed_id=asset.feed_id, asset_id=asset.id, moment=moment_of(asset, event)
        )

    def replay_subjects(
        self, replay: Replay, event: Event, sources: Sequence[ReplaySource]
    ) -> list[rights.Subject]:
        moment = wall_clock(event, replay.clock_end_s)
        return [
            self.subject(event, feed_id=s.feed_id, asset_id=s.asset_id, moment=moment)
            for s in sources
        ]


def wall_clock(event: Event, clock_s: float) -> datetime | None:
    """The wall-clock time of an instant on the event clock, when the event has an origin."""
    if event.clock_origin is None:
        return None
    return aware(event.clock_origin) + timedelta(seconds=clock_s)


def moment_of(asset: Asset, event: Event) -> datetime | None:
    """When the end of a recording happened, by the event clock or by the recording's own."""
    moment = wall_clock(event, asset.clock_start_s + asset.duration_s)
    if moment is None and asset.recorded_at is not None:
        moment = aware(asset.recorded_at) + timedelta(seconds=asset.duration_s)
    return moment


def caller_for(principal: Principal, *, session: Session, now: datetime) -> Caller:
    """The principal with the grants that apply to it now."""
    if principal.staff or principal.broadcaster_id is None:
        return Caller(principal, now)
    rows = session.scalars(
        select(RightsGrant).where(RightsGrant.broadcaster_id == principal.broadcaster_id)
    ).all()
    grants = [engine_grant(r) for r in rows]
    territory = principal.territory or ""
    aired = {
        event_id: aware(aired_at)
        for event_id, aired_at in session.execute(
            select(Airing.event_id, Airing.aired_at).where(
                Airing.broadcaster_id == principal.broadcaster_id
            )
        )
    }
    return Caller(
        principal,
        now,
        grants=grants,
        live=rights.visible_grants(grants, territory, now),
        aired=aired,
    )


# -- uses, quotas and the audit trail --------------------------------------------------------------


def _day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def usage_so_far(
    broadcaster_id: str, grant_id: str, event_id: str, *, session: Session, now: datetime
) -> rights.UsageSoFar:
    mine = and_(Usage.broadcaster_id == broadcaster_id, Usage.grant_id == grant_id)
    event_s = session.scalar(
        select(func.coalesce(func.sum(Usage.seconds), 0.0)).where(mine, Usage.event_id == event_id)
    )
    day_s = session.scalar(
        select(func.coalesce(func.sum(Usage.seconds), 0.0)).where(mine, Usage.at >= _day_start(now))
    )
    last = session.scalar(select(func.max(Usage.at)).where(mine))
    return rights.UsageSoFar(
        event_s=float(event_s or 0.0),
        day_s=float(day_s or 0.0),
        last_use_at=aware(last) if last is not None else None,
    )


@dataclass(frozen=True)
class Use:
    """A delivery the caller asks for."""

    action: str
    """``download``, ``playlist``, ``replay.order`` ..."""
    media: rights.Media
    subject_kind: str
    subject_id: str
    seconds: float | None = None
    """Counted against quotas when set; ``None`` for uses that are not counted (streams)."""
    event_id: str | None = None
    asset_id: str | None = None
    replay_id: str | None = None


def authorize(
    caller: Caller,
    use: Use,
    subjects: Sequence[rights.Subject],
    *,
    session: Session,
    client: str | None = None,
    record: bool = True,
) -> rights.Decision:
    """Decide a use and, when it is granted and counted, record it; a granted decision goes
    into the audit trail (unless ``record`` is false: the segments and media playlists of a
    stream whose token was audited when it was issued).

    A counted use of a broadcaster takes that broadcaster's usage lock first (the row lock of
    its ``broadcasters`` row; the database's write lock on SQLite), so the quota check and the
    record of the use cannot interleave with another request's."""
    principal = caller.principal
    if principal.staff:
        decision = rights.Decision(rights.Verdict.GRANTED, f"staff ({principal.role})")
    else:
        assert principal.broadcaster_id is not None
        broadcaster_id = principal.broadcaster_id
        if use.seconds is not None:
            session.execute(
                update(Broadcaster)
                .where(Broadcaster.id == broadcaster_id)
                .values(usage_serial=Broadcaster.usage_serial + 1)
            )

        def usage(grant: rights.Grant) -> rights.UsageSoFar:
            event_id = use.event_id or (subjects[0].event_id if subjects else "")
            return usage_so_far(broadcaster_id, grant.id, event_id, session=session, now=caller.now)

        # Each source under the grant that covers it; a derived work is allowed only if every
        # source is (the first refusal is the answer), and it counts against every grant used.
        decisions = [
            rights.decide(
                caller.grants,
                subject,
                territory=principal.territory or "",
                media=use.media,
                now=caller.now,
                seconds=use.seconds,
                usage=usage,
            )
            for subject in subjects
        ]
        refused = next((d for d in decisions if not d.granted), None)
        decision = refused or (
            decisions[0]
            if decisions
            else rights.Decision(rights.Verdict.OUTSIDE, "a use without a subject is outside")
        )
        if decision.granted and use.seconds is not None:
            for grant_id in dict.fromkeys(d.grant_id for d in decisions):
                session.add(
                    Usage(
                        broadcaster_id=broadcaster_id,
                        grant_id=grant_id,
                        key_id=principal.key_id,
                        event_id=use.event_id,
                        asset_id=use.asset_id,
                        replay_id=use.replay_id,
                        media=use.media.value,
                        action=use.action,
                        seconds=use.seconds,
                        at=caller.now,
                    )
                )
    if decision.granted and record:
        audit(caller, use, decision, session=session, client=client)
    return decision


@dataclass(frozen=True)
class Clearance:
    """May a clip of ``seconds`` from these sources be used now, and if not, why: the decision an
    order would get, taken without counting or recording anything."""

    decision: rights.Decision
    per_source: list[rights.Decision]
    left_today_s: float | None
    """Seconds the granting grant's daily quota still allows (``None``: no daily quota)."""


def clearance(
    caller: Caller,
    subjects: Sequence[rights.Subject],
    *,
    media: rights.Media,
    seconds: float,
    session: Session,
) -> Clearance:
    principal = caller.principal
    if principal.staff:
        staff = rights.Decision(rights.Verdict.GRANTED, f"staff ({principal.role})")
        return Clearance(staff, [staff] * len(subjects), None)
    assert principal.broadcaster_id is not None
    broadcaster_id = principal.broadcaster_id
    event_id = subjects[0].event_id if subjects else ""

    def usage(grant: rights.Grant) -> rights.UsageSoFar:
        return usage_so_far(broadcaster_id, grant.id, event_id, session=session, now=caller.now)

    def one(subject: rights.Subject) -> rights.Decision:
        return rights.decide(
            caller.grants, subject, territory=principal.territory or "", media=media,
            now=caller.now, seconds=seconds, usage=usage,
        )  # fmt: skip

    per_source = [one(subject) for subject in subjects]
    overall = rights.decide_all(
        caller.grants, subjects, territory=principal.territory or "", media=media,
        now=caller.now, seconds=seconds, usage=usage,
    )  # fmt: skip
    left: float | None = None
    grant = next((g for g in caller.grants if g.id == overall.grant_id), None)
    if grant is not None and grant.max_day_s is not None:
        left = max(0.0, grant.max_day_s - usage(grant).day_s)
    return Clearance(overall, per_source, left)


def audit(
    caller: Caller,
    use: Use,
    decision: rights.Decision,
    *,
    session: Session,
    client: str | None = None,
) -> None:
    principal = caller.principal
    session.add(
        AuditRecord(
            at=caller.now,
            key_id=principal.key_id,
            role=principal.role.value,
            broadcaster_id=principal.broadcaster_id,
            action=use.action,
            subject_kind=use.subject_kind,
            subject_id=use.subject_id,
            territory=principal.territory,
            result="granted" if decision.granted else "denied",
            reason=decision.reason,
            grant_id=decision.grant_id,
            client=client,
        )
    )
    session.flush()


AUDIT_BATCH = 5000


def prune_audit(before: datetime, *, session: Session, batch: int = AUDIT_BATCH) -> int:
    """Remove up to ``batch`` audit records older than ``before`` (the oldest first); how many.
    Called in a loop, each batch in a transaction of its own, so SQLite's write lock is never
    held for long."""
    oldest = select(AuditRecord.id).where(AuditRecord.at < before).order_by(AuditRecord.at)
    ids = list(session.scalars(oldest.limit(batch)))
    if ids:
        session.execute(delete(AuditRecord).where(AuditRecord.id.in_(ids)))
    return len(ids)


@dataclass(frozen=True)
class GrantUsage:
    grant: RightsGrant
    today_s: float
    by_event: dict[str, float]
    last_use_at: datetime | None
    uses: int


def usage_report(broadcaster_id: str, *, session: Session, now: datetime) -> list[GrantUsage]:
    """A broadcaster's consumption under each of its grants."""
    report = []
    grants = session.scalars(
        select(RightsGrant)
        .where(RightsGrant.broadcaster_id == broadcaster_id)
        .order_by(RightsGrant.created_at)
    ).all()
    for grant in grants:
        mine = and_(Usage.broadcaster_id == broadcaster_id, Usage.grant_id == grant.id)
        by_event = {
            str(event_id): float(seconds)
            for event_id, seconds in session.execute(
                select(Usage.event_id, func.sum(Usage.seconds)).where(mine).group_by(Usage.event_id)
            )
        }
        today = session.scalar(
            select(func.coalesce(func.sum(Usage.seconds), 0.0)).where(
                mine, Usage.at >= _day_start(now)
            )
        )
        last = session.scalar(select(func.max(Usage.at)).where(mine))
        uses = session.scalar(select(func.count()).select_from(Usage).where(mine)) or 0
        report.append(
            GrantUsage(
                grant=grant,
                today_s=float(today or 0.0),
                by_event=by_event,
                last_use_at=aware(last) if last else None,
                uses=int(uses),
            )
        )
    return report


# -- notifications -------------------------------------------------------------------------------


def notify_in_rights(
    topic: str,
    payload: dict[str, Any],
    *,
    session: Session,
    now: datetime,
    asset_id: str | None = None,
    replay_id: str | None = None,
) -> list[str]:
    """Queue ``topic`` for every broadcaster subscribed to it whose rights (in its home
    territory) cover the asset or replay; returns the deliveries to send after commit."""
    from catalog import webhooks

    subscribed = {
        w.broadcaster_id
        for w in session.scalars(select(Webhook).where(Webhook.active.is_(True)))
        if topic in w.topics
    }
    audience = []
    for broadcaster in session.scalars(
        select(Broadcaster).where(Broadcaster.id.in_(subscribed))
    ).all():
        principal = Principal(
            Role.BROADCASTER,
            broadcaster_id=broadcaster.id,
            territory=broadcaster.territories[0] if broadcaster.territories else None,
        )
        caller = caller_for(principal, session=session, now=now)
        if asset_id is not None:
            query = select(Asset.id).where(Asset.id == asset_id, caller.assets())
        else:
            query = select(Replay.id).where(Replay.id == replay_id, caller.replays())
        if session.scalar(query) is not None:
            audience.append(broadcaster.id)
    return webhooks.notify(topic, payload, session=session, broadcaster_ids=audience)
