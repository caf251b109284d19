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


WARM_UP = {"regime": "finetune", "head_warmup_epochs": 1}


# 3 training patches, batch 2: two steps per epoch; stop_after=3 stops before epoch 1's
# second step, stop_after=1 before epoch 0's (within a head warm-up: the encoder is frozen)
@pytest.mark.parametrize(
    ("stage", "extra", "stop_after", "position"),
    [
        (pretrain, {}, 3, (1, 1)),
        (finetune, {"regime": "scratch"}, 3, (1, 1)),
        (finetune, WARM_UP, 1, (0, 1)),
        (finetune, WARM_UP, 3, (1, 1)),
        (finetune, {"regime": "scratch", "ema_decay": 0.9}, 3, (1, 1)),
    ],
    ids=[
        "pretrain",
        "finetune",
        "finetune-within-a-head-warm-up",
        "finetune-after-it",
        "finetune-averaged-weights",
    ],
)
def test_resumed_run_equals_uninterrupted(
    stage,
    extra: dict,
    stop_after: int,
    position: tuple[int, int],
    snapshot: Path,
    make_context,
    tiny_run: dict,
    request,
) -> None:  # noqa: ANN001
    config = {**tiny_run, **extra}
    if extra.get("regime") == "finetune":
        config["pretrained"] = str(request.getfixturevalue("pretrained_run"))
    whole = make_context("whole")
    stage.run(whole, snapshot=snapshot, config=config)

    interrupted = make_context("resumed", stop_after=stop_after)
    assert stage.run(interrupted, snapshot=snapshot, config=config)["stopped"] is True
    state = torch.load(interrupted.checkpoint_dir / "last.pt", weights_only=True)
    assert (state["epoch"], state["step"]) == position
    result = stage.run(make_context("resumed"), snapshot=snapshot, config=config)
    assert result["stopped"] is False
    _same_run(whole.out_dir, interrupted.out_dir)


def test_a_checkpoint_of_another_config_is_refused(
    snapshot: Path, make_context, tiny_run: dict
) -> None:
    pretrain.run(make_context("a", stop_after=1), snapshot=snapshot, config=tiny_run)
    with pytest.raises(ValueError, match="different config"):
        pretrain.run(make_context("a"), snapshot=snapshot, config={**tiny_run, "lr": 0.01})
