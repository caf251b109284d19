"""A run with ``ema_decay`` keeps the moving average of its weights, and trains as without."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ml.train import checkpoint, finetune

pytestmark = pytest.mark.slow

DECAY = 0.5


def _saved(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)


def test_the_kept_weights_are_the_moving_average_of_the_trained_ones(
    snapshot: Path, make_context, tiny_run: dict
) -> None:  # noqa: ANN001
    # one epoch of 3 training patches, batch 2: two steps; BatchNorm, so that its running
    # statistics are averaged too
    config = {**tiny_run, "epochs": 1, "encoder_norm": "batch", "ema_decay": DECAY}
    first = make_context("first", stop_after=1)  # cancelled before the second step
    assert finetune.run(first, snapshot=snapshot, config=config)["stopped"] is True
    averaged = make_context("averaged")
    finetune.run(averaged, snapshot=snapshot, config=config)
    raw = make_context("raw")
    finetune.run(raw, snapshot=snapshot, config={**config, "ema_decay": 0.0})

    step_1 = _saved(first.checkpoint_dir / checkpoint.LAST)["model"]
    step_2 = _saved(averaged.checkpoint_dir / checkpoint.LAST)["model"]
    kept = _saved(averaged.out_dir / "model.pt")
    # averaging leaves the training alone: the trained weights are the raw run's
    trained_raw = _saved(raw.out_dir / "model.pt")
    assert trained_raw.keys() == step_2.keys()
    for key, value in trained_raw.items():
        assert torch.equal(value, step_2[key]), key
    floats = [key for key, value in kept.items() if value.is_floating_point()]
    assert any("running_mean" in key for key in floats)
    assert any(not torch.equal(step_1[key], step_2[key]) for key in floats)
    for key in floats:
        torch.testing.assert_close(kept[key], DECAY * step_1[key] + (1 - DECAY) * step_2[key])
