"""Queue overhead and live-progress latency.

1. Claims per second: N worker processes (default 4) claim, event and finish jobs as fast
   as they can (claim + one fenced event write + fenced finish per job: the queue's whole
   cost per job, no job code), on SQLite and on PostgreSQL.
2. Enqueue to start: a real `Supervisor` (local backend, spawned job processes) polling
   every SITSLAB_WORKER_POLL_S; time from enqueue to the job's first event (its process
   is up), and to the claim.
3. SSE latency: a job event written under the lease to the moment an HTTP client reading
   /api/v1/jobs/{id}/stream (uvicorn, full stack) receives it.

    .venv/bin/python bench/bench_queue.py [--jobs 400] [--workers 4] [--no-postgres]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PG_ADMIN = os.environ.get(
    "SITSLAB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def use_database(data_dir: Path, url: str) -> None:
    """Point settings at a fresh, migrated database."""
    from backend import db
    from backend.config import get_settings
    from backend.services import migrations

    os.environ.update(
        SITSLAB_DATA_DIR=str(data_dir), SITSLAB_DATABASE_URL=url, SITSLAB_ENV="test",
        SITSLAB_EMBEDDED_WORKER="false", SITSLAB_WORKER_POLL_S="0.2", SITSLAB_HEARTBEAT_S="1",
    )  # fmt: skip
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.get_sessionmaker.cache_clear()
    migrations.upgrade(url)


def _drain(url: str, name: str, start: float, out: multiprocessing.Queue) -> None:
    from sqlalchemy.orm import sessionmaker

    from backend.db import make_engine
    from backend.models import JobState
    from backend.services import queue

    engine = make_engine(url)
    sessions = sessionmaker(engine)
    while time.time() < start:
        time.sleep(0.001)
    done = 0
    while (lease := queue.claim(engine=engine, worker_id=name, lease_s=60)) is not None:
        with sessions() as session:
            queue.add_events(session=session, lease=lease, events=[("progress", {"fraction": 1.0})])
            queue.finish(session=session, lease=lease, state=JobState.succeeded)
            session.commit()
        done += 1
    out.put((done, time.time()))
    engine.dispose()


def claims_per_second(url: str, n_jobs: int, n_workers: int) -> tuple[float, list[int]]:
    """Jobs per second through claim + event + finish with n_workers processes."""
    from backend import db
    from backend.models import Job

    with db.get_sessionmaker()() as session:
        session.execute(sa.insert(Job), [{"kind": "selftest", "params": {}} for _ in range(n_jobs)])
        session.commit()
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start = time.time() + 3  # let every process import and connect first
    procs = [ctx.Process(target=_drain, args=(url, f"w{i}", start, out)) for i in range(n_workers)]
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    counts = [n for n, _ in results]
    assert sum(counts) == n_jobs, counts
    return n_jobs / (max(t for _, t in results) - start), counts


def enqueue_to_start(n: int) -> tuple[list[float], list[float]]:
    """Seconds from enqueue to claim and to the job's first event, with a live Supervisor."""
    from backend import db
    from backend.config import get_settings
    from backend.models import Job, JobEvent
    from backend.services import queue
    from backend.worker.local import LocalBackend
    from backend.worker.supervisor import Supervisor

    stop = threading.Event()
    sup = Supervisor(engine=db.get_engine(), settings=get_settings(), backend=LocalBackend())
    thread = threading.Thread(target=sup.run, kwargs={"should_exit": stop.is_set})
    thread.start()
    to_claim, to_event = [], []
    for _ in range(n):
        with db.get_sessionmaker()() as session:
            t0 = time.time()
            job = queue.enqueue(session=session, kind="selftest", params={"steps": 1})
            while True:
                time.sleep(0.01)
                session.expire_all()
                first = session.scalar(
                    sa.select(sa.func.min(JobEvent.created_at)).where(JobEvent.job_id == job.id)
                )
                if first is not None:
                    break
            started = queue.as_utc(session.get(Job, job.id).started_at).timestamp()
            to_claim.append(started - t0)
            to_event.append(queue.as_utc(first).timestamp() - t0)
            while session.get(Job, job.id).state == "running":
                time.sleep(0.02)
                session.expire_all()
    stop.set()
    thread.join()
    return to_claim, to_event


def sse_latency(n: int) -> list[float]:
    """Seconds from a fenced event write to an SSE client receiving it (uvicorn, full stack)."""
    import httpx
    import uvicorn

    from backend import db
    from backend.app import create_app
    from backend.services import queue
    from backend.services.users import create_user

    with db.get_sessionmaker()() as session:
        create_user(session=session, username="bench", role="reviewer", password="bench-password-1")
        job = queue.enqueue(session=session, kind="selftest", params={})
    lease = queue.claim(engine=db.get_engine(), worker_id="bench", lease_s=600)
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=8199, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    latencies: list[float] = []
    with httpx.Client(base_url="http://127.0.0.1:8199", timeout=30) as client:
        client.post(
            "/api/v1/auth/login", json={"username": "bench", "password": "bench-password-1"}
        )

        def write() -> None:
            time.sleep(1)
            for i in range(n):
                with db.get_sessionmaker()() as session:
                    queue.add_events(
                        session=session,
                        lease=lease,
                        events=[("log", {"message": str(i), "t": time.time()})],
                    )
                time.sleep(0.137)  # not a multiple of the stream's poll period

        threading.Thread(target=write, daemon=True).start()
        with client.stream("GET", f"/api/v1/jobs/{job.id}/stream") as stream:
            for line in stream.iter_lines():
                if line.startswith("data: ") and '"t": ' in line:
                    latencies.append(time.time() - json.loads(line[6:])["t"])
                    if len(latencies) == n:
                        break
    server.should_exit = True
    return latencies


def summary(seconds: list[float]) -> str:
    """Median, p95 and max in milliseconds."""
    p95 = (
        statistics.quantiles(seconds, n=20, method="inclusive")[-1]
        if len(seconds) > 1
        else seconds[0]
    )
    ms = [1000 * v for v in (statistics.median(seconds), p95, max(seconds))]
    return f"median {ms[0]:6.0f} ms   p95 {ms[1]:6.0f} ms   max {ms[2]:6.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--events", type=int, default=60)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    print(f"{'database':<11} {'workers':>7} {'jobs':>6} {'jobs/s':>8}  per-worker jobs")
    databases = ["sqlite"] if args.no_postgres else ["sqlite", "postgresql"]
    with tempfile.TemporaryDirectory() as tmp:
        for name in databases:
            data = Path(tmp) / name
            data.mkdir()
            if name == "sqlite":
                url = f"sqlite:///{data / 'sitslab.db'}"
            else:
                db_name = f"sitslab_bench_{uuid.uuid4().hex[:8]}"
                admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(sa.text(f'CREATE DATABASE "{db_name}"'))
                url = PG_ADMIN.rsplit("/", 1)[0] + f"/{db_name}"
            use_database(data, url)
            rate, counts = claims_per_second(url, args.jobs, args.workers)
            print(f"{name:<11} {args.workers:>7} {args.jobs:>6} {rate:>8.0f}  {counts}")
            if name == "sqlite":
                claim, event = enqueue_to_start(args.starts)
                sse = sse_latency(args.events)
            from backend import db

            db.get_engine().dispose()
            if name == "postgresql":
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
    print(f"\nenqueue -> start (SQLite, one supervisor polling every 0.2 s, {args.starts} jobs)")
    print(f"  to claim:          {summary(claim)}")
    print(f"  to job process up: {summary(event)}")
    print(f"\nSSE: event written -> client received ({len(sse)} events, stream polls every 0.5 s)")
    print(f"  {summary(sse)}")


if __name__ == "__main__":
    main()
