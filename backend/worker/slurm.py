"""The SLURM backend: each job is a submitit job, tracked by the supervisor.

The supervisor keeps the lease and relays events as for local jobs; compute nodes only
need the shared data directory (events and the stop file are files in the job folder,
docs/jobs.md), never the database. Jobs are :class:`QueuedJob` instances, a submitit
``Checkpointable``: on a time-out or pre-emption SLURM requeues the same job, which
resumes from its checkpoints. ``cluster="local"`` runs the same code with submitit's
local executor (tests, a workstation without SLURM).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import submitit

from ml.worker.child import run_job

SLURM_FILE = "slurm.json"


class QueuedJob(submitit.helpers.Checkpointable):
    """What runs on the node: the job's ml code; requeued by SLURM as it is."""

    def __call__(self, spec: dict[str, Any]) -> dict[str, Any] | None:
        return run_job(spec)


class SlurmExecution:
    """A submitted submitit job."""

    def __init__(self, job: submitit.Job) -> None:
        self.job = job

    def done(self) -> bool:
        return self.job.done()

    def exit_code(self) -> int | None:
        state = self.job.state
        return 0 if state in ("COMPLETED", "FINISHED", "DONE") else 1

    def kill(self) -> None:
        self.job.cancel(check=False)


class SlurmBackend:
    """Submits jobs with submitit's AutoExecutor (``cluster=None`` detects SLURM)."""

    name = "slurm"

    def __init__(
        self,
        *,
        folder: Path,
        partition: str | None = None,
        gpus: int = 1,
        time_min: int = 24 * 60,
        cluster: str | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.cluster = cluster
        self.parameters: dict[str, Any] = {"timeout_min": time_min}
        if cluster != "local":
            self.parameters["gpus_per_node"] = gpus
            if partition:
                self.parameters["slurm_partition"] = partition

    def start(self, spec: dict[str, Any], env: dict[str, str]) -> SlurmExecution:
        """Submit the job (``env`` is ignored: SLURM chooses the GPUs of its nodes).

        A job claimed again after its supervisor died may still run on the cluster:
        its previous SLURM job is cancelled first, so two never write the same folder.
        """
        job_dir = Path(spec["job_dir"])
        self._cancel_previous(job_dir)
        executor = submitit.AutoExecutor(
            folder=self.folder / str(spec["job_id"]), cluster=self.cluster
        )
        executor.update_parameters(name=f"sitslab-{spec['job_id']}", **self.parameters)
        job = executor.submit(QueuedJob(), spec)
        (job_dir / SLURM_FILE).write_text(
            json.dumps({"job_id": str(job.job_id), "cluster": self.cluster})
        )
        return SlurmExecution(job)

    def _cancel_previous(self, job_dir: Path) -> None:
        record = job_dir / SLURM_FILE
        if not record.is_file():
            return
        previous = json.loads(record.read_text())
        if previous.get("cluster") in (None, "slurm"):
            subprocess.run(["scancel", str(previous["job_id"])], check=False, capture_output=True)
