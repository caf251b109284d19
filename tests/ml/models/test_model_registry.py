"""load_predictor dispatches on the run kind written in run.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ml.context import LocalContext
from ml.data.snapshot import TrainingSet, make_training_set
from ml.data.store import read_patch
from ml.models.registry import load_predictor, run_kind


def test_a_folder_without_run_json_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a finished run"):
        load_predictor(tmp_path)


def test_an_unknown_kind_is_refused(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text(json.dumps({"kind": "svm"}))
    with pytest.raises(ValueError, match="unknown run kind 'svm'"):
        load_predictor(tmp_path)


@pytest.mark.slow
def test_a_random_forest_run_loads_through_the_registry(tmp_path: Path) -> None:
    from ml.rf import train_run

    snapshot = make_training_set(tmp_path / "data", n_patches=3, size=16, n_dates=4)
    ctx = LocalContext(tmp_path / "ck", tmp_path / "out")
    config = {"params": {"n_estimators": 5, "n_jobs": 1}, "plots": False, "oso_maps": False}
    train_run(ctx, snapshot=snapshot, config=config)
    assert run_kind(ctx.out_dir) == "rf"
    predictor = load_predictor(ctx.out_dir)
    patch = read_patch(TrainingSet.load(snapshot).split("test")[0].dir)
    proba = predictor.predict_proba(patch.series, patch.clouds, patch.dates, patch.bands)
    assert proba.shape == (len(predictor.classes), 16, 16)
    np.testing.assert_allclose(proba.sum(0), 1.0, atol=1e-5)
