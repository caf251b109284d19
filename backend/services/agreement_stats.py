"""Inter-annotator agreement statistics on plain data (no database), so each can be checked
against a hand-computed example.

Decisions are nominal labels (accept, reject, uncertain, correct): chance-corrected
agreement follows Cohen (1960) for a pair of annotators and Fleiss (1971) for many; masks
corrected by two annotators are compared with the intersection over union of their classes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from statistics import median

import numpy as np

SESSION_GAP = timedelta(minutes=30)


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's kappa of two annotators who labelled the same items, in the same order.

    kappa = (p_o - p_e) / (1 - p_e), p_o the observed agreement and p_e the agreement
    expected from each annotator's marginal label frequencies (Cohen 1960).

    Args:
        a: labels of the first annotator.
        b: labels of the second annotator, item by item.

    Returns:
        kappa, or None when it is undefined (no item, or both always gave one same label).
    """
    if len(a) != len(b):
        raise ValueError(f"{len(a)} labels against {len(b)}: give both annotators' labels per item")
    n = len(a)
    if n == 0:
        return None
    p_o = sum(x == y for x, y in zip(a, b, strict=True)) / n
    count_a, count_b = Counter(a), Counter(b)
    p_e = sum(count_a[k] * count_b[k] for k in count_a) / (n * n)
    if p_e == 1.0:
        return None
    return (p_o - p_e) / (1.0 - p_e)


def fleiss_kappa(counts: np.ndarray) -> float | None:
    """Fleiss' kappa of many annotators from an (items x categories) table of counts.

    Row i holds how many annotators put item i in each category (Fleiss 1971). Items may
    have different numbers of annotators (at least two each): the per-item agreement P_i
    is then computed with that item's own n_i, which reduces to Fleiss' formula when every
    n_i is equal.

    Returns:
        kappa, or None when undefined (no item with two ratings, or one category only).
    """
    table = np.asarray(counts, dtype=float)
    n_i = table.sum(axis=1)
    table, n_i = table[n_i >= 2], n_i[n_i >= 2]
    if len(table) == 0:
        return None
    p_i = ((table * table).sum(axis=1) - n_i) / (n_i * (n_i - 1))
    p_j = table.sum(axis=0) / n_i.sum()
    p_bar, p_e = p_i.mean(), float((p_j * p_j).sum())
    if p_e == 1.0:
        return None
    return float((p_bar - p_e) / (1.0 - p_e))


def fleiss_category_kappa(counts: np.ndarray) -> list[float | None]:
    """Fleiss' (1971) kappa of each category: how reliably annotators agree on that one.

    kappa_j = 1 - sum_i n_ij (n - n_ij) / (N n (n - 1) p_j q_j), for N items rated by
    n annotators each (items with another number of ratings are left out).
    """
    table = np.asarray(counts, dtype=float)
    if len(table) == 0:
        return []
    n_i = table.sum(axis=1)
    n = int(Counter(n_i[n_i >= 2].tolist()).most_common(1)[0][0]) if (n_i >= 2).any() else 0
    table = table[n_i == n]
    out: list[float | None] = []
    for j in range(table.shape[1]):
        if n < 2 or len(table) == 0:
            out.append(None)
            continue
        p_j = table[:, j].sum() / (len(table) * n)
        if p_j in (0.0, 1.0):
            out.append(None)
            continue
        disagreement = (table[:, j] * (n - table[:, j])).sum()
        out.append(float(1.0 - disagreement / (len(table) * n * (n - 1) * p_j * (1 - p_j))))
    return out


def pairwise_agreement(labels: Sequence[str]) -> float | None:
    """Share of agreeing pairs among the labels several annotators gave one item."""
    n = len(labels)
    if n < 2:
        return None
    agreeing = sum(c * (c - 1) for c in Counter(labels).values())
    return agreeing / (n * (n - 1))


def mask_iou(a: np.ndarray, b: np.ndarray, ignore: Iterable[int] = ()) -> float:
    """Mean over classes of the intersection over union of two label masks of one patch.

    Classes present in either mask count (ignored codes and their pixels are left out);
    two masks with no class left are identical by convention (1.0).
    """
    if a.shape != b.shape:
        raise ValueError(f"masks of different shapes {a.shape} and {b.shape}")
    ignored = np.isin(a, list(ignore)) | np.isin(b, list(ignore))
    a, b = a[~ignored], b[~ignored]
    classes = np.union1d(np.unique(a), np.unique(b))
    if len(classes) == 0:
        return 1.0
    ious = [((a == c) & (b == c)).sum() / ((a == c) | (b == c)).sum() for c in classes]
    return float(np.mean(ious))


def decisions_per_hour(times: Iterable[datetime], gap: timedelta = SESSION_GAP) -> float | None:
    """Decisions per hour of work: the rate over the gaps between consecutive decisions,
    leaving out pauses longer than `gap` (the first decision after a pause has no known
    duration).

    Returns None with fewer than two decisions or no time worked.
    """
    ordered = sorted(times)
    if len(ordered) < 2:
        return None
    steps = [b - a for a, b in zip(ordered, ordered[1:], strict=False) if b - a <= gap]
    hours = sum(steps, timedelta(0)).total_seconds() / 3600
    return len(steps) / hours if hours > 0 else None


def median_or_none(values: Iterable[float | int | None]) -> float | None:
    """The median of the known values, None when there is none."""
    known = [v for v in values if v is not None]
    return float(median(known)) if known else None
