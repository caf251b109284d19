"""Rank training patches by how much their labels disagree with out-of-fold predictions.

Confident learning (Northcutt, Jiang and Chuang, JAIR 70, 2021): a sample whose given
label gets a low out-of-fold probability, below the average confidence the model has in
that class, is likely mislabelled. Folds are made of whole patches (GroupKFold), so a
patch is always judged by a forest that never saw it nor its spatially correlated
neighbours inside it. The share of such pixels per patch orders sitslab's review queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.model_selection import GroupKFold

from ml.rf_model import fit


def oof_label_probability(
    X: np.ndarray, y: np.ndarray, groups: np.ndarray, n_folds: int = 5, **params: Any
) -> np.ndarray:
    """Out-of-fold probability of each sample's own label (0 when its fold never saw it)."""
    y = np.asarray(y)
    groups = np.asarray(groups)
    n_groups = np.unique(groups).size
    if n_groups < 2:
        raise ValueError("out-of-fold predictions need samples from at least two patches")
    p_label = np.zeros(y.shape[0], dtype=np.float32)
    for train, held in GroupKFold(n_splits=min(n_folds, n_groups)).split(X, y, groups):
        model = fit(X[train], y[train], **params)
        proba = model.predict_proba(X[held])
        column = {int(c): i for i, c in enumerate(model.classes_)}
        index = np.array([column.get(int(v), -1) for v in y[held]])
        known = index >= 0
        p_label[held[known]] = proba[np.flatnonzero(known), index[known]]
    return p_label


def oof_label_suspicion(
    X: np.ndarray,
    y: np.ndarray,
    groups: Sequence[str] | np.ndarray,
    n_folds: int = 5,
    threshold: float | None = None,
    **params: Any,
) -> dict[str, dict[str, float | int]]:
    """Per patch: share of its pixels whose out-of-fold label probability is low.

    Args:
        X: (N, F) pixel features, y: (N,) given labels, groups: (N,) patch id per pixel.
        n_folds: patch-wise folds.
        threshold: a pixel is suspicious when p(label) < threshold; None uses confident
            learning's per-class threshold, the mean p(label) over pixels of that class.
        params: Random Forest overrides for the fold models (fewer trees are often enough).

    Returns:
        {patch id: {"suspicion": share in [0, 1], "n_pixels", "mean_label_proba"}},
        highest suspicion first.
    """
    y = np.asarray(y)
    groups = np.asarray(groups).astype(str)
    if not (X.shape[0] == y.shape[0] == groups.shape[0]):
        raise ValueError("X, y and groups must have one row per pixel")
    p_label = oof_label_probability(X, y, groups, n_folds=n_folds, **params)
    if threshold is None:
        _, inverse = np.unique(y, return_inverse=True)
        class_mean = np.bincount(inverse, weights=p_label) / np.bincount(inverse)
        limit = class_mean[inverse]
    else:
        limit = np.full(y.shape[0], float(threshold))
    flagged = p_label < limit
    result: dict[str, dict[str, float | int]] = {}
    for patch in np.unique(groups):
        member = groups == patch
        result[str(patch)] = {
            "suspicion": float(flagged[member].mean()),
            "n_pixels": int(member.sum()),
            "mean_label_proba": float(p_label[member].mean()),
        }
    return dict(sorted(result.items(), key=lambda item: -item[1]["suspicion"]))
