"""Requests and answers of the review queue and the decision API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from backend.schemas.patches import DecisionOut


class DecisionIn(BaseModel):
    """A judgement on the label revision shown; `undo` retracts the user's last decision."""

    patch_id: int | None = Field(None, description="required except for undo")
    kind: Literal["accept", "reject", "uncertain", "skip", "undo"]
    label_revision_id: int | None = Field(
        None, description="the revision judged (default: current)"
    )
    comment: str = Field("", max_length=2000)
    confidence: int | None = Field(None, ge=1, le=5)
    time_spent_ms: int | None = Field(None, ge=0, le=24 * 3600 * 1000)
    view: Literal["true", "false", "ndvi"] | None = None
    date_shown: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$")


class DecisionResult(BaseModel):
    """The stored decision and the patch's status it led to."""

    decision: DecisionOut
    patch_status: str


class QueueEntry(BaseModel):
    """A patch in the user's queue."""

    patch_id: int
    assignment_id: int
    campaign_id: int
    position: int


class NextOut(BaseModel):
    """The patch to review now (None when the queue is empty) and the ones to prefetch."""

    current: QueueEntry | None
    upcoming: list[QueueEntry]
    remaining: int
