"""Training sets as the API shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from backend.models import TrainingSetPurpose


class TrainingSetOut(BaseModel):
    """A frozen snapshot: labels a run learns from, or a pre-training corpus's images."""

    id: int
    name: str
    dataset_id: int
    dataset: str
    purpose: TrainingSetPurpose
    n_patches: int
    statuses: list[str]
    created_by: int | None
    created_at: datetime
