"""A job's process: held to the CPU threads its spec gives, so jobs sharing cores keep pace."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import joblib
import pytest
import torch

from ml.worker.child import run_job


@pytest.fixture
def restored_threads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test process's torch threads and joblib's core count, given back afterwards."""
    monkeypatch.delenv("LOKY_MAX_CPU_COUNT", raising=False)
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _selftest_spec(job_dir: Path, cpu_threads: int | None) -> dict:
    return {
        "job_id": 7,
        "kind": "selftest",
        "attempt": 1,
        "job_dir": str(job_dir),
        "snapshot": None,
        "config": {"steps": 1},
        "cpu_threads": cpu_threads,
    }


def _first_log(job_dir: Path) -> str:
    events = (json.loads(line) for line in (job_dir / "events-1.jsonl").read_text().splitlines())
    return next(e["message"] for e in events if e["kind"] == "log")


def test_a_job_runs_on_the_cpu_threads_its_spec_gives(tmp_path: Path, restored_threads) -> None:  # noqa: ANN001
    torch.set_num_threads(2)
    assert run_job(_selftest_spec(tmp_path, cpu_threads=1))["steps"] == 1
    assert torch.get_num_threads() == 1
    assert joblib.effective_n_jobs(-1) == 1  # the forest's n_jobs=-1
    assert _first_log(tmp_path).endswith("job 7 (selftest), attempt 1, on 1 CPU thread")


def test_without_a_limit_a_job_keeps_every_core(tmp_path: Path, restored_threads) -> None:  # noqa: ANN001
    torch.set_num_threads(2)
    assert run_job(_selftest_spec(tmp_path, cpu_threads=None))["steps"] == 1
    assert torch.get_num_threads() == 2
    assert joblib.effective_n_jobs(-1) == joblib.cpu_count()
    assert _first_log(tmp_path).endswith("on every CPU core")
