"""Worker fixtures: short leases and heartbeats, and helpers to wait on jobs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backend import db
from backend.config import get_settings
from backend.models import Job
from backend.services import queue

FAKE_ENV = FAST = {
    "SITSLAB_LEASE_S": "2",
    "SITSLAB_HEARTBEAT_S": "0.3",
    "SITSLAB_WORKER_POLL_S": "0.1",
    "SITSLAB_CANCEL_GRACE_S": "3",
}
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def fast_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    """Leases of 2 s renewed every 0.3 s, so lost workers are noticed within seconds."""
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()


def enqueue(kind: str = "selftest", **params: object) -> int:
    """Queue one job with these parameters; returns its id."""
    with db.get_sessionmaker()() as session:
        return queue.enqueue(session=session, kind=kind, params=dict(params)).id


def job(job_id: int) -> Job:
    """A fresh copy of the job row."""
    with db.get_sessionmaker()() as session:
        return session.get(Job, job_id)


def wait_for(condition: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    """Poll ``condition`` every 0.1 s; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def spawn_worker(fast_queue: None) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start `sitslab worker` processes (terminated, then killed, at the end of the test)."""
    procs: list[subprocess.Popen] = []

    def _start(*args: str, **popen: object) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "worker", *args],
            cwd=ROOT,
            env=dict(os.environ),
            **popen,
        )
        procs.append(proc)
        return proc

    yield _start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
