"""Seeded builders of small datasets, campaigns and decisions for the quality-control tests.

Patches are written through the real store (series .npy, label GeoTIFFs, by the review
tests' factory) so that exports and agreement read real files; decisions and corrections go
through the same services as the API's.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.models import Dataset, Decision, LabelRevision, Patch, User
from backend.services.corrections import save_correction
from backend.services.decisions import decide
from backend.services.labels import current_revision
from ml.data import store
from tests.review_factory import make_patches


def make_dataset(session: Session, *, n_patches: int = 6, size: int = 16, seed: int = 0) -> Dataset:
    """The review tests' tiny patches, given polygon footprints (EPSG:4326), splits, blocks and
    a suspicion decreasing with the patch id."""
    patches = make_patches(session, n=n_patches, size=size, n_dates=3, seed=seed)
    for i, patch in enumerate(patches):
        lon, lat = 1.40 + i * 0.002, 43.60
        corners = [[lon, lat], [lon + 0.002, lat], [lon + 0.002, lat + 0.0015], [lon, lat + 0.0015]]
        patch.footprint = {"type": "Polygon", "coordinates": [[*corners, corners[0]]]}
        patch.split = ("train", "val", "test")[i % 3]
        patch.block = f"b{i % 2}"
        patch.tile = "31TCJ"
        patch.suspicion = 1.0 - i / n_patches
    session.commit()
    return session.get(Dataset, patches[0].dataset_id)


def correct(session: Session, user: User, patch: Patch, labels: np.ndarray) -> LabelRevision:
    """An annotator's correction through the correction service (raw uint8 mask)."""
    current = current_revision(session=session, patch_id=patch.id)
    return save_correction(
        session=session,
        user=user,
        patch_id=patch.id,
        base_revision_id=current.id,
        content=np.ascontiguousarray(labels, dtype=np.uint8).tobytes(),
        time_spent_ms=9000,
    )


def judge(session: Session, user: User, patch_id: int, kind: str, time_ms: int = 4000) -> Decision:
    """An accept / reject / uncertain / skip through the decision service."""
    return decide(session=session, user=user, patch_id=patch_id, kind=kind, time_spent_ms=time_ms)


def label_of(session: Session, patch: Patch, version: int = 1) -> np.ndarray:
    """The class codes of one revision of the patch."""
    revision = session.scalar(
        select(LabelRevision).where(
            LabelRevision.patch_id == patch.id, LabelRevision.version == version
        )
    )
    return store.read_label(get_settings().path(revision.file))


def two_annotator_campaign(session: Session, make_user, dataset: Dataset | None = None) -> dict:  # noqa: ANN001
    """Two annotators on five patches (overlap 2, the last one gold "reject"), decided as:

    p0 accept/accept, p1 accept/reject, p2 two different corrections, p3 reject/reject
    (the second annotator accepted first, then undid it), p4 (gold) reject/accept.
    `dataset` (five patches or more) defaults to five tiny seeded patches.
    """
    from backend.services.campaigns import create_campaign
    from backend.services.decisions import undo_last

    dataset = dataset or make_dataset(session, n_patches=5)
    a, b = make_user("annotator_a"), make_user("annotator_b")
    p = sorted(dataset.patches, key=lambda x: x.id)
    campaign = create_campaign(
        session=session,
        name="qc",
        dataset_id=dataset.id,
        overlap=2,
        user_ids=[a.id, b.id],
        gold={p[4].id: "reject"},
        order="id",
    )
    judge(session, a, p[0].id, "accept", 3000)
    judge(session, b, p[0].id, "accept", 5000)
    judge(session, a, p[1].id, "accept", 2000)
    judge(session, b, p[1].id, "reject", 7000)
    mask_a = label_of(session, p[2]).copy()
    mask_a[:, : p[2].width // 4] = 12
    correct(session, a, p[2], mask_a)
    mask_b = label_of(session, p[2], 1).copy()
    mask_b[: p[2].height // 4, :] = 13
    correct(session, b, p[2], mask_b)
    judge(session, a, p[3].id, "reject", 1000)
    judge(session, b, p[3].id, "accept", 1000)
    undo_last(session=session, user=b, patch_id=p[3].id)
    judge(session, b, p[3].id, "reject", 6000)
    judge(session, a, p[4].id, "reject", 4000)
    judge(session, b, p[4].id, "accept", 4000)
    return {
        "dataset": dataset,
        "campaign": campaign,
        "a": a,
        "b": b,
        "patches": p,
        "mask_a": mask_a,
        "mask_b": mask_b,
    }
