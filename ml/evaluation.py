"""Evaluate a finished run on the test split of a (possibly newer) training set.

Labels keep being corrected after a model is trained; evaluating an old run on a new
snapshot tells whether its scores still hold. Any run works (U-BARN or Random Forest):
the model is loaded through ``ml.models.registry`` as a map Predictor and applied to each
whole test patch, so the figures are those a map made with it would have.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ml.context import JobContext
from ml.data.snapshot import TrainingSet
from ml.data.store import read_label, read_patch
from ml.metrics import evaluation_report


def run(ctx: JobContext, *, snapshot: Path, config: dict[str, Any]) -> dict[str, Any]:
    """Predict every test patch with the run in ``config["run_dir"]``; write results.json.

    Also writes predictions.npz (y_true, y_pred over the non-ignored test pixels, in
    snapshot order, row-major) so the evaluation can be compared with McNemar's test.
    """
    from ml.models.registry import load_predictor

    unknown = set(config) - {"run_dir", "device"}
    if unknown or "run_dir" not in config:
        raise ValueError(f"evaluate needs run_dir (and optionally device); got {sorted(config)}")
    training_set = TrainingSet.load(Path(snapshot))
    test = training_set.split("test")
    if not test:
        raise ValueError("the snapshot has no test patch to evaluate on")
    predictor = load_predictor(Path(config["run_dir"]), config.get("device", "auto"))
    ignore = np.asarray(sorted(training_set.nomenclature.ignore_codes))
    y_true, y_pred = [], []
    for i, patch in enumerate(test):
        if ctx.should_stop():
            return {"status": "cancelled", "patches_done": i}
        data = read_patch(patch.dir)
        proba = predictor.predict_proba(data.series, data.clouds, data.dates, data.bands)
        predicted = np.asarray(predictor.classes)[proba.argmax(axis=0)]
        labels = read_label(patch.label)
        keep = ~np.isin(labels, ignore)
        y_true.append(labels[keep])
        y_pred.append(predicted[keep].astype(labels.dtype))
        ctx.progress((i + 1) / len(test), f"patch {i + 1}/{len(test)}")
    truth, pred = np.concatenate(y_true), np.concatenate(y_pred)
    names = {c.code: c.name_en for c in training_set.nomenclature.classes}
    classes = sorted(int(c) for c in training_set.nomenclature.valid_codes)
    results = {
        **evaluation_report(truth, pred, classes, names=names),
        "kind": "evaluation",
        "evaluated_run": Path(config["run_dir"]).name,
        "snapshot": training_set.id,
        "test_patches": [p.id for p in test],
    }
    out = Path(ctx.out_dir)
    np.savez_compressed(out / "predictions.npz", y_true=truth, y_pred=pred)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    return results
