"""The files a finished U-BARN run leaves in its output folder, and reading them back.

``run.json`` says what the run is ({"kind": "ubarn", "stage": "pretrain" | "finetune"}, the
config, the network sizes, the normalisation statistics, the class mapping), so that
``ml.models.registry`` and a later fine-tuning run can rebuild the model from ``model.pt``
without the job's parameters. Learning curves are saved as JSON and PNG.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from ml.plots import plot_learning_curves
from ml.train.base import FitResult

RUN_FILE = "run.json"
MODEL_FILE = "model.pt"
CURVES_FILE = "learning_curves.json"


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (a reader never sees half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def read_run(run_dir: Path, stage: str | None = None) -> dict[str, Any]:
    """run.json of a finished U-BARN run, checked to be of the expected ``stage``.

    Raises:
        FileNotFoundError: no run.json (not a run folder, or the run did not finish).
        ValueError: another kind of run, or another stage.
    """
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"no {RUN_FILE} in run folder {Path(run_dir).name}: not a finished run"
        )
    run = json.loads(path.read_text())
    if run.get("kind") != "ubarn":
        raise ValueError(f"run {Path(run_dir).name} is a {run.get('kind')!r} run, not U-BARN")
    if stage is not None and run.get("stage") != stage:
        raise ValueError(f"run {Path(run_dir).name} is a {run.get('stage')} run, not {stage}")
    return run


def load_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    """The state dict saved by a run."""
    return torch.load(Path(run_dir) / MODEL_FILE, map_location="cpu", weights_only=True)


def load_encoder_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    """The U-BARN encoder's part of a run's state dict, keyed as the encoder's own."""
    weights = load_weights(run_dir)
    return {k.removeprefix("encoder."): v for k, v in weights.items() if k.startswith("encoder.")}


def write_run(
    out_dir: Path, run: dict[str, Any], model: torch.nn.Module, fit: FitResult, title: str
) -> None:
    """Save the weights, run.json and the learning curves of a finished run."""
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out_dir / MODEL_FILE)
    write_json(out_dir / CURVES_FILE, fit.history)
    names = [k for k in fit.history[0] if k not in ("epoch", "lr")] if fit.history else []
    curves = {name: [(p["epoch"], p[name]) for p in fit.history] for name in names}
    if curves:
        plot_learning_curves(curves, out_dir / "learning_curves.png", title=title)
    write_json(out_dir / RUN_FILE, {"kind": "ubarn", "model": MODEL_FILE, **run})


def stopped_result(fit: FitResult) -> dict[str, Any]:
    """What ``run`` returns when the job was cancelled (a checkpoint was saved)."""
    return {"status": "cancelled", "stopped": True, "epochs_run": fit.epochs_run}
