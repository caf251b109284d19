"""Temporal gap filling of cloudy time series onto a regular date grid, as iota2 does.

OSO's Random Forest needs every pixel described by the same features, whatever its cloud
cover. iota2 (Inglada et al., Remote Sensing 9(1):95, 2017) therefore replaces masked
observations by linear interpolation in time between the nearest clear observations and
resamples every pixel onto one regular grid of dates (every 10 days by default). Before
the first or after the last clear observation the nearest clear value is held; a pixel
never seen clear gets zeros. Everything here is vectorised over pixels: no Python loop
runs per pixel.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import numpy as np

DayLike = date | int | np.integer


def to_days(dates: Iterable[DayLike]) -> np.ndarray:
    """Dates as int64 day numbers: `date.toordinal()` for dates, ints kept as given."""
    days = [d.toordinal() if isinstance(d, date) else int(d) for d in dates]
    return np.asarray(days, dtype=np.int64)


def regular_grid(first: int, last: int, step: int = 10) -> np.ndarray:
    """Day numbers first, first + step, ... up to last (inclusive), iota2's `temporalResolution`."""
    if step <= 0:
        raise ValueError(f"grid step must be a positive number of days, got {step}")
    if last < first:
        raise ValueError(f"grid ends ({last}) before it starts ({first})")
    return np.arange(first, last + 1, step, dtype=np.int64)


def common_grid(date_lists: Sequence[Iterable[DayLike]], step: int = 10) -> np.ndarray:
    """The grid iota2's `autoDate` picks: from the latest first date to the earliest last date.

    Every series then covers the whole grid, so no grid date is an extrapolation for one
    tile and an interpolation for another.
    """
    spans = [to_days(dates) for dates in date_lists]
    if not spans or any(s.size == 0 for s in spans):
        raise ValueError("every series needs at least one date to build a date grid")
    first = max(int(s.min()) for s in spans)
    last = min(int(s.max()) for s in spans)
    if last < first:
        raise ValueError("the series have no common time span to put a date grid on")
    return regular_grid(first, last, step)


def _bracket(valid: np.ndarray, days: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, ...]:
    """For each pixel and grid date, the last clear index on/before and first clear after it."""
    n, t = valid.shape
    index = np.arange(t, dtype=np.int64)
    prev = np.maximum.accumulate(np.where(valid, index, -1), axis=1)
    nxt = np.minimum.accumulate(np.where(valid, index, t)[:, ::-1], axis=1)[:, ::-1]
    nxt = np.concatenate([nxt, np.full((n, 1), t, dtype=np.int64)], axis=1)
    at = np.searchsorted(days, grid, side="right") - 1  # last date <= grid date, -1 if none
    lo = np.where(at >= 0, prev[:, np.clip(at, 0, t - 1)], -1)
    hi = nxt[:, at + 1]
    return lo, hi


def gapfill(
    values: np.ndarray,
    days: Sequence[int] | np.ndarray,
    valid: np.ndarray | None,
    grid: Sequence[int] | np.ndarray,
) -> np.ndarray:
    """Linearly interpolate clear observations of each pixel onto the grid dates.

    Args:
        values: (N, T, C) observations, any numeric type.
        days: (T,) day numbers of the observations (any order; duplicates allowed).
        valid: (N, T) bool, True where the observation is clear; None = all clear.
        grid: (G,) day numbers to resample onto.

    Returns:
        (N, G, C) float32.
    """
    values = np.asarray(values)
    if values.ndim != 3:
        raise ValueError(f"values must be (N, T, C), got shape {values.shape}")
    n, t, c = values.shape
    day_array = np.asarray(days, dtype=np.int64)
    if day_array.shape != (t,):
        raise ValueError(f"{day_array.size} dates given for a series of {t} dates")
    mask = np.ones((n, t), dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    if mask.shape != (n, t):
        raise ValueError(f"valid must be (N, T) = {(n, t)}, got {mask.shape}")
    grid_days = np.asarray(grid, dtype=np.int64)
    order = np.argsort(day_array, kind="stable")
    day_array, values, mask = day_array[order], values[:, order], mask[:, order]

    lo, hi = _bracket(mask, day_array, grid_days)
    has_lo, has_hi = lo >= 0, hi < t
    lo_i, hi_i = np.clip(lo, 0, t - 1), np.clip(hi, 0, t - 1)
    d_lo, d_hi = day_array[lo_i], day_array[hi_i]
    span = np.where(has_lo & has_hi, d_hi - d_lo, 1)
    weight = np.where(has_lo & has_hi, (grid_days[None, :] - d_lo) / span, 0.0)
    weight = np.where(has_lo, weight, 1.0).astype(np.float32)  # no earlier clear: take the next

    pixel = np.arange(n)[:, None]
    x_lo = values[pixel, lo_i].astype(np.float32)
    x_hi = values[pixel, hi_i].astype(np.float32)
    out = x_lo + weight[..., None] * (x_hi - x_lo)
    out[~(has_lo | has_hi)] = 0.0
    return out
