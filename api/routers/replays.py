"""Replays: orders for angles, mosaics, sequences and sweeps, their outputs and bundles; the
event's markers and auto-replay rules."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.auth import DELIVER, EDIT, ORDER, READ, CallerDep, enforce
from api.builders import marker_out, replay_out, rule_out
from api.deps import JobsDep, SessionDep, SettingsDep, StoreDep
from api.schemas import ClearanceOut, MarkerIn, MarkerOut, ReplayIn, ReplayOut, RuleIn, RuleOut
from api.schemas.replays import SourceClearance
from catalog import access, services
from catalog import replays as service
from catalog.models import Event, Replay, ReplayKind
from catalog.rights import Decision, Media, Verdict
from infra.core.errors import BadRequest, NotFound
from infra.core.queue import JOB_TASKS
from infra.core.settings import Settings
from infra.core.storage import ObjectStore

router = APIRouter(tags=["replays"])


def _out(
    replay: Replay,
    caller: access.Caller,
    store: ObjectStore,
    settings: Settings,
    *,
    session: Session,
) -> ReplayOut:
    """Staff get the outputs' signed URLs; the broadcaster who ordered it too, with a key that
    may receive media (``deliver``) and while its rights still allow the clip (checked and
    audited, not counted again: the order was). Other broadcasters get them through
    ``/download``, which checks and counts the use."""
    job = services.get_job(replay.job_id, session=session) if replay.job_id else None
    principal = caller.principal
    links = principal.staff
    mine = replay.broadcaster_id == principal.broadcaster_id
    if not links and mine and replay.outputs and "deliver" in principal.scopes:
        event = session.get(Event, replay.event_id)
        assert event is not None
        decision = access.authorize(
            caller,
            _use(caller, replay, "replay.outputs", counted=False),
            caller.replay_subjects(replay, event, replay.sources),
            session=session,
        )
        links = decision.granted
    expires = None if principal.staff else settings.api.download_ttl_s
    return replay_out(
        replay, job, store, links=links, expires_s=expires, api_url=settings.api.public_url
    )


def visible_replay(replay_id: str, caller: access.Caller, session: Session) -> Replay:
    replay = session.scalar(
        select(Replay)
        .where(Replay.id == replay_id, caller.replays())
        .options(selectinload(Replay.sources))
    )
    if replay is None:
        raise NotFound(f"no replay with id {replay_id}")
    return replay


def _use(caller: access.Caller, replay: Replay, action: str, *, counted: bool) -> access.Use:
    return access.Use(
        action=action,
        media=Media.CLIPS,
        subject_kind="replay",
        subject_id=replay.id,
        seconds=replay.clock_end_s - replay.clock_start_s if counted else None,
        event_id=replay.event_id,
        replay_id=replay.id,
    )


@router.post(
    "/v1/replays",
    response_model=ReplayOut,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[ORDER],
)
def order_replay(
    body: ReplayIn,
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    jobs: JobsDep,
) -> ReplayOut:
    """Order a replay. Checked against the recordings first (a range outside them, a gap, a feed
    of another event, an empty range or an unknown marker is refused with the reason and nothing
    is queued); answers 202 with the order, whose job then makes it."""
    replay = service.place_order(
        service.ReplayOrder(
            event_id=body.event_id,
            kind=body.kind,
            start_s=body.start_s,
            end_s=body.end_s,
            marker_id=body.marker_id,
            before_s=body.before_s,
            after_s=body.after_s,
            feed_ids=body.feed_ids,
            options=body.options,
        ),
        session=session,
        max_attempts=settings.jobs.max_attempts,
        visible=None if caller.unrestricted else caller.visibility(),
        broadcaster_id=caller.principal.broadcaster_id,
        limits=settings.replays,
    )
    if not caller.unrestricted:
        # Every source must be usable as a clip now, within the quotas; the clip is counted.
        event = session.get(Event, replay.event_id)
        assert event is not None
        subjects = caller.replay_subjects(replay, event, replay.sources)
        enforce(
            caller, _use(caller, replay, "replay.order", counted=True), subjects,
            request=request, session=session, missing=None,
        )  # fmt: skip
    assert replay.job_id is not None
    jobs.send(JOB_TASKS["replay"], replay.job_id)
    return _out(replay, caller, store, settings, session=session)


@router.get("/v1/replays/clearance", response_model=ClearanceOut, dependencies=[READ])
def replay_clearance(
    event_id: str,
    start_s: float,
    end_s: float,
    caller: CallerDep,
    session: SessionDep,
) -> ClearanceOut:
    """May a clip of ``start_s``..``end_s`` of the event be ordered now, and if not why (an
    embargo and until when, the quota left today, the territory): the decision an order of every
    recorded angle would get, per angle and overall. Asking counts and records nothing."""
    if not end_s > start_s:
        raise BadRequest("end_s must be after start_s")
    visible = None if caller.unrestricted else caller.visibility()
    event = services.get_event(event_id, session=session, detail=True, visible=visible)
    moment = access.wall_clock(event, end_s)
    recorded, sources = [], []
    for feed in event.feeds:
        try:
            covered = service.coverage(feed, start_s, end_s, session=session)
        except BadRequest as exc:
            sources.append(
                SourceClearance(
                    feed_id=feed.id, feed=feed.name, verdict="unrecorded", reason=exc.detail
                )
            )
            continue
        recorded.append((feed, caller.subject(
            event, feed_id=feed.id, asset_id=covered.asset_id, moment=moment
        )))  # fmt: skip
    found = access.clearance(
        caller, [s for _, s in recorded], media=Media.CLIPS, seconds=end_s - start_s,
        session=session,
    )  # fmt: skip
    for (feed, _), decision in zip(recorded, found.per_source, strict=True):
        sources.append(
            SourceClearance(
                feed_id=feed.id,
                feed=feed.name,
                verdict=decision.verdict.value,
                reason=decision.reason,
                available_from=decision.available_from,
            )
        )
    overall = found.decision
    if not recorded:
        overall = Decision(Verdict.OUTSIDE, "no angle has a recording of the whole range")
    return ClearanceOut(
        event_id=event.id, start_s=start_s, end_s=end_s, verdict=overall.verdict.value,
        reason=overall.reason, available_from=overall.available_from,
        left_today_s=found.left_today_s,
        sources=sorted(sources, key=lambda s: s.feed),
    )  # fmt: skip


@router.get("/v1/replays/{replay_id}", response_model=ReplayOut, dependencies=[READ])
def get_replay(
    replay_id: str, caller: CallerDep, session: SessionDep, settings: SettingsDep, store: StoreDep
) -> ReplayOut:
    """A replay's state, progress and, once made, its outputs with signed URLs. A replay is
    seen only while the caller has rights to every one of its sources."""
    return _out(
        visible_replay(replay_id, caller, session), caller, store, settings, session=session
    )


@router.get(
    "/v1/replays/{replay_id}/download",
    response_class=RedirectResponse,
    status_code=307,
    dependencies=[DELIVER],
)
def download_replay(
    replay_id: str,
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
) -> RedirectResponse:
    """The replay's zip (every output and its manifest): a redirect to a short-lived presigned
    URL. A broadcaster's use of a host replay is checked (the intersection of its sources'
    rights: clips, embargo, quotas) and counted; its own orders were counted when placed."""
    replay = visible_replay(replay_id, caller, session)
    if not replay.package_key:
        raise NotFound(f"replay {replay_id} is not ready yet")
    own = (
        replay.broadcaster_id is not None
        and replay.broadcaster_id == caller.principal.broadcaster_id
    )
    event = session.get(Event, replay.event_id)
    assert event is not None
    enforce(
        caller, _use(caller, replay, "replay.download", counted=not own),
        caller.replay_subjects(replay, event, replay.sources),
        request=request, session=session, missing=f"no replay with id {replay_id}",
    )  # fmt: skip
    url = store.presigned_get(
        replay.package_key,
        filename=f"replay-{replay.id}.zip",
        expires_s=settings.api.download_ttl_s,
    )
    return RedirectResponse(url, status_code=307)


@router.get("/v1/events/{event_id}/replays", response_model=list[ReplayOut], dependencies=[READ])
def list_replays(
    event_id: str, caller: CallerDep, session: SessionDep, settings: SettingsDep, store: StoreDep
) -> list[ReplayOut]:
    """The event's replays the caller may see, oldest first."""
    services.get_event(event_id, session=session, visible=caller.visibility())
    replays = session.scalars(
        select(Replay)
        .where(Replay.event_id == event_id, caller.replays())
        .options(selectinload(Replay.sources))
        .order_by(Replay.created_at)
    ).all()
    return [_out(r, caller, store, settings, session=session) for r in replays]


@router.post(
    "/v1/events/{event_id}/markers",
    response_model=MarkerOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[EDIT],
)
def add_marker(
    event_id: str, body: MarkerIn, session: SessionDep, settings: SettingsDep, jobs: JobsDep
) -> MarkerOut:
    """Mark a moment. The event's auto-replay rules whose tag it carries order their replays;
    a rule whose replay cannot be made (a camera not recording then) is skipped."""
    marker = service.add_marker(
        event_id, body.clock_s, body.label, session=session, tags=body.tags, athletes=body.athletes
    )
    replay_ids = []
    for rule in service.rules_for(marker, session=session):
        for kind in rule.kinds:
            order = service.ReplayOrder(
                event_id=event_id,
                kind=ReplayKind(kind),
                marker_id=marker.id,
                before_s=rule.before_s,
                after_s=rule.after_s,
                options={
                    **(rule.options or {}),
                    **({"at_s": marker.clock_s} if kind == "sweep" else {}),
                },
            )
            try:  # place_order checks everything before it writes anything
                replay = service.place_order(
                    order,
                    session=session,
                    max_attempts=settings.jobs.max_attempts,
                    limits=settings.replays,
                )
            except BadRequest:
                continue
            assert replay.job_id is not None
            jobs.send(JOB_TASKS["replay"], replay.job_id)
            replay_ids.append(replay.id)
    return marker_out(marker, replay_ids)


@router.get("/v1/events/{event_id}/markers", response_model=list[MarkerOut], dependencies=[READ])
def list_markers(event_id: str, caller: CallerDep, session: SessionDep) -> list[MarkerOut]:
    """The event's markers in event-clock order."""
    services.get_event(event_id, session=session, visible=caller.visibility())
    return [marker_out(m) for m in service.list_markers(event_id, session=session)]


@router.post(
    "/v1/events/{event_id}/replay-rules",
    response_model=RuleOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[EDIT],
)
def add_rule(event_id: str, body: RuleIn, session: SessionDep) -> RuleOut:
    """Every later marker tagged ``tag`` gets replays of ``kinds`` around it."""
    rule = service.add_rule(
        event_id,
        body.tag,
        [ReplayKind(kind) for kind in body.kinds],
        session=session,
        before_s=body.before_s,
        after_s=body.after_s,
        options=body.options,
    )
    return rule_out(rule)


@router.get("/v1/events/{event_id}/replay-rules", response_model=list[RuleOut], dependencies=[EDIT])
def list_rules(event_id: str, session: SessionDep) -> list[RuleOut]:
    services.get_event(event_id, session=session)
    return [rule_out(r) for r in service.list_rules(event_id, session=session)]
