"""Review campaigns, who reviews what, and the append-only validation decisions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, created_column


class DecisionKind(StrEnum):
    """What an annotator said about a patch's label; `undo` retracts the target decision."""

    accept = "accept"
    reject = "reject"
    uncertain = "uncertain"
    skip = "skip"
    correct = "correct"
    undo = "undo"


class Campaign(Base):
    """A review campaign over a dataset (or a filter of it) with an overlap of N annotators."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    overlap: Mapped[int] = mapped_column(default=1)
    filter: Mapped[dict[str, Any]] = mapped_column(default=dict)
    order: Mapped[str] = mapped_column(String(20), default="suspicion")
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_column()


class Assignment(Base):
    """A patch to be reviewed by one annotator in a campaign; `position` orders the queue."""

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("campaign_id", "patch_id", "user_id"),
        Index("ix_assignments_queue", "user_id", "done", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    patch_id: Mapped[int] = mapped_column(ForeignKey("patches.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    position: Mapped[int] = mapped_column(default=0)
    done: Mapped[bool] = mapped_column(default=False)
    is_gold: Mapped[bool] = mapped_column(default=False)
    gold_answer: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = created_column()


class Decision(Base):
    """One validation decision; rows are only ever inserted (full history)."""

    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_patch_created", "patch_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patch_id: Mapped[int] = mapped_column(ForeignKey("patches.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    kind: Mapped[str] = mapped_column(String(20))
    label_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("label_revisions.id"), doc="the revision that was judged"
    )
    new_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("label_revisions.id"), doc="the correction this decision saved"
    )
    undoes_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    comment: Mapped[str] = mapped_column(String(2000), default="")
    confidence: Mapped[int | None]
    time_spent_ms: Mapped[int | None]
    view: Mapped[str | None] = mapped_column(String(20))
    date_shown: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = created_column()
