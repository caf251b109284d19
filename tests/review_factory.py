"""Seeded tiny patches (real .npy stores and label GeoTIFFs), a campaign and assignments.

The review tests need patches on disk and queues without waiting for a full ingest, so
this writes them through the same store functions ingest uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from affine import Affine
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.models import (
    Assignment,
    Campaign,
    Dataset,
    Decision,
    LabelRevision,
    Nomenclature,
    Patch,
)
from ml.data import store

CODES = (5, 11, 13, 17)  # OSO 2018 classes used in the synthetic labels
BANDS = list(store.S2_BANDS)


def make_patches(
    session: Session, *, n: int = 3, size: int = 16, n_dates: int = 4, seed: int = 0
) -> list[Patch]:
    """A dataset with `n` patches of `size` px, `n_dates` dates, 10 bands, OSO 2018 labels."""
    rng = np.random.default_rng(seed)
    nomenclature = session.scalar(select(Nomenclature).where(Nomenclature.name == "oso-2018"))
    dataset = Dataset(
        name=f"test-{seed}", nomenclature_id=nomenclature.id, format="geotiff", bands=BANDS
    )
    session.add(dataset)
    session.flush()
    dates = [date(2022, 1, 5) + timedelta(days=30 * t) for t in range(n_dates)]
    crs = "EPSG:32631"
    patches = []
    for i in range(n):
        transform = Affine(10, 0, 360000 + 1000 * i, 0, -10, 4830000)
        series = rng.integers(200, 4000, (n_dates, len(BANDS), size, size)).astype(np.int16)
        clouds = np.zeros((n_dates, size, size), dtype=np.uint8)
        clouds[0, : size // 2] = store.CLOUD
        labels = rng.choice(np.array(CODES, dtype=np.uint8), (size, size))
        patch = Patch(
            dataset_id=dataset.id,
            external_id=f"p{i:03d}",
            footprint={"type": "Point", "coordinates": [1.4, 43.6]},
            crs=crs,
            bounds=[transform.c, transform.f - 10 * size, transform.c + 10 * size, transform.f],
            height=size,
            width=size,
            dates=[d.isoformat() for d in dates],
            bands=BANDS,
            store_dir="",
        )
        session.add(patch)
        session.flush()
        patch.store_dir = f"patches/{patch.id}"
        settings = get_settings()
        store.write_patch(
            settings.path(patch.store_dir),
            store.PatchData(series, clouds, dates, BANDS, crs, transform),
        )
        label_file = f"labels/{patch.id}/1.tif"
        store.write_label(settings.path(label_file), labels, crs, transform)
        session.add(LabelRevision(patch_id=patch.id, version=1, source="ingest", file=label_file))
        patches.append(patch)
    session.commit()
    return patches


def assign(session: Session, patches: list[Patch], *user_ids: int, name: str = "c1") -> Campaign:
    """A campaign assigning every patch, in order, to each of the users."""
    campaign = Campaign(name=name, dataset_id=patches[0].dataset_id, overlap=len(user_ids))
    session.add(campaign)
    session.flush()
    for user_id in user_ids:
        for position, patch in enumerate(patches):
            session.add(
                Assignment(
                    campaign_id=campaign.id, patch_id=patch.id, user_id=user_id, position=position
                )
            )
    session.commit()
    return campaign


def counts(session: Session) -> tuple[int, int]:
    """(decisions, label revisions) in the database: what a refused request must not change."""
    session.expire_all()
    return (
        session.scalar(select(func.count()).select_from(Decision)),
        session.scalar(select(func.count()).select_from(LabelRevision)),
    )


@dataclass
class ReviewWorld:
    """Two annotators sharing a campaign over three patches, plus a reviewer and an outsider."""

    patches: list[Patch]
    campaign: Campaign
    annotator_ids: tuple[int, int]


def make_world(session: Session, make_user) -> ReviewWorld:  # noqa: ANN001
    """Users ann1, ann2 (assigned every patch), rev (reviewer), outsider (no assignment)."""
    ann1, ann2 = make_user("ann1"), make_user("ann2")
    make_user("rev", "reviewer")
    make_user("outsider")
    patches = make_patches(session)
    campaign = assign(session, patches, ann1.id, ann2.id)
    return ReviewWorld(patches, campaign, (ann1.id, ann2.id))
