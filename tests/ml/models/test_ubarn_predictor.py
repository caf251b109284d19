"""U-BARN as a map Predictor: probabilities per block, band order, input checks."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
import torch

from ml.data.normalise import BandStats
from ml.data.store import S2_BANDS
from ml.models.ubarn import MODEL_SIZES
from ml.models.ubarn_heads import SegmentationModel
from ml.models.ubarn_predictor import UBarnPredictor


@pytest.fixture
def predictor(band_stats: BandStats) -> UBarnPredictor:
    torch.manual_seed(0)
    model = SegmentationModel(MODEL_SIZES["tiny"], n_classes=4)
    return UBarnPredictor(model, band_stats, [1, 5, 7, 9], 32, None, torch.device("cpu"))


def _block(t: int = 4, h: int = 20, w: int = 27):
    rng = np.random.default_rng(0)
    series = rng.integers(0, 5000, (t, 10, h, w)).astype(np.int16)
    clouds = np.zeros((t, h, w), np.uint8)
    dates = [date(2024, 3, 1) + timedelta(days=20 * i) for i in range(t)]
    return series, clouds, dates, list(S2_BANDS)


def test_probabilities_cover_the_block(predictor: UBarnPredictor) -> None:
    assert (predictor.window, predictor.halo, predictor.classes) == (64, 8, [1, 5, 7, 9])
    proba = predictor.predict_proba(*_block())
    assert proba.shape == (4, 20, 27) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(0), 1.0, atol=1e-5)


def test_map_windows_are_at_least_the_scored_patch_size(predictor: UBarnPredictor) -> None:
    """Small training crops would make maps recompute each pixel many times; large stay."""
    small = UBarnPredictor(
        predictor.model, predictor.stats, [1, 5, 7, 9], 16, None, predictor.device
    )
    large = UBarnPredictor(
        predictor.model, predictor.stats, [1, 5, 7, 9], 96, None, predictor.device
    )
    assert (small.window, small.halo) == (64, 4)
    assert (large.window, large.halo) == (96, 24)


def test_bands_are_matched_by_name(predictor: UBarnPredictor) -> None:
    series, clouds, dates, bands = _block()
    reference = predictor.predict_proba(series, clouds, dates, bands)
    order = np.random.default_rng(1).permutation(10)
    extra = np.zeros((4, 1, 20, 27), np.int16)
    shuffled = np.concatenate([series[:, order], extra], axis=1)
    names = [bands[i] for i in order] + ["NDVI"]
    np.testing.assert_allclose(
        predictor.predict_proba(shuffled, clouds, dates, names), reference, atol=1e-6
    )
    with pytest.raises(ValueError, match="lacks band"):
        predictor.predict_proba(series[:, 1:], clouds, dates, bands[1:])


def test_inconsistent_blocks_are_refused(predictor: UBarnPredictor) -> None:
    series, clouds, dates, bands = _block()
    with pytest.raises(ValueError, match="disagree"):
        predictor.predict_proba(series, clouds, dates[:-1], bands)
    with pytest.raises(ValueError, match="disagree"):
        predictor.predict_proba(series, clouds[:, :-1], dates, bands)
    with pytest.raises(ValueError, match="T > 0"):
        predictor.predict_proba(series[:0], clouds[:0], [], bands)


def test_windows_in_one_pass_equal_one_at_a_time(predictor: UBarnPredictor) -> None:
    """Batching windows changes the speed, not the probabilities (eval-mode BatchNorm)."""
    series, clouds, dates, bands = _block(h=24, w=24)
    rng = np.random.default_rng(2)
    stack = np.stack([series, series[:, :, ::-1], rng.permutation(series, axis=2)])
    masks = np.stack([clouds, clouds, np.ones_like(clouds)])
    together = predictor.predict_windows(stack, masks, dates, bands)
    assert together.shape == (3, 4, 24, 24) and together.dtype == np.float32
    for i in range(3):
        alone = predictor.predict_proba(stack[i], masks[i], dates, bands)
        np.testing.assert_allclose(together[i], alone, atol=1e-5)
    assert not np.allclose(together[0], together[1], atol=1e-3)


def test_batch_is_one_window_on_cpu_unless_asked(predictor: UBarnPredictor) -> None:
    assert predictor.batch == 1
    eight = UBarnPredictor(
        predictor.model, predictor.stats, [1, 5, 7, 9], 32, None, predictor.device, batch=8
    )
    assert eight.batch == 8
    with pytest.raises(ValueError, match="at least 1 window"):
        UBarnPredictor(
            predictor.model, predictor.stats, [1, 5, 7, 9], 32, None, predictor.device, batch=0
        )


def test_stacks_that_disagree_are_refused(predictor: UBarnPredictor) -> None:
    series, clouds, dates, bands = _block()
    with pytest.raises(ValueError, match="disagree"):
        predictor.predict_windows(series[None], clouds[None, :, :-1], dates, bands)
    with pytest.raises(ValueError, match=r"\(N, T, C, H, W\)"):
        predictor.predict_windows(series, clouds, dates, bands)


def test_a_logit_bias_shifts_the_probabilities_towards_the_favoured_class(
    predictor: UBarnPredictor,
) -> None:
    series, clouds, dates, bands = _block()
    plain = predictor.predict_proba(series, clouds, dates, bands)
    rare = next(k for k in range(4) if not (plain.argmax(0) == k).any())
    bias = np.zeros(4, dtype=np.float32)
    bias[rare] = -20.0  # a rare class: a low log prior
    favoured = UBarnPredictor(
        predictor.model, predictor.stats, [1, 5, 7, 9], 32, None, predictor.device,
        logit_bias=bias,
    )  # fmt: skip
    shifted = favoured.predict_proba(series, clouds, dates, bands)
    assert (shifted.argmax(0) == rare).all()
    np.testing.assert_allclose(shifted.sum(0), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="3 logit biases for 4 classes"):
        UBarnPredictor(
            predictor.model, predictor.stats, [1, 5, 7, 9], 32, None, predictor.device,
            logit_bias=bias[:3],
        )  # fmt: skip
