"""Linear probes: how much of the land cover a pre-trained U-BARN encoder makes linear.

A logistic regression is fitted on pixels of the labelled training patches and scored on
the test patches of ``bench_experiment.py``'s benchmark, with three inputs per pixel:
the raw normalised series (T × C values), the frozen encoder's per-date representation
(T × D) and its mean over dates (D). It says what the frozen (FR) regime could reach with
a linear read-out, and what a per-pixel linear classifier of the raw series already
gets, to read the U-BARN rows of the main table against.

    .venv/bin/python bench/bench_probe.py --keep DIR [bench_experiment.py's options]

With ``--keep DIR`` (a ``bench_experiment.py`` work folder, same data options) its
snapshot and pre-training run are reused; what is missing is made as that script makes
it.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from bench_experiment import (
    Bench,
    _train_stage,
    _worker_threads,
    build_parser,
    parse_args,
    synthetic_snapshot,
)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ml.data.dataset import ClassMapping, SitsDataset, label_subset
from ml.data.normalise import BandStats
from ml.metrics import evaluation_report
from ml.models.ubarn import UBarnConfig, UBarnEncoder
from ml.train.artifacts import load_encoder_weights, read_run
from ml.train.data import load_training_set

INPUTS = ("raw series (T×C)", "encoder (T×D)", "encoder, mean over dates (D)")


def pretrained_encoder(bench: Bench) -> tuple[UBarnEncoder, BandStats, int]:
    """The benchmark's pre-trained encoder (trained first if missing), band stats, dates."""
    first, _ = bench.ubarn_stages()
    name, stage, snapshot, config = first[0]
    if bench.finished(name, config) is None:
        _train_stage(bench.root, name, stage, snapshot, config)
    run_dir = bench.root / "runs" / name
    run = read_run(run_dir, stage="pretrain")
    encoder = UBarnEncoder(UBarnConfig.from_dict(run["network"]))
    encoder.load_state_dict(load_encoder_weights(run_dir))
    return encoder.eval(), BandStats.from_dict(run["normalisation"]), int(run["max_dates"])


@torch.no_grad()
def pixel_features(
    data: SitsDataset, encoder: UBarnEncoder, per_patch: int, rng: np.random.Generator
) -> tuple[list[np.ndarray], np.ndarray]:
    """The three inputs (pixels × features each) and the class indices of sampled pixels."""
    inputs: list[list[np.ndarray]] = [[], [], []]
    labels = []
    for i in range(len(data)):
        sample = data[i]
        x = sample["x"][None]
        z = encoder(x, sample["days"][None], sample["pad"][None])[0]  # (T, D, H, W)
        label = sample["label"].numpy().reshape(-1)
        labelled = np.flatnonzero(label >= 0)
        pick = rng.choice(labelled, min(per_patch, labelled.size), replace=False)
        t, d = z.shape[:2]
        inputs[0].append(x[0].reshape(t * x.shape[2], -1).T.numpy()[pick])
        inputs[1].append(z.reshape(t * d, -1).T.numpy()[pick])
        inputs[2].append(z.mean(0).reshape(d, -1).T.numpy()[pick])
        labels.append(label[pick])
    return [np.concatenate(parts) for parts in inputs], np.concatenate(labels)


def main() -> None:
    parser = build_parser(__doc__.splitlines()[0])
    parser.add_argument("--pixels", type=int, default=300, help="pixels sampled per patch")
    args = parse_args(parser)
    _worker_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        snapshot = synthetic_snapshot(root / "data", args)
        encoder, stats, max_dates = pretrained_encoder(Bench(root, snapshot, args))
        training_set = load_training_set(snapshot, ("train", "test"))
        classes = ClassMapping.from_nomenclature(training_set.nomenclature)
        codes = np.asarray(classes.codes)

        def features(patches: list) -> tuple[list[np.ndarray], np.ndarray]:
            data = SitsDataset(
                patches, stats, max_dates=max_dates, patch_size=None, classes=classes
            )
            return pixel_features(data, encoder, args.pixels, np.random.default_rng(args.seed))

        x_test, y_test = features(training_set.split("test"))
        print(f"{len(y_test)} test pixels, {args.pixels} sampled per patch")
        print("\n| labels % | input | features | OA | kappa | mF1 | fit s |")
        print("|---|---|---|---|---|---|---|")
        for fraction in args.fractions:
            train = label_subset(training_set.split("train"), fraction, args.seed)
            x_train, y_train = features(train)
            for name, train_x, test_x in zip(INPUTS, x_train, x_test, strict=True):
                start = time.perf_counter()
                model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
                model.fit(train_x, y_train)
                seconds = time.perf_counter() - start
                report = evaluation_report(codes[y_test], codes[model.predict(test_x)], codes)
                print(f"| {100 * fraction:.0f} | {name} | {train_x.shape[1]} | "
                      f"{100 * report['oa']:.1f} | {100 * report['kappa']:.1f} | "
                      f"{100 * report['mean_f1']:.1f} | {seconds:.1f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
