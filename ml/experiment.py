"""The whole comparison of the study: OSO's Random Forest vs U-BARN, on one training set.

Four runs on the same snapshot, with the same labelled fraction and test patches:
the Random Forest (OSO protocol), U-BARN from scratch, U-BARN self-supervised
pre-training, and U-BARN fine-tuned from that pre-training (Dumeur, Valero, Inglada,
IEEE JSTARS 17, 2024, Sec. IV). Each stage writes into its own sub-folder and is skipped
when its results already exist, so a comparison job that was requeued resumes where it
stopped. The table compares test OA, kappa, mean F1 and mIoU, with McNemar's test of
each U-BARN run against the forest on the same test pixels.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ml.context import JobContext
from ml.metrics import OVERALL_KEYS, mcnemar

TRAINING_KEYS = ("model", "epochs", "lr", "batch_size", "patch_size", "seed", "device")


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


def _training(c: dict[str, Any]) -> dict[str, Any]:
    return {k: c[k] for k in TRAINING_KEYS if k in c}


def _rf_config(c: dict[str, Any], _out: Path) -> dict[str, Any]:
    return {"label_fraction": c["label_fraction"], "seed": c["seed"]}


def _scratch_config(c: dict[str, Any], _out: Path) -> dict[str, Any]:
    return {**_training(c), "regime": "scratch", "label_fraction": c["label_fraction"]}


def _pretrain_config(c: dict[str, Any], _out: Path) -> dict[str, Any]:
    return {**_training(c), "epochs": c.get("pretrain_epochs", c.get("epochs", 10))}


def _finetune_config(c: dict[str, Any], out: Path) -> dict[str, Any]:
    return {
        **_training(c),
        "regime": "finetune",
        "label_fraction": c["label_fraction"],
        "pretrained": str(out / "pretrain"),
    }


def _stages() -> list[Stage]:
    from ml import rf
    from ml.train import finetune, pretrain

    return [
        Stage("rf", "train_rf", "Random Forest (OSO)", 0.1, rf.train_run, _rf_config),
        Stage("scratch", "finetune", "U-BARN from scratch", 0.3, finetune.run, _scratch_config),
        Stage("pretrain", "pretrain", "U-BARN pre-training", 0.3, pretrain.run, _pretrain_config),
        Stage("finetune", "finetune", "U-BARN pre-trained + fine-tuned", 0.3, finetune.run,
              _finetune_config),
    ]  # fmt: skip


def run(ctx: JobContext, *, snapshot: Path, config: dict[str, Any]) -> dict[str, Any]:
    """Run the four stages; returns {"runs": [...], "table": [...]} (see the module doc).

    Args:
        ctx: job context; each stage writes into ``ctx.out_dir / <stage>``.
        snapshot: the training-set snapshot every stage uses.
        config: label_fraction, epochs, pretrain_epochs, lr, batch_size, patch_size,
            seed, device, model.
    """
    config = {"label_fraction": 1.0, "seed": 0, **config}
    out = Path(ctx.out_dir)
    runs, start = [], 0.0
    for stage in _stages():
        sub = StageContext(ctx, stage.name, start, start + stage.share)
        start += stage.share
        done = sub.out_dir / "results.json"
        if done.is_file():
            ctx.logger.info("experiment: %s already done, skipped", stage.name)
            results = json.loads(done.read_text())
        else:
            ctx.logger.info("experiment: %s", stage.title)
            results = stage.trainer(sub, snapshot=Path(snapshot), config=stage.config(config, out))
            if results.get("status") == "cancelled":
                return {"status": "cancelled", "stage": stage.name}
        runs.append(
            {"kind": stage.kind, "name": stage.title, "out_dir": stage.name, "results": results}
        )
    table = comparison_table(out, runs)
    (out / "comparison.json").write_text(json.dumps(table, indent=2))
    ctx.progress(1.0, "comparison done")
    return {"runs": runs, "table": table}


def comparison_table(out: Path, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per evaluated run: metrics, training time, McNemar p-value against the RF."""
    reference = out / "rf" / "predictions.npz"
    rows = []
    for entry in runs:
        results = entry["results"]
        if "oa" not in results:  # pre-training has no land-cover metrics
            continue
        row = {"run": entry["name"], **{k: results.get(k) for k in OVERALL_KEYS}}
        row["fit_seconds"] = results.get("fit_seconds")
        predictions = out / entry["out_dir"] / "predictions.npz"
        row["mcnemar_p_vs_rf"] = None
        if entry["out_dir"] != "rf" and reference.is_file() and predictions.is_file():
            with np.load(reference) as a, np.load(predictions) as b:
                if np.array_equal(a["y_true"], b["y_true"]):
                    test = mcnemar(a["y_true"], a["y_pred"], b["y_pred"])
                    row["mcnemar_p_vs_rf"] = test["p_value"]
        rows.append(row)
    return rows
