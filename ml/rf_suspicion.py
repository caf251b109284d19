"""Rank training patches by how much their labels disagree with out-of-fold predictions.

Confident learning (Northcutt, Jiang and Chuang, JAIR 70, 2021): a sample is likely
mislabelled when an out-of-fold model is confident, by each class's own average
self-confidence, that it belongs to another class than its given label. Folds are made
of whole patches (GroupKFold), so a patch is always judged by a forest that never saw
it nor its spatially correlated neighbours inside it. The share of such pixels per
patch orders sitslab's review queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.model_selection import GroupKFold

from ml.rf_model import fit


def oof_proba(
    X: np.ndarray, y: np.ndarray, groups: np.ndarray, n_folds: int = 5, **params: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold class probabilities (N, K) and the K class codes (np.unique(y)).

    A class missing from a fold's training patches gets probability 0 in that fold.
    """
    y = np.asarray(y)
    groups = np.asarray(groups)
    n_groups = np.unique(groups).size
    if n_groups < 2:
        raise ValueError("out-of-fold predictions need samples from at least two patches")
    codes = np.unique(y)
    proba = np.zeros((y.shape[0], codes.size), dtype=np.float32)
    for train, held in GroupKFold(n_splits=min(n_folds, n_groups)).split(X, y, groups):
        model = fit(X[train], y[train], **params)
        columns = np.searchsorted(codes, model.classes_)
        proba[np.ix_(held, columns)] = model.predict_proba(X[held])
    return proba, codes


def confident_learning_flags(
    proba: np.ndarray, given: np.ndarray, threshold: float | None = None
) -> np.ndarray:
    """True for samples confident learning counts off the diagonal of the confident joint.

    Class k's threshold t_k is the mean probability of k over samples labelled k (or a
    fixed `threshold`); a sample is flagged when, among the classes whose probability
    reaches their threshold, the most probable one is not its given label.
    """
    k = proba.shape[1]
    if threshold is None:
        counts = np.bincount(given, minlength=k)
        sums = np.bincount(given, weights=proba[np.arange(given.size), given], minlength=k)
        limits = np.divide(sums, counts, out=np.ones(k), where=counts > 0)
    else:
        limits = np.full(k, float(threshold))
    above = np.where(proba >= limits[None, :], proba, -1.0)
    confident = above.max(axis=1) >= 0
    return confident & (above.argmax(axis=1) != given)


def oof_label_suspicion(
    X: np.ndarray,
    y: np.ndarray,
    groups: Sequence[str] | np.ndarray,
    n_folds: int = 5,
    threshold: float | None = None,
    **params: Any,
) -> dict[str, dict[str, float | int]]:
    """Per patch: share of its pixels whose label the out-of-fold forest confidently contradicts.

    Args:
        X: (N, F) pixel features, y: (N,) given labels, groups: (N,) patch id per pixel.
        n_folds: patch-wise folds.
        threshold: one probability threshold for every class; None uses confident
            learning's per-class thresholds (mean self-confidence of the class).
        params: Random Forest overrides for the fold models (fewer trees are often enough).

    Returns:
        {patch id: {"suspicion": share in [0, 1], "n_pixels", "mean_label_proba"}},
        highest suspicion first.
    """
    y = np.asarray(y)
    groups = np.asarray(groups).astype(str)
    if not (X.shape[0] == y.shape[0] == groups.shape[0]):
        raise ValueError("X, y and groups must have one row per pixel")
    proba, codes = oof_proba(X, y, groups, n_folds=n_folds, **params)
    given = np.searchsorted(codes, y)
    flagged = confident_learning_flags(proba, given, threshold)
    p_label = proba[np.arange(y.size), given]
    result: dict[str, dict[str, float | int]] = {}
    for patch in np.unique(groups):
        member = groups == patch
        result[str(patch)] = {
            "suspicion": float(flagged[member].mean()),
            "n_pixels": int(member.sum()),
            "mean_label_proba": float(p_label[member].mean()),
        }
    return dict(sorted(result.items(), key=lambda item: -item[1]["suspicion"]))
