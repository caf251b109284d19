"""Read-side queries over datasets and patches."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.models import Dataset, Patch
from backend.schemas.datasets import DatasetOut, PatchSummary


def dataset_out(*, session: Session, dataset: Dataset) -> DatasetOut:
    """A dataset with its counts, computed in two grouped queries."""
    by_status = dict(
        session.execute(
            select(Patch.status, func.count())
            .where(Patch.dataset_id == dataset.id)
            .group_by(Patch.status)
        ).all()
    )
    by_split = dict(
        session.execute(
            select(Patch.split, func.count())
            .where(Patch.dataset_id == dataset.id)
            .group_by(Patch.split)
        ).all()
    )
    return DatasetOut(
        id=dataset.id,
        name=dataset.name,
        format=dataset.format,
        nomenclature_id=dataset.nomenclature_id,
        bands=dataset.bands,
        n_patches=sum(by_status.values()),
        by_status=by_status,
        by_split=by_split,
    )


def patch_summary(patch: Patch) -> PatchSummary:
    """Listing form of a patch."""
    return PatchSummary(
        id=patch.id,
        external_id=patch.external_id,
        tile=patch.tile,
        split=patch.split,
        status=patch.status,
        suspicion=patch.suspicion,
        height=patch.height,
        width=patch.width,
        n_dates=len(patch.dates),
    )
