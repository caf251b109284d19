"""Area-adjusted map accuracy and area estimates with confidence intervals.

Implements the stratified estimators of Olofsson, Foody, Herold, Stehman, Woodcock and
Wulder, "Good practices for estimating area and assessing accuracy of land change",
Remote Sensing of Environment 148:42-57, 2014 (equations 2-10), for a stratified random
sample whose strata are the map classes. A map's pixel-count areas are biased by its
errors; weighting the sample confusion matrix by each stratum's mapped area share gives
unbiased accuracy and area figures, each with a standard error and a 95 % interval.
This is the figure sitslab reports for a map's accuracy (kappa is kept for agreement).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

Z_95 = 1.959963984540054


def _validate(counts: np.ndarray, mapped_area: np.ndarray) -> None:
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"counts must be a square matrix, got shape {counts.shape}")
    if mapped_area.shape != (counts.shape[0],):
        raise ValueError(
            f"mapped_area needs one area per class ({counts.shape[0]}), got {mapped_area.shape}"
        )
    if (counts < 0).any() or (mapped_area < 0).any():
        raise ValueError("counts and mapped areas must be non-negative")
    if mapped_area.sum() <= 0:
        raise ValueError("total mapped area must be positive")
    empty = (counts.sum(axis=1) == 0) & (mapped_area > 0)
    if empty.any():
        raise ValueError(
            f"map classes at rows {np.flatnonzero(empty).tolist()} have mapped area but no "
            "sample: every stratum with area needs sample units"
        )


def _interval(value: np.ndarray, se: np.ndarray) -> dict[str, list[float]]:
    half = Z_95 * se
    return {
        "value": value.tolist(),
        "se": se.tolist(),
        "ci95": half.tolist(),
        "low": (value - half).tolist(),
        "high": (value + half).tolist(),
    }


def olofsson(
    counts: np.ndarray | Sequence[Sequence[float]],
    mapped_area: np.ndarray | Sequence[float],
    labels: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Overall, user's and producer's accuracy and class areas, each with SE and 95 % CI.

    Args:
        counts: n_ij sample counts, rows i = map class (stratum), columns j = reference
            class, same class order on both axes.
        mapped_area: A_i, the area mapped as each class (pixels, hectares: any unit; the
            area estimates come back in that unit).
        labels: optional class codes, echoed in the result.

    Returns:
        {"oa": {value, se, ci95, low, high}, "ua": {...per class lists}, "pa": {...},
        "area": {...} (in mapped_area's unit), "area_proportion": {...}, "proportions":
        p̂_ij matrix, "labels"}. UA of a class never mapped (n_i+ = 0) and PA of a class
        with no estimated area are reported as 0; a stratum with one sample unit has
        variance 0 (n_i+ - 1 would be 0).
    """
    n = np.asarray(counts, dtype=np.float64)
    area = np.asarray(mapped_area, dtype=np.float64)
    _validate(n, area)
    total_area = area.sum()
    w = area / total_area  # W_i
    n_row = n.sum(axis=1)  # n_i+
    q = np.divide(n, n_row[:, None], out=np.zeros_like(n), where=n_row[:, None] > 0)  # n_ij/n_i+
    p = w[:, None] * q  # p̂_ij (eq. 4)
    denom = np.where(n_row > 1, n_row - 1, np.inf)  # n_i+ - 1; a single unit gives no variance

    diag_q = np.diag(q)
    oa = np.diag(p).sum()  # eq. 1
    ua = diag_q.copy()  # eq. 2: p̂_ii / p̂_i+ = n_ii / n_i+
    p_col = p.sum(axis=0)  # p̂_+j
    pa = np.divide(np.diag(p), p_col, out=np.zeros_like(p_col), where=p_col > 0)  # eq. 3

    var_ua = ua * (1 - ua) / denom  # eq. 6
    var_oa = np.sum(w**2 * ua * (1 - ua) / denom)  # eq. 5
    # eq. 7, written with N̂_.j = A p̂_+j and N_i. = A W_i (A cancels out).
    other = (w[:, None] ** 2) * q * (1 - q) / denom[:, None]  # W_i² q_ij (1 - q_ij)/(n_i+ - 1)
    off_diag = other.sum(axis=0) - np.diag(other)
    var_pa = np.divide(
        w**2 * (1 - pa) ** 2 * var_ua + pa**2 * off_diag,
        p_col**2,
        out=np.zeros_like(p_col),
        where=p_col > 0,
    )
    var_prop = other.sum(axis=0)  # eq. 10: V̂(p̂_+j)
    se_oa = np.sqrt(np.array([var_oa]))

    return {
        "labels": [int(c) for c in labels] if labels is not None else None,
        "oa": {key: values[0] for key, values in _interval(np.array([oa]), se_oa).items()},
        "ua": _interval(ua, np.sqrt(var_ua)),
        "pa": _interval(pa, np.sqrt(var_pa)),
        "area_proportion": _interval(p_col, np.sqrt(var_prop)),
        "area": _interval(p_col * total_area, np.sqrt(var_prop) * total_area),  # eq. 8-9
        "proportions": p.tolist(),
    }
