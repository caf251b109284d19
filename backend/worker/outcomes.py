"""What a succeeded job leaves in the database: runs for training kinds.

A recorder per kind, called in the same transaction as the job's success (so a job is
never "succeeded" without its runs). Other packages add theirs:
``RECORDERS["predict_map"] = record_map_product``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy.orm import Session

from backend.models import Run
from backend.services.map_products import record_prediction
from backend.services.queue import Lease
from backend.worker.specs import json_safe

Recorder = Callable[[Session, Lease, dict[str, Any]], None]

RUN_KINDS = {
    "pretrain": "U-BARN pre-training",
    "finetune": "U-BARN",
    "train_rf": "Random Forest (OSO)",
    "evaluate": "Evaluation",
    "compare": "Comparison",
}


def run_name(kind: str, params: dict[str, Any]) -> str:
    """A readable default name: what was trained, how, on how many labels."""
    if params.get("name"):
        return str(params["name"])
    parts = [RUN_KINDS.get(kind, kind)]
    if kind == "finetune":
        parts.append(str(params.get("regime", "scratch")))
    if params.get("label_fraction") is not None and kind in ("finetune", "train_rf"):
        parts.append(f"{float(params['label_fraction']):.0%} labels")
    return ", ".join(parts)


def record_runs(session: Session, lease: Lease, result: dict[str, Any]) -> None:
    """One Run per trained model: the job's out/ folder, or each entry of result["runs"].

    A comparison job returns ``{"runs": [{"kind", "name", "out_dir" (relative to out/),
    "results"}], ...}``; every other kind is one run whose metrics are the result.
    """
    base = PurePosixPath("jobs") / str(lease.job_id) / "out"
    entries = result.get("runs") or [
        {
            "kind": lease.kind,
            "name": run_name(lease.kind, lease.params),
            "out_dir": ".",
            "results": result,
        }
    ]
    for entry in entries:
        folder = base / str(entry.get("out_dir", "."))
        session.add(
            Run(
                job_id=lease.job_id,
                kind=str(entry.get("kind", lease.kind)),
                name=str(entry.get("name") or run_name(lease.kind, lease.params))[:200],
                training_set_id=lease.params.get("training_set_id"),
                params=json_safe(lease.params),
                metrics=json_safe(entry.get("results") or {}),
                out_dir=str(folder),
            )
        )


RECORDERS: dict[str, Recorder] = {kind: record_runs for kind in RUN_KINDS}
RECORDERS["predict_map"] = record_prediction
