"""Thin Celery tasks: ids in; the job runners do the work and record the outcome.

A job that hit a passing fault is sent again after a backoff (its row already says so); the
broker's late acknowledgement and the runner's compare-and-set claim make every task safe to
deliver twice.
"""

from __future__ import annotations

from typing import Any

from catalog import services
from infra.core.database import session_scope
from workers.app import app
from workers.context import get_context
from workers.ladder import run_ladder_job
from workers.ladder.chunked import encode_part, stitch_ladder
from workers.live import run_live_segment
from workers.mezzanine import run_mezzanine_job
from workers.proxy import run_proxy_job
from workers.qc import run_qc_job
from workers.replay import run_replay_job
from workers.runner import Outcome, backoff_s
from workers.sync import run_sync_job
from workers.thumbnails import run_thumbnails_job
from workers.webhooks import deliver


def _after(task: Any, job_id: str, outcome: Outcome) -> str:
    """Schedule the next attempt of a job that asked for one."""
    if outcome is Outcome.RETRY:
        ctx = get_context()
        with session_scope(ctx.sessions) as session:
            attempts = services.get_job(job_id, session=session).attempts
        delay = backoff_s(attempts, base_s=ctx.settings.jobs.retry_base_s)
        task.apply_async(args=[job_id], countdown=delay)
    return outcome.value


@app.task(name="vantage.transcode_ladder", bind=True)  # type: ignore[untyped-decorator]
def transcode_ladder(self: Any, job_id: str) -> str:
    """Build the ABR ladder of the job's asset. Idempotent: see :func:`run_ladder_job`."""
    return _after(self, job_id, run_ladder_job(job_id, get_context()))


@app.task(name="vantage.encode_ladder_chunk", ignore_result=False)  # type: ignore[untyped-decorator]
def encode_ladder_chunk(
    job_id: str, attempt: int, plan: dict[str, Any], frames: list[int]
) -> dict[str, Any]:
    """One GOP-aligned chunk of a chunked ladder. Idempotent: see :func:`encode_part`."""
    return encode_part(get_context(), job_id, attempt, plan, (frames[0], frames[1]))


@app.task(name="vantage.encode_ladder_audio", ignore_result=False)  # type: ignore[untyped-decorator]
def encode_ladder_audio(job_id: str, attempt: int, plan: dict[str, Any]) -> dict[str, Any]:
    """The audio track of a chunked ladder, encoded once. Idempotent: see :func:`encode_part`."""
    return encode_part(get_context(), job_id, attempt, plan, None)


@app.task(name="vantage.stitch_ladder", bind=True)  # type: ignore[untyped-decorator]
def stitch(
    self: Any,
    results: list[dict[str, Any]],
    job_id: str,
    attempt: int,
    profile: str,
    loudness: dict[str, Any] | None,
    plan: dict[str, Any],
) -> str:
    """Join a chunked ladder and publish it. Idempotent: see :func:`stitch_ladder`."""
    outcome = stitch_ladder(get_context(), results, job_id, attempt, profile, loudness, plan)
    return _after(transcode_ladder, job_id, outcome)


@app.task(name="vantage.transcode_live_segment")  # type: ignore[untyped-decorator]
def transcode_live_segment(segment_id: str) -> int:
    """Encode a landed live segment to the live rungs. Idempotent: see :func:`run_live_segment`."""
    return run_live_segment(segment_id, get_context())


@app.task(name="vantage.sync_event", bind=True)  # type: ignore[untyped-decorator]
def sync_feeds(self: Any, job_id: str) -> str:
    """Line an event's feeds up on its clock. Idempotent: see :func:`run_sync_job`."""
    return _after(self, job_id, run_sync_job(job_id, get_context()))


@app.task(name="vantage.qc_asset", bind=True)  # type: ignore[untyped-decorator]
def qc_asset(self: Any, job_id: str) -> str:
    """Loudness and black/freeze/silence QC of an asset. Idempotent: see :func:`run_qc_job`."""
    return _after(self, job_id, run_qc_job(job_id, get_context()))


@app.task(name="vantage.make_proxy", bind=True)  # type: ignore[untyped-decorator]
def make_proxy(self: Any, job_id: str) -> str:
    """The editor proxy of an asset. Idempotent: see :func:`run_proxy_job`."""
    return _after(self, job_id, run_proxy_job(job_id, get_context()))


@app.task(name="vantage.make_thumbnails", bind=True)  # type: ignore[untyped-decorator]
def make_thumbnails(self: Any, job_id: str) -> str:
    """Sprites, WebVTT and scene-cut posters. Idempotent: see :func:`run_thumbnails_job`."""
    return _after(self, job_id, run_thumbnails_job(job_id, get_context()))


@app.task(name="vantage.make_mezzanine", bind=True)  # type: ignore[untyped-decorator]
def make_mezzanine(self: Any, job_id: str) -> str:
    """XDCAM HD422 MXF on request. Idempotent: see :func:`run_mezzanine_job`."""
    return _after(self, job_id, run_mezzanine_job(job_id, get_context()))


@app.task(name="vantage.make_replay", bind=True)  # type: ignore[untyped-decorator]
def make_replay(self: Any, job_id: str) -> str:
    """Angles, mosaic, sequence or sweep of a replay order. Idempotent: see
    :func:`run_replay_job`."""
    return _after(self, job_id, run_replay_job(job_id, get_context()))


@app.task(name="vantage.deliver_webhook", bind=True)  # type: ignore[untyped-decorator]
def deliver_webhook(self: Any, delivery_id: str) -> str:
    """One attempt at a webhook delivery, and the next one scheduled when it asks for one.
    Idempotent: see :func:`deliver`."""
    countdown = deliver(delivery_id, get_context())
    if countdown is None:
        return "done"
    self.apply_async(args=[delivery_id], countdown=countdown)
    return "retry"
