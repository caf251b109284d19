"""Random Forest fit time and accuracy: scikit-learn (sitslab) beside Orfeo ToolBox (OSO).

OSO's maps are made by OTB's OpenCV Random Forest (`otbcli_TrainVectorClassifier
-classifier rf -classifier.rf.max 25 -classifier.rf.min 5 -classifier.rf.nbtrees 100`).
sitslab trains scikit-learn's forest with the same settings on all cores. This script
trains both on the same OSO feature samples (gap-filled reflectances + NDVI, NDWI,
brightness, see ml.rf.features) and prints one table: samples, features, fit seconds,
predict seconds, OA and kappa on the same held-out samples.

Samples are pixel time series of look-alike classes (pairs of crops with shifted
phenology), with per-pixel amplitude and timing jitter, noise and clouds, so that the
accuracy is far from 100 % and a difference between engines would show.

Usage: python bench/bench_rf_otb.py [--samples 5000,20000] [--classes 10] [--seed 0]
When OTB's command-line tools are missing, the OTB column is skipped and says so.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from ml.metrics import evaluation_report
from ml.rf import OSO_PARAMS, features, fit

BANDS = ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12"]
START = date(2024, 3, 1)
ACQUISITION_DAYS = list(range(0, 90, 5))  # Sentinel-2's 5-day revisit over three months
GRID = [START + timedelta(days=d) for d in range(0, 81, 10)]  # 9 dates x 13 = 117 features
OTB_TRAIN = "otbcli_TrainVectorClassifier"
OTB_CLASSIFY = "otbcli_VectorClassifier"


def pixel_samples(n: int, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """OSO features (n, F) and labels of synthetic cloudy pixel time series."""
    rng = np.random.default_rng(seed)
    t = np.asarray(ACQUISITION_DAYS, dtype=np.float64)[None, :, None]
    pairs = rng.normal(0, 1, size=((n_classes + 1) // 2, len(BANDS)))
    y = rng.integers(0, n_classes, size=n)
    pair, twin = y // 2, y % 2
    base = 1500 + 400 * pairs[pair][:, None, :]  # spectral signature shared by a pair
    green = np.array([0.2, 0.4, -0.6, 0.3, 0.8, 1.0, 1.2, 1.2, 0.1, -0.3])[None, None, :]
    peak = 20 + (12 * pair[:, None, None]) % 50 + 6 * twin[:, None, None]  # twins: 6 days apart
    peak = peak + rng.normal(0, 6, size=(n, 1, 1))  # field-to-field timing
    amplitude = 900 * (1 + 0.15 * twin[:, None, None]) * rng.lognormal(0, 0.25, size=(n, 1, 1))
    season = amplitude * np.exp(-(((t - peak) / 20) ** 2)) * green
    series = base + season + rng.normal(0, 150, size=(n, len(ACQUISITION_DAYS), len(BANDS)))
    valid = rng.random(series.shape[:2]) > 0.3
    series[~valid] = rng.uniform(3000, 9000, size=(int((~valid).sum()), 1))  # clouds: bright
    dates = [START + timedelta(days=d) for d in ACQUISITION_DAYS]
    X = features(np.clip(series, 1, 10000).astype(np.int16), dates, BANDS, valid, grid=GRID)
    return X, (y + 1).astype(np.int64)


def write_vector(path: Path, X: np.ndarray, y: np.ndarray) -> list[str]:
    """Samples as an OGR CSV layer (with its .csvt field types) that OTB reads directly."""
    names = [f"f{i}" for i in range(X.shape[1])]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", *names])
        for label, row in zip(y, X, strict=True):
            writer.writerow([int(label), *(f"{v:.6g}" for v in row)])
    path.with_suffix(".csvt").write_text(",".join(["Integer"] + ["Real"] * len(names)) + "\n")
    return names


def run_sklearn(X, y, X_test, y_test, labels, seed) -> dict[str, float]:
    start = time.perf_counter()
    model = fit(X, y, random_state=seed)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    pred = model.predict(X_test)
    predict_s = time.perf_counter() - start
    report = evaluation_report(y_test, pred, labels)
    return {"fit": fit_s, "predict": predict_s, "oa": report["oa"], "kappa": report["kappa"]}


def run_otb(X, y, X_test, y_test, labels, workdir: Path) -> dict[str, float]:
    train, test = workdir / "train.csv", workdir / "test.csv"
    names = write_vector(train, X, y)
    write_vector(test, X_test, y_test)
    model, predicted = workdir / "model.txt", workdir / "predicted.csv"
    train_cmd = [
        OTB_TRAIN, "-io.vd", str(train), "-io.out", str(model), "-feat", *names,
        "-cfield", "code", "-classifier", "rf", "-classifier.rf.max", "25",
        "-classifier.rf.min", "5", "-classifier.rf.nbtrees", "100",
        "-valid.vd", str(train.with_name("tiny.csv")),
    ]  # fmt: skip
    write_vector(train.with_name("tiny.csv"), X[:20], y[:20])  # OTB validates on this
    start = time.perf_counter()
    subprocess.run(train_cmd, check=True, capture_output=True)
    fit_s = time.perf_counter() - start
    classify_cmd = [OTB_CLASSIFY, "-in", str(test), "-model", str(model), "-feat", *names,
                    "-cfield", "pred", "-out", str(predicted)]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(classify_cmd, check=True, capture_output=True)
    predict_s = time.perf_counter() - start
    with predicted.open() as handle:
        pred = np.array([int(row["pred"]) for row in csv.DictReader(handle)])
    report = evaluation_report(y_test, pred, labels)
    return {"fit": fit_s, "predict": predict_s, "oa": report["oa"], "kappa": report["kappa"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", default="5000,20000", help="training sizes, comma-separated")
    parser.add_argument("--test", type=int, default=10_000, help="held-out samples")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sizes = [int(s) for s in args.samples.split(",")]
    labels = list(range(1, args.classes + 1))
    X_all, y_all = pixel_samples(max(sizes) + args.test, args.classes, args.seed)
    X_test, y_test = X_all[-args.test :], y_all[-args.test :]
    otb = shutil.which(OTB_TRAIN) and shutil.which(OTB_CLASSIFY)
    print(f"scikit-learn RF {OSO_PARAMS} on {os.cpu_count()} cores")
    if not otb:
        print(f"OTB not found ({OTB_TRAIN} missing, Debian package otb-bin): column skipped")
    header = f"{'engine':<14}{'samples':>9}{'features':>10}{'fit s':>9}{'predict s':>11}"
    print(header + f"{'OA':>8}{'kappa':>8}")
    for n in sizes:
        X, y = X_all[:n], y_all[:n]
        results = {"scikit-learn": run_sklearn(X, y, X_test, y_test, labels, args.seed)}
        if otb:
            with tempfile.TemporaryDirectory() as tmp:
                results["OTB (OpenCV)"] = run_otb(X, y, X_test, y_test, labels, Path(tmp))
        for engine, r in results.items():
            print(
                f"{engine:<14}{n:>9}{X.shape[1]:>10}{r['fit']:>9.1f}{r['predict']:>11.2f}"
                f"{r['oa']:>8.3f}{r['kappa']:>8.3f}"
            )
    print(f"held-out samples: {len(y_test)}; OTB fit time includes reading the CSV samples")


if __name__ == "__main__":
    main()
