"""Post-hoc logit adjustment: the prior, the choice of its strength, and where it applies."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml.train.logit_adjustment import (
    ClassPriors,
    adjusted_logits,
    bias_confusions,
    choose,
    mean_f1s,
)


def test_trained_on_the_patches_frequencies_the_bias_is_tau_times_their_log() -> None:
    counts = np.array([90, 10, 0])
    priors = ClassPriors(counts, counts)
    np.testing.assert_allclose(priors.bias(1.0), np.log([0.9, 0.1, 0.9]), rtol=1e-6)
    np.testing.assert_allclose(priors.bias(0.5), 0.5 * np.log([0.9, 0.1, 0.9]), rtol=1e-6)
    np.testing.assert_allclose(priors.bias(0.0), 0.0, atol=1e-7)


def test_balanced_crops_get_the_patches_prior_back_at_tau_0() -> None:
    # crops showed both classes equally; the patches hold 9 common pixels for 1 rare one
    priors = ClassPriors(np.array([50, 50]), np.array([90, 10]))
    b0, b1 = priors.bias(0.0), priors.bias(1.0)
    assert b0[1] - b0[0] == pytest.approx(np.log(9))  # the rare class pays log 9
    assert b1[1] == pytest.approx(b1[0])  # the crops were already balanced: no change


def test_a_class_the_crops_never_showed_is_never_favoured() -> None:
    priors = ClassPriors(np.array([50, 50, 0]), np.array([90, 9, 1]))
    for tau in (0.0, 1.0, 1.5):
        bias = priors.bias(tau)
        assert np.isfinite(bias).all() and bias[2] == bias.max()


def test_priors_need_labelled_pixels() -> None:
    with pytest.raises(ValueError, match="no labelled pixel"):
        ClassPriors(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="no labelled pixel"):
        ClassPriors(np.ones(3), np.zeros(3))


def test_the_first_candidate_is_the_networks_own_decisions() -> None:
    priors = ClassPriors(np.array([90, 10]), np.array([90, 10]))
    candidates = priors.candidates((0.5, 1.0))
    assert len(candidates) == 3 and not candidates[0].any()
    np.testing.assert_allclose(candidates[2], priors.bias(1.0))


def test_adjustment_finds_a_rare_class_that_the_network_ranks_second() -> None:
    # 90 pixels of a common class, 10 of a rare look-alike the network ranks just below it.
    labels = np.array([0] * 90 + [1] * 10)
    logits = np.zeros((100, 2), dtype=np.float32)
    logits[:90, 0] = 3.0
    logits[90:, 0], logits[90:, 1] = 1.0, 0.5
    counts = np.array([90, 10])
    confusions = bias_confusions(logits, labels, ClassPriors(counts, counts).candidates((0.5,)))
    assert confusions[0].tolist() == [[90, 0], [10, 0]]
    scores = mean_f1s(confusions, codes=[11, 12])
    assert scores[0] == pytest.approx((2 * 90 / 190 + 0) / 2)
    assert scores[1] == pytest.approx(1.0)  # shift of 0.5·log 9 ≈ 1.1 flips the rare pixels
    assert choose(scores) == 1


def test_adjustment_takes_back_what_balanced_crops_over_name() -> None:
    # Trained on balanced crops, the network names the rare class for 20 common pixels
    # that look like it; the patches' prior (tau 0) gives them back to the common class.
    labels = np.array([0] * 90 + [1] * 10)
    logits = np.zeros((100, 2), dtype=np.float32)
    logits[:70, 0] = 3.0
    logits[70:90, 1] = 1.0
    logits[90:, 1] = 4.0
    priors = ClassPriors(np.array([50, 50]), np.array([90, 10]))
    confusions = bias_confusions(logits, labels, priors.candidates((0.0, 1.0)))
    assert confusions[0].tolist() == [[70, 20], [0, 10]]  # the network's own
    assert confusions[1].tolist() == [[90, 0], [0, 10]]  # tau 0: log 9 ≈ 2.2 > 1
    assert confusions[2].tolist() == confusions[0].tolist()  # tau 1: crops were balanced
    assert choose(mean_f1s(confusions, codes=[11, 12])) == 1


def test_unlabelled_pixels_are_left_out_of_the_confusions() -> None:
    logits = np.array([[2.0, 0.0], [0.0, 2.0], [0.0, 2.0]], dtype=np.float32)
    confusions = bias_confusions(logits, np.array([0, -1, 1]), [np.zeros(2, np.float32)])
    assert confusions[0].tolist() == [[1, 0], [0, 1]]


def test_ties_keep_the_weakest_adjustment() -> None:
    assert choose([0.7, 0.8, 0.8]) == 1
    assert choose([0.8, 0.8]) == 0


def test_adjusted_logits_subtract_the_bias_per_class_on_any_layout() -> None:
    logits = torch.zeros(2, 3, 4, 5)
    bias = torch.tensor([1.0, 0.0, -1.0])
    out = adjusted_logits(logits, bias)
    assert out.shape == logits.shape
    assert torch.equal(out[:, :, 1, 2], torch.tensor([[-1.0, 0.0, 1.0]] * 2))
    assert adjusted_logits(logits, None) is logits
