"""Replays: orders for angles, mosaics, sequences and sweeps, their outputs and bundles; the
event's markers and auto-replay rules."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy.orm import Session

from api.deps import JobsDep, SessionDep, SettingsDep, StoreDep
from api.schemas import (
    MarkerIn,
    MarkerOut,
    ReplayIn,
    ReplayOut,
    RuleIn,
    RuleOut,
    marker_out,
    replay_out,
    rule_out,
)
from catalog import replays as service
from catalog import services
from catalog.models import Replay, ReplayKind
from infra.errors import BadRequest
from infra.queue import JOB_TASKS
from infra.storage import ObjectStore

router = APIRouter(tags=["replays"])


def _out(replay: Replay, store: ObjectStore, *, session: Session) -> ReplayOut:
    job = services.get_job(replay.job_id, session=session) if replay.job_id else None
    return replay_out(replay, job, store)


@router.post("/v1/replays", response_model=ReplayOut, status_code=status.HTTP_202_ACCEPTED)
def order_replay(
    body: ReplayIn, session: SessionDep, settings: SettingsDep, store: StoreDep, jobs: JobsDep
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
    )
    assert replay.job_id is not None
    jobs.send(JOB_TASKS["replay"], replay.job_id)
    return _out(replay, store, session=session)


@router.get("/v1/replays/{replay_id}", response_model=ReplayOut)
def get_replay(replay_id: str, session: SessionDep, store: StoreDep) -> ReplayOut:
    """A replay's state, progress and, once made, its outputs with signed URLs."""
    return _out(service.get_replay(replay_id, session=session), store, session=session)


@router.get("/v1/events/{event_id}/replays", response_model=list[ReplayOut])
def list_replays(event_id: str, session: SessionDep, store: StoreDep) -> list[ReplayOut]:
    """The event's replays, oldest first."""
    services.get_event(event_id, session=session)
    return [
        _out(r, store, session=session) for r in service.list_replays(event_id, session=session)
    ]


@router.post(
    "/v1/events/{event_id}/markers",
    response_model=MarkerOut,
    status_code=status.HTTP_201_CREATED,
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
                    order, session=session, max_attempts=settings.jobs.max_attempts
                )
            except BadRequest:
                continue
            assert replay.job_id is not None
            jobs.send(JOB_TASKS["replay"], replay.job_id)
            replay_ids.append(replay.id)
    return marker_out(marker, replay_ids)


@router.get("/v1/events/{event_id}/markers", response_model=list[MarkerOut])
def list_markers(event_id: str, session: SessionDep) -> list[MarkerOut]:
    """The event's markers in event-clock order."""
    services.get_event(event_id, session=session)
    return [marker_out(m) for m in service.list_markers(event_id, session=session)]


@router.post(
    "/v1/events/{event_id}/replay-rules",
    response_model=RuleOut,
    status_code=status.HTTP_201_CREATED,
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


@router.get("/v1/events/{event_id}/replay-rules", response_model=list[RuleOut])
def list_rules(event_id: str, session: SessionDep) -> list[RuleOut]:
    services.get_event(event_id, session=session)
    return [rule_out(r) for r in service.list_rules(event_id, session=session)]
