"""The segmentation loss and its class weights (mean F1 counts rare classes fully)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ml.train.evaluate import class_weights, segmentation_loss


def test_unweighted_loss_is_the_mean_over_labelled_pixels() -> None:
    logits = torch.randn(2, 3, 4, 4)
    label = torch.randint(0, 3, (2, 4, 4))
    label[0, 0] = -1
    expected = F.cross_entropy(logits, label, ignore_index=-1)
    torch.testing.assert_close(segmentation_loss(logits, label), expected)
    assert segmentation_loss(logits, torch.full_like(label, -1)) == 0  # no NaN


def test_weighted_loss_matches_torch_and_counts_ignored_pixels_out() -> None:
    logits = torch.randn(2, 3, 4, 4)
    label = torch.randint(0, 3, (2, 4, 4))
    label[1, :2] = -1
    weight = torch.tensor([0.5, 2.0, 4.0])
    expected = F.cross_entropy(logits, label, weight=weight, ignore_index=-1)
    torch.testing.assert_close(segmentation_loss(logits, label, weight), expected)


def test_class_weights_balance_rare_classes_and_keep_the_loss_scale() -> None:
    counts = np.array([10_000, 100, 0, 1])
    assert class_weights(counts, 0.0) is None
    full = class_weights(counts, 1.0, max_ratio=1e9).numpy()
    assert full[1] / full[0] == pytest.approx(100.0)  # inverse frequency
    half = class_weights(counts, 0.5, max_ratio=1e9).numpy()
    assert half[1] / half[0] == pytest.approx(10.0)  # inverse square root
    for weights in (full, half):  # a pixel weighs 1 on average: same loss scale, same lr
        assert (weights * counts).sum() / counts.sum() == pytest.approx(1.0)
    capped = class_weights(counts, 1.0, max_ratio=50.0).numpy()
    assert capped[3] / capped[0] == pytest.approx(50.0)  # one (maybe wrong) pixel is capped
    assert capped[2] == capped.max()  # an absent class gets the cap, not infinity
