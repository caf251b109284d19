"""The job queue (the database is the queue), job events, training sets and runs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, created_column


class JobState(StrEnum):
    """Life of a job; only queued jobs are claimed, only running ones hold a lease."""

    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


class JobKind(StrEnum):
    """What a worker can run."""

    pretrain = "pretrain"
    finetune = "finetune"
    train_rf = "train_rf"
    evaluate = "evaluate"
    predict_map = "predict_map"
    compare = "compare"


class TrainingSetPurpose(StrEnum):
    """What a training set was frozen for, which decides what may read it."""

    labels = "labels"
    """Reviewed labels a run learns from and is scored on."""
    corpus = "corpus"
    """Images a pre-training learns from; their labels were never checked."""


class TrainingSet(Base):
    """A frozen snapshot of validated labels (which patch, which revision) a run trains on,
    or of a pre-training corpus's images."""

    __tablename__ = "training_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    name: Mapped[str] = mapped_column(String(200))
    file: Mapped[str] = mapped_column(String(500), doc="snapshot JSON, relative to data dir")
    n_patches: Mapped[int]
    statuses: Mapped[list[Any]] = mapped_column(doc="patch statuses included")
    purpose: Mapped[str] = mapped_column(
        String(20),
        default=TrainingSetPurpose.labels.value,
        server_default=TrainingSetPurpose.labels.value,
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_column()


class Job(Base):
    """A unit of work for the ml worker, with a lease that heartbeats renew."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claim", "state", "priority", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(20), default=JobState.queued.value)
    priority: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    lease_token: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    worker_id: Mapped[str | None] = mapped_column(String(200))
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    progress: Mapped[float] = mapped_column(default=0.0)
    message: Mapped[str] = mapped_column(String(500), default="")
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_column()
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class JobEvent(Base):
    """Progress, log lines and metric points of a job, streamed to browsers in id order."""

    __tablename__ = "job_events"
    __table_args__ = (Index("ix_job_events_job_id_id", "job_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = created_column()


class Run(Base):
    """A trained model or an evaluation: what it trained on, how, and its metrics."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    training_set_id: Mapped[int | None] = mapped_column(ForeignKey("training_sets.id"))
    params: Mapped[dict[str, Any]]
    metrics: Mapped[dict[str, Any] | None]
    out_dir: Mapped[str] = mapped_column(String(500), doc="relative to the data directory")
    created_at: Mapped[datetime] = created_column()
