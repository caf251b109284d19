"""The job queue on the app database: enqueue, atomic claim, leases, fencing, reaper, cancel.

The design follows Procrastinate (docs/jobs.md): a claimed job holds a lease (a random
token and an expiry) that the worker's supervising process renews; every later write for
the job carries ``WHERE id = ? AND lease_token = ?`` so that a worker whose lease was
taken over (a "zombie") cannot overwrite the new owner's state (fencing, Kleppmann 2016);
a reaper hands expired leases back to the queue. ``attempts`` counts claims: a job whose
lease expires is requeued while ``attempts < max_attempts`` and fails after.

Claiming is one statement on both databases. SQLite has no ``FOR UPDATE`` (SQLAlchemy
drops ``with_for_update()`` there), so the claim runs inside ``BEGIN IMMEDIATE``, which
takes the write lock before the read; PostgreSQL uses ``FOR UPDATE SKIP LOCKED`` so that
concurrent workers skip each other's rows instead of queueing behind them.

All times are UTC. SQLite hands back naive datetimes for ``DateTime(timezone=True)``, so
Python-side comparisons go through :func:`as_utc`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.orm import Session

from backend.config import new_token
from backend.errors import Conflict, NotFound
from backend.models import Job, JobEvent, JobState
from backend.models.base import utcnow

FINISHED = (JobState.succeeded.value, JobState.failed.value, JobState.cancelled.value)


class LeaseLost(Exception):
    """The job is no longer ours (reaped, or finished by someone else): stop working on it."""


@dataclass(frozen=True)
class Lease:
    """What a worker holds for a claimed job; every write for the job presents it."""

    job_id: int
    token: str
    worker_id: str
    kind: str
    params: dict[str, Any]
    attempt: int


def as_utc(moment: datetime | None) -> datetime | None:
    """The same instant as an aware UTC datetime (SQLite returns naive UTC values)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def enqueue(
    *,
    session: Session,
    kind: str,
    params: dict[str, Any],
    created_by: int | None = None,
    priority: int = 0,
    max_attempts: int = 3,
) -> Job:
    """Add a queued job and commit; it survives restarts because it is a row."""
    job = Job(
        kind=kind,
        params=params,
        state=JobState.queued.value,
        priority=priority,
        max_attempts=max_attempts,
        created_by=created_by,
    )
    session.add(job)
    session.commit()
    return job


def _claim_statement(worker_id: str, token: str, lease_s: float, kinds: list[str] | None, pg: bool):
    candidates = select(Job.id).where(Job.state == JobState.queued.value)
    if kinds:
        candidates = candidates.where(Job.kind.in_(kinds))
    candidates = candidates.order_by(Job.priority.desc(), Job.id).limit(1)
    if pg:
        candidates = candidates.with_for_update(skip_locked=True)
    now = utcnow()
    return (
        update(Job)
        .where(Job.id == candidates.scalar_subquery())
        .values(
            state=JobState.running.value,
            lease_token=token,
            lease_expires_at=now + timedelta(seconds=lease_s),
            worker_id=worker_id,
            attempts=Job.attempts + 1,
            started_at=func.coalesce(Job.started_at, now),
            cancel_requested=False,
        )
        .returning(Job.id, Job.kind, Job.params, Job.attempts)
    )


def claim(
    *, engine: Engine, worker_id: str, lease_s: float, kinds: list[str] | None = None
) -> Lease | None:
    """Atomically take the oldest highest-priority queued job, or None when the queue is empty.

    Args:
        engine: the app database engine.
        worker_id: who claims (host:pid), shown on the job.
        lease_s: lease length; the supervisor renews it with :func:`heartbeat`.
        kinds: only claim these job kinds (None: any).
    """
    token = new_token()
    pg = engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        if not pg:
            # Take SQLite's write lock before reading, so no other claimer reads the same row.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        row = conn.execute(_claim_statement(worker_id, token, lease_s, kinds, pg)).first()
        conn.commit()
    if row is None:
        return None
    return Lease(
        job_id=row.id,
        token=token,
        worker_id=worker_id,
        kind=row.kind,
        params=dict(row.params),
        attempt=row.attempts,
    )


def _fenced_update(session: Session, lease: Lease, **values: Any) -> None:
    """Update the job only while the lease is ours; LeaseLost (and rollback) otherwise."""
    result = session.execute(
        update(Job)
        .where(
            Job.id == lease.job_id,
            Job.lease_token == lease.token,
            Job.state == JobState.running.value,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.rollback()
        raise LeaseLost(f"job {lease.job_id}: lease {lease.token[:6]}… is no longer held")


def heartbeat(*, session: Session, lease: Lease, lease_s: float) -> bool:
    """Renew the lease; returns True when cancellation was requested. Raises LeaseLost."""
    _fenced_update(session, lease, lease_expires_at=utcnow() + timedelta(seconds=lease_s))
    cancel = session.scalar(select(Job.cancel_requested).where(Job.id == lease.job_id))
    session.commit()
    return bool(cancel)


def add_events(*, session: Session, lease: Lease, events: list[tuple[str, dict[str, Any]]]) -> None:
    """Append job events (progress, log, metric) under the lease. Raises LeaseLost.

    The last progress event also updates the job's progress and message, so that lists
    show it without reading events. The fenced update comes first: it locks the job row
    on PostgreSQL, so the reaper cannot requeue the job between the check and the insert.
    """
    values: dict[str, Any] = {}
    for kind, payload in events:
        if kind == "progress":
            values = {
                "progress": max(0.0, min(1.0, float(payload.get("fraction", 0.0)))),
                "message": str(payload.get("message", ""))[:500],
            }
    _fenced_update(session, lease, **(values or {"lease_token": lease.token}))
    if events:
        now = utcnow()
        session.execute(
            insert(JobEvent),
            [
                {"job_id": lease.job_id, "kind": k, "payload": p, "created_at": now}
                for k, p in events
            ],
        )
    session.commit()


def finish(
    *,
    session: Session,
    lease: Lease,
    state: JobState,
    error: str | None = None,
    message: str | None = None,
) -> None:
    """Write a job's final state under its lease, release the lease; the caller commits.

    The caller commits so that the runs a job produced are written in the same
    transaction as its success. Raises LeaseLost.
    """
    values: dict[str, Any] = {
        "state": state.value,
        "error": error,
        "lease_token": None,
        "lease_expires_at": None,
        "finished_at": utcnow(),
    }
    if state == JobState.succeeded:
        values["progress"] = 1.0
    if message is not None:
        values["message"] = message[:500]
    _fenced_update(session, lease, **values)


def release(*, session: Session, lease: Lease, message: str) -> None:
    """Give a job back to the queue without counting the attempt (worker shutting down)."""
    _fenced_update(
        session,
        lease,
        state=JobState.queued.value,
        lease_token=None,
        lease_expires_at=None,
        worker_id=None,
        attempts=Job.attempts - 1,
        message=message[:500],
    )
    session.commit()


def reap(*, session: Session, now: datetime | None = None) -> tuple[int, int]:
    """Requeue running jobs whose lease expired, or fail them after max_attempts.

    Returns:
        (requeued, failed) counts.
    """
    now = now or utcnow()
    expired = (Job.state == JobState.running.value, Job.lease_expires_at < now)
    released = {"lease_token": None, "lease_expires_at": None, "worker_id": None}
    requeued = session.execute(
        update(Job)
        .where(*expired, Job.attempts < Job.max_attempts)
        .values(state=JobState.queued.value, message="lease expired: requeued", **released)
        .execution_options(synchronize_session=False)
    ).rowcount
    failed = session.execute(
        update(Job)
        .where(*expired, Job.attempts >= Job.max_attempts)
        .values(
            state=JobState.failed.value,
            error="The worker stopped renewing its lease too many times (max attempts reached).",
            finished_at=now,
            **released,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return requeued, failed


def request_cancel(*, session: Session, job_id: int) -> Job:
    """Cancel a queued job at once, or ask a running one to stop at its next step."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"No job with id {job_id}.")
    if job.state in FINISHED:
        raise Conflict(f"Job {job_id} is already {job.state}.")
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.queued.value)
        .values(state=JobState.cancelled.value, finished_at=utcnow(), message="cancelled")
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.running.value)
        .values(cancel_requested=True, message="cancelling…")
        .execution_options(synchronize_session=False)
    )
    session.commit()
    session.refresh(job)
    return job


def retry(*, session: Session, job_id: int) -> Job:
    """Put a failed or cancelled job back in the queue with a fresh attempt count."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"No job with id {job_id}.")
    done = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state.in_([JobState.failed.value, JobState.cancelled.value]))
        .values(
            state=JobState.queued.value,
            attempts=0,
            error=None,
            cancel_requested=False,
            progress=0.0,
            message="retry",
            finished_at=None,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        session.rollback()
        raise Conflict(
            f"Job {job_id} is {job.state}: only failed or cancelled jobs can be retried."
        )
    session.commit()
    session.refresh(job)
    return job
