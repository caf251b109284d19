"""Figures derived from label revision files, memoised by file path.

A label revision's file is never overwritten (a correction is a new revision, with a new
file), so what is computed from a file stays true: agreement pages ask for the same
majority classes and mask IoUs again and again, and each costs a GeoTIFF open.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.models import LabelRevision
from backend.services import agreement_stats as stats
from ml.data.store import read_label


def revision_files(*, session: Session, revision_ids: set[int]) -> dict[int, str]:
    """Absolute label file of each revision, in one query."""
    settings = get_settings()
    rows = session.execute(
        select(LabelRevision.id, LabelRevision.file).where(LabelRevision.id.in_(revision_ids))
    )
    return {rid: str(settings.path(file)) for rid, file in rows}


def _read(path: str) -> np.ndarray:
    return read_label(path)


@lru_cache(maxsize=100_000)
def majority_class(path: str) -> int:
    """The most frequent class code of a label file."""
    codes, counts = np.unique(_read(path), return_counts=True)
    return int(codes[np.argmax(counts)])


@lru_cache(maxsize=100_000)
def iou(path_a: str, path_b: str, ignore: tuple[int, ...]) -> float:
    """Mean class IoU of two label files (agreement_stats.mask_iou)."""
    return stats.mask_iou(_read(path_a), _read(path_b), ignore)


@lru_cache(maxsize=100_000)
def same_mask(path_a: str, path_b: str) -> bool:
    """True when two label files hold the same class codes pixel for pixel."""
    return path_a == path_b or bool(np.array_equal(_read(path_a), _read(path_b)))
