"""Random Forest fit time and accuracy: scikit-learn (sitslab) beside Orfeo ToolBox (OSO).

OSO's maps are made by OTB's OpenCV Random Forest (`otbcli_TrainVectorClassifier
-classifier rf -classifier.rf.max 25 -classifier.rf.min 5 -classifier.rf.nbtrees 100`).
sitslab trains scikit-learn's forest with the same settings on all cores. This script
trains both on the same OSO feature samples (gap-filled reflectances + NDVI, NDWI,
brightness, see ml.rf.features) and prints one table: samples, features, fit seconds,
predict seconds, OA and kappa on the same held-out pixels.

The pixels come from the synthetic OSO benchmark (ml.data.synthetic: look-alike crops,
clouds, mixed edge pixels, label noise): training samples are drawn from the training
patches, the held-out pixels from the spatially disjoint test patches. The date grid is
coarsened to about nine dates so that F ~ 120 features, the size of the reference
figure in the OSO notes (40,000 samples x 120 features).

Usage: python bench/bench_rf_otb.py [--samples 5000,20000] [--test 10000] [--seed 0]
When OTB's command-line tools are missing, the OTB column is skipped and says so.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from ml.data.snapshot import TrainingSet, make_training_set
from ml.data.store import read_patch
from ml.gapfill import common_grid
from ml.metrics import evaluation_report
from ml.rf import OSO_PARAMS, fit
from ml.rf_train import labelled_features

GRID_DATES = 9
OTB_TRAIN = "otbcli_TrainVectorClassifier"
OTB_CLASSIFY = "otbcli_VectorClassifier"


def split_pixels(training_set: TrainingSet, split: str, grid: np.ndarray):
    """OSO features and labels of every labelled pixel of a split's patches."""
    ignore = np.asarray(training_set.nomenclature.ignore_codes, dtype=np.int64)
    parts = [
        labelled_features(p, training_set.bands, grid, ignore) for p in training_set.split(split)
    ]
    return np.concatenate([X for X, _ in parts]), np.concatenate([y for _, y in parts])


def benchmark_pixels(root: Path, n_patches: int, seed: int):
    """Train-split and test-split pixels of a freshly generated synthetic benchmark."""
    snapshot = make_training_set(root, n_patches=n_patches, size=64, n_dates=30, seed=seed)
    training_set = TrainingSet.load(snapshot)
    dates = [read_patch(p.dir).dates for p in training_set.split("train")]
    span = common_grid(dates, step=1)
    step = max(1, int(span[-1] - span[0]) // (GRID_DATES - 1))
    grid = common_grid(dates, step=step)
    train = split_pixels(training_set, "train", grid)
    test = split_pixels(training_set, "test", grid)
    return train, test, sorted(int(c) for c in training_set.nomenclature.valid_codes)


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


def children_cpu() -> float:
    """CPU seconds used so far by finished child processes (OTB runs single-threaded)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_sklearn(X, y, X_test, y_test, labels, seed) -> dict[str, float]:
    start, cpu = time.perf_counter(), time.process_time()
    model = fit(X, y, random_state=seed)
    fit_s, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    pred = model.predict(X_test)
    predict_s = time.perf_counter() - start
    report = evaluation_report(y_test, pred, labels)
    return {"fit": fit_s, "cpu": fit_cpu, "predict": predict_s, **_scores(report)}


def _scores(report: dict) -> dict[str, float]:
    return {"oa": report["oa"], "kappa": report["kappa"]}


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
    start, cpu = time.perf_counter(), children_cpu()
    subprocess.run(train_cmd, check=True, capture_output=True)
    fit_s, fit_cpu = time.perf_counter() - start, children_cpu() - cpu
    classify_cmd = [OTB_CLASSIFY, "-in", str(test), "-model", str(model), "-feat", *names,
                    "-cfield", "pred", "-out", str(predicted)]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(classify_cmd, check=True, capture_output=True)
    predict_s = time.perf_counter() - start
    with predicted.open() as handle:
        pred = np.array([int(row["pred"]) for row in csv.DictReader(handle)])
    report = evaluation_report(y_test, pred, labels)
    return {"fit": fit_s, "cpu": fit_cpu, "predict": predict_s, **_scores(report)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", default="5000,20000", help="training sizes, comma-separated")
    parser.add_argument("--test", type=int, default=10_000, help="held-out pixels (at most)")
    parser.add_argument("--patches", type=int, default=30, help="synthetic 64x64 patches")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sizes = [int(s) for s in args.samples.split(",")]
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        (X_pool, y_pool), (X_test, y_test), labels = benchmark_pixels(
            Path(tmp), args.patches, args.seed
        )
    held = rng.permutation(len(y_test))[: args.test]
    X_test, y_test = X_test[held], y_test[held]
    order = rng.permutation(len(y_pool))
    otb = shutil.which(OTB_TRAIN) and shutil.which(OTB_CLASSIFY)
    print(f"scikit-learn RF {OSO_PARAMS} on {os.cpu_count()} cores")
    print(f"pool: {len(y_pool)} training-patch pixels, {len(y_test)} test-patch pixels")
    if not otb:
        print(f"OTB not found ({OTB_TRAIN} missing, Debian package otb-bin): column skipped")
    header = f"{'engine':<14}{'samples':>9}{'features':>10}{'fit s':>9}{'fit cpu s':>11}"
    header += f"{'predict s':>11}"
    print(header + f"{'OA':>8}{'kappa':>8}")
    for n in sizes:
        if n > len(y_pool):
            print(f"{n} samples asked, the pool has {len(y_pool)}: skipped")
            continue
        X, y = X_pool[order[:n]], y_pool[order[:n]]
        results = {"scikit-learn": run_sklearn(X, y, X_test, y_test, labels, args.seed)}
        if otb:
            with tempfile.TemporaryDirectory() as tmp:
                results["OTB (OpenCV)"] = run_otb(X, y, X_test, y_test, labels, Path(tmp))
        for engine, r in results.items():
            print(
                f"{engine:<14}{n:>9}{X.shape[1]:>10}{r['fit']:>9.1f}{r['cpu']:>11.1f}"
                f"{r['predict']:>11.2f}"
                f"{r['oa']:>8.3f}{r['kappa']:>8.3f}"
            )
    print("fit s: wall clock; fit cpu s: CPU time of all threads (robust on a shared machine)")
    print("OTB's times include its start-up and reading/writing the CSV samples")


if __name__ == "__main__":
    main()
