"""The small object every ml job receives instead of the queue.

The worker (ml.worker) builds one per job; tests and the CLI build a local one. The
training code only ever calls these methods, so it runs the same inside the queue, on
SLURM, or in a notebook.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class JobContext(Protocol):
    """What a running job may tell the outside world, and ask of it."""

    checkpoint_dir: Path
    out_dir: Path
    logger: logging.Logger

    def progress(self, fraction: float, message: str = "") -> None:
        """Report overall progress in [0, 1] with a short human message."""

    def metric(self, name: str, value: float, step: int) -> None:
        """Record one point of a metric curve (loss, val_mF1, ...)."""

    def should_stop(self) -> bool:
        """True once cancellation was asked: save a checkpoint and return."""


@dataclass
class LocalContext:
    """A context for tests, the CLI and notebooks: keeps events in memory."""

    checkpoint_dir: Path
    out_dir: Path
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("sitslab.job"))
    progress_events: list[tuple[float, str]] = field(default_factory=list)
    metrics: list[tuple[str, float, int]] = field(default_factory=list)
    stop_event: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.checkpoint_dir = Path(self.checkpoint_dir)
        self.out_dir = Path(self.out_dir)
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        self.out_dir.mkdir(parents=True, exist_ok=True)

    def progress(self, fraction: float, message: str = "") -> None:
        self.progress_events.append((float(fraction), message))

    def metric(self, name: str, value: float, step: int) -> None:
        self.metrics.append((name, float(value), int(step)))

    def should_stop(self) -> bool:
        return self.stop_event.is_set()
