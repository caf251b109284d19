"""OSO forest: parameters, balanced sampling, storage, votes, the map Predictor, suspicion."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import joblib
import numpy as np
import pytest

from ml.metrics import evaluation_report
from ml.plots import plot_confusion, plot_f1_bars, plot_learning_curves
from ml.rf import (
    OSO_PARAMS,
    features,
    fit,
    load_model,
    load_predictor,
    oof_label_suspicion,
    sample_pixels,
    save_model,
    vote_share,
)

BANDS = ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12"]
DATES = [date(2024, 1, 5) + timedelta(days=12 * i) for i in range(8)]
SMALL = {"n_estimators": 12, "n_jobs": 1, "random_state": 0}


def pixels_of_class(code: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, T, C) int16 reflectances whose temporal profile depends on the class."""
    t = np.arange(len(DATES))[None, :, None]
    level = 800 + 400 * code + 300 * np.sin(t * (0.5 + 0.2 * code))
    noise = rng.normal(0, 120, size=(n, len(DATES), len(BANDS)))
    band_shift = np.arange(len(BANDS))[None, None, :] * 60
    return np.clip(level + band_shift + noise, 1, 9999).astype(np.int16)


@pytest.fixture(scope="module")
def training_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    codes = [1, 2, 3]
    series = np.concatenate([pixels_of_class(c, 120, rng) for c in codes])
    y = np.repeat(codes, 120)
    valid = rng.random(series.shape[:2]) > 0.3
    return features(series, DATES, BANDS, valid), y, series


def test_fit_uses_oso_parameters_and_overrides(training_data) -> None:
    X, y, _ = training_data
    model = fit(X, y, **SMALL)
    params = model.get_params()
    assert params["max_depth"] == 25 and params["min_samples_split"] == 5
    assert params["max_features"] == "sqrt" and params["bootstrap"] is True
    assert params["n_estimators"] == 12  # overridden
    assert OSO_PARAMS["n_estimators"] == 100 and OSO_PARAMS["n_jobs"] == -1
    assert (model.predict(X) == y).mean() > 0.95
    assert model.predict_proba(X).shape == (len(y), 3)
    with pytest.raises(ValueError, match="NaN"):
        fit(np.full((4, 2), np.nan), np.array([1, 1, 2, 2]))
    with pytest.raises(ValueError, match="must be"):
        fit(X, y[:-1])


def test_sample_pixels_caps_each_class_with_a_seed() -> None:
    labels = np.array([1] * 500 + [2] * 40 + [3] * 2 + [4] * 1)
    picked = sample_pixels(labels, max_per_class=50, seed=3, min_per_class=2)
    counts = {c: int((labels[picked] == c).sum()) for c in (1, 2, 3, 4)}
    assert counts == {1: 50, 2: 40, 3: 2, 4: 0}
    assert np.all(np.diff(picked) > 0)
    np.testing.assert_array_equal(picked, sample_pixels(labels, 50, seed=3, min_per_class=2))
    assert not np.array_equal(picked, sample_pixels(labels, 50, seed=4, min_per_class=2))
    assert sample_pixels(labels, None).size == labels.size
    with pytest.raises(ValueError, match="positive"):
        sample_pixels(labels, 0)


def test_model_round_trip_and_vote_share(training_data, tmp_path: Path) -> None:
    X, y, _ = training_data
    model = fit(X, y, **SMALL)
    path = save_model(model, tmp_path / "m" / "model.joblib")
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    winners, confidence = vote_share(model, X)
    assert confidence.dtype == np.uint8 and confidence.max() <= 100
    assert confidence.min() >= 100 // 3  # a 3-class majority holds at least a third
    assert (winners == model.predict(X)).mean() > 0.95
    not_a_forest = tmp_path / "not_a_forest.joblib"
    joblib.dump({"a": 1}, not_a_forest)
    with pytest.raises(ValueError, match="Random Forest"):
        load_model(not_a_forest)


def write_run(tmp_path: Path, model, grid: list[date]) -> Path:
    run_dir = tmp_path / "run"
    save_model(model, run_dir / "model.joblib")
    meta = {"kind": "rf", "grid": [g.isoformat() for g in grid], "bands": BANDS}
    (run_dir / "run.json").write_text(json.dumps(meta))
    return run_dir


def test_predictor_on_a_block(training_data, tmp_path: Path) -> None:
    _, y, series = training_data
    grid = [DATES[0] + timedelta(days=10 * i) for i in range(9)]
    Xg = features(series, DATES, BANDS, grid=grid)
    model = fit(Xg, y, **SMALL)
    predictor = load_predictor(write_run(tmp_path, model, grid))
    assert predictor.classes == [1, 2, 3] and predictor.window is None and predictor.halo == 0
    h, w = 18, 20  # 360 pixels = the training pixels laid out as a block
    block = series.reshape(h, w, len(DATES), len(BANDS)).transpose(2, 3, 0, 1)
    clouds = np.zeros((len(DATES), h, w), dtype=np.uint8)
    proba = predictor.predict_proba(block, clouds, DATES, BANDS)
    assert proba.shape == (3, h, w) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=0), 1.0, rtol=1e-5)
    want = model.predict_proba(Xg).T.reshape(3, h, w)
    np.testing.assert_allclose(proba, want, rtol=1e-6)
    # band order of the block does not matter; small chunks give the same answer
    order = np.arange(len(BANDS))[::-1]
    predictor.chunk = 7
    flipped = predictor.predict_proba(block[:, order], clouds, DATES, [BANDS[i] for i in order])
    np.testing.assert_allclose(flipped, proba, rtol=1e-6)
    labels, confidence, validity = predictor.predict_oso(block, clouds, DATES, BANDS)
    assert labels.shape == confidence.shape == validity.shape == (h, w)
    assert np.all(validity == len(DATES))
    clouds[:3] = 1
    block = block.copy()
    block[5, :, 0, 0] = -10000  # Theia no-data counts as not clear
    _, _, validity = predictor.predict_oso(block, clouds, DATES, BANDS)
    assert validity[0, 0] == len(DATES) - 4 and validity[1, 1] == len(DATES) - 3
    with pytest.raises(ValueError, match="lacks bands"):
        predictor.predict_proba(block[:, :9], clouds, DATES, BANDS[:9])


def test_load_predictor_refuses_other_runs(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="run.json"):
        load_predictor(tmp_path)
    (tmp_path / "run.json").write_text(json.dumps({"kind": "ubarn"}))
    with pytest.raises(ValueError, match="not a Random Forest"):
        load_predictor(tmp_path)


def test_suspicion_ranks_the_mislabelled_patch_first(training_data) -> None:
    X, y, _ = training_data
    groups = np.array([f"p{i % 6}" for i in range(len(y))])
    noisy = y.copy()
    flip = groups == "p4"
    noisy[flip] = np.where(y[flip] == 1, 2, np.where(y[flip] == 2, 3, 1))
    scores = oof_label_suspicion(X, noisy, groups, n_folds=3, **SMALL)
    assert list(scores)[0] == "p4"
    assert scores["p4"]["suspicion"] > 0.8
    assert max(v["suspicion"] for k, v in scores.items() if k != "p4") < 0.3
    assert sum(v["n_pixels"] for v in scores.values()) == len(y)
    with pytest.raises(ValueError, match="two patches"):
        oof_label_suspicion(X, y, np.array(["p0"] * len(y)))


def test_plots_are_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y_true = rng.choice([1, 2, 5], size=300)
    y_pred = np.where(rng.random(300) < 0.7, y_true, 2)
    report = evaluation_report(y_true, y_pred, [1, 2, 5, 9])
    names = {1: "urban", 2: "crops", 5: "forest"}
    paths = [
        plot_confusion(report, tmp_path / "cm.png", names=names, title="test"),
        plot_f1_bars({"a": report, "b": report}, tmp_path / "f1.png", names=names),
        plot_learning_curves(
            {"train_loss": [(0, 1.0), (1, 0.5)], "val_mF1": [(0, 0.2), (1, 0.4)]},
            tmp_path / "curves.png",
        ),
    ]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="no curve"):
        plot_learning_curves({"train_loss": []}, tmp_path / "empty.png")
    assert not (tmp_path / "empty.png").exists()
