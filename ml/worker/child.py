"""The entry point of a job's process: build the context, run the kind, report the end.

The supervisor starts :func:`main` in a child process (spawn) or submits it to SLURM. The
spec is plain JSON so it crosses process and machine boundaries:
``{"job_id", "kind", "attempt", "job_dir", "snapshot" (path or None), "config" (dict),
"cpu_threads" (int, or None for every core)}``.
The last line of the events file says how the job ended: ``result`` (the dict the kind
returned) or ``error`` (the traceback).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from ml.worker.context import EventLogHandler, EventWriter, FileContext, JobFolder
from ml.worker.kinds import resolve


def limit_cpu_threads(threads: int | None) -> None:
    """Hold this process to ``threads`` CPU threads: torch's pool and the forest's joblib
    workers. Torch starts one thread per core and each operation waits for its slowest
    thread, so a job sharing its cores with other processes runs faster on fewer threads.
    None leaves every core to the job."""
    if threads is None:
        return
    import torch

    torch.set_num_threads(threads)
    os.environ["LOKY_MAX_CPU_COUNT"] = str(threads)


def run_job(spec: dict[str, Any]) -> dict[str, Any] | None:
    """Run one job from its spec; returns the result, or None when the job raised."""
    folder = JobFolder(Path(spec["job_dir"]))
    writer = EventWriter(folder.events(int(spec["attempt"])))
    handler = EventLogHandler(writer)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        ctx = FileContext(folder=folder, writer=writer)
        threads = spec.get("cpu_threads")
        limit_cpu_threads(threads)
        ctx.logger.info(
            "job %s (%s), attempt %s, on %s",
            spec["job_id"],
            spec["kind"],
            spec["attempt"],
            f"{threads} CPU thread{'s' * (threads > 1)}" if threads else "every CPU core",
        )
        snapshot = Path(spec["snapshot"]) if spec.get("snapshot") else None
        result = resolve(spec["kind"])(ctx, snapshot=snapshot, config=dict(spec.get("config", {})))
        writer.write("result", result=result)
        return result
    except BaseException:  # noqa: BLE001 - any failure, even KeyboardInterrupt, is reported
        writer.write("error", traceback=traceback.format_exc())
        return None
    finally:
        root.removeHandler(handler)
        writer.close()


def _exit_with_parent(parent: int, every_s: float = 0.5) -> None:
    """End this process when the supervisor dies: a SIGKILLed worker must not leave an
    orphan writing checkpoints while another worker resumes the same job."""
    while True:
        time.sleep(every_s)
        if os.getppid() != parent:
            os._exit(3)


def main(spec: dict[str, Any]) -> None:
    """Process target: exit status 0 when the job returned, 1 when it raised."""
    watchdog = threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True)
    watchdog.start()
    if run_job(spec) is None:
        raise SystemExit(1)
