"""OSO's Random Forest classifier: parameters, balanced pixel sampling, storage, votes.

iota2 trains Orfeo ToolBox's OpenCV Random Forest with `-classifier.rf.max 25
-classifier.rf.min 5` and defaults otherwise (100 trees, sqrt(F) features per split,
bootstrap); scikit-learn's equivalent runs on all cores. Training pixels are sampled per
class with a cap, as iota2's per-class sampling strategy does, so that rare classes are
not swamped by grassland and forest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.ensemble import RandomForestClassifier

OSO_PARAMS: dict[str, Any] = {
    "n_estimators": 100,
    "max_depth": 25,
    "min_samples_split": 5,
    "max_features": "sqrt",
    "bootstrap": True,
    "n_jobs": -1,
}
COMPRESS = 3


def fit(X: np.ndarray, y: np.ndarray, **params: Any) -> RandomForestClassifier:
    """Fit a Random Forest with OSO's parameters; keyword arguments override them."""
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be (N, F) and y (N,), got {X.shape} and {y.shape}")
    if X.shape[0] == 0:
        raise ValueError("no training samples")
    if not np.isfinite(X).all():
        raise ValueError("X holds NaN or infinite values")
    model = RandomForestClassifier(**{**OSO_PARAMS, **params})
    model.fit(X, y)
    return model


def sample_pixels(
    labels: np.ndarray,
    max_per_class: int | None = 10_000,
    seed: int = 0,
    min_per_class: int = 1,
) -> np.ndarray:
    """Indices of a class-balanced sample of pixels: at most `max_per_class` of each class.

    Classes with fewer pixels keep all of them; classes with fewer than `min_per_class`
    are dropped (a class seen on two pixels cannot be learnt). The draw is seeded and the
    indices come back sorted, so the same labels and seed give the same sample.
    """
    labels = np.asarray(labels).reshape(-1)
    if max_per_class is not None and max_per_class <= 0:
        raise ValueError(f"max_per_class must be positive, got {max_per_class}")
    rng = np.random.default_rng(seed)
    picked: list[np.ndarray] = []
    for code in np.unique(labels):
        members = np.flatnonzero(labels == code)
        if members.size < min_per_class:
            continue
        if max_per_class is not None and members.size > max_per_class:
            members = rng.choice(members, size=max_per_class, replace=False)
        picked.append(members)
    if not picked:
        return np.empty(0, dtype=np.int64)
    return np.sort(np.concatenate(picked)).astype(np.int64)


def save_model(model: RandomForestClassifier, path: Path) -> Path:
    """Store a fitted forest compressed (depth-25 forests run to hundreds of MB raw)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, path, compress=COMPRESS)
    return path


def load_model(path: Path) -> RandomForestClassifier:
    """Load a forest written by `save_model`."""
    model = joblib.load(Path(path))
    if not isinstance(model, RandomForestClassifier):
        raise ValueError(f"{path} does not hold a Random Forest model")
    return model


def vote_share(model: RandomForestClassifier, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hard-vote winner and OSO's confidence: the share of trees voting for it, 0-100.

    OpenCV's forest (hence OSO's confidence map) counts one vote per tree, where
    scikit-learn's `predict_proba` averages leaf class frequencies; the two differ on
    impure leaves, so the votes are counted tree by tree here.
    """
    votes = np.zeros((X.shape[0], model.n_classes_), dtype=np.int32)
    rows = np.arange(X.shape[0])
    for tree in model.estimators_:
        votes[rows, tree.predict_proba(X).argmax(axis=1)] += 1
    winner = votes.argmax(axis=1)
    share = votes[rows, winner] * 100.0 / len(model.estimators_)
    return model.classes_[winner], np.rint(share).astype(np.uint8)
