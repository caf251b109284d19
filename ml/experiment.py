"""The whole comparison of the study: OSO's Random Forest vs U-BARN, on one training set.

Four runs on the same snapshot, with the same labelled fraction and test patches:
the Random Forest (OSO protocol), U-BARN from scratch, U-BARN self-supervised
pre-training, and U-BARN fine-tuned from that pre-training (Dumeur, Valero, Inglada,
IEEE JSTARS 17, 2024, Sec. IV). Each stage writes into its own sub-folder and is skipped
when its results already exist, so a comparison job that was requeued resumes where it
stopped. The table compares test OA, kappa, mean F1 and mIoU, with McNemar's test of
each U-BARN run against the forest on the same test pixels.

With several ``seeds`` the four runs are repeated once per seed, in ``seed-<n>/``
sub-folders: a seed draws the labelled patches of the fraction (the same for the forest and
U-BARN), the forest's pixel sample and U-BARN's initial weights and crops. Single runs of
one recipe differ by points of mean F1, as much as the effects the study measures, so the
summary gives each run's mean and spread over seeds, and the paired differences (U-BARN
minus the forest of the same seed, fine-tuned minus from scratch) with how many seeds
each is positive in.
"""

from __future__ import annotations

import json
import logging
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ml.context import JobContext
from ml.metrics import OVERALL_KEYS, mcnemar

TRAINING_KEYS = (
    "model", "epochs", "lr", "batch_size", "patch_size", "patience", "seed", "device",
    "mask_clouds", "encoder_norm",
)  # fmt: skip
SUPERVISED_KEYS = ("class_balance", "crop_balance", "ema_decay", "logit_adjustment")
"""How the two segmentation runs (from scratch, fine-tuned) learn from their labels; the
pre-training, which reads no labels, takes none of them."""
PRETRAIN_KEYS = ("corpus",)
"""The pre-training's only: snapshot files of other datasets whose images it also learns
from (``ml.data.snapshot.with_corpus``)."""
RF_TITLE, SCRATCH_TITLE = "Random Forest (OSO)", "U-BARN from scratch"
FINETUNE_TITLE = "U-BARN pre-trained + fine-tuned"


@dataclass
class StageContext:
    """A job context for one stage: its own folders, progress mapped into [start, end]."""

    parent: JobContext
    name: str
    start: float
    end: float

    def __post_init__(self) -> None:
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        self.out_dir.mkdir(parents=True, exist_ok=True)

    @property
    def checkpoint_dir(self) -> Path:
        return Path(self.parent.checkpoint_dir) / self.name

    @property
    def out_dir(self) -> Path:
        return Path(self.parent.out_dir) / self.name

    @property
    def logger(self) -> logging.Logger:
        return self.parent.logger

    def progress(self, fraction: float, message: str = "") -> None:
        overall = self.start + (self.end - self.start) * min(max(fraction, 0.0), 1.0)
        self.parent.progress(overall, f"{self.name}: {message}")

    def metric(self, name: str, value: float, step: int) -> None:
        self.parent.metric(f"{self.name}/{name}", value, step)

    def should_stop(self) -> bool:
        return self.parent.should_stop()


@dataclass(frozen=True)
class Stage:
    """One run of the experiment."""

    name: str
    kind: str
    title: str
    share: float
    trainer: Callable[..., dict[str, Any]]
    config: Callable[[dict[str, Any], Path], dict[str, Any]]
    """(experiment config, folder of this seed's stages) → the trainer's config."""


def _training(c: dict[str, Any], keys: tuple[str, ...] = TRAINING_KEYS) -> dict[str, Any]:
    return {k: c[k] for k in keys if k in c}


def _supervised(c: dict[str, Any]) -> dict[str, Any]:
    return {**_training(c, TRAINING_KEYS + SUPERVISED_KEYS), "label_fraction": c["label_fraction"]}


def _rf_config(c: dict[str, Any], _out: Path) -> dict[str, Any]:
    return {"label_fraction": c["label_fraction"], "seed": c["seed"]}


def _scratch_config(c: dict[str, Any], _out: Path) -> dict[str, Any]:
    return {**_supervised(c), "regime": "scratch"}


def _pretrain_config(c: dict[str, Any], _out: Path) -> dict[str, Any]:
    epochs = c.get("pretrain_epochs", c.get("epochs", 10))
    return {**_training(c, TRAINING_KEYS + PRETRAIN_KEYS), "epochs": epochs}


def _finetune_config(c: dict[str, Any], folder: Path) -> dict[str, Any]:
    return {**_supervised(c), "regime": "finetune", "pretrained": str(folder / "pretrain")}


def _stages() -> list[Stage]:
    from ml import rf
    from ml.train import finetune, pretrain

    return [
        Stage("rf", "train_rf", RF_TITLE, 0.1, rf.train_run, _rf_config),
        Stage("scratch", "finetune", SCRATCH_TITLE, 0.3, finetune.run, _scratch_config),
        Stage("pretrain", "pretrain", "U-BARN pre-training", 0.3, pretrain.run, _pretrain_config),
        Stage("finetune", "finetune", FINETUNE_TITLE, 0.3, finetune.run, _finetune_config),
    ]  # fmt: skip


def run(ctx: JobContext, *, snapshot: Path, config: dict[str, Any]) -> dict[str, Any]:
    """Run the four stages once per seed; returns {"runs", "table", "summary"}.

    The table and the summary (see ``comparison_table`` and ``seed_summary``; the summary
    is empty for one seed) are also written to ``ctx.out_dir / "comparison.json"``.

    Args:
        ctx: job context; each stage writes into ``ctx.out_dir / <stage>``, or
            ``ctx.out_dir / seed-<n> / <stage>`` with several seeds.
        snapshot: the training-set snapshot every stage uses.
        config: label_fraction, epochs, pretrain_epochs, lr, batch_size, patch_size,
            patience, seed, device, model, mask_clouds, encoder_norm; for the runs from
            scratch and fine-tuned, class_balance, crop_balance, ema_decay and
            logit_adjustment; for the pre-training, ``corpus`` (snapshot files of other
            datasets, images only); ``seeds`` (a list) repeats the comparison, replacing
            seed.
    """
    config = {"label_fraction": 1.0, "seed": 0, **config}
    seeds = list(config.pop("seeds", None) or [config["seed"]])
    out = Path(ctx.out_dir)
    runs, start, per_seed = [], 0.0, 1.0 / len(seeds)
    for seed in seeds:
        folder = PurePosixPath(f"seed-{seed}") if len(seeds) > 1 else PurePosixPath()
        suffix = f", seed {seed}" if len(seeds) > 1 else ""
        for stage in _stages():
            name = str(folder / stage.name)
            sub = StageContext(ctx, name, start, start + stage.share * per_seed)
            start += stage.share * per_seed
            done = sub.out_dir / "results.json"
            if done.is_file():
                ctx.logger.info("experiment: %s already done, skipped", name)
                results = json.loads(done.read_text())
            else:
                ctx.logger.info("experiment: %s%s", stage.title, suffix)
                trainer_config = stage.config({**config, "seed": seed}, out / folder)
                results = stage.trainer(sub, snapshot=Path(snapshot), config=trainer_config)
                if results.get("status") == "cancelled":
                    return {"status": "cancelled", "stage": name}
            runs.append({"kind": stage.kind, "name": stage.title + suffix, "out_dir": name,
                         "stage": stage.title, "seed": seed, "results": results})  # fmt: skip
    table = comparison_table(out, runs)
    summary = seed_summary(table) if len(seeds) > 1 else []
    (out / "comparison.json").write_text(
        json.dumps({"seeds": seeds, "table": table, "summary": summary}, indent=2)
    )
    ctx.progress(1.0, "comparison done")
    return {"runs": runs, "table": table, "summary": summary}


def comparison_table(out: Path, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per evaluated run: metrics, training time, McNemar p-value against the RF
    of the same seed (the one in the same folder)."""
    rows = []
    for entry in runs:
        results = entry["results"]
        if "oa" not in results:  # pre-training has no land-cover metrics
            continue
        row = {"run": entry["name"], "stage": entry["stage"], "seed": entry["seed"],
               **{k: results.get(k) for k in OVERALL_KEYS}}  # fmt: skip
        row["fit_seconds"] = results.get("fit_seconds")
        stage_dir = out / entry["out_dir"]
        reference = stage_dir.parent / "rf" / "predictions.npz"
        predictions = stage_dir / "predictions.npz"
        row["mcnemar_p_vs_rf"] = None
        if stage_dir.name != "rf" and reference.is_file() and predictions.is_file():
            with np.load(reference) as a, np.load(predictions) as b:
                if np.array_equal(a["y_true"], b["y_true"]):
                    test = mcnemar(a["y_true"], a["y_pred"], b["y_pred"])
                    row["mcnemar_p_vs_rf"] = test["p_value"]
        rows.append(row)
    return rows


def spread(values: list[float]) -> dict[str, float | int]:
    """Mean, sample standard deviation (0 for one value) and count of ``values``."""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": statistics.fmean(values), "sd": sd, "n": len(values)}


def seed_summary(table: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per run (stage), over the seeds: mean and sd of each metric, and paired differences.

    A difference is taken within a seed (same labelled patches, same test pixels) and then
    averaged: mean F1 minus the forest's for every U-BARN run, and minus U-BARN from
    scratch's for the pre-trained one (pre-training's worth); "wins" counts the seeds where
    it is positive. Seeds missing a run are left out of the differences that need it.
    """
    by_stage: dict[str, dict[Any, dict[str, Any]]] = {}
    for row in table:
        by_stage.setdefault(row["stage"], {})[row["seed"]] = row
    summary = []
    for stage, rows in by_stage.items():
        entry: dict[str, Any] = {"stage": stage, "n_seeds": len(rows)}
        for key in OVERALL_KEYS:
            entry[key] = spread([r[key] for r in rows.values()])
        baselines = {"rf": RF_TITLE, "scratch": SCRATCH_TITLE}
        entry["mean_f1_minus"] = {}
        for label, baseline in baselines.items():
            if stage in (RF_TITLE, baseline) or baseline not in by_stage:
                continue
            paired = [
                r["mean_f1"] - by_stage[baseline][seed]["mean_f1"]
                for seed, r in rows.items()
                if seed in by_stage[baseline]
            ]
            if paired:
                entry["mean_f1_minus"][label] = {
                    **spread(paired),
                    "wins": sum(d > 0 for d in paired),
                }
        summary.append(entry)
    return summary


def spread_text(spread: dict[str, Any], *, signed: bool = False) -> str:
    """A ``spread`` as text, 3 decimals as on the runs pages: "0.853 ± 0.012"."""
    mean = f"{spread['mean']:+.3f}" if signed else f"{spread['mean']:.3f}"
    return f"{mean} ± {spread['sd']:.3f}"
