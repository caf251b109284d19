"""From a claimed job's parameters (ids) to the spec its ml code runs with (paths).

Jobs store ids only (a training set, a pre-trained run); the worker turns them into
absolute paths under the data directory at the last moment, so the data directory can
move between machines and no client ever sends a path.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from backend.config import Settings
from backend.errors import Conflict
from backend.models import Run, TrainingSet
from backend.services.map_products import scene_config
from backend.services.queue import Lease
from backend.services.training_sets import CORPUS_SETS, require_snapshot_file

# Job parameters that are not settings of the ml code: ids resolved here, and the name.
NOT_CONFIG = ("dataset_id", "training_set_id", "pretrained_run_id", "run_id", "name", CORPUS_SETS)


def job_dir(settings: Settings, job_id: int) -> Path:
    """data_dir/jobs/<job_id>/: checkpoints/, out/, events-<attempt>.jsonl, STOP."""
    return settings.path(f"jobs/{job_id}")


def job_spec(*, session: Session, settings: Settings, lease: Lease) -> dict[str, Any]:
    """The JSON spec ml.worker.child.run_job expects for this claimed job."""
    params = lease.params
    # an unset setting (None) is left to the ml code's own default, e.g. the model preset's
    config = {k: v for k, v in params.items() if k not in NOT_CONFIG and v is not None}
    snapshot = None
    if params.get("training_set_id") is not None:
        snapshot = _snapshot_file(session, settings, params["training_set_id"])
    if params.get(CORPUS_SETS):
        config["corpus"] = [_snapshot_file(session, settings, i) for i in params[CORPUS_SETS]]
    for key, target in (("pretrained_run_id", "pretrained"), ("run_id", "run_dir")):
        if params.get(key) is not None:
            run = session.get(Run, int(params[key]))
            if run is None:
                raise ValueError(f"run {params[key]} no longer exists")
            config[target] = str(settings.path(run.out_dir))
    if params.get("scene_dataset_id") is not None:
        dataset_id = int(params["scene_dataset_id"])
        config.update(scene_config(session=session, settings=settings, dataset_id=dataset_id))
    return {
        "job_id": lease.job_id,
        "kind": lease.kind,
        "attempt": lease.attempt,
        "job_dir": str(job_dir(settings, lease.job_id)),
        "snapshot": snapshot,
        "config": config,
        "cpu_threads": settings.job_cpu_threads,
    }


def _snapshot_file(session: Session, settings: Settings, training_set_id: int) -> str:
    """The snapshot file's path; ValueError (the job fails, not retried) when the training
    set or its file is gone since the launch."""
    training_set = session.get(TrainingSet, int(training_set_id))
    if training_set is None:
        raise ValueError(f"training set {training_set_id} no longer exists")
    try:
        return str(require_snapshot_file(settings=settings, training_set=training_set))
    except Conflict as exc:
        raise ValueError(exc.message) from None


def json_safe(value: Any) -> Any:
    """A copy with NaN and infinities replaced by None (PostgreSQL's JSON refuses them)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
