"""A trained run's prediction for one patch, to overlay on the review page.

Showing the model's map next to the label is how photo-interpreters spot label errors
fast: where a model trained on thousands of patches disagrees with the label, the label is
worth a second look (the idea behind confident learning, Northcutt et al., JAIR 2021, that
the RF suspicion score also uses). Runs and patch arrays never change once written, so
both the loaded predictors and the predicted masks are kept in small LRU caches keyed by
their absolute folders (a run id alone could be reused by another database).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import Settings, get_settings
from backend.errors import Invalid
from backend.models import LabelRevision, Patch, Run
from backend.services.labels import patch_nomenclature, read_revision
from ml.data import store
from ml.models.registry import load_predictor, run_kind
from ml.predictor import Predictor

# What loading or running a predictor raises for a run that cannot predict this patch.
CANNOT_PREDICT = (FileNotFoundError, ValueError, KeyError, OSError)


def predictable(run_dir: Path) -> bool:
    """Whether the run folder holds a model with a classifier (U-BARN fine-tuning or RF)."""
    try:
        kind = run_kind(run_dir)
        stage = json.loads((run_dir / "run.json").read_text()).get("stage")
    except (FileNotFoundError, ValueError, OSError):
        return False
    return kind == "rf" or stage == "finetune"


def eligible_runs(*, session: Session, settings: Settings | None = None) -> list[dict[str, Any]]:
    """Runs whose prediction can be overlaid, newest first: {id, name, kind}."""
    settings = settings or get_settings()
    runs = session.scalars(select(Run).order_by(Run.id.desc())).all()
    return [
        {"id": run.id, "name": run.name, "kind": run.kind}
        for run in runs
        if predictable(settings.path(run.out_dir))
    ]


@lru_cache(maxsize=8)
def _predictor(run_dir: str) -> Predictor:
    return load_predictor(Path(run_dir), device="auto")


@lru_cache(maxsize=128)
def _predicted(run_dir: str, patch_dir: str) -> np.ndarray:
    predictor = _predictor(run_dir)
    data = store.read_patch(Path(patch_dir))
    proba = predictor.predict_proba(
        np.asarray(data.series), np.asarray(data.clouds), data.dates, data.bands
    )
    codes = np.asarray(predictor.classes, dtype=np.uint8)[np.argmax(proba, axis=0)]
    codes.setflags(write=False)
    return codes


def predicted_labels(*, session: Session, settings: Settings, patch: Patch, run: Run) -> np.ndarray:
    """The run's predicted class codes (H, W) uint8 for the patch (argmax of its probabilities).

    Raises:
        Invalid: the run cannot predict this patch (a pre-training run, a model that needs
            bands the patch lacks, missing files, or classes outside the patch's nomenclature).
    """
    run_dir = settings.path(run.out_dir)
    if not predictable(run_dir):
        raise Invalid(
            f"Run {run.id} ({run.name}) has no classifier to predict with: only finished "
            "U-BARN fine-tuning runs and Random Forest runs can be overlaid."
        )
    try:
        codes = _predicted(str(run_dir), str(settings.path(patch.store_dir)))
    except CANNOT_PREDICT as exc:
        raise Invalid(f"Run {run.id} ({run.name}) cannot predict patch {patch.id}: {exc}") from exc
    known = {c.code for c in patch_nomenclature(session=session, patch=patch).classes}
    foreign = sorted(set(np.unique(codes).tolist()) - known)
    if foreign:
        raise Invalid(
            f"Run {run.id} ({run.name}) predicts codes {foreign} that are not in the "
            f"nomenclature of patch {patch.id}: it was trained on another nomenclature."
        )
    return codes


def agreement(
    *, session: Session, patch: Patch, predicted: np.ndarray, revision: LabelRevision | None
) -> dict[str, Any]:
    """Share of the revision's non-ignored pixels where the prediction agrees with the label.

    A low share flags a patch whose label (or the model) deserves a close look.
    """
    if revision is None:
        return {"revision_id": None, "pixels": 0, "agreement": None}
    labels = read_revision(revision)
    ignore = list(patch_nomenclature(session=session, patch=patch).ignore_codes)
    judged = ~np.isin(labels, ignore)
    pixels = int(judged.sum())
    share = float((predicted[judged] == labels[judged]).mean()) if pixels else None
    return {
        "revision_id": revision.id,
        "pixels": pixels,
        "agreement": None if share is None else round(share, 4),
    }
