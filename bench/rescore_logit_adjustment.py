"""Logit adjustment on finished U-BARN runs: mean F1 for every strength, without retraining.

Re-scores the fine-tuning runs of a work folder kept by ``bench_experiment.py --keep``, for
two priors (``ml.train.logit_adjustment``): the one runs use, the class frequencies of the
crops the network trained on traded for the patches' raised to ``1 − tau``, and the one
runs used before, which took the network to have learned the patches' frequencies (the
logits minus ``tau · log(class frequency)``). Each candidate, the network's own decisions
and every strength of ``TAUS`` under each prior, is scored on the whole validation patches
(what a run chooses by), on the test patches' stored labels and on the generator's true
labels. Prints one table per run, the candidate validation picks under each prior, and the
per-class F1 that the crops' prior changes most on the true labels.

    .venv/bin/python bench/rescore_logit_adjustment.py WORKDIR [--runs NAME,...] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml.data.class_sampling import ClassCentredCrops, patch_class_counts  # noqa: E402
from ml.data.dataset import ClassMapping, SitsDataset  # noqa: E402
from ml.data.normalise import BandStats  # noqa: E402
from ml.data.snapshot import TrainingSet  # noqa: E402
from ml.data.store import read_label  # noqa: E402
from ml.metrics import report_from_confusion  # noqa: E402
from ml.models.registry import load_predictor  # noqa: E402
from ml.models.ubarn_heads import SegmentationModel  # noqa: E402
from ml.train.artifacts import read_run  # noqa: E402
from ml.train.config import resolve_config  # noqa: E402
from ml.train.data import make_datasets, whole_patches  # noqa: E402
from ml.train.logit_adjustment import (  # noqa: E402
    TAUS,
    ClassPriors,
    bias_confusions,
    choose,
    dataset_confusions,
    mean_f1s,
    sample_logits,
)

PRIORS = ("crops", "patches")
"""The two priors compared."""


def per_class_f1(confusion: np.ndarray) -> np.ndarray:
    """F1 of each class index of a confusion matrix."""
    report = report_from_confusion(confusion, list(range(len(confusion))))
    return np.array([report["per_class"][str(i)]["f1"] for i in range(len(confusion))])


def confusions_on_both_labels(
    model: SegmentationModel,
    test: SitsDataset,
    true_labels: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """``bias_confusions`` of the whole test patches on their stored labels and on their true
    ones (``true_labels``: class indices of the same patches, in order, row-major), from
    one inference."""
    k = len(biases[0])
    on_stored, on_true = (np.zeros((len(biases), k, k), dtype=np.int64) for _ in range(2))
    logits = sample_logits(model, test, torch.device("cpu"), nullcontext)
    for (sample, labels), true in zip(logits, true_labels, strict=True):
        on_stored += bias_confusions(sample, labels, biases)
        on_true += bias_confusions(sample, true, biases)
    return on_stored, on_true


def run_priors(run_dir: Path, run: dict, stored: TrainingSet, classes: ClassMapping) -> dict:
    """{"crops": ..., "patches": ...} ``ClassPriors`` of a run: the crops its best weights
    trained on, replayed from the run's config, and its labelled patches."""
    cfg = resolve_config(run["config"], "finetune")
    by_id = {p.id: p for p in stored.split("train")}
    labelled = [by_id[i] for i in run["train_patches"]]
    counts = patch_class_counts(labelled, classes.lookup())
    crops = ClassCentredCrops(counts, cfg.crop_balance) if cfg.crop_balance else None
    stats = BandStats.from_dict(run["normalisation"])
    train, _, _ = make_datasets(
        stored, labelled, cfg, stats, classes, max_dates=run["max_dates"], whole_test=True,
        class_crops=crops,
    )  # fmt: skip
    results = json.loads((run_dir / "results.json").read_text())
    seen = train.crop_class_counts(range(results["best_epoch"] + 1))
    totals = counts.sum(0)
    return {"crops": ClassPriors(seen, totals), "patches": ClassPriors(totals, totals)}


def rescore(folder: Path, name: str) -> None:
    """Print the candidates' table of one run of the work folder."""
    run_dir = folder / "runs" / name
    run = read_run(run_dir, stage="finetune")
    cfg = resolve_config(run["config"], "finetune")
    stored = TrainingSet.load(folder / "data" / "snapshot.json")
    true = TrainingSet.load(folder / "data" / "snapshot-reference.json")
    classes = ClassMapping.from_nomenclature(stored.nomenclature)
    lookup = classes.lookup()
    priors = run_priors(run_dir, run, stored, classes)
    stats = BandStats.from_dict(run["normalisation"])
    model = load_predictor(run_dir, device="cpu").model

    if [p.id for p in stored.split("test")] != [p.id for p in true.split("test")]:
        raise ValueError(f"{folder}: the reference snapshot's test patches are not the stored ones")
    max_dates = run["max_dates"]
    val = whole_patches(stored.split("val"), cfg, stats, classes, max_dates=max_dates)
    test = whole_patches(stored.split("test"), cfg, stats, classes, max_dates=max_dates)
    true_labels = [lookup[read_label(p.label)].reshape(-1) for p in true.split("test")]
    codes = list(classes.codes)
    # one pass over each split: the unadjusted candidate, then each prior's strengths
    candidates = [("none", None)] + [(prior, tau) for prior in PRIORS for tau in TAUS]
    unadjusted = np.zeros(len(codes), np.float32)
    biases = [unadjusted, *(priors[prior].bias(tau) for prior, tau in candidates[1:])]
    cpu = torch.device("cpu")
    on_val = mean_f1s(dataset_confusions(model, val, biases, cpu, nullcontext), codes)
    stored_confusions, true_confusions = confusions_on_both_labels(model, test, true_labels, biases)
    on_stored, on_true = mean_f1s(stored_confusions, codes), mean_f1s(true_confusions, codes)

    print(f"\n{name} ({cfg.regime}, {cfg.label_fraction:.0%} labels, seed {cfg.seed})\n")
    print("| prior | tau | val mF1 | test mF1 (stored labels) | test mF1 (true labels) |")
    print("|---|---|---|---|---|")
    chosen = {}
    for prior in PRIORS:
        family = [0, *(c for c, (p, _) in enumerate(candidates) if p == prior)]
        chosen[prior] = family[choose([on_val[c] for c in family])]
    for c, (prior, tau) in enumerate(candidates):
        picked = [p for p in PRIORS if chosen[p] == c]
        mark = f" (chosen, {' and '.join(picked)})" if picked else ""
        true_mf1 = f"{100 * on_true[c]:.1f}"
        print(
            f"| {prior} | {'—' if tau is None else tau}{mark} | {100 * on_val[c]:.1f} | "
            f"{100 * on_stored[c]:.1f} | {f'**{true_mf1}**' if picked else true_mf1} |"
        )
    # what the crops' prior's choice changes; when it keeps the network's own decisions,
    # what its tau 0 (the patches' prior) would have changed
    shown, what = chosen["crops"], "the crops' prior's choice"
    if shown == 0:
        shown = candidates.index(("crops", 0.0))
        what = "the crops' prior at tau 0 (validation kept the network's own)"
    before, after = (per_class_f1(true_confusions[c]) for c in (0, shown))
    support = true_confusions[0].sum(1)
    names = {c.code: c.name_en for c in stored.nomenclature.classes}
    shares = {p: priors[p].seen / priors[p].seen.sum() for p in PRIORS}
    order = np.argsort(-np.abs(after - before))
    print(f"\nper-class F1 on the true labels, unadjusted → {what}:")
    for i in order[:8]:
        if support[i]:
            print(
                f"  {names[codes[i]]}: {100 * before[i]:.1f} → {100 * after[i]:.1f} "
                f"({support[i]} px; share of the crops {100 * shares['crops'][i]:.2f} %, "
                f"of the patches {100 * shares['patches'][i]:.2f} %)"
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
