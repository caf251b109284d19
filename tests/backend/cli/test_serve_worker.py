"""`sitslab serve` starts one embedded worker, and stops it with the server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.backend.worker.conftest import FAKE_ENV, enqueue, job, wait_for


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return (
        Path(f"/proc/{pid}").exists()
        and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
    )


@pytest.mark.slow
def test_serve_runs_queued_jobs_with_its_embedded_worker(database: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, **FAKE_ENV, "SITSLAB_EMBEDDED_WORKER": "true"}
    job_id = enqueue(steps=2)  # queued before the server starts: it is a row, not lost
    server = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "serve", "--port", str(port)], env=env
    )
    try:
        wait_for(lambda: job(job_id).state == "succeeded", timeout=90, what="the embedded worker")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health") as answer:
            assert answer.status == 200
        (worker,) = _children(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker)
