"""Post-hoc logit adjustment: the prior, the choice of its strength, and where it applies."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml.train.logit_adjustment import (
    adjusted_logits,
    choose_tau,
    log_prior,
    mean_f1_by_tau,
    tau_confusions,
)


def test_log_prior_is_the_training_frequency_and_never_favours_an_unseen_class() -> None:
    prior = log_prior(np.array([90, 10, 0]))
    np.testing.assert_allclose(prior, np.log([0.9, 0.1, 0.9]), rtol=1e-6)


def test_a_prior_needs_labelled_pixels() -> None:
    with pytest.raises(ValueError, match="no labelled pixel"):
        log_prior(np.zeros(3))


def test_adjustment_finds_a_rare_class_that_the_network_ranks_second() -> None:
    # 90 pixels of a common class, 10 of a rare look-alike the network ranks just below it.
    labels = np.array([0] * 90 + [1] * 10)
    logits = np.zeros((100, 2), dtype=np.float32)
    logits[:90, 0] = 3.0
    logits[90:, 0], logits[90:, 1] = 1.0, 0.5
    prior = log_prior(np.array([90, 10]))
    taus = (0.0, 0.5, 1.0)
    confusions = tau_confusions(logits, labels, prior, taus)
    assert confusions[0].tolist() == [[90, 0], [10, 0]]
    scores = mean_f1_by_tau(confusions, codes=[11, 12], taus=taus)
    assert scores[0.0] == pytest.approx((2 * 90 / 190 + 0) / 2)
    assert scores[0.5] == pytest.approx(1.0)  # shift of 0.5·log 9 ≈ 1.1 flips the rare pixels
    assert choose_tau(scores) == 0.5


def test_unlabelled_pixels_are_left_out_of_the_confusions() -> None:
    logits = np.array([[2.0, 0.0], [0.0, 2.0], [0.0, 2.0]], dtype=np.float32)
    confusions = tau_confusions(logits, np.array([0, -1, 1]), np.zeros(2, np.float32), (0.0,))
    assert confusions[0].tolist() == [[1, 0], [0, 1]]


def test_ties_keep_the_weakest_adjustment() -> None:
    assert choose_tau({0.0: 0.7, 0.5: 0.8, 1.0: 0.8}) == 0.5
    assert choose_tau({0.0: 0.8, 0.5: 0.8}) == 0.0


def test_adjusted_logits_subtract_the_bias_per_class_on_any_layout() -> None:
    logits = torch.zeros(2, 3, 4, 5)
    bias = torch.tensor([1.0, 0.0, -1.0])
    out = adjusted_logits(logits, bias)
    assert out.shape == logits.shape
    assert torch.equal(out[:, :, 1, 2], torch.tensor([[-1.0, 0.0, 1.0]] * 2))
    assert adjusted_logits(logits, None) is logits
