"""The local backend: each job in a child process started with spawn.

Spawn, not fork: a forked child inherits the parent's CUDA state and threads, which CUDA
does not survive (docs/jobs.md). The GPU a job may use is chosen by setting
CUDA_VISIBLE_DEVICES in the environment the child starts with.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

from ml.worker.child import main


class LocalExecution:
    """A job running in a local child process."""

    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        self.process = process

    def done(self) -> bool:
        return not self.process.is_alive()

    def exit_code(self) -> int | None:
        return self.process.exitcode

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=10)


class LocalBackend:
    """Starts jobs as spawned child processes of the supervisor."""

    name = "local"

    def start(self, spec: dict[str, Any], env: dict[str, str]) -> LocalExecution:
        """Start the job's process with ``env`` added to this process's environment."""
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        try:
            process = multiprocessing.get_context("spawn").Process(
                target=main, args=(spec,), name=f"sitslab-job-{spec['job_id']}"
            )
            process.start()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        return LocalExecution(process)
