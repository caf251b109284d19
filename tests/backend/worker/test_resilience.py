"""Real worker processes: exactly-once under concurrency, and resuming after a SIGKILL."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from backend import db
from backend.config import get_settings
from backend.models import Job, JobEvent
from ml.context import LocalContext
from ml.worker import selftest
from tests.backend.worker.conftest import enqueue, job, wait_for


@pytest.mark.slow
def test_two_workers_run_each_of_fifty_jobs_exactly_once(any_database: str, spawn_worker) -> None:  # noqa: ANN001
    ids = [enqueue(steps=1, seed=i + 1) for i in range(50)]
    workers = [spawn_worker("--burst", "--concurrency", "2") for _ in range(2)]
    for worker in workers:
        assert worker.wait(timeout=240) == 0
    with db.get_sessionmaker()() as session:
        jobs = session.scalars(select(Job).order_by(Job.id)).all()
        starts = session.scalars(
            select(JobEvent.job_id).where(
                JobEvent.kind == "log", JobEvent.payload["message"].as_string().contains("attempt")
            )
        ).all()
    assert [j.id for j in jobs] == ids
    assert {j.state for j in jobs} == {"succeeded"}
    assert {j.attempts for j in jobs} == {1}
    assert sorted(starts) == ids  # one start per job: none ran twice
    assert len({j.worker_id for j in jobs}) == 2  # both workers took part


def _expected_value(tmp_path: Path, config: dict) -> int:
    ctx = LocalContext(checkpoint_dir=tmp_path / "ref-ckpt", out_dir=tmp_path / "ref-out")
    return selftest.run(ctx, snapshot=None, config=config)["value"]


@pytest.mark.slow
def test_a_killed_workers_job_resumes_elsewhere_from_its_checkpoint(
    any_database: str,
    spawn_worker,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    config = {"steps": 20, "step_s": 0.15, "seed": 3}
    job_id = enqueue(**config)
    checkpoint = get_settings().path(f"jobs/{job_id}/checkpoints/selftest.json")

    def step() -> int:
        return json.loads(checkpoint.read_text())["step"] if checkpoint.exists() else 0

    first = spawn_worker()
    wait_for(lambda: step() >= 5, what="five checkpointed steps")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    killed_at = step()
    spawn_worker()
    wait_for(
        lambda: job(job_id).state == "succeeded", timeout=90, what="the job to finish elsewhere"
    )
    done = job(job_id)
    assert done.attempts == 2
    result = json.loads(get_settings().path(f"jobs/{job_id}/out/results.json").read_text())
    assert result["resumed_at"] >= killed_at >= 5  # resumed from the checkpoint, not from 0
    assert result["value"] == _expected_value(tmp_path, config)


def test_a_stopped_worker_gives_its_job_back_to_the_queue(database: str, spawn_worker) -> None:  # noqa: ANN001
    job_id = enqueue(steps=40, step_s=0.1, seed=5)
    checkpoint = get_settings().path(f"jobs/{job_id}/checkpoints/selftest.json")
    worker = spawn_worker(stderr=subprocess.PIPE, text=True)
    wait_for(checkpoint.exists, what="a first checkpoint")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    assert f"job {job_id} given back to the queue" in worker.stderr.read()
    stopped = job(job_id)
    assert stopped.state == "queued" and stopped.attempts == 0 and stopped.lease_token is None
    assert "requeued" in stopped.message
    assert 0 < json.loads(checkpoint.read_text())["step"] < 40
