"""A run with ``ema_decay`` keeps the bias-corrected moving average of its weights, and trains
as without."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ml.train import checkpoint, finetune
from ml.train.base import unbiased_ema

DECAY = 0.5


def _average_of(values: list[float], multi_avg_fn: Callable) -> float:
    """What ``AveragedModel`` with ``multi_avg_fn`` keeps of a one-weight model after it took
    each value in turn."""
    model = torch.nn.Linear(1, 1, bias=False)
    average = AveragedModel(model, multi_avg_fn=multi_avg_fn)
    for value in values:
        model.weight.data.fill_(value)
        average.update_parameters(model)
    return float(average.module.weight.detach())


def test_the_average_weighs_each_step_by_decay_to_its_age_normalised() -> None:
    values = [8.0, -4.0, 2.0, 1.0]
    weights = [0.9**age for age in range(len(values) - 1, -1, -1)]
    expected = sum(w * v for w, v in zip(weights, values, strict=True)) / sum(weights)
    corrected = _average_of(values, unbiased_ema(0.9))
    assert corrected == pytest.approx(expected)
    # torch's EMA still gives the first value 0.9 ** 3 = 73 % of the weight: 5.8, not 1.6
    assert _average_of(values, get_ema_multi_avg_fn(0.9)) - corrected > 4.0


def test_a_long_average_is_torchs_moving_average() -> None:
    values = [float(v % 7) for v in range(400)]
    # the first value's excess weight, 0.9 ** 399, is long gone
    assert _average_of(values, unbiased_ema(0.9)) == pytest.approx(
        _average_of(values, get_ema_multi_avg_fn(0.9)), abs=1e-5
    )


def _saved(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)


@pytest.mark.slow
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
    # weights decay ** age, normalised: torch's plain EMA would keep DECAY of step 1
    for key in floats:
        expected = (DECAY * step_1[key] + step_2[key]) / (1 + DECAY)
        torch.testing.assert_close(kept[key], expected)
