"""The jobs commands: launch, worker, wait, list, training-sets; `sitslab experiment` prints
the table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from backend import db
from backend.cli import app
from backend.config import get_settings
from backend.models import Job, Run, TrainingSet

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[3]


def test_launch_run_and_wait_from_the_command_line(database: str, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("SITSLAB_WORKER_POLL_S", "0.1")
    launched = runner.invoke(app, ["jobs", "launch", "selftest", "-p", '{"steps": 2}'])
    assert launched.exit_code == 0, launched.output
    assert "Queued job 1" in launched.output
    assert runner.invoke(app, ["worker", "--burst"]).exit_code == 0
    waited = runner.invoke(app, ["jobs", "wait", "1"])
    assert waited.exit_code == 0 and "succeeded" in waited.output
    assert "selftest" in runner.invoke(app, ["jobs", "list"]).output


def test_the_corpora_to_reuse_are_listed_by_id(ingested_dataset, other_scene) -> None:  # noqa: ANN001
    params = {"dataset_id": ingested_dataset.id, "include_unreviewed": True,
              "corpus_dataset_ids": [other_scene.id]}  # fmt: skip
    launched = runner.invoke(app, ["jobs", "launch", "pretrain", "-p", json.dumps(params)])
    assert launched.exit_code == 0, launched.output
    listed = runner.invoke(app, ["jobs", "training-sets", "--purpose", "corpus"])
    assert listed.exit_code == 0, listed.output
    (row,) = [line for line in listed.output.splitlines() if "images for pre-training" in line]
    assert row.split()[1:4] == ["2", "│", "corpus"]
    assert "tiny" not in listed.output
    every = runner.invoke(app, ["jobs", "training-sets"]).output
    assert "labels" in every and "tiny (" in every
    refused = runner.invoke(app, ["jobs", "training-sets", "--purpose", "images"])
    assert refused.exit_code == 2 and "is not one of" in refused.output


def test_bad_parameters_are_refused_by_the_command_line_too(database: str) -> None:
    for params in ['{"steps": 0}', "not json", '{"colour": "red"}']:
        result = runner.invoke(app, ["jobs", "launch", "selftest", "-p", params])
        assert result.exit_code == 2, result.output
    with db.get_sessionmaker()() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0


@pytest.mark.slow
def test_experiment_prints_the_comparison_table(ingested_dataset, other_scene) -> None:  # noqa: ANN001
    args = ["experiment", "tiny", "--include-unreviewed", "--epochs", "1", "--pretrain-epochs", "1"]
    recipe = ["--encoder-norm", "batch", "--crop-balance", "0.8", "--ema-decay", "0.5",
              "--no-logit-adjustment", "--corpus", "other"]  # fmt: skip
    result = runner.invoke(app, [*args, *recipe, "--device", "cpu"])
    assert result.exit_code == 0, result.output
    for row in ["Random Forest (OSO)", "U-BARN from scratch", "U-BARN pre-trained + fine-tuned"]:
        assert row in result.output
    assert "McNemar" in result.output
    with db.get_sessionmaker()() as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 0  # a CLI run, not a job
        snapshot, corpus = session.scalars(select(TrainingSet).order_by(TrainingSet.id)).all()
    assert (snapshot.dataset_id, corpus.dataset_id) == (ingested_dataset.id, other_scene.id)
    out = get_settings().path(f"experiments/{snapshot.id}/out")
    pretrained = json.loads((out / "pretrain" / "run.json").read_text())
    assert pretrained["corpus"] == [{"snapshot": str(corpus.id), "patches": 3}]
    fine_tuned = json.loads((out / "finetune" / "run.json").read_text())
    assert fine_tuned["network"]["encoder_norm"] == "batch"
    learned = {
        k: fine_tuned["config"][k] for k in ("crop_balance", "ema_decay", "logit_adjustment")
    }
    assert learned == {"crop_balance": 0.8, "ema_decay": 0.5, "logit_adjustment": False}
    missing = runner.invoke(app, ["experiment", "nope"])
    assert missing.exit_code == 2 and "No dataset" in missing.output
    with db.get_sessionmaker()() as session:
        snapshots = session.scalar(select(func.count()).select_from(TrainingSet))
    twice = runner.invoke(app, ["experiment", "tiny", "--seeds", "0,0", "--include-unreviewed"])
    assert twice.exit_code == 2 and "a seed is given twice" in twice.output
    for bad, message in [
        (["--ema-decay", "1"], "Invalid ema_decay"),
        (["--encoder-norm", "x"], "Invalid encoder_norm"),
        (["--corpus", "tiny"], "is the labelled one"),
        (["--corpus", "other", "--corpus", "nope"], "No dataset 'nope'"),
        (["--corpus-set", str(snapshot.id)], "holds labels"),
        (["--corpus", "other", "--corpus-set", str(corpus.id)], "the corpus twice"),
    ]:
        refused = runner.invoke(app, [*args, *bad])
        assert refused.exit_code == 2 and message in refused.output, refused.output
    with db.get_sessionmaker()() as session:  # refused before any snapshot is taken
        assert session.scalar(select(func.count()).select_from(TrainingSet)) == snapshots


def test_the_spread_over_seeds_prints_as_mean_and_sd_with_the_wins() -> None:
    from rich.console import Console

    from backend.cli.jobs import _summary_table
    from ml.experiment import RF_TITLE, SCRATCH_TITLE, seed_summary

    table = [
        {"run": f"{stage}, seed {seed}", "stage": stage, "seed": seed, "oa": 0.9,
         "kappa": 0.8, "mean_f1": mf1, "miou": 0.5}
        for seed, scores in enumerate([(0.70, 0.60), (0.50, 0.56)])
        for stage, mf1 in zip((RF_TITLE, SCRATCH_TITLE), scores, strict=True)
    ]  # fmt: skip
    console = Console(record=True, width=200)
    console.print(_summary_table(seed_summary(table)))
    text = console.export_text()
    assert "0.600 ± 0.141" in text  # the forest: 0.70 and 0.50
    assert "-0.020 ± 0.113 (1/2 > 0)" in text  # from scratch − RF: −0.10 then +0.06


@pytest.mark.parametrize(("level", "logged"), [("INFO", True), ("WARNING", False)])
def test_the_worker_logs_each_job_it_starts_and_ends(
    database: str, monkeypatch: pytest.MonkeyPatch, level: str, logged: bool
) -> None:
    monkeypatch.setenv("SITSLAB_WORKER_POLL_S", "0.1")
    monkeypatch.setenv("SITSLAB_LOG_LEVEL", level)
    assert runner.invoke(app, ["jobs", "launch", "selftest", "-p", '{"steps": 2}']).exit_code == 0
    worker = subprocess.run(
        [sys.executable, "-m", "backend.cli", "worker", "--burst"],
        cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert worker.returncode == 0, worker.stderr
    lines = ["job 1 (selftest) attempt 1 started", "job 1 ended succeeded"]
    assert all((line in worker.stderr) == logged for line in lines), worker.stderr
