"""Logit adjustment on finished U-BARN runs: mean F1 for every strength, without retraining.

Re-scores the fine-tuning runs of a work folder kept by ``bench_experiment.py --keep``:
for each strength ``tau`` of ``ml.train.logit_adjustment.TAUS``, the logits minus
``tau · log(class frequency among the run's labelled pixels)``, scored on the whole
validation patches (what a run uses to choose ``tau``), on the test patches' stored
labels and on the generator's true labels. Prints one table per run, the strength
validation picks, and the per-class F1 that it changes most on the true labels. Runs
trained with the adjustment switched on already score the chosen strength in their
results.json; this shows the whole curve, and re-scores runs trained before the
adjustment existed (or before it was chosen on whole patches).

    .venv/bin/python bench/bench_logit_adjustment.py WORKDIR [--runs NAME,...] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml.data.class_sampling import patch_class_counts  # noqa: E402
from ml.data.dataset import ClassMapping, SitsDataset  # noqa: E402
from ml.data.normalise import BandStats  # noqa: E402
from ml.data.snapshot import TrainingSet  # noqa: E402
from ml.data.store import read_label  # noqa: E402
from ml.metrics import report_from_confusion  # noqa: E402
from ml.models.registry import load_predictor  # noqa: E402
from ml.models.ubarn_heads import SegmentationModel  # noqa: E402
from ml.train.artifacts import read_run  # noqa: E402
from ml.train.config import resolve_config  # noqa: E402
from ml.train.data import whole_patches  # noqa: E402
from ml.train.logit_adjustment import (  # noqa: E402
    TAUS,
    choose_tau,
    dataset_confusions,
    log_prior,
    mean_f1_by_tau,
    sample_logits,
    tau_confusions,
)


def per_class_f1(confusion: np.ndarray) -> np.ndarray:
    """F1 of each class index of a confusion matrix."""
    report = report_from_confusion(confusion, list(range(len(confusion))))
    return np.array([report["per_class"][str(i)]["f1"] for i in range(len(confusion))])


def confusions_on_both_labels(
    model: SegmentationModel,
    test: SitsDataset,
    true_labels: Sequence[np.ndarray],
    prior: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``tau_confusions`` of the whole test patches on their stored labels and on their true
    ones (``true_labels``: class indices of the same patches, in order, row-major), from
    one inference."""
    k = len(prior)
    on_stored, on_true = (np.zeros((len(TAUS), k, k), dtype=np.int64) for _ in range(2))
    logits = sample_logits(model, test, torch.device("cpu"), nullcontext)
    for (sample, labels), true in zip(logits, true_labels, strict=True):
        on_stored += tau_confusions(sample, labels, prior)
        on_true += tau_confusions(sample, true, prior)
    return on_stored, on_true


def rescore(folder: Path, name: str) -> None:
    """Print the strength table of one run of the work folder."""
    run_dir = folder / "runs" / name
    run = read_run(run_dir, stage="finetune")
    cfg = resolve_config(run["config"], "finetune")
    stored = TrainingSet.load(folder / "data" / "snapshot.json")
    true = TrainingSet.load(folder / "data" / "snapshot-reference.json")
    classes = ClassMapping.from_nomenclature(stored.nomenclature)
    by_id = {p.id: p for p in stored.split("train")}
    labelled = [by_id[i] for i in run["train_patches"]]
    lookup = classes.lookup()
    prior = log_prior(patch_class_counts(labelled, lookup).sum(0))
    stats = BandStats.from_dict(run["normalisation"])
    model = load_predictor(run_dir, device="cpu").model

    if [p.id for p in stored.split("test")] != [p.id for p in true.split("test")]:
        raise ValueError(f"{folder}: the reference snapshot's test patches are not the stored ones")
    max_dates = run["max_dates"]
    val = whole_patches(stored.split("val"), cfg, stats, classes, max_dates=max_dates)
    test = whole_patches(stored.split("test"), cfg, stats, classes, max_dates=max_dates)
    true_labels = [lookup[read_label(p.label)].reshape(-1) for p in true.split("test")]
    codes = list(classes.codes)
    cpu = torch.device("cpu")
    on_val = mean_f1_by_tau(dataset_confusions(model, val, prior, cpu, nullcontext), codes)
    stored_confusions, true_confusions = confusions_on_both_labels(model, test, true_labels, prior)
    on_stored = mean_f1_by_tau(stored_confusions, codes)
    on_true = mean_f1_by_tau(true_confusions, codes)
    chosen = choose_tau(on_val)

    print(f"\n{name} ({cfg.regime}, {cfg.label_fraction:.0%} labels, seed {cfg.seed})\n")
    print("| tau | val mF1 | test mF1 (stored labels) | test mF1 (true labels) |")
    print("|---|---|---|---|")
    for tau in TAUS:
        label, true_mf1 = f"{tau}", f"{100 * on_true[tau]:.1f}"
        if tau == chosen:
            label, true_mf1 = f"{tau} (chosen)", f"**{true_mf1}**"
        print(f"| {label} | {100 * on_val[tau]:.1f} | {100 * on_stored[tau]:.1f} | {true_mf1} |")
    before, after = (per_class_f1(true_confusions[TAUS.index(t)]) for t in (0.0, chosen))
    support = true_confusions[0].sum(1)
    names = {c.code: c.name_en for c in stored.nomenclature.classes}
    order = np.argsort(-np.abs(after - before))
    print(f"\nper-class F1 on the true labels, tau 0 → {chosen} (largest changes):")
    for i in order[:8]:
        if support[i]:
            print(
                f"  {names[codes[i]]}: {100 * before[i]:.1f} → {100 * after[i]:.1f} "
                f"({support[i]} px, training share {100 * np.exp(prior[i]):.2f} %)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="a work folder kept by bench_experiment.py")
    parser.add_argument("--runs", default="", help="run names (default: every fine-tuning run)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    names = [n for n in args.runs.split(",") if n] or sorted(
        p.parent.name
        for p in (args.folder / "runs").glob("ubarn-*/run.json")
        if (p.parent / "model.pt").is_file()
    )
    with torch.no_grad():
        for name in names:
            rescore(args.folder, name)


if __name__ == "__main__":
    main()
