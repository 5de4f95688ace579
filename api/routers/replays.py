"""Replays: orders for angles, mosaics, sequences and sweeps, their outputs and bundles; the
event's markers and auto-replay rules."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import JobsDep, SessionDep, SettingsDep, StoreDep
from catalog import replays as service
from catalog import services
from catalog.models import Marker, Replay, ReplayKind, ReplayRule
from infra.errors import BadRequest
from infra.queue import JOB_TASKS
from infra.storage import ObjectStore

router = APIRouter(tags=["replays"])


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: str
    kind: ReplayKind
    start_s: float | None = None
    """Start of the range on the event clock; or give ``marker_id``."""
    end_s: float | None = None
    marker_id: str | None = None
    before_s: float = Field(default=5.0, ge=0, le=600)
    """With a marker: seconds before it."""
    after_s: float = Field(default=5.0, ge=0, le=600)
    feed_ids: list[str] | None = Field(default=None, max_length=16)
    """The angles (default: every feed of the event)."""
    options: dict[str, Any] = Field(default_factory=dict)
    """mosaic: ``columns``; sequence: ``cuts`` [{feed_id, at_s}], ``slow_motion``
    {start_s, end_s, factor}; sweep: ``at_s``, ``duration_s``, ``direction``
    (clockwise|counterclockwise), ``hold_s``, ``resume_s``; all: ``lines`` (output size)."""


class ReplayOutput(BaseModel):
    name: str
    kind: str
    feed: str | None
    url: str
    sha256: str
    size_bytes: int
    frames: int
    first_frame: int | None
    """The angle's first frame, counted from the start of the recording it was cut from."""
    last_frame: int | None
    order: list[str] | None = None
    """A sweep's cameras, in the order it passes them."""


class ReplayOut(BaseModel):
    id: str
    event_id: str
    kind: str
    start_s: float
    end_s: float
    marker_id: str | None
    feed_ids: list[str]
    options: dict[str, Any]
    job_id: str | None
    status: str
    progress: float
    error: str | None
    sources: list[dict[str, str]]
    """Lineage: the feed and recording (asset) each angle was cut from."""
    outputs: list[ReplayOutput]
    manifest_url: str | None
    package_url: str | None
    """Every output and the manifest in one signed zip."""


class MarkerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    clock_s: float
    label: str = Field(min_length=1, max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=20)
    athletes: list[str] = Field(default_factory=list, max_length=50)


class MarkerOut(BaseModel):
    id: str
    event_id: str
    clock_s: float
    label: str
    tags: list[str]
    athletes: list[str]
    replay_ids: list[str] = []
    """Replays the event's rules ordered for this marker."""


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tag: str = Field(min_length=1, max_length=100)
    kinds: list[Literal["angles", "mosaic", "sweep"]] = Field(min_length=1)
    before_s: float = Field(default=5.0, ge=0, le=600)
    after_s: float = Field(default=5.0, ge=0, le=600)
    options: dict[str, Any] | None = None


class RuleOut(BaseModel):
    id: str
    tag: str
    kinds: list[str]
    before_s: float
    after_s: float
    options: dict[str, Any] | None


def replay_out(replay: Replay, store: ObjectStore, *, session: Any) -> ReplayOut:
    job = services.get_job(replay.job_id, session=session) if replay.job_id else None
    outputs = [
        ReplayOutput(
            name=item["name"],
            kind=item["kind"],
            feed=item.get("feed"),
            url=store.presigned_get(item["key"], filename=item["name"]),
            sha256=item["sha256"],
            size_bytes=item["size_bytes"],
            frames=item["frames"],
            first_frame=item.get("first_frame"),
            last_frame=item.get("last_frame"),
            order=item.get("order"),
        )
        for item in replay.outputs or []
    ]
    return ReplayOut(
        id=replay.id,
        event_id=replay.event_id,
        kind=replay.kind.value,
        start_s=replay.clock_start_s,
        end_s=replay.clock_end_s,
        marker_id=replay.marker_id,
        feed_ids=list(replay.feed_ids),
        options=replay.options,
        job_id=replay.job_id,
        status=job.status.value if job else "unknown",
        progress=round(job.progress, 4) if job else 0.0,
        error=job.error if job else None,
        sources=[{"feed_id": s.feed_id, "asset_id": s.asset_id} for s in replay.sources],
        outputs=outputs,
        manifest_url=store.presigned_get(replay.manifest_key) if replay.manifest_key else None,
        package_url=(
            store.presigned_get(replay.package_key, filename=f"replay-{replay.id}.zip")
            if replay.package_key
            else None
        ),
    )


def marker_out(marker: Marker, replay_ids: list[str] | None = None) -> MarkerOut:
    return MarkerOut(
        id=marker.id,
        event_id=marker.event_id,
        clock_s=marker.clock_s,
        label=marker.label,
        tags=list(marker.tags),
        athletes=list(marker.athletes),
        replay_ids=replay_ids or [],
    )


def rule_out(rule: ReplayRule) -> RuleOut:
    return RuleOut(
        id=rule.id,
        tag=rule.tag,
        kinds=list(rule.kinds),
        before_s=rule.before_s,
        after_s=rule.after_s,
        options=rule.options,
    )


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
    return replay_out(replay, store, session=session)


@router.get("/v1/replays/{replay_id}", response_model=ReplayOut)
def get_replay(replay_id: str, session: SessionDep, store: StoreDep) -> ReplayOut:
    """A replay's state, progress and, once made, its outputs with signed URLs."""
    return replay_out(service.get_replay(replay_id, session=session), store, session=session)


@router.get("/v1/events/{event_id}/replays", response_model=list[ReplayOut])
def list_replays(event_id: str, session: SessionDep, store: StoreDep) -> list[ReplayOut]:
    """The event's replays, oldest first."""
    services.get_event(event_id, session=session)
    return [
        replay_out(r, store, session=session)
        for r in service.list_replays(event_id, session=session)
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
