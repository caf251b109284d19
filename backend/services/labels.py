"""Label revisions of a patch: which one is current, reading one as an array."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.errors import NotFound
from backend.models import LabelRevision, Nomenclature, Patch
from backend.services.nomenclatures import to_ml
from ml import nomenclature as ml_nomenclature
from ml.data import store


def get_patch(*, session: Session, patch_id: int) -> Patch:
    """The patch, or a 404 naming the id."""
    patch = session.get(Patch, patch_id)
    if patch is None:
        raise NotFound(f"No patch with id {patch_id}.")
    return patch


def current_revision(*, session: Session, patch_id: int) -> LabelRevision | None:
    """The newest revision (highest version); the older ones are kept as history."""
    return session.scalar(
        select(LabelRevision)
        .where(LabelRevision.patch_id == patch_id)
        .order_by(LabelRevision.version.desc())
        .limit(1)
    )


def revision_of(*, session: Session, patch: Patch, revision_id: int) -> LabelRevision:
    """A revision that belongs to this patch, or a 404."""
    revision = session.get(LabelRevision, revision_id)
    if revision is None or revision.patch_id != patch.id:
        raise NotFound(f"Patch {patch.id} has no label revision {revision_id}.")
    return revision


def read_revision(revision: LabelRevision) -> np.ndarray:
    """The (H, W) uint8 class codes of a revision."""
    return store.read_label(get_settings().path(revision.file))


def patch_nomenclature(*, session: Session, patch: Patch) -> ml_nomenclature.Nomenclature:
    """The nomenclature of the patch's dataset, as the ml package sees it."""
    return to_ml(session.get(Nomenclature, patch.dataset.nomenclature_id))
