"""The supervising process of a worker: claim, start, relay, heartbeat, cancel, finish.

One loop, no threads: the supervisor never runs training code, so its heartbeats are not
starved by a busy training loop (docs/jobs.md). Every write for a job is fenced by its
lease (backend.services.queue); when a write is refused the supervisor kills the job's
process at once, because another worker now owns the job.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from backend.config import Settings
from backend.models import JobState
from backend.services import queue
from backend.services.queue import Lease, LeaseLost
from backend.worker.outcomes import RECORDERS
from backend.worker.specs import job_spec, json_safe
from ml.worker.context import JobFolder

log = logging.getLogger("sitslab.worker")


class Execution(Protocol):
    """A started job, as a backend tracks it."""

    def done(self) -> bool: ...

    def exit_code(self) -> int | None: ...

    def kill(self) -> None: ...


class Backend(Protocol):
    """Where jobs run: local child processes or SLURM."""

    name: str

    def start(self, spec: dict[str, Any], env: dict[str, str]) -> Execution: ...


class EventTail:
    """Reads the complete new lines of a job's events file (it may be half-written)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        return [json.loads(line) for line in chunk[: end + 1].splitlines() if line.strip()]


@dataclass
class Active:
    """A job this supervisor runs."""

    lease: Lease
    execution: Execution
    events: EventTail
    folder: JobFolder
    gpu: str | None
    last_beat: float = field(default_factory=time.monotonic)
    stop_sent_at: float | None = None
    ending: dict[str, Any] | None = None


class Supervisor:
    """Runs up to ``concurrency`` jobs at once, one per GPU slot when GPUs are given."""

    def __init__(
        self,
        *,
        engine: Engine,
        settings: Settings,
        backend: Backend,
        gpus: list[str] | None = None,
        concurrency: int | None = None,
        kinds: list[str] | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.settings = settings
        self.backend = backend
        self.gpus = gpus or []
        self.concurrency = concurrency or max(1, len(self.gpus))
        self.kinds = kinds
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self.active: dict[int, Active] = {}
        self._last_reap = 0.0

    # -- the loop ----------------------------------------------------------------------
    def run(self, *, burst: bool = False, should_exit=lambda: False) -> None:  # noqa: ANN001
        """Loop until ``should_exit()``; with ``burst``, also stop when the queue is empty."""
        log.info(
            "worker %s: %s backend, %d slot(s)", self.worker_id, self.backend.name, self.concurrency
        )
        try:
            while not should_exit():
                queue_empty = self.step()
                if burst and queue_empty and not self.active:
                    return
                time.sleep(
                    min(0.2, self.settings.worker_poll_s)
                    if self.active
                    else self.settings.worker_poll_s
                )
        finally:
            self.shutdown()

    def step(self) -> bool:
        """One turn: reap, claim into free slots, look after running jobs.

        Returns:
            True when a claim found the queue empty.
        """
        now = time.monotonic()
        if now - self._last_reap > self.settings.heartbeat_s:
            with self.sessions() as session:
                queue.reap(session=session)
            self._last_reap = now
        queue_empty = False
        while len(self.active) < self.concurrency and not queue_empty:
            queue_empty = not self._claim_one()
        for job_id in list(self.active):
            self._look_after(self.active[job_id])
        return queue_empty

    def shutdown(self, grace_s: float = 10.0) -> None:
        """Stop: ask running jobs to stop (they checkpoint), kill stragglers after
        ``grace_s``, and give the jobs back to the queue (they resume elsewhere)."""
        for active in self.active.values():
            active.folder.stop_file.touch()
        deadline = time.monotonic() + min(grace_s, self.settings.cancel_grace_s)
        while time.monotonic() < deadline and not all(
            a.execution.done() for a in self.active.values()
        ):
            time.sleep(0.1)
        for active in list(self.active.values()):
            active.execution.kill()
            active.folder.stop_file.unlink(missing_ok=True)
            try:
                with self.sessions() as session:
                    queue.release(
                        session=session, lease=active.lease, message="worker stopped: requeued"
                    )
                log.info("job %d given back to the queue: the worker stops", active.lease.job_id)
            except LeaseLost:
                pass
            self.active.pop(active.lease.job_id, None)

    # -- one job -----------------------------------------------------------------------
    def _claim_one(self) -> bool:
        lease = queue.claim(
            engine=self.engine,
            worker_id=self.worker_id,
            lease_s=self.settings.lease_s,
            kinds=self.kinds,
        )
        if lease is None:
            return False
        busy = {a.gpu for a in self.active.values()}
        gpu = next((g for g in self.gpus if g not in busy), self.gpus[0] if self.gpus else None)
        with self.sessions() as session:
            try:
                spec = job_spec(session=session, settings=self.settings, lease=lease)
            except ValueError as exc:
                queue.finish(session=session, lease=lease, state=JobState.failed, error=str(exc))
                session.commit()
                return True
        folder = JobFolder(Path(spec["job_dir"]))
        folder.root.mkdir(parents=True, exist_ok=True)
        folder.stop_file.unlink(missing_ok=True)
        env = {"CUDA_VISIBLE_DEVICES": gpu} if gpu is not None else {}
        try:
            execution = self.backend.start(spec, env)
        except Exception as exc:  # noqa: BLE001 - e.g. sbatch refused the job
            log.exception("job %d could not be started", lease.job_id)
            with self.sessions() as session:
                error = f"The {self.backend.name} backend could not start the job: {exc}"
                queue.finish(session=session, lease=lease, state=JobState.failed, error=error)
                session.commit()
            return True
        self.active[lease.job_id] = Active(
            lease, execution, EventTail(folder.events(lease.attempt)), folder, gpu
        )
        log.info("job %d (%s) attempt %d started", lease.job_id, lease.kind, lease.attempt)
        return True

    def _look_after(self, active: Active) -> None:
        try:
            self._relay(active)
            if time.monotonic() - active.last_beat >= self.settings.heartbeat_s:
                self._heartbeat(active)
            if active.execution.done():
                self._relay(active)
                self._finish(active)
            elif active.stop_sent_at is not None and (
                time.monotonic() - active.stop_sent_at > self.settings.cancel_grace_s
            ):
                log.warning("job %d ignored the stop request: killing it", active.lease.job_id)
                active.execution.kill()
                self._write_end(
                    active, JobState.cancelled, None, "cancelled (killed after the grace period)"
                )
        except LeaseLost as lost:
            log.warning("%s: killing the job's process", lost)
            active.execution.kill()
            self.active.pop(active.lease.job_id, None)

    def _relay(self, active: Active) -> None:
        events = []
        for event in active.events.read():
            kind = event.pop("kind", "log")
            if kind in ("result", "error"):
                active.ending = {"kind": kind, **event}
            else:
                events.append((kind, json_safe(event)))
        if events:
            with self.sessions() as session:
                queue.add_events(session=session, lease=active.lease, events=events)

    def _heartbeat(self, active: Active) -> None:
        with self.sessions() as session:
            cancel = queue.heartbeat(
                session=session, lease=active.lease, lease_s=self.settings.lease_s
            )
        active.last_beat = time.monotonic()
        if cancel and active.stop_sent_at is None:
            active.folder.stop_file.touch()
            active.stop_sent_at = time.monotonic()
            log.info("job %d: cancel requested, stop file written", active.lease.job_id)

    def _finish(self, active: Active) -> None:
        ending = active.ending or {}
        if ending.get("kind") == "result":
            result = ending.get("result") or {}
            if result.get("status") == "cancelled":
                self._write_end(active, JobState.cancelled, None, "cancelled")
            else:
                self._write_end(active, JobState.succeeded, None, "done", result=result)
        elif ending.get("kind") == "error":
            trace = str(ending.get("traceback", ""))
            self._write_end(active, JobState.failed, trace, trace.strip().splitlines()[-1])
        elif active.stop_sent_at is not None:
            self._write_end(active, JobState.cancelled, None, "cancelled")
        else:
            code = active.execution.exit_code()
            error = f"The job's process ended with exit code {code} and no result."
            self._write_end(active, JobState.failed, error, error)

    def _write_end(
        self,
        active: Active,
        state: JobState,
        error: str | None,
        message: str,
        result: dict[str, Any] | None = None,
    ) -> None:
        lease = active.lease
        if error:
            with self.sessions() as session:
                queue.add_events(
                    session=session,
                    lease=lease,
                    events=[("log", {"level": "ERROR", "message": error})],
                )
        with self.sessions() as session:
            try:
                recorder = RECORDERS.get(lease.kind)
                if result is not None and recorder is not None:
                    recorder(session, lease, result)
                queue.finish(
                    session=session, lease=lease, state=state, error=error, message=message
                )
                session.commit()
            except LeaseLost:
                raise
            except Exception as exc:  # noqa: BLE001 - a bad result fails the job, not the worker
                session.rollback()
                log.exception("job %d: recording its result failed", lease.job_id)
                self._write_end(
                    active, JobState.failed, f"Recording the result failed: {exc!r}", str(exc)
                )
                return
        self.active.pop(lease.job_id, None)
        if state == JobState.failed:
            log.warning("job %d ended failed: %s", lease.job_id, message)
        else:
            log.info("job %d ended %s", lease.job_id, state.value)
