"""The jobs commands: launch, worker, wait, list; `sitslab experiment` prints the table."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from backend import db
from backend.cli import app
from backend.models import Job, Run

runner = CliRunner()


def test_launch_run_and_wait_from_the_command_line(database: str, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("SITSLAB_WORKER_POLL_S", "0.1")
    launched = runner.invoke(app, ["jobs", "launch", "selftest", "-p", '{"steps": 2}'])
    assert launched.exit_code == 0, launched.output
    assert "Queued job 1" in launched.output
    assert runner.invoke(app, ["worker", "--burst"]).exit_code == 0
    waited = runner.invoke(app, ["jobs", "wait", "1"])
    assert waited.exit_code == 0 and "succeeded" in waited.output
    assert "selftest" in runner.invoke(app, ["jobs", "list"]).output


def test_bad_parameters_are_refused_by_the_command_line_too(database: str) -> None:
    for params in ['{"steps": 0}', "not json", '{"colour": "red"}']:
        result = runner.invoke(app, ["jobs", "launch", "selftest", "-p", params])
        assert result.exit_code == 2, result.output
    with db.get_sessionmaker()() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0


@pytest.mark.slow
def test_experiment_prints_the_comparison_table(ingested_dataset) -> None:  # noqa: ANN001
    args = ["experiment", "tiny", "--include-unreviewed", "--epochs", "1", "--pretrain-epochs", "1"]
    result = runner.invoke(app, [*args, "--device", "cpu"])
    assert result.exit_code == 0, result.output
    for row in ["Random Forest (OSO)", "U-BARN from scratch", "U-BARN pre-trained + fine-tuned"]:
        assert row in result.output
    assert "McNemar" in result.output
    with db.get_sessionmaker()() as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 0  # a CLI run, not a job
    missing = runner.invoke(app, ["experiment", "nope"])
    assert missing.exit_code == 2 and "No dataset" in missing.output
