"""OSO features and gap filling: a hand-computed example, a reference, edge cases, errors."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from ml.gapfill import common_grid, gapfill, regular_grid
from ml.rf import feature_names, features


def hand_series() -> tuple[np.ndarray, list[int], list[str], np.ndarray]:
    """Three pixels, dates 0/10/30, bands B4 B8 B11; the middle date is cloudy for pixel 0."""
    series = np.array(
        [
            [[100, 300, 200], [9999, 9999, 9999], [300, 500, 400]],
            [[7, 7, 7], [50, 50, 50], [8, 8, 8]],
            [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
        ],
        dtype=np.int16,
    )
    valid = np.array([[True, False, True], [False, True, False], [False, False, False]])
    return series, [0, 10, 30], ["B4", "B8", "B11"], valid


def test_features_match_hand_computed_example() -> None:
    series, dates, bands, valid = hand_series()
    X = features(series, dates, bands, valid=valid)
    # grid 0, 10, 20, 30; per date: B4 B8 B11 NDVI NDWI brightness
    assert X.shape == (3, 4 * 6)
    assert X.dtype == np.float32
    pixel0 = X[0].reshape(4, 6)
    expected0 = [
        [100, 300, 200, 0.5, -0.2, 374.16574],  # (300-100)/400, (200-300)/500, sqrt(140000)
        [166.66667, 366.66667, 266.66667, 0.375, -0.15789474, 483.04589],  # 1/3 of the way
        [233.33333, 433.33333, 333.33333, 0.3, -0.13043478, 594.41848],  # 2/3 of the way
        [300, 500, 400, 0.25, -0.11111111, 707.10678],  # (500-300)/800, (400-500)/900
    ]
    np.testing.assert_allclose(pixel0, expected0, rtol=1e-5)
    # a single clear date is held over the whole grid (nearest valid at both edges)
    np.testing.assert_allclose(X[1].reshape(4, 6), [[50, 50, 50, 0, 0, 86.60254]] * 4, rtol=1e-5)
    # never clear: zeros, and the ratio with a zero denominator is 0 (not NaN)
    assert np.all(X[2] == 0)


def test_feature_names_follow_the_layout() -> None:
    names = feature_names(["B4", "B08", "B11"], [date(2024, 1, 1), date(2024, 1, 11)])
    assert names[:6] == [
        "2024-01-01_B4",
        "2024-01-01_B8",
        "2024-01-01_B11",
        "2024-01-01_NDVI",
        "2024-01-01_NDWI",
        "2024-01-01_brightness",
    ]
    assert len(names) == 12 and names[6] == "2024-01-11_B4"


def test_indices_only_from_bands_present() -> None:
    rng = np.random.default_rng(0)
    series = rng.integers(1, 5000, size=(5, 4, 2))
    assert features(series, [0, 10, 20, 30], ["B2", "B3"]).shape == (5, 4 * 3)  # brightness only
    X = features(series, [0, 10, 20, 30], ["B4", "B8"])
    assert X.shape == (5, 4 * 4)  # NDVI, no NDWI
    row = X[0].reshape(4, 4)
    b4, b8 = series[0, :, 0].astype(float), series[0, :, 1].astype(float)
    np.testing.assert_allclose(row[:, 2], (b8 - b4) / (b8 + b4), rtol=1e-5)


def test_dates_as_dates_equal_dates_as_days_and_order_does_not_matter() -> None:
    rng = np.random.default_rng(1)
    series = rng.integers(0, 10000, size=(20, 6, 10)).astype(np.int16)
    valid = rng.random((20, 6)) > 0.4
    bands = ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12"]
    days = [0, 5, 17, 30, 41, 55]
    start = date(2023, 3, 1)
    as_dates = [start + timedelta(days=d) for d in days]
    X_days = features(series, days, bands, valid=valid)
    X_dates = features(series, as_dates, bands, valid=valid)
    np.testing.assert_array_equal(X_days, X_dates)
    shuffle = np.array([3, 0, 5, 1, 4, 2])
    X_shuffled = features(series[:, shuffle], [days[i] for i in shuffle], bands, valid[:, shuffle])
    np.testing.assert_allclose(X_shuffled, X_days, rtol=1e-6)
    assert X_days.shape == (20, 6 * 13)  # grid 0..50 every 10 days: 6 dates x (10 + 3)


def test_chunked_equals_whole_and_explicit_grid_is_used() -> None:
    rng = np.random.default_rng(2)
    series = rng.integers(0, 10000, size=(257, 5, 3))
    valid = rng.random((257, 5)) > 0.5
    whole = features(series, [0, 9, 21, 33, 40], ["B4", "B8", "B11"], valid, grid=[3, 13, 23])
    chunked = features(
        series, [0, 9, 21, 33, 40], ["B4", "B8", "B11"], valid, grid=[3, 13, 23], chunk=10
    )
    np.testing.assert_array_equal(whole, chunked)
    assert whole.shape == (257, 3 * 6)


def test_gapfill_matches_numpy_interp_per_pixel() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=(50, 9, 2)).astype(np.float32)
    days = np.sort(rng.choice(100, size=9, replace=False))
    valid = rng.random((50, 9)) > 0.5
    grid = np.arange(-5, 110, 7)
    filled = gapfill(values, days, valid, grid)
    for n in range(50):
        for c in range(2):
            clear = valid[n]
            want = np.interp(grid, days[clear], values[n, clear, c]) if clear.any() else 0.0
            np.testing.assert_allclose(filled[n, :, c], want, rtol=1e-5, atol=1e-6)


def test_grids() -> None:
    np.testing.assert_array_equal(regular_grid(0, 25, 10), [0, 10, 20])
    grid = common_grid([[0, 50, 100], [5, 60, 90]], step=10)
    np.testing.assert_array_equal(grid, [5, 15, 25, 35, 45, 55, 65, 75, 85])
    with pytest.raises(ValueError, match="no common time span"):
        common_grid([[0, 10], [20, 30]])
    with pytest.raises(ValueError, match="positive"):
        regular_grid(0, 10, 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"series": np.zeros((2, 3))}, "must be \\(N, T, C\\)"),
        ({"bands": ["B4", "B8"]}, "2 band names for 3 bands"),
        ({"bands": ["B4", "B04", "B8"]}, "repeat"),
        ({"dates": [0, 10]}, "2 dates for a series of 3"),
        ({"valid": np.ones((2, 2), bool)}, "valid must be"),
    ],
)
def test_bad_input_is_refused(kwargs: dict, message: str) -> None:
    series, dates, bands, valid = hand_series()
    args = {"series": series, "dates": dates, "bands": bands, "valid": valid, **kwargs}
    with pytest.raises(ValueError, match=message):
        features(**args)
