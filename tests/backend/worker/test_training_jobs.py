"""Real trainers through the queue: the Random Forest, a tiny U-BARN, an evaluation."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from backend import db
from backend.config import get_settings
from backend.models import Run
from backend.services import jobs
from backend.services.runs import compare
from backend.worker.local import LocalBackend
from backend.worker.supervisor import Supervisor
from tests.backend.worker.conftest import job


def _launch(kind: str, **params: object) -> int:
    with db.get_sessionmaker()() as session:
        return jobs.launch(session=session, settings=get_settings(), kind=kind, params=params).id


def _work() -> None:
    Supervisor(engine=db.get_engine(), settings=get_settings(), backend=LocalBackend()).run(
        burst=True
    )


def _runs(job_id: int) -> list[Run]:
    with db.get_sessionmaker()() as session:
        return list(session.scalars(select(Run).where(Run.job_id == job_id).order_by(Run.id)))


@pytest.mark.slow
def test_random_forest_ubarn_and_evaluation_jobs_record_runs(
    ingested_dataset,  # noqa: ANN001
    fast_queue: None,
) -> None:
    rf = _launch("train_rf", dataset_id=ingested_dataset.id, include_unreviewed=True, seed=0)
    _work()
    assert job(rf).state == "succeeded", job(rf).error
    (rf_run,) = _runs(rf)
    assert rf_run.kind == "train_rf" and 0 <= rf_run.metrics["oa"] <= 1
    out = get_settings().path(rf_run.out_dir)
    assert (out / "predictions.npz").is_file()
    assert json.loads((out / "run.json").read_text())["kind"] == "rf"

    # Pre-training then fine-tuning runs in test_jobs_cli (the experiment); the id of a
    # pre-trained run becomes a path in test_outcomes.
    ft = _launch("finetune", training_set_id=rf_run.training_set_id, epochs=1, device="cpu")
    _work()
    assert job(ft).state == "succeeded", job(ft).error
    (ft_run,) = _runs(ft)
    assert ft_run.metrics["mean_f1"] is not None and ft_run.params["regime"] == "scratch"

    evaluation = _launch("evaluate", training_set_id=rf_run.training_set_id, run_id=rf_run.id)
    _work()
    assert job(evaluation).state == "succeeded", job(evaluation).error
    (eval_run,) = _runs(evaluation)
    assert eval_run.metrics["n_pixels"] == rf_run.metrics["n_pixels"]
    with db.get_sessionmaker()() as session:
        cmp = compare(session=session, settings=get_settings(), a_id=rf_run.id, b_id=ft_run.id)
    assert cmp["mcnemar"]["available"], cmp["mcnemar"]  # same test pixels, in the same order
