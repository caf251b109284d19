"""A Random Forest run on a training-set snapshot, following OSO's protocol end to end.

Pixels of the (label-fraction subset of the) training patches are gap-filled onto one
10-day grid (iota2's autoDate: the common span of the training series), described with
OSO's features, sampled per class with a cap, and fed to OSO's forest. The test split is
then classified pixel by pixel in the canonical order shared with U-BARN (test patches in
snapshot order, row-major, ignored labels left out) so both runs compare on the very same
pixels (McNemar). OSO's confidence (tree vote share) and validity (clear dates) rasters
are kept for the test patches.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from ml.context import JobContext
from ml.data.dataset import label_subset
from ml.data.snapshot import SnapshotPatch, TrainingSet
from ml.data.store import read_label, read_patch
from ml.gapfill import common_grid
from ml.metrics import evaluation_report
from ml.plots import plot_confusion, plot_f1_bars
from ml.rf_features import features
from ml.rf_model import OSO_PARAMS, fit, sample_pixels, save_model, vote_share
from ml.rf_predictor import PREDICT_CHUNK, block_pixels
from ml.rf_suspicion import oof_label_suspicion

DEFAULTS: dict[str, Any] = {
    "label_fraction": 1.0,
    "seed": 0,
    "max_per_class": 10_000,
    "min_clear_dates": 1,
    "grid_step": 10,
    "params": {},
    "oso_maps": True,
    "suspicion": False,
    "suspicion_folds": 5,
    "plots": True,
    "device": "auto",  # accepted for a uniform trainer config; the forest runs on CPU cores
}
RF_PARAM_NAMES = {
    "n_estimators", "max_depth", "min_samples_split", "min_samples_leaf", "max_features",
    "bootstrap", "n_jobs", "random_state", "criterion", "class_weight", "max_samples",
    "max_leaf_nodes", "min_impurity_decrease", "verbose",
}  # fmt: skip


class Cancelled(Exception):
    """Raised between stages when the job was asked to stop."""


def check_config(config: dict[str, Any]) -> dict[str, Any]:
    """Defaults filled in; a clear error for unknown keys or out-of-range values."""
    unknown = set(config) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown RF config keys {sorted(unknown)}; allowed: {sorted(DEFAULTS)}")
    cfg = {**DEFAULTS, **config}
    if not 0.0 < float(cfg["label_fraction"]) <= 1.0:
        raise ValueError(f"label_fraction must be in (0, 1], got {cfg['label_fraction']}")
    if cfg["max_per_class"] is not None and int(cfg["max_per_class"]) <= 0:
        raise ValueError(f"max_per_class must be positive or None, got {cfg['max_per_class']}")
    if int(cfg["grid_step"]) <= 0 or int(cfg["min_clear_dates"]) < 0:
        raise ValueError("grid_step must be > 0 and min_clear_dates >= 0")
    if not isinstance(cfg["params"], dict):
        raise ValueError(
            f"params must be a mapping of Random Forest parameters, got {cfg['params']!r}"
        )
    bad = set(cfg["params"]) - RF_PARAM_NAMES
    if bad:
        raise ValueError(f"unknown Random Forest parameters {sorted(bad)}")
    return cfg


@dataclass
class Stages:
    """Progress reporting and cancellation between the stages of a run."""

    ctx: JobContext

    def enter(self, fraction: float, message: str) -> None:
        if self.ctx.should_stop():
            raise Cancelled(message)
        self.ctx.progress(fraction, message)
        self.ctx.logger.info("rf: %s", message)


def _labelled(patch: SnapshotPatch, ignore: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-major indices and codes of a patch's non-ignored pixels."""
    labels = read_label(patch.label).reshape(-1)
    keep = np.flatnonzero(~np.isin(labels, ignore))
    return keep, labels[keep]


def _patch_features(
    patch: SnapshotPatch, bands: list[str], grid: np.ndarray, pixels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """OSO features and clear flags of a patch's pixels (all of them when `pixels` is None)."""
    data = read_patch(patch.dir)
    series, clear = block_pixels(data.series, data.clouds, data.bands, bands)
    if pixels is not None:
        series, clear = series[pixels], clear[pixels]
    return features(series, data.dates, bands, valid=clear, grid=grid), clear


def labelled_features(
    patch: SnapshotPatch, bands: list[str], grid: np.ndarray, ignore: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """OSO features and codes of a patch's non-ignored pixels, row-major (canonical order)."""
    keep, labels = _labelled(patch, ignore)
    return _patch_features(patch, bands, grid, keep)[0], labels


def _training_samples(
    patches: list[SnapshotPatch], bands: list[str], grid: np.ndarray, ignore: np.ndarray,
    cfg: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Balanced pixel sample of the training patches: X, y and the patch id of each pixel."""
    where, codes = [], []
    for k, patch in enumerate(patches):
        keep, labels = _labelled(patch, ignore)
        if int(cfg["min_clear_dates"]) > 0 and keep.size:
            clouds = read_patch(patch.dir).clouds
            clear_dates = (clouds == 0).reshape(clouds.shape[0], -1).sum(axis=0)[keep]
            ok = clear_dates >= int(cfg["min_clear_dates"])
            keep, labels = keep[ok], labels[ok]
        where.append(np.stack([np.full(keep.size, k), keep], axis=1))
        codes.append(labels)
    where_all, codes_all = np.concatenate(where), np.concatenate(codes)
    chosen = sample_pixels(codes_all, cfg["max_per_class"], seed=int(cfg["seed"]))
    if chosen.size == 0:
        raise ValueError("the training patches hold no labelled clear pixel")
    where_all, y = where_all[chosen], codes_all[chosen]
    parts = []
    for k in np.unique(where_all[:, 0]):
        rows = where_all[:, 0] == k
        parts.append(_patch_features(patches[k], bands, grid, where_all[rows, 1])[0])
    X = np.concatenate(parts)  # patches in order, pixels sorted: same order as where_all
    groups = np.array([patches[k].id for k in where_all[:, 0]])
    return X, y, groups


def _evaluate(
    model: Any, patches: list[SnapshotPatch], bands: list[str], grid: np.ndarray,
    ignore: np.ndarray, oso_maps: bool,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], float | None]:  # fmt: skip
    """Test pixels in canonical order (truth, prediction), OSO rasters, pixels per second."""
    y_true, y_pred, maps = [], [], {}
    seconds, n_pixels = 0.0, 0
    for patch in patches:
        keep, labels = _labelled(patch, ignore)
        start = time.perf_counter()
        X, clear = _patch_features(patch, bands, grid, None if oso_maps else keep)
        pred = np.concatenate(
            [model.predict(X[i : i + PREDICT_CHUNK]) for i in range(0, len(X), PREDICT_CHUNK)]
        )
        seconds += time.perf_counter() - start
        n_pixels += len(X)
        if oso_maps:
            h, w = read_label(patch.label).shape
            _, confidence = vote_share(model, X)
            maps[f"{patch.id}/confidence"] = confidence.reshape(h, w)
            maps[f"{patch.id}/validity"] = clear.sum(axis=1).astype(np.uint16).reshape(h, w)
            pred = pred[keep]
        y_true.append(labels)
        y_pred.append(pred.astype(labels.dtype))
    speed = n_pixels / seconds if seconds > 0 else None
    return np.concatenate(y_true), np.concatenate(y_pred), maps, speed


def train_run(ctx: JobContext, *, snapshot: Path | None, config: dict[str, Any]) -> dict[str, Any]:
    """Train and evaluate OSO's Random Forest on a snapshot; write the run into ctx.out_dir.

    Writes run.json ({"kind": "rf", grid, bands, classes, params, ...}), model.joblib,
    results.json (evaluation_report + timings), predictions.npz (y_true, y_pred in
    canonical order), oso_maps.npz (per test patch confidence 0-100 and validity),
    suspicion.json (when asked) and PNG plots. Returns the results dict, or
    {"status": "cancelled", "stage": ...} when stopped between stages (nothing to resume:
    a forest has no epochs, the job reruns from the start).
    """
    cfg = check_config(config)
    if snapshot is None:
        raise ValueError("a Random Forest run needs a training-set snapshot")
    training_set = TrainingSet.load(Path(snapshot))
    nomenclature = training_set.nomenclature
    ignore = np.asarray(sorted(nomenclature.ignore_codes), dtype=np.int64)
    classes = sorted(int(c) for c in nomenclature.valid_codes)
    bands = list(training_set.bands)
    train = label_subset(training_set.split("train"), float(cfg["label_fraction"]), cfg["seed"])
    test = training_set.split("test")
    if not test:
        raise ValueError("the snapshot has no test patch to evaluate on")
    stages = Stages(ctx)
    try:
        stages.enter(0.02, f"date grid over {len(train)} training patches")
        grid = common_grid([read_patch(p.dir).dates for p in train], int(cfg["grid_step"]))
        stages.enter(0.05, "sampling and describing training pixels")
        X, y, groups = _training_samples(train, bands, grid, ignore, cfg)
        stages.enter(0.35, f"fitting the forest on {len(y)} pixels x {X.shape[1]} features")
        params = {"random_state": int(cfg["seed"]), **cfg["params"]}
        start = time.perf_counter()
        model = fit(X, y, **params)
        fit_seconds = time.perf_counter() - start
        stages.enter(0.65, f"classifying {len(test)} test patches")
        y_true, y_pred, maps, pixels_per_second = _evaluate(
            model, test, bands, grid, ignore, bool(cfg["oso_maps"])
        )
        suspicion = None
        if cfg["suspicion"]:
            stages.enter(0.85, "out-of-fold label suspicion of the training patches")
            suspicion = oof_label_suspicion(
                X, y, groups, n_folds=int(cfg["suspicion_folds"]), **params
            )
        stages.enter(0.95, "writing the run")
    except Cancelled as stop:
        ctx.logger.info("rf: cancelled before %s", stop)
        return {"status": "cancelled", "stage": str(stop)}

    out = Path(ctx.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = {c.code: c.name_en for c in nomenclature.classes}
    report = evaluation_report(y_true, y_pred, classes, names=names)
    results = {
        **report,
        "kind": "rf",
        "fit_seconds": fit_seconds,
        "predict_pixels_per_second": pixels_per_second,
        "n_train_pixels": int(y.size),
        "n_features": int(X.shape[1]),
        "train_patches": [p.id for p in train],
        "test_patches": [p.id for p in test],
        "snapshot": training_set.id,
    }
    save_model(model, out / "model.joblib")
    run = {
        "kind": "rf",
        "model": "model.joblib",
        "snapshot": training_set.id,
        "grid": [date.fromordinal(int(d)).isoformat() for d in grid],
        "bands": bands,
        "classes": [int(c) for c in model.classes_],
        "params": {**OSO_PARAMS, **params},
        "config": cfg,
    }
    (out / "results.json").write_text(json.dumps(results, indent=2))
    np.savez_compressed(out / "predictions.npz", y_true=y_true, y_pred=y_pred)
    if maps:
        np.savez_compressed(out / "oso_maps.npz", **maps)
    if suspicion is not None:
        (out / "suspicion.json").write_text(json.dumps(suspicion, indent=2))
    if cfg["plots"]:
        plot_confusion(report, out / "confusion.png", names=names, title="Random Forest (OSO)")
        plot_f1_bars({"RF": report}, out / "f1.png", names=names)
    (out / "run.json").write_text(json.dumps(run, indent=2))  # last: marks a finished run
    ctx.progress(1.0, f"done: OA {report['oa']:.3f}, mF1 {report['mean_f1']:.3f}")
    return results
