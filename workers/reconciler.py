"""The reconciler: finds running jobs whose worker died (no heartbeat) and queues them again,
or marks them dead when their attempts are spent; and sends again the webhook deliveries whose
task was lost (a broker restart, a process killed before it sent them). Safe to run on several
hosts at once: stale jobs are locked as they are read (PostgreSQL), and the workers' claims of
jobs and deliveries are compare-and-sets, so a delivery sent twice is still POSTed once."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from catalog import access, services, webhooks
from catalog.migrate import refresh_statistics
from catalog.models import utcnow
from infra.core.database import session_scope
from infra.core.queue import (
    JOB_TASKS,
    queue_depths,
    queue_of_job,
    send_job,
    send_job_after_commit,
    send_webhook,
)
from infra.core.settings import Settings
from infra.core.storage import ObjectStore
from workers.runner import clear_leftovers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reconciled:
    requeued: list[str]
    dead: list[str]
    webhooks: list[str] = field(default_factory=list)
    """Webhook deliveries sent again: overdue, so their own task was lost."""
    unsent: list[str] = field(default_factory=list)
    """Queued jobs whose message never reached the broker, sent now."""


WEBHOOK_GRACE_S = 60.0
"""How overdue a pending delivery must be before it counts as lost: a delivery's own task
normally runs well within this, and is not doubled while it waits in a busy queue."""

WEBHOOK_BATCH = 1000


def reconcile_once(
    settings: Settings, sessions: sessionmaker[Session], store: ObjectStore | None = None
) -> Reconciled:
    """One pass: stale running jobs are queued again (sent after the commit) or buried (their
    partial outputs removed, their recording failed with the reason)."""
    stale_s = settings.jobs.stale_after_s
    requeued: list[tuple[str, str]] = []
    dead: list[str] = []
    with session_scope(sessions) as session:
        for job in services.stale_jobs(session=session, stale_after_s=stale_s):
            task = JOB_TASKS.get(job.kind.value)
            if task is None:
                continue
            reason = f"worker lost: no heartbeat for {stale_s:.0f} s"
            if services.retry_or_bury_job(job, reason, session=session):
                requeued.append((job.id, task))
                send_job_after_commit(session, settings, task, job.id)
            else:
                dead.append(job.id)
                clear_leftovers(session, store or ObjectStore(settings.storage), job)
    for job_id, _task in requeued:
        log.warning("job %s lost its worker; queued again", job_id)
    for job_id in dead:
        log.warning("job %s lost its worker once too often; marked dead", job_id)
    lost = lost_deliveries(settings, sessions)
    for delivery_id in lost:
        send_webhook(settings, delivery_id)
    if lost:
        log.warning("%d webhook delivery(ies) overdue; sent again", len(lost))
    unsent = send_unsent_jobs(settings, sessions)
    return Reconciled([job_id for job_id, _ in requeued], dead, lost, unsent)


UNSENT_BATCH = 200


def send_unsent_jobs(settings: Settings, sessions: sessionmaker[Session]) -> list[str]:
    """Jobs queued in the catalog whose message never reached the broker (the broker was away
    when their transaction committed, or the process died in between): never started, older
    than ``jobs.stale_after_s``, of a workload whose queue holds nothing. A queue with messages
    waiting may hold theirs (a backlog is not a loss), so those are left alone; a message a
    worker has already taken makes a duplicate at worst, which its claim turns into nothing."""
    try:
        depths = queue_depths(settings)
    except Exception as exc:  # noqa: BLE001 - a broker still away: nothing can be sent yet
        log.warning("broker unavailable (%s); queued jobs will be sent when it is back", exc)
        return []
    empty = {queue for queue, count in depths.items() if count == 0}
    older = utcnow() - timedelta(seconds=settings.jobs.stale_after_s)
    with session_scope(sessions) as session:
        waiting = services.never_started_jobs(session=session, before=older, limit=UNSENT_BATCH)
        unsent = [
            (job.id, JOB_TASKS[job.kind.value])
            for job in waiting
            if job.kind.value in JOB_TASKS and queue_of_job(job.kind.value) in empty
        ]
    for job_id, task in unsent:
        send_job(settings, task, job_id)
    if unsent:
        log.warning("%d queued job(s) never reached the broker; sent now", len(unsent))
    return [job_id for job_id, _ in unsent]


def lost_deliveries(settings: Settings, sessions: sessionmaker[Session]) -> list[str]:
    """Pending webhook deliveries overdue by more than the grace (or the reconcile interval,
    when that is longer): their task never ran or never scheduled the next attempt."""
    grace = max(WEBHOOK_GRACE_S, settings.jobs.reconcile_every_s)
    with session_scope(sessions) as session:
        return webhooks.due_deliveries(
            session=session, now=utcnow() - timedelta(seconds=grace), limit=WEBHOOK_BATCH
        )


STATISTICS_EVERY_S = 3600.0
"""How often the embedded catalog's planner statistics are refreshed (SQLite only), and the
audit trail is trimmed to its retention."""


def prune_audit(settings: Settings, sessions: sessionmaker[Session]) -> int:
    """Remove the audit records older than ``api.audit_retention_days``, a batch at a time."""
    before = utcnow() - timedelta(days=settings.api.audit_retention_days)
    removed = 0
    while True:
        with session_scope(sessions) as session:
            batch = access.prune_audit(before, session=session)
        removed += batch
        if batch < access.AUDIT_BATCH:
            break
    if removed:
        log.info("removed %d audit record(s) older than %s", removed, before.date())
    return removed


def reconcile_forever(settings: Settings, sessions: sessionmaker[Session]) -> None:
    """Reconcile every ``jobs.reconcile_every_s`` seconds until interrupted; refresh SQLite's
    planner statistics every hour."""
    statistics_due = time.monotonic()
    while True:
        try:
            reconcile_once(settings, sessions)
            if time.monotonic() >= statistics_due:
                prune_audit(settings, sessions)
                with sessions() as session:
                    engine = session.get_bind().engine
                refresh_statistics(engine)
                statistics_due = time.monotonic() + STATISTICS_EVERY_S
        except Exception as exc:  # noqa: BLE001 - a passing database or broker fault; try again
            log.warning("reconcile pass failed: %s", exc)
        time.sleep(settings.jobs.reconcile_every_s)
