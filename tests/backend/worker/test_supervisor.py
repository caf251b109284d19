"""The supervisor runs jobs in spawned children: results, events, failures, cancellation."""

from __future__ import annotations

import json
import logging
import threading

import pytest
from sqlalchemy import select

from backend import db
from backend.config import get_settings
from backend.models import JobEvent, Run
from backend.worker.local import LocalBackend
from backend.worker.outcomes import RECORDERS, record_runs
from backend.worker.supervisor import Supervisor
from tests.backend.worker.conftest import enqueue, job, wait_for


def _supervisor(**kwargs: object) -> Supervisor:
    return Supervisor(
        engine=db.get_engine(), settings=get_settings(), backend=LocalBackend(), **kwargs
    )


def _events(job_id: int) -> list[tuple[str, dict]]:
    with db.get_sessionmaker()() as session:
        rows = session.execute(
            select(JobEvent.kind, JobEvent.payload)
            .where(JobEvent.job_id == job_id)
            .order_by(JobEvent.id)
        )
        return [(k, p) for k, p in rows]


def test_a_job_runs_and_its_events_reach_the_database(database: str, fast_queue: None) -> None:
    job_id = enqueue(steps=3, seed=7)
    _supervisor().run(burst=True)
    done = job(job_id)
    assert done.state == "succeeded" and done.progress == 1.0 and done.attempts == 1
    events = _events(job_id)
    metrics = [p["step"] for k, p in events if k == "metric"]
    assert metrics == [1, 2, 3]
    assert any(k == "log" and "selftest: done" in p["message"] for k, p in events)
    out = get_settings().path(f"jobs/{job_id}/out/results.json")
    assert json.loads(out.read_text())["steps"] == 3


def test_a_raising_job_fails_with_its_traceback_in_the_log(
    database: str, fast_queue: None, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = enqueue(steps=3, fail_at=1)
    with caplog.at_level(logging.INFO, logger="sitslab.worker"):
        _supervisor().run(burst=True)
    ended = [r for r in caplog.records if f"job {job_id} ended" in r.getMessage()]
    assert [r.levelname for r in ended] == ["WARNING"]  # the operator's log says why
    assert "failed: RuntimeError: selftest: asked to fail at step 1" in ended[0].getMessage()
    failed = job(job_id)
    assert failed.state == "failed"
    assert "Traceback" in failed.error and "asked to fail at step 1" in failed.error
    assert "asked to fail at step 1" in failed.message
    logs = [p["message"] for k, p in _events(job_id) if k == "log"]
    assert any("Traceback" in m and "RuntimeError" in m for m in logs)


def test_an_unknown_kind_fails_the_job_not_the_worker(database: str, fast_queue: None) -> None:
    bad, good = enqueue("no-such-kind"), enqueue(steps=1)
    _supervisor().run(burst=True)
    assert job(bad).state == "failed" and "unknown job kind" in job(bad).error
    assert job(good).state == "succeeded"


def test_cancel_stops_a_running_job_at_its_next_step(database: str, fast_queue: None) -> None:
    from backend.services import queue

    job_id = enqueue(steps=200, step_s=0.05)
    supervisor = _supervisor()
    thread = threading.Thread(target=supervisor.run, kwargs={"burst": True})
    thread.start()
    wait_for(lambda: job(job_id).progress > 0.05, what="the job to make progress")
    with db.get_sessionmaker()() as session:
        queue.request_cancel(session=session, job_id=job_id)
    thread.join(timeout=30)
    cancelled = job(job_id)
    assert cancelled.state == "cancelled" and cancelled.progress < 1.0
    state = json.loads(get_settings().path(f"jobs/{job_id}/checkpoints/selftest.json").read_text())
    assert 0 < state["step"] < 200


def test_a_job_that_ignores_stop_is_killed_after_the_grace_period(
    database: str, fast_queue: None, monkeypatch
) -> None:  # noqa: ANN001
    from backend.services import queue

    monkeypatch.setenv("SITSLAB_CANCEL_GRACE_S", "0.5")
    get_settings.cache_clear()
    job_id = enqueue(steps=1, step_s=30)  # one long step: never polls should_stop
    supervisor = _supervisor()
    thread = threading.Thread(target=supervisor.run, kwargs={"burst": True})
    thread.start()
    wait_for(lambda: _events(job_id), what="the job to start its long step")
    with db.get_sessionmaker()() as session:
        queue.request_cancel(session=session, job_id=job_id)
    thread.join(timeout=20)
    assert job(job_id).state == "cancelled" and "grace" in job(job_id).message


def test_training_kinds_record_runs(database: str, fast_queue: None, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setitem(RECORDERS, "selftest", record_runs)
    job_id = enqueue(steps=2, name="health check")
    _supervisor().run(burst=True)
    with db.get_sessionmaker()() as session:
        (run,) = session.scalars(select(Run).where(Run.job_id == job_id)).all()
    assert run.name == "health check" and run.out_dir == f"jobs/{job_id}/out"
    assert run.metrics["steps"] == 2
