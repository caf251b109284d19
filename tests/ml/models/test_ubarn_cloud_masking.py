"""U-BARN with ``mask_clouds``: each pixel's attention reads its clear dates only."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest
import torch

from ml.data.normalise import BandStats
from ml.data.store import NODATA, S2_BANDS
from ml.models.ubarn import MODEL_SIZES, UBarnEncoder
from ml.models.ubarn_heads import SegmentationModel
from ml.models.ubarn_predictor import UBarnPredictor

TINY = MODEL_SIZES["tiny"]
MASKING = replace(TINY, mask_clouds=True)


def _inputs(h: int = 16, w: int = 16) -> tuple[torch.Tensor, ...]:
    """x (2, 5, 10, H, W), days, no padding, and a clear mask with date 2 cloudy everywhere."""
    torch.manual_seed(1)
    x, days = torch.randn(2, 5, 10, h, w), torch.arange(5.0).repeat(2, 1) * 40
    clear = torch.ones(2, 5, h, w, dtype=torch.bool)
    clear[:, 2] = False
    return x, days, torch.zeros(2, 5, dtype=torch.bool), clear


@pytest.mark.parametrize(("config", "reads_clouds"), [(MASKING, False), (TINY, True)])
def test_a_cloudy_date_changes_the_logits_only_when_clouds_are_read(
    config, reads_clouds: bool
) -> None:
    torch.manual_seed(0)
    model = SegmentationModel(config, n_classes=4).eval()
    x, days, pad, clear = _inputs()
    cloudier = x.clone()
    cloudier[:, 2] = 50 * torch.rand_like(cloudier[:, 2])
    same = torch.allclose(model(x, days, pad, clear), model(cloudier, days, pad, clear), atol=1e-5)
    assert same != reads_clouds
    # at any block size: the clear mask is mirrored with the series
    small = [v[..., :13, :11] for v in (x, cloudier)]
    small_clear = clear[..., :13, :11]
    logits = [model.predict_logits(v, days, pad, small_clear) for v in small]
    assert logits[0].shape == (2, 4, 13, 11)
    assert torch.allclose(*logits, atol=1e-5) != reads_clouds


def test_each_pixel_skips_its_cloudy_and_padded_dates_unless_none_is_clear() -> None:
    pad = torch.tensor([[False, False, True]])
    clear = torch.ones(1, 3, 1, 3, dtype=torch.bool)
    clear[0, 0, 0, 0] = False  # pixel 0: its first date is cloudy
    clear[0, :2, 0, 1] = False  # pixel 1: no clear date (its padded one does not count)
    keys = UBarnEncoder(MASKING).key_padding(pad, clear, 1, 3)
    assert keys.tolist() == [[True, False, True], [False, False, True], [False, False, True]]
    unmasked = UBarnEncoder(TINY).key_padding(pad, None, 1, 3)
    assert unmasked.tolist() == [[False, False, True]] * 3


def test_pixels_without_a_clear_date_read_them_all() -> None:
    """No NaN from an attention with nothing to attend to: the paper's reading instead."""
    torch.manual_seed(0)
    masking = SegmentationModel(MASKING, n_classes=4).eval()
    reading = SegmentationModel(TINY, n_classes=4).eval()
    reading.load_state_dict(masking.state_dict())
    x, days, pad, clear = _inputs()
    overcast = torch.zeros_like(clear)
    logits = masking(x, days, pad, overcast)
    assert torch.isfinite(logits).all()
    torch.testing.assert_close(logits, reading(x, days, pad))


def test_a_network_that_masks_clouds_needs_the_clear_mask() -> None:
    model = SegmentationModel(MASKING, n_classes=4).eval()
    x, days, pad, clear = _inputs()
    with pytest.raises(ValueError, match="masks clouds: it needs clear"):
        model(x, days, pad)
    with pytest.raises(ValueError, match=r"got \(2, 5, 8, 16\)"):
        model(x, days, pad, clear[..., :8, :])


def test_the_map_predictor_skips_cloudy_and_no_data_pixel_dates(band_stats: BandStats) -> None:
    torch.manual_seed(0)
    model = SegmentationModel(MASKING, n_classes=4)
    predictor = UBarnPredictor(model, band_stats, [1, 5, 7, 9], 32, None, torch.device("cpu"))
    rng = np.random.default_rng(0)
    series = rng.integers(0, 5000, (4, 10, 20, 27)).astype(np.int16)
    clouds = np.zeros((4, 20, 27), np.uint8)
    dates = [date(2024, 3, 1) + timedelta(days=20 * i) for i in range(4)]
    reference = predictor.predict_proba(series, clouds, dates, list(S2_BANDS))

    cloudy, cloudy_mask = series.copy(), clouds.copy()
    cloudy[1] = 9000
    cloudy_mask[1] = 1
    without_cloud = predictor.predict_proba(cloudy, cloudy_mask, dates, list(S2_BANDS))
    assert not np.allclose(without_cloud, reference, atol=1e-3)  # one date fewer is read
    no_data = series.copy()
    no_data[1] = NODATA
    without_no_data = predictor.predict_proba(no_data, clouds, dates, list(S2_BANDS))
    np.testing.assert_allclose(without_no_data, without_cloud, atol=1e-5)
    # a band the model does not read may be missing without hiding the date
    extra = np.concatenate([cloudy, np.full((4, 1, 20, 27), NODATA, np.int16)], axis=1)
    with_extra = predictor.predict_proba(extra, cloudy_mask, dates, [*S2_BANDS, "B1"])
    np.testing.assert_allclose(with_extra, without_cloud, atol=1e-5)
