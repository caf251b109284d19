"""What the review page shows of a patch: its detail (with image URLs) and a pixel's series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.models import Patch, User
from backend.schemas.patches import LegendClass, PatchDetail, PixelSeries
from backend.services import imagery
from backend.services.history import revision_out
from backend.services.labels import current_revision, patch_nomenclature, read_revision
from ml.data import store

API = "/api/v1/patches"


def patch_folder(patch: Patch) -> Path:
    """Absolute folder of the patch's arrays."""
    return get_settings().path(patch.store_dir)


def image_urls(patch_id: int, revision_id: int | None) -> dict[str, str]:
    """URL templates of the patch's images ({date} = date index, {view} = true|false|ndvi).

    Each URL names what it shows (date index, view, revision id), so the responses never
    change and the browser may keep them for good.
    """
    base = f"{API}/{patch_id}"
    urls = {
        "image": base + "/images/{date}/{view}.png",
        "clouds": base + "/clouds/{date}.png",
        "strip": base + "/strip/{view}.webp",
        "reference": base + "/reference.png",
        "pixel": base + "/pixel?row={row}&col={col}",
        "history": base + "/history",
        "corrections": base + "/corrections",
        "prediction": base + "/predictions/{run}.png",
        "agreement": base + "/predictions/{run}",
    }
    if revision_id is not None:
        urls["label"] = f"{base}/labels/{revision_id}.png"
        urls["label_raw"] = f"{base}/labels/{revision_id}.raw"
    return urls


def patch_detail(*, session: Session, patch: Patch) -> PatchDetail:
    """The patch with its current revision, legend, cloud cover per date and image URLs."""
    revision = current_revision(session=session, patch_id=patch.id)
    author = session.get(User, revision.author_id) if revision and revision.author_id else None
    legend = patch_nomenclature(session=session, patch=patch)
    clouds = imagery.cloud_fractions(patch_folder(patch))
    return PatchDetail(
        id=patch.id,
        external_id=patch.external_id,
        dataset_id=patch.dataset_id,
        dataset=patch.dataset.name,
        tile=patch.tile,
        split=patch.split,
        block=patch.block,
        status=patch.status,
        suspicion=patch.suspicion,
        height=patch.height,
        width=patch.width,
        dates=patch.dates,
        bands=patch.bands,
        cloud_fraction=clouds,
        default_date=int(np.argmin(clouds)) if clouds else 0,
        revision=revision_out(revision, author.username if author else None) if revision else None,
        has_reference=patch.reference_file is not None,
        nomenclature=legend.name,
        legend=[
            LegendClass(code=c.code, name=c.name_en, colour=c.colour, ignore=c.ignore)
            for c in legend.classes
        ],
        urls=image_urls(patch.id, revision.id if revision else None),
    )


def pixel_series(*, session: Session, patch: Patch, row: int, col: int) -> PixelSeries:
    """A pixel's NDVI, bands and cloud flags over time, with its current and reference label."""
    series = imagery.pixel_series(patch_folder(patch), row, col)
    revision = current_revision(session=session, patch_id=patch.id)
    label = int(read_revision(revision)[row, col]) if revision else 0
    reference = None
    if patch.reference_file:
        reference = int(store.read_label(get_settings().path(patch.reference_file))[row, col])
    legend = patch_nomenclature(session=session, patch=patch)
    name = next((c.name_en for c in legend.classes if c.code == label), None)
    return PixelSeries(
        row=row,
        col=col,
        dates=series["dates"],
        bands=series["bands"],
        ndvi=series.get("ndvi", [None] * len(series["dates"])),
        cloud=series["cloud"],
        label=label,
        label_name=name,
        reference=reference,
    )
