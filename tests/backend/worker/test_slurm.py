"""The SLURM backend with submitit: its local executor, and a fake sbatch/sacct/scancel/srun."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from submitit.slurm.slurm import SlurmJob

from backend import db
from backend.config import get_settings
from backend.worker.slurm import SlurmBackend
from backend.worker.supervisor import Supervisor
from tests.backend.worker.conftest import enqueue, job

FAKES = {
    # Runs the batch script in the background, in its own session, as a node would.
    "sbatch": r"""#!/bin/bash
dir="$FAKE_SLURM_DIR"
id=$(( $(cat "$dir/next" 2>/dev/null || echo 100) + 1 )); echo $id > "$dir/next"
script="${@: -1}"; cp "$script" "$dir/$id.sbatch"; echo RUNNING > "$dir/$id.state"
run="bash '$script' > '$dir/$id.out' 2>&1"
end="echo COMPLETED > '$dir/$id.state' || echo FAILED > '$dir/$id.state'"
SLURM_JOB_ID=$id SLURM_PROCID=0 SLURM_LOCALID=0 SLURM_NTASKS=1 SLURM_JOB_NUM_NODES=1 \
  SLURM_NODEID=0 SLURM_JOB_NODELIST=localhost \
  setsid bash -c "$run && $end" < /dev/null > /dev/null 2>&1 &
echo $! > "$dir/$id.pid"
echo "Submitted batch job $id"
""",
    "srun": r"""#!/bin/bash
while [[ "$1" == --* ]]; do case "$1" in --unbuffered) shift;; *) shift 2;; esac; done
exec "$@"
""",
    "sacct": r"""#!/bin/bash
while [ $# -gt 0 ]; do [ "$1" = "-j" ] && ids="$2"; shift; done
echo "JobID|State|NodeList"
for id in ${ids//,/ }; do
  echo "$id|$(cat "$FAKE_SLURM_DIR/$id.state" 2>/dev/null || echo PENDING)|localhost"
done
""",
    "scancel": r"""#!/bin/bash
for id in "$@"; do
  [[ "$id" == -* ]] && continue
  kill -TERM -- -"$(cat "$FAKE_SLURM_DIR/$id.pid")" 2>/dev/null
  echo CANCELLED > "$FAKE_SLURM_DIR/$id.state"
  echo "$id" >> "$FAKE_SLURM_DIR/cancelled"
done
""",
}


@pytest.fixture
def fake_slurm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """sbatch, srun, sacct and scancel stand-ins first on PATH; returns their state folder.

    Every test's fake numbers its jobs from 101, and submitit keeps one state cache for
    all SLURM jobs of a process: a job 101 seen finished by an earlier test would make
    this test's job 101 look done before it started. The cache is emptied first.
    """
    SlurmJob.watcher.clear()
    bin_dir, state = tmp_path / "bin", tmp_path / "slurm-state"
    bin_dir.mkdir()
    state.mkdir()
    for name, text in FAKES.items():
        path = bin_dir / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SLURM_DIR", str(state))
    return state


def _run(backend: SlurmBackend) -> None:
    Supervisor(engine=db.get_engine(), settings=get_settings(), backend=backend).run(burst=True)


def test_submitit_local_executor_runs_a_job(
    database: str, fast_queue: None, tmp_path: Path
) -> None:
    job_id = enqueue(steps=3)
    _run(SlurmBackend(folder=tmp_path / "submitit", cluster="local"))
    done = job(job_id)
    assert done.state == "succeeded", done.error
    assert (
        json.loads(get_settings().path(f"jobs/{job_id}/out/results.json").read_text())["steps"] == 3
    )


def test_sbatch_submission_with_partition_gpus_and_time(
    database: str, fast_queue: None, fake_slurm: Path, tmp_path: Path
) -> None:
    job_id = enqueue(steps=2)
    _run(
        SlurmBackend(
            folder=tmp_path / "submitit", partition="gpu", gpus=2, time_min=90, cluster="slurm"
        )
    )
    done = job(job_id)
    assert done.state == "succeeded", done.error
    (script,) = fake_slurm.glob("*.sbatch")
    text = script.read_text()
    for flag in [
        "--partition=gpu",
        "--gpus-per-node=2",
        "--time=90",
        f"--job-name=sitslab-{job_id}",
    ]:
        assert flag in text, text
    record = json.loads(get_settings().path(f"jobs/{job_id}/slurm.json").read_text())
    assert record["job_id"] == script.stem


def test_a_reclaimed_job_cancels_its_previous_slurm_job(
    database: str, fast_queue: None, fake_slurm: Path, tmp_path: Path
) -> None:
    job_id = enqueue(steps=1)
    folder = get_settings().path(f"jobs/{job_id}")
    folder.mkdir(parents=True)
    (folder / "slurm.json").write_text(json.dumps({"job_id": "77", "cluster": "slurm"}))
    (fake_slurm / "77.pid").write_text("999999")
    _run(SlurmBackend(folder=tmp_path / "submitit", cluster="slurm"))
    done = job(job_id)
    assert done.state == "succeeded", done.error
    assert (fake_slurm / "cancelled").read_text().split() == ["77"]
