"""From a run folder to a map ``Predictor``, whatever model the run trained.

Every trainer writes ``run.json`` with a ``kind`` ("ubarn" or "rf"); map production calls
``load_predictor`` and never needs to know which model it got. Each kind's loader is
imported only when asked for, so loading a U-BARN run does not import scikit-learn and
loading a forest does not need a GPU.
"""

from __future__ import annotations

import json
from pathlib import Path

from ml.predictor import Predictor

KINDS = ("ubarn", "rf")


def run_kind(run_dir: Path) -> str:
    """The ``kind`` recorded in a run folder's run.json.

    Raises:
        FileNotFoundError: the folder has no run.json (not a finished run).
        ValueError: the kind is missing or unknown.
    """
    path = Path(run_dir) / "run.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"no run.json in run folder {Path(run_dir).name}: not a finished run"
        )
    kind = json.loads(path.read_text()).get("kind")
    if kind not in KINDS:
        raise ValueError(f"unknown run kind {kind!r}; expected one of {KINDS}")
    return kind


def load_predictor(run_dir: Path, device: str = "auto") -> Predictor:
    """The predictor of a finished run ("ubarn" fine-tuning run or "rf" run).

    Args:
        run_dir: the run's output folder.
        device: "auto" (CUDA when present), "cpu" or "cuda"; the forest always runs on CPU.
    """
    kind = run_kind(run_dir)
    if kind == "ubarn":
        from ml.models.ubarn_predictor import load_ubarn_predictor

        return load_ubarn_predictor(Path(run_dir), device)
    from ml.rf import load_predictor as load_rf_predictor

    return load_rf_predictor(Path(run_dir))
