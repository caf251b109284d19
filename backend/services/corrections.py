"""Corrected label masks: parse an uploaded raster, check it, save it as a new revision.

Dense masks are edited as rasters in the browser (brush, flood fill) and arrive whole:
a PNG of class codes (grey or palette, one byte per pixel), raw uint8 bytes in row-major
order, or JSON ({"height", "width", "data": [...]} or run-length {"rle": [[code, n], ...]}).
Everything is checked before a file is written: size, class codes of the nomenclature,
and that the correction is based on the current revision (otherwise 409 with the newer
one, so the user sees what changed instead of overwriting it).
"""

from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.errors import Conflict, Invalid
from backend.models import Decision, DecisionKind, LabelRevision, User
from backend.services import decisions
from backend.services.labels import current_revision, patch_nomenclature
from ml.data import store

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def parse_raster(content: bytes, height: int, width: int) -> np.ndarray:
    """Decode an uploaded mask into an (H, W) uint8 array; Invalid (422) says what is wrong."""
    if content.startswith(PNG_MAGIC):
        labels = _from_png(content)
    elif content.lstrip()[:1] == b"{":
        labels = _from_json(content)
    else:
        if len(content) != height * width:
            raise Invalid(
                f"Raw mask has {len(content)} bytes; this patch needs {height}x{width} = "
                f"{height * width} (one uint8 class code per pixel, row-major)."
            )
        labels = np.frombuffer(content, dtype=np.uint8).reshape(height, width)
    if labels.shape != (height, width):
        raise Invalid(
            f"Mask is {labels.shape[0]}x{labels.shape[1]}; this patch is {height}x{width}.",
            expected=[height, width],
        )
    return labels


def _from_png(content: bytes) -> np.ndarray:
    try:
        image = Image.open(io.BytesIO(content))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise Invalid(f"The PNG cannot be read: {exc}") from exc
    if image.mode not in ("L", "P"):
        raise Invalid(
            f"The PNG must hold one class code per pixel (grey or palette), not {image.mode}."
        )
    return np.asarray(image, dtype=np.uint8)


def _from_json(content: bytes) -> np.ndarray:
    try:
        doc = json.loads(content)
        height, width = int(doc["height"]), int(doc["width"])
        if "rle" in doc:
            codes = np.repeat(
                np.array([c for c, _ in doc["rle"]], dtype=np.int64),
                np.array([n for _, n in doc["rle"]], dtype=np.int64),
            )
        else:
            codes = np.asarray(doc["data"], dtype=np.int64).ravel()
    except (ValueError, KeyError, TypeError) as exc:
        raise Invalid(
            'JSON mask must be {"height", "width", "data": [...]} '
            'or {"height", "width", "rle": [[code, n], ...]}.'
        ) from exc
    if codes.size != height * width:
        raise Invalid(f"JSON mask holds {codes.size} values for {height}x{width} pixels.")
    if codes.size and (codes.min() < 0 or codes.max() > 255):
        raise Invalid("Class codes must lie in 0..255.")
    return codes.astype(np.uint8).reshape(height, width)


def save_correction(
    *,
    session: Session,
    user: User,
    patch_id: int,
    base_revision_id: int,
    content: bytes,
    comment: str = "",
    confidence: int | None = None,
    time_spent_ms: int | None = None,
    view: str | None = None,
    date_shown: str | None = None,
) -> LabelRevision:
    """Save a corrected mask as the next revision and record a `correct` decision."""
    patch = decisions.lock_patch(session=session, patch_id=patch_id)
    assignment = decisions.check_may_decide(session=session, user=user, patch_id=patch_id)
    labels = parse_raster(content, patch.height, patch.width)
    legend = patch_nomenclature(session=session, patch=patch)
    unknown = sorted(set(np.unique(labels).tolist()) - set(legend.codes))
    if unknown:
        raise Invalid(
            f"Class code(s) {unknown} are not in the {legend.name} nomenclature.",
            unknown_codes=unknown,
        )
    current = current_revision(session=session, patch_id=patch_id)
    if current is None or current.id != base_revision_id:
        raise Conflict(
            "Another revision replaced the one you corrected; look at it and correct again.",
            current_revision_id=current.id if current else None,
            current_version=current.version if current else None,
        )
    revision = LabelRevision(
        patch_id=patch_id,
        version=current.version + 1,
        parent_id=current.id,
        author_id=user.id,
        source="correction",
        file=f"labels/{patch_id}/{current.version + 1}.tif",
        note=comment[:1000],
    )
    path = get_settings().path(revision.file)
    meta = store.read_patch(get_settings().path(patch.store_dir))
    try:
        store.write_label(path, labels, meta.crs, meta.transform)
        session.add(revision)
        session.flush()
        session.add(
            Decision(
                patch_id=patch_id,
                user_id=user.id,
                campaign_id=assignment.campaign_id if assignment else None,
                kind=DecisionKind.correct,
                label_revision_id=current.id,
                new_revision_id=revision.id,
                comment=comment,
                confidence=confidence,
                time_spent_ms=time_spent_ms,
                view=view,
                date_shown=date_shown,
            )
        )
        if assignment is not None:
            assignment.done = True
        session.flush()
        decisions.refresh_status(session=session, patch=patch, current=revision)
        session.commit()
    except BaseException:
        session.rollback()
        path.unlink(missing_ok=True)
        raise
    return revision
