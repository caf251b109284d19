"""OSO's per-pixel features: gap-filled reflectances plus NDVI, NDWI and brightness per date.

This is iota2's default feature set for OSO (Inglada et al., Remote Sensing 9(1):95, 2017;
iota2's `features` module): per date of the regular 10-day grid, the reflectances in band
order, then NDVI = (B8 - B4)/(B8 + B4), NDWI = (B11 - B8)/(B11 + B8) (iota2's sign
convention, SWIR first) and brightness = sqrt(sum of the squared reflectances). Indices
whose bands are missing are left out; a ratio whose denominator is ~0 is 0. Values keep
the unit of the input (Theia int16 x10000 stays x10000); the indices are unitless.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

import numpy as np

from ml.gapfill import DayLike, gapfill, regular_grid, to_days

INDEX_BANDS: dict[str, tuple[str, str]] = {"NDVI": ("B8", "B4"), "NDWI": ("B11", "B8")}
EPSILON = 1e-6
DEFAULT_CHUNK = 16_384


def normalise_band(name: str) -> str:
    """'b04' and 'B04' are 'B4', 'B8a' is 'B8A': one spelling for band lookups."""
    match = re.fullmatch(r"B0*(\d+)(A?)", name.strip().upper())
    return f"B{match.group(1)}{match.group(2)}" if match else name.strip().upper()


def index_names(bands: Sequence[str]) -> list[str]:
    """Indices computable from these bands, in iota2's order, brightness always last."""
    present = {normalise_band(b) for b in bands}
    names = [name for name, pair in INDEX_BANDS.items() if set(pair) <= present]
    return [*names, "brightness"]


def feature_names(bands: Sequence[str], grid: Sequence[DayLike]) -> list[str]:
    """Column names of `features`: '<grid date>_<band or index>', date-major."""
    labels = [g.isoformat() if isinstance(g, date) else f"day{int(g)}" for g in grid]
    per_date = [normalise_band(b) for b in bands] + index_names(bands)
    return [f"{label}_{name}" for label in labels for name in per_date]


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    den = a + b
    out = np.zeros_like(den)
    np.divide(a - b, den, out=out, where=np.abs(den) > EPSILON)
    return out


def _features_on_grid(filled: np.ndarray, bands: Sequence[str]) -> np.ndarray:
    """(N, G, C) gap-filled reflectances -> (N, G * (C + n_indices)) float32."""
    position = {normalise_band(b): i for i, b in enumerate(bands)}
    columns = [filled]
    for name in index_names(bands)[:-1]:
        first, second = INDEX_BANDS[name]
        columns.append(
            _ratio(filled[..., position[first]], filled[..., position[second]])[..., None]
        )
    columns.append(np.sqrt(np.einsum("ngc,ngc->ng", filled, filled))[..., None])
    stacked = np.concatenate(columns, axis=2)
    return stacked.reshape(stacked.shape[0], -1)


def features(
    series: np.ndarray,
    dates: Sequence[DayLike],
    bands: Sequence[str],
    valid: np.ndarray | None = None,
    grid_step: int = 10,
    grid: Sequence[DayLike] | None = None,
    chunk: int = DEFAULT_CHUNK,
) -> np.ndarray:
    """OSO feature matrix (N, F) float32 of pixel time series, F = G x (C + indices).

    Args:
        series: (N, T, C) reflectances of N pixels, T dates, C bands.
        dates: T acquisition dates (datetime.date, or ints: days on any fixed axis).
        bands: C band names ("B2" ... "B12", "B8A"); NDVI needs B4 and B8, NDWI B8 and B11.
        valid: (N, T) bool, True where the pixel is clear at that date; None = all clear.
        grid_step: days between grid dates when `grid` is not given.
        grid: dates to resample onto (dates or days, same axis as `dates`); default every
            `grid_step` days from the first to the last date.
        chunk: pixels processed at once, to bound memory on millions of pixels.

    Returns:
        (N, F) float32, date-major: for each grid date the bands, then the indices.
    """
    series = np.asarray(series)
    if series.ndim != 3:
        raise ValueError(f"series must be (N, T, C), got shape {series.shape}")
    n, t, c = series.shape
    if len(bands) != c:
        raise ValueError(f"{len(bands)} band names for {c} bands")
    if len({normalise_band(b) for b in bands}) != c:
        raise ValueError(f"band names repeat: {list(bands)}")
    days = to_days(dates)
    if days.size != t or t == 0:
        raise ValueError(f"{days.size} dates for a series of {t} dates")
    if valid is not None and np.shape(valid) != (n, t):
        raise ValueError(f"valid must be (N, T) = {(n, t)}, got {np.shape(valid)}")
    grid_days = (
        regular_grid(int(days.min()), int(days.max()), grid_step) if grid is None else to_days(grid)
    )
    if grid_days.size == 0:
        raise ValueError("the date grid is empty")
    width = grid_days.size * (c + len(index_names(bands)))
    out = np.empty((n, width), dtype=np.float32)
    for start in range(0, n, max(1, chunk)):
        stop = min(n, start + chunk)
        part_valid = None if valid is None else np.asarray(valid[start:stop], dtype=bool)
        filled = gapfill(series[start:stop], days, part_valid, grid_days)
        out[start:stop] = _features_on_grid(filled, bands)
    return out


def clear_date_count(valid: np.ndarray) -> np.ndarray:
    """OSO's validity: the number of clear dates of each pixel, (N, T) bool -> (N,) int32."""
    return np.asarray(valid, dtype=bool).sum(axis=1).astype(np.int32)
