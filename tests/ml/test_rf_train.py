"""A whole Random Forest run on a synthetic snapshot: files, canonical order, predictor."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ml.context import LocalContext
from ml.data.snapshot import TrainingSet, make_training_set
from ml.data.store import read_label, read_patch
from ml.metrics import evaluation_report
from ml.rf import load_predictor, train_run

FAST = {"params": {"n_estimators": 10, "n_jobs": 1}, "max_per_class": 300}


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_training_set(tmp_path_factory.mktemp("data"), n_patches=8, size=16, n_dates=8)


@pytest.fixture(scope="module")
def finished_run(snapshot: Path, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("run")
    ctx = LocalContext(checkpoint_dir=root / "ckpt", out_dir=root / "out")
    results = train_run(ctx, snapshot=snapshot, config={**FAST, "suspicion": True})
    return ctx, results


def canonical_truth(snapshot: Path) -> np.ndarray:
    training_set = TrainingSet.load(snapshot)
    ignore = list(training_set.nomenclature.ignore_codes)
    parts = []
    for patch in training_set.split("test"):
        labels = read_label(patch.label).reshape(-1)
        parts.append(labels[~np.isin(labels, ignore)])
    return np.concatenate(parts)


def test_run_writes_every_file(finished_run, snapshot: Path) -> None:
    ctx, results = finished_run
    out = ctx.out_dir
    for name in ("run.json", "model.joblib", "results.json", "predictions.npz", "oso_maps.npz",
                 "suspicion.json", "confusion.png", "f1.png"):  # fmt: skip
        assert (out / name).is_file(), name
    run = json.loads((out / "run.json").read_text())
    assert run["kind"] == "rf" and run["params"]["max_depth"] == 25
    assert run["params"]["n_estimators"] == 10
    assert len(run["grid"]) >= 2 and run["bands"] == TrainingSet.load(snapshot).bands
    assert json.loads((out / "results.json").read_text()) == json.loads(json.dumps(results))
    assert results["fit_seconds"] > 0 and results["predict_pixels_per_second"] > 0
    assert results["n_features"] == len(run["grid"]) * (len(run["bands"]) + 3)
    assert ctx.progress_events[-1][0] == 1.0
    fractions = [f for f, _ in ctx.progress_events]
    assert fractions == sorted(fractions)


def test_predictions_are_in_canonical_order(finished_run, snapshot: Path) -> None:
    ctx, results = finished_run
    predictions = np.load(ctx.out_dir / "predictions.npz")
    np.testing.assert_array_equal(predictions["y_true"], canonical_truth(snapshot))
    report = evaluation_report(predictions["y_true"], predictions["y_pred"], results["labels"])
    assert report["oa"] == pytest.approx(results["oa"])
    assert results["n_pixels"] == predictions["y_true"].size


def test_oso_maps_and_suspicion(finished_run, snapshot: Path) -> None:
    ctx, results = finished_run
    training_set = TrainingSet.load(snapshot)
    maps = np.load(ctx.out_dir / "oso_maps.npz")
    for patch in training_set.split("test"):
        data = read_patch(patch.dir)
        confidence, validity = maps[f"{patch.id}/confidence"], maps[f"{patch.id}/validity"]
        assert confidence.shape == validity.shape == data.clouds.shape[1:]
        assert confidence.max() <= 100 and confidence.min() > 0
        assert validity.max() <= len(data.dates)
        np.testing.assert_array_less(validity, (data.clouds == 0).sum(axis=0) + 1)
    suspicion = json.loads((ctx.out_dir / "suspicion.json").read_text())
    assert set(suspicion) == set(results["train_patches"])
    assert all(0.0 <= v["suspicion"] <= 1.0 for v in suspicion.values())


def test_predictor_reproduces_the_test_predictions(finished_run, snapshot: Path) -> None:
    ctx, _ = finished_run
    predictor = load_predictor(ctx.out_dir)
    training_set = TrainingSet.load(snapshot)
    patch = training_set.split("test")[0]
    data = read_patch(patch.dir)
    proba = predictor.predict_proba(data.series, data.clouds, data.dates, data.bands)
    predicted = np.asarray(predictor.classes)[proba.argmax(axis=0)].reshape(-1)
    labels = read_label(patch.label).reshape(-1)
    keep = ~np.isin(labels, list(training_set.nomenclature.ignore_codes))
    y_pred = np.load(ctx.out_dir / "predictions.npz")["y_pred"]
    np.testing.assert_array_equal(predicted[keep], y_pred[: keep.sum()])


def test_label_fraction_uses_fewer_patches(snapshot: Path, tmp_path: Path) -> None:
    ctx = LocalContext(checkpoint_dir=tmp_path / "c", out_dir=tmp_path / "o")
    config = {**FAST, "label_fraction": 0.3, "oso_maps": False, "plots": False}
    results = train_run(ctx, snapshot=snapshot, config=config)
    n_train = len(TrainingSet.load(snapshot).split("train"))
    assert len(results["train_patches"]) == max(1, round(0.3 * n_train))
    assert not (tmp_path / "o" / "oso_maps.npz").exists()
    assert not (tmp_path / "o" / "confusion.png").exists()


def test_cancel_stops_before_writing(snapshot: Path, tmp_path: Path) -> None:
    ctx = LocalContext(checkpoint_dir=tmp_path / "c", out_dir=tmp_path / "o")
    ctx.stop_event.set()
    assert train_run(ctx, snapshot=snapshot, config=FAST)["status"] == "cancelled"
    assert list((tmp_path / "o").iterdir()) == []


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"label_fraction": 0.0}, "label_fraction"),
        ({"max_per_clas": 10}, "unknown RF config keys"),
        ({"params": {"n_trees": 5}}, "unknown Random Forest parameters"),
        ({"grid_step": 0}, "grid_step"),
    ],
)
def test_bad_config_is_refused_and_writes_nothing(
    snapshot: Path, tmp_path: Path, config: dict, message: str
) -> None:
    ctx = LocalContext(checkpoint_dir=tmp_path / "c", out_dir=tmp_path / "o")
    with pytest.raises(ValueError, match=message):
        train_run(ctx, snapshot=snapshot, config=config)
    assert list((tmp_path / "o").iterdir()) == []


def test_missing_snapshot_is_refused(tmp_path: Path) -> None:
    ctx = LocalContext(checkpoint_dir=tmp_path / "c", out_dir=tmp_path / "o")
    with pytest.raises(ValueError, match="needs a training-set snapshot"):
        train_run(ctx, snapshot=None, config={})
    assert list((tmp_path / "o").iterdir()) == []
