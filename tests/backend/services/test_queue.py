"""The queue on SQLite and PostgreSQL: atomic claims, fencing, reaper, cancel, retry."""

from __future__ import annotations

import multiprocessing
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend import db
from backend.errors import Conflict
from backend.models import Job, JobEvent, JobState
from backend.models.base import utcnow
from backend.services import queue
from backend.services.queue import LeaseLost


def _enqueue(n: int, kind: str = "selftest") -> list[int]:
    with db.get_sessionmaker()() as session:
        return [queue.enqueue(session=session, kind=kind, params={"i": i}).id for i in range(n)]


def _claim_all(url: str, worker: str, out: multiprocessing.Queue) -> None:
    engine = db.make_engine(url)
    claimed = []
    while (lease := queue.claim(engine=engine, worker_id=worker, lease_s=60)) is not None:
        claimed.append(lease.job_id)
    engine.dispose()
    out.put(claimed)


@pytest.mark.slow
def test_concurrent_claims_never_share_a_job(any_database: str) -> None:
    ids = _enqueue(120)
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_claim_all, args=(any_database, f"w{i}", results)) for i in range(4)
    ]
    for p in procs:
        p.start()
    claimed = [job for _ in procs for job in results.get(timeout=120)]
    for p in procs:
        p.join(timeout=30)
    assert sorted(claimed) == ids
    with db.get_sessionmaker()() as session:
        attempts = session.scalars(select(Job.attempts)).all()
    assert set(attempts) == {1}


def test_claim_takes_priority_then_age_and_filters_kinds(any_database: str) -> None:
    with db.get_sessionmaker()() as session:
        old = queue.enqueue(session=session, kind="train_rf", params={})
        urgent = queue.enqueue(session=session, kind="train_rf", params={}, priority=5)
        other = queue.enqueue(session=session, kind="pretrain", params={})
    engine = db.get_engine()
    assert (
        queue.claim(engine=engine, worker_id="w", lease_s=5, kinds=["pretrain"]).job_id == other.id
    )
    first = queue.claim(engine=engine, worker_id="w", lease_s=5)
    assert first.job_id == urgent.id and first.attempt == 1 and first.kind == "train_rf"
    assert queue.claim(engine=engine, worker_id="w", lease_s=5).job_id == old.id
    assert queue.claim(engine=engine, worker_id="w", lease_s=5) is None


def test_zombie_writes_are_refused_after_the_lease_is_taken_over(any_database: str) -> None:
    (job_id,) = _enqueue(1)
    engine = db.get_engine()
    zombie = queue.claim(engine=engine, worker_id="zombie", lease_s=60)
    with db.get_sessionmaker()() as session:
        # The zombie stopped heartbeating: its lease is past, the reaper requeues the job.
        session.execute(
            Job.__table__.update().values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()
        assert queue.reap(session=session) == (1, 0)
    owner = queue.claim(engine=engine, worker_id="owner", lease_s=60)
    assert owner.job_id == job_id and owner.attempt == 2
    with db.get_sessionmaker()() as session:
        with pytest.raises(LeaseLost):
            queue.add_events(session=session, lease=zombie, events=[("log", {"message": "late"})])
        with pytest.raises(LeaseLost):
            queue.heartbeat(session=session, lease=zombie, lease_s=60)
        with pytest.raises(LeaseLost):
            queue.finish(session=session, lease=zombie, state=JobState.succeeded)
        queue.add_events(session=session, lease=owner, events=[("progress", {"fraction": 0.5})])
        queue.finish(session=session, lease=owner, state=JobState.succeeded)
        session.commit()
        job = session.get(Job, job_id)
        assert job.state == "succeeded" and job.worker_id == "owner"
        messages = session.scalars(select(JobEvent.payload)).all()
    assert {"message": "late"} not in messages and len(messages) == 1


def test_reaper_fails_a_job_after_max_attempts(any_database: str) -> None:
    with db.get_sessionmaker()() as session:
        job = queue.enqueue(session=session, kind="selftest", params={}, max_attempts=2)
    engine = db.get_engine()
    for expected in [(1, 0), (0, 1)]:
        assert queue.claim(engine=engine, worker_id="w", lease_s=0.01) is not None
        with db.get_sessionmaker()() as session:
            assert queue.reap(session=session, now=utcnow() + timedelta(seconds=1)) == expected
    with db.get_sessionmaker()() as session:
        job = session.get(Job, job.id)
        assert job.state == "failed" and job.attempts == 2 and "max attempts" in job.error
        assert job.lease_token is None


def test_reaper_leaves_live_leases_alone(any_database: str) -> None:
    _enqueue(1)
    lease = queue.claim(engine=db.get_engine(), worker_id="w", lease_s=60)
    with db.get_sessionmaker()() as session:
        assert queue.reap(session=session) == (0, 0)
        assert queue.heartbeat(session=session, lease=lease, lease_s=60) is False


def test_cancel_queued_running_and_finished(any_database: str) -> None:
    queued, running = _enqueue(2)
    lease = queue.claim(engine=db.get_engine(), worker_id="w", lease_s=60)
    assert lease.job_id == queued
    with db.get_sessionmaker()() as session:
        assert queue.request_cancel(session=session, job_id=running).state == "cancelled"
        job = queue.request_cancel(session=session, job_id=queued)
        assert job.state == "running" and job.cancel_requested
        assert queue.heartbeat(session=session, lease=lease, lease_s=60) is True
        with pytest.raises(Conflict):
            queue.request_cancel(session=session, job_id=running)


def test_retry_only_failed_or_cancelled(any_database: str) -> None:
    (job_id,) = _enqueue(1)
    with db.get_sessionmaker()() as session:
        with pytest.raises(Conflict):
            queue.retry(session=session, job_id=job_id)
        queue.request_cancel(session=session, job_id=job_id)
        job = queue.retry(session=session, job_id=job_id)
        assert job.state == "queued" and job.attempts == 0 and job.finished_at is None


def test_queued_jobs_survive_a_restart(any_database: str) -> None:
    ids = _enqueue(3)
    db.get_engine().dispose()
    db.get_engine.cache_clear()
    db.get_sessionmaker.cache_clear()
    with db.get_sessionmaker()() as session:
        queued = session.scalars(select(Job.id).where(Job.state == "queued").order_by(Job.id)).all()
        assert queued == ids
        assert session.scalar(select(func.count()).select_from(JobEvent)) == 0


def test_job_list_gives_each_job_its_own_runs_in_one_query(any_database: str) -> None:
    from sqlalchemy import event

    from backend.models import Run
    from backend.services.jobs import list_jobs

    first, second, third = _enqueue(3)
    with db.get_sessionmaker()() as session:
        for job_id, name in ((first, "a"), (third, "b"), (third, "c")):
            session.add(Run(kind="rf", name=name, params={}, out_dir=f"runs/{name}", job_id=job_id))
        session.commit()
        statements: list[str] = []
        engine = session.get_bind()
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            jobs = {j.id: j.run_ids for j in list_jobs(session=session)}
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    runs = {first: 1, second: 0, third: 2}
    assert {k: len(v) for k, v in jobs.items()} == runs
    assert jobs[third] == sorted(jobs[third])
    assert len(statements) == 2  # the jobs, then the runs of all of them
