"""A U-BARN run cancelled mid-epoch and resumed ends exactly like an uninterrupted one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ml.train import finetune, pretrain

pytestmark = pytest.mark.slow


def _same_run(a: Path, b: Path) -> None:
    wa = torch.load(a / "model.pt", weights_only=True)
    wb = torch.load(b / "model.pt", weights_only=True)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key
    curves = [json.loads((d / "learning_curves.json").read_text()) for d in (a, b)]
    assert curves[0] == curves[1]


@pytest.mark.parametrize(
    ("stage", "extra"),
    [(pretrain, {}), (finetune, {"regime": "scratch"})],
    ids=["pretrain", "finetune"],
)
def test_resumed_run_equals_uninterrupted(
    stage, extra: dict, snapshot: Path, make_context, tiny_run: dict
) -> None:
    config = {**tiny_run, **extra}
    whole = make_context("whole")
    stage.run(whole, snapshot=snapshot, config=config)

    # 3 training patches, batch 2: two steps per epoch; stop before epoch 1's second step
    interrupted = make_context("resumed", stop_after=3)
    assert stage.run(interrupted, snapshot=snapshot, config=config)["stopped"] is True
    state = torch.load(interrupted.checkpoint_dir / "last.pt", weights_only=True)
    assert (state["epoch"], state["step"]) == (1, 1)
    result = stage.run(make_context("resumed"), snapshot=snapshot, config=config)
    assert result["stopped"] is False
    _same_run(whole.out_dir, interrupted.out_dir)


def test_a_checkpoint_of_another_config_is_refused(
    snapshot: Path, make_context, tiny_run: dict
) -> None:
    pretrain.run(make_context("a", stop_after=1), snapshot=snapshot, config=tiny_run)
    with pytest.raises(ValueError, match="different config"):
        pretrain.run(make_context("a"), snapshot=snapshot, config={**tiny_run, "lr": 0.01})
