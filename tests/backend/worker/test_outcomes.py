"""Recording a succeeded job's runs (one per trained model), and its spec paths."""

from __future__ import annotations

import math

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.models import Run
from backend.services import queue
from backend.worker.outcomes import record_runs, run_name
from backend.worker.specs import job_spec, json_safe


def _lease(session: Session, kind: str, params: dict) -> queue.Lease:
    queue.enqueue(session=session, kind=kind, params=params)
    return queue.claim(engine=session.get_bind(), worker_id="t", lease_s=60)


def test_a_comparison_records_one_run_per_model(session: Session) -> None:
    lease = _lease(session, "compare", {"label_fraction": 0.1})
    result = {
        "runs": [
            {
                "kind": "train_rf",
                "name": "Random Forest (OSO)",
                "out_dir": "rf",
                "results": {"oa": 0.7},
            },
            {
                "kind": "finetune",
                "name": "U-BARN",
                "out_dir": "finetune",
                "results": {"oa": math.nan},
            },
        ],
        "table": [],
    }
    record_runs(session, lease, result)
    session.commit()
    runs = session.scalars(select(Run).order_by(Run.id)).all()
    assert [(r.kind, r.out_dir) for r in runs] == [
        ("train_rf", f"jobs/{lease.job_id}/out/rf"),
        ("finetune", f"jobs/{lease.job_id}/out/finetune"),
    ]
    assert runs[1].metrics == {"oa": None}  # NaN is not JSON (PostgreSQL refuses it)


def test_default_names_say_what_was_trained() -> None:
    assert (
        run_name("finetune", {"regime": "frozen", "label_fraction": 0.1})
        == "U-BARN, frozen, 10% labels"
    )
    assert run_name("train_rf", {"label_fraction": 1.0, "name": "baseline"}) == "baseline"
    assert json_safe({"a": [math.inf, 1.5]}) == {"a": [None, 1.5]}


def test_spec_resolves_ids_to_paths_and_drops_them_from_the_config(session: Session) -> None:
    run = Run(kind="pretrain", name="p", params={}, metrics={}, out_dir="jobs/9/out")
    session.add(run)
    session.commit()
    params = {"pretrained_run_id": run.id, "epochs": 2, "name": "x", "patch_size": None}
    lease = _lease(session, "finetune", params)
    spec = job_spec(session=session, settings=get_settings(), lease=lease)
    # unset settings (None) are left out, so the ml code applies its model preset's
    assert spec["config"] == {"epochs": 2, "pretrained": str(get_settings().path("jobs/9/out"))}
    assert spec["snapshot"] is None and spec["job_dir"].endswith(f"jobs/{lease.job_id}")
    assert spec["cpu_threads"] is None  # every core unless the worker is told otherwise


def test_spec_carries_the_workers_cpu_threads(session: Session) -> None:
    lease = _lease(session, "selftest", {})
    settings = get_settings().model_copy(update={"job_cpu_threads": 1})
    assert job_spec(session=session, settings=settings, lease=lease)["cpu_threads"] == 1
