"""Per-band normalisation statistics (U-BARN: clip to [q05, q95], centre on the median)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from ml.data.normalise import BandStats, compute_band_stats
from ml.data.store import NODATA, S2_BANDS, PatchData, write_patch


def _write(folder: Path, series: np.ndarray, clouds: np.ndarray) -> Path:
    dates = [date(2024, 1, 1) + timedelta(days=10 * i) for i in range(series.shape[0])]
    write_patch(
        folder,
        PatchData(series, clouds, dates, list(S2_BANDS), "EPSG:2154", Affine(10, 0, 0, 0, -10, 0)),
    )
    return folder


def test_statistics_are_the_quantiles_of_the_samples() -> None:
    rng = np.random.default_rng(0)
    samples = rng.normal(1000, 200, (5000, 10)).astype(np.int16)
    stats = BandStats.from_samples(samples, S2_BANDS)
    np.testing.assert_allclose(stats.median, np.median(samples, axis=0), atol=0.5)
    np.testing.assert_allclose(stats.q05, np.quantile(samples, 0.05, axis=0), atol=0.5)
    np.testing.assert_allclose(stats.q95, np.quantile(samples, 0.95, axis=0), atol=0.5)


def test_apply_clips_then_centres_and_scales() -> None:
    stats = BandStats(
        ("a", "b"),
        np.array([100, 0], np.float32),
        np.array([0, 0], np.float32),
        np.array([200, 0], np.float32),
    )
    series = np.array([[[[50]], [[7]]], [[[5000]], [[-9]]]], dtype=np.int16)  # (T=2, C=2, 1, 1)
    out = stats.apply(series)
    assert out.dtype == np.float32
    assert out[0, 0, 0, 0] == pytest.approx(-0.25)  # (50 - 100) / 200
    assert out[1, 0, 0, 0] == pytest.approx(0.5)  # clipped to 200
    assert np.isfinite(out[:, 1]).all()  # a constant band is not divided by zero
    with pytest.raises(ValueError, match="bands"):
        stats.apply(np.zeros((2, 3, 1, 1), np.int16))


def test_round_trip_through_json_form() -> None:
    samples = np.random.default_rng(1).integers(0, 3000, (100, 10)).astype(np.int16)
    stats = BandStats.from_samples(samples, S2_BANDS)
    again = BandStats.from_dict(stats.to_dict())
    assert again.bands == stats.bands
    np.testing.assert_array_equal(again.q95, stats.q95)


def test_cloudy_and_nodata_values_do_not_count(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    series = rng.normal(1000, 100, (4, 10, 16, 16)).astype(np.int16)
    clouds = np.zeros((4, 16, 16), np.uint8)
    clouds[:, :8] = 1
    series[:, :, :8] = 30000  # bright clouds
    series[1, :, 8:, :4] = NODATA
    stats = compute_band_stats([_write(tmp_path / "p", series, clouds)], S2_BANDS)
    assert (stats.q95 < 1300).all() and (stats.q05 > 700).all()


def test_no_valid_pixel_is_an_error(tmp_path: Path) -> None:
    series = np.full((2, 10, 8, 8), 500, np.int16)
    folder = _write(tmp_path / "p", series, np.ones((2, 8, 8), np.uint8))
    with pytest.raises(ValueError, match="no valid"):
        compute_band_stats([folder], S2_BANDS)


def test_band_mismatch_is_an_error(tmp_path: Path) -> None:
    folder = _write(
        tmp_path / "p", np.zeros((2, 10, 8, 8), np.int16), np.zeros((2, 8, 8), np.uint8)
    )
    with pytest.raises(ValueError, match="bands"):
        compute_band_stats([folder], ["B4", "B8"])
