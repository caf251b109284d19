"""Runs as the results pages show them, and the side-by-side comparison of two runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.errors import NotFound
from backend.models import Run, TrainingSet
from backend.services.queue import as_utc
from backend.services.training_sets import CORPUS_SETS
from ml.metrics import OVERALL_KEYS, compare_reports, mcnemar
from ml.models.ubarn import UBarnConfig
from ml.train.artifacts import read_run

PREDICTIONS = "predictions.npz"


def get_run(*, session: Session, run_id: int) -> Run:
    """The run, or NotFound."""
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound(f"No run with id {run_id}.")
    return run


def artefacts(settings: Settings, run: Run) -> list[str]:
    """PNG plots the run wrote (confusion matrix, F1 bars, learning curves)."""
    folder = settings.path(run.out_dir)
    return sorted(p.name for p in folder.glob("*.png")) if folder.is_dir() else []


def artefact_path(settings: Settings, run: Run, name: str) -> Path:
    """The file of one of the run's PNG plots; NotFound for any other name."""
    if name not in artefacts(settings, run):
        raise NotFound(f"Run {run.id} has no plot named {name!r}.")
    return settings.path(run.out_dir) / name


def network(settings: Settings, run: Run) -> dict[str, Any] | None:
    """The U-BARN network as the run built it, from its run.json: its parameters may leave
    the settings to the model's preset or to the pre-training (a comparison's runs share
    one job's). None for a forest, or a run whose folder is gone."""
    try:
        built = read_run(settings.path(run.out_dir))
    except (FileNotFoundError, ValueError):
        return None
    made = UBarnConfig.from_dict(built["network"])  # older runs: the settings' defaults then
    return {
        "model": built["config"]["model"],
        "encoder_norm": made.encoder_norm,
        "mask_clouds": made.mask_clouds,
    }


def run_summary(run: Run) -> dict[str, Any]:
    """A run in listings: identity and headline metrics."""
    metrics = run.metrics or {}
    return {
        "id": run.id,
        "job_id": run.job_id,
        "kind": run.kind,
        "name": run.name,
        "training_set_id": run.training_set_id,
        "created_at": as_utc(run.created_at),
        **{key: metrics.get(key) for key in OVERALL_KEYS},
    }


def _training_set_out(training_set: TrainingSet) -> dict[str, Any]:
    return {
        "id": training_set.id,
        "name": training_set.name,
        "dataset_id": training_set.dataset_id,
        "n_patches": training_set.n_patches,
        "statuses": training_set.statuses,
        "created_at": as_utc(training_set.created_at),
    }


def run_detail(*, session: Session, settings: Settings, run: Run) -> dict[str, Any]:
    """Everything the results page shows: metrics, parameters, training set, plots."""
    training_set = session.get(TrainingSet, run.training_set_id) if run.training_set_id else None
    corpus = (run.params.get(CORPUS_SETS) or []) if run.kind == "pretrain" else []
    return {
        **run_summary(run),
        "params": run.params,
        "metrics": run.metrics or {},
        "training_set": None if training_set is None else _training_set_out(training_set),
        "corpus": [
            _training_set_out(extra)
            for extra in (session.get(TrainingSet, int(i)) for i in corpus)
            if extra is not None
        ],
        "artefacts": [
            f"/api/v1/runs/{run.id}/artefacts/{name}" for name in artefacts(settings, run)
        ],
        "has_predictions": (settings.path(run.out_dir) / PREDICTIONS).is_file(),
        "network": network(settings, run),
    }


def list_runs(*, session: Session, limit: int = 200) -> list[dict[str, Any]]:
    """Newest runs first."""
    return [
        run_summary(r) for r in session.scalars(select(Run).order_by(Run.id.desc()).limit(limit))
    ]


def _mcnemar(settings: Settings, a: Run, b: Run) -> dict[str, Any]:
    """McNemar's test on the two runs' test pixels, when both runs saw the same ones."""
    files = [settings.path(r.out_dir) / PREDICTIONS for r in (a, b)]
    if not all(f.is_file() for f in files):
        return {"available": False, "reason": "a run has no saved test predictions"}
    with np.load(files[0]) as pa, np.load(files[1]) as pb:
        if pa["y_true"].shape != pb["y_true"].shape or not np.array_equal(
            pa["y_true"], pb["y_true"]
        ):
            return {"available": False, "reason": "the runs were not tested on the same pixels"}
        return {"available": True, **mcnemar(pa["y_true"], pa["y_pred"], pb["y_pred"])}


def compare(*, session: Session, settings: Settings, a_id: int, b_id: int) -> dict[str, Any]:
    """Overall metrics of runs a and b with deltas (b - a), per-class F1, McNemar's test."""
    a, b = get_run(session=session, run_id=a_id), get_run(session=session, run_id=b_id)
    ma, mb = a.metrics or {}, b.metrics or {}
    comparable = all("per_class" in m and all(k in m for k in OVERALL_KEYS) for m in (ma, mb))
    deltas = compare_reports(ma, mb) if comparable else None
    rows = [
        {
            "metric": key,
            "a": ma.get(key),
            "b": mb.get(key),
            "delta": deltas["overall"][key] if deltas else None,
        }
        for key in OVERALL_KEYS
    ]
    codes = sorted({*ma.get("per_class", {}), *mb.get("per_class", {})}, key=int)
    per_class = [
        {
            "code": int(code),
            "name": (
                ma.get("per_class", {}).get(code) or mb.get("per_class", {}).get(code) or {}
            ).get("name"),
            "a": (ma.get("per_class", {}).get(code) or {}).get("f1"),
            "b": (mb.get("per_class", {}).get(code) or {}).get("f1"),
            "delta": deltas["per_class"][code]["f1"] if deltas else None,
        }
        for code in codes
    ]
    return {
        "a": run_summary(a),
        "b": run_summary(b),
        "same_training_set": a.training_set_id == b.training_set_id,
        "metrics": rows,
        "per_class_f1": per_class,
        "mcnemar": _mcnemar(settings, a, b),
    }
