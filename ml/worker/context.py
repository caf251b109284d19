"""The job context of a queued job: events go to a JSON-lines file, stop is a file.

Files rather than a pipe because the same job may run on a SLURM node that cannot reach
the database (docs/jobs.md): the supervisor tails ``events-<attempt>.jsonl`` and relays
each line into the job's events, and asks the job to stop by creating ``STOP``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

PROGRESS_EVERY_S = 0.25


@dataclass(frozen=True)
class JobFolder:
    """The layout of data_dir/jobs/<job_id>/ shared by the supervisor and the job."""

    root: Path

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def stop_file(self) -> Path:
        return self.root / "STOP"

    def events(self, attempt: int) -> Path:
        """One events file per attempt, so a requeued job never re-reads old lines."""
        return self.root / f"events-{attempt}.jsonl"


class EventWriter:
    """Appends one JSON object per line and flushes, so a reader sees whole lines only."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO = path.open("a", encoding="utf-8")

    def write(self, kind: str, **payload: Any) -> None:
        self._file.write(json.dumps({"kind": kind, **payload}, default=str) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class EventLogHandler(logging.Handler):
    """Sends log records to the job's events, so the job page shows the live log."""

    def __init__(self, writer: EventWriter) -> None:
        super().__init__(logging.INFO)
        self.writer = writer
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.writer.write("log", level=record.levelname, message=self.format(record))
        except Exception:  # noqa: BLE001 - logging must never break the job
            self.handleError(record)


@dataclass
class FileContext:
    """ml.context.JobContext for a queued job (see the module docstring)."""

    folder: JobFolder
    writer: EventWriter
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("sitslab.job"))
    _last_progress: float = 0.0

    def __post_init__(self) -> None:
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        self.out_dir.mkdir(parents=True, exist_ok=True)

    @property
    def checkpoint_dir(self) -> Path:
        return self.folder.checkpoints

    @property
    def out_dir(self) -> Path:
        return self.folder.out

    def progress(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - self._last_progress < PROGRESS_EVERY_S:
            return
        self._last_progress = now
        self.writer.write("progress", fraction=float(fraction), message=message)

    def metric(self, name: str, value: float, step: int) -> None:
        self.writer.write("metric", name=name, value=float(value), step=int(step))

    def should_stop(self) -> bool:
        return self.folder.stop_file.exists()
