"""Accuracy figures of a land-cover classifier on held-out pixels, and paired comparisons.

The figures are the ones the field reports for OSO (Inglada et al., Remote Sensing 9(1):95,
2017) and U-BARN (Dumeur et al., IEEE JSTARS 17, 2024): overall accuracy, Cohen's kappa,
per-class precision / recall / F1 / IoU, mean F1 and mIoU, the confusion matrix (rows =
reference, columns = prediction, as scikit-learn and OTB print it). Two models evaluated on
the same pixels are compared with McNemar's test (Foody, PE&RS 70(5), 2004), which uses the
pairing that separate confidence intervals ignore.

Reports are JSON-ready: class codes are string keys, so a report read back from
`results.json` is identical to the one written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

# Below this many discordant pairs the chi-square approximation is poor; use the exact test.
MCNEMAR_EXACT_BELOW = 25


def _as_labels(values: np.ndarray | Sequence[int], name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        array = array.reshape(-1)
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class codes, got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)


def _drop_ignored(
    y_true: np.ndarray, others: list[np.ndarray], ignore: Iterable[int] | None
) -> tuple[np.ndarray, list[np.ndarray]]:
    if ignore is None:
        return y_true, others
    keep = ~np.isin(y_true, np.fromiter(ignore, dtype=np.int64))
    return y_true[keep], [o[keep] for o in others]


def _check_same_length(*arrays: np.ndarray) -> None:
    if len({a.shape[0] for a in arrays}) != 1:
        raise ValueError(f"label arrays differ in length: {[a.shape[0] for a in arrays]}")


def confusion_matrix(
    y_true: np.ndarray | Sequence[int],
    y_pred: np.ndarray | Sequence[int],
    labels: Sequence[int],
    ignore: Iterable[int] | None = None,
) -> np.ndarray:
    """Counts (K, K) int64, rows = reference class, columns = predicted class, in `labels` order.

    Pixels whose reference or prediction is not in `labels` are left out, as are reference
    codes listed in `ignore` (no data, void).
    """
    true = _as_labels(y_true, "y_true")
    pred = _as_labels(y_pred, "y_pred")
    _check_same_length(true, pred)
    true, (pred,) = _drop_ignored(true, [pred], ignore)
    codes = np.asarray(list(labels), dtype=np.int64)
    if codes.size == 0 or np.unique(codes).size != codes.size:
        raise ValueError("labels must be a non-empty list of distinct class codes")
    order = np.argsort(codes)
    sorted_codes = codes[order]
    k = codes.size

    def index_of(values: np.ndarray) -> np.ndarray:
        pos = np.clip(np.searchsorted(sorted_codes, values), 0, k - 1)
        found = sorted_codes[pos] == values
        return np.where(found, order[pos], -1)

    ti, pi = index_of(true), index_of(pred)
    both = (ti >= 0) & (pi >= 0)
    flat = np.bincount(ti[both] * k + pi[both], minlength=k * k)
    return flat.reshape(k, k).astype(np.int64)


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros_like(num, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def report_from_confusion(
    counts: np.ndarray, labels: Sequence[int], names: Mapping[int, str] | None = None
) -> dict[str, Any]:
    """Every figure of `evaluation_report`, from a confusion matrix of counts."""
    cm = np.asarray(counts, dtype=np.float64)
    total = cm.sum()
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    precision = _safe_ratio(tp, predicted)
    recall = _safe_ratio(tp, support)
    f1 = _safe_ratio(2 * tp, support + predicted)
    iou = _safe_ratio(tp, support + predicted - tp)
    oa = float(tp.sum() / total) if total else 0.0
    expected = float((support * predicted).sum() / total**2) if total else 0.0
    kappa = (oa - expected) / (1 - expected) if expected < 1 else (1.0 if oa == 1 else 0.0)
    present = support > 0
    per_class: dict[str, dict[str, Any]] = {}
    for i, code in enumerate(labels):
        entry: dict[str, Any] = {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "iou": float(iou[i]),
            "support": int(support[i]),
        }
        if names is not None and int(code) in names:
            entry["name"] = names[int(code)]
        per_class[str(int(code))] = entry
    rows = cm.sum(axis=1, keepdims=True)
    normalised = _safe_ratio(cm, np.broadcast_to(rows, cm.shape))
    return {
        "n_pixels": int(total),
        "labels": [int(c) for c in labels],
        "oa": oa,
        "kappa": float(kappa),
        "mean_f1": float(f1[present].mean()) if present.any() else 0.0,
        "miou": float(iou[present].mean()) if present.any() else 0.0,
        "per_class": per_class,
        "confusion": cm.astype(np.int64).tolist(),
        "confusion_normalised": normalised.tolist(),
    }


def evaluation_report(
    y_true: np.ndarray | Sequence[int],
    y_pred: np.ndarray | Sequence[int],
    labels: Sequence[int],
    names: Mapping[int, str] | None = None,
    ignore: Iterable[int] | None = None,
) -> dict[str, Any]:
    """OA, kappa, per-class precision/recall/F1/IoU/support, mean F1, mIoU and the confusion.

    Mean F1 and mIoU average over the classes present in the reference (support > 0), as
    U-BARN's evaluation does, so a class absent from the test split does not count as 0.
    Every non-ignored reference and every prediction must be one of `labels`: a pixel
    silently dropped would inflate the accuracy.
    `per_class` is keyed by the class code as a string (JSON-stable); `confusion` rows are
    the reference, in `labels` order.
    """
    true = _as_labels(y_true, "y_true")
    pred = _as_labels(y_pred, "y_pred")
    _check_same_length(true, pred)
    true, (pred,) = _drop_ignored(true, [pred], ignore)
    for name, values in (("reference", true), ("prediction", pred)):
        unknown = np.setdiff1d(values, np.asarray(list(labels), dtype=np.int64))
        if unknown.size:
            raise ValueError(f"{name} holds codes {unknown.tolist()} outside labels {list(labels)}")
    return report_from_confusion(confusion_matrix(true, pred, labels), labels, names)


def mcnemar(
    y_true: np.ndarray | Sequence[int],
    pred_a: np.ndarray | Sequence[int],
    pred_b: np.ndarray | Sequence[int],
    ignore: Iterable[int] | None = None,
) -> dict[str, Any]:
    """McNemar's test that models a and b have the same error rate on the same pixels.

    n01 counts pixels a got right and b wrong, n10 the reverse. With fewer than 25
    discordant pixels the exact two-sided binomial test is used (statistic = min(n01, n10)),
    otherwise the chi-square statistic with Edwards' continuity correction,
    (|n01 - n10| - 1)^2 / (n01 + n10), one degree of freedom.
    """
    true = _as_labels(y_true, "y_true")
    a = _as_labels(pred_a, "pred_a")
    b = _as_labels(pred_b, "pred_b")
    _check_same_length(true, a, b)
    true, (a, b) = _drop_ignored(true, [a, b], ignore)
    right_a, right_b = a == true, b == true
    n01 = int(np.count_nonzero(right_a & ~right_b))
    n10 = int(np.count_nonzero(~right_a & right_b))
    n = n01 + n10
    if n == 0:
        return {"statistic": 0.0, "p_value": 1.0, "n01": 0, "n10": 0, "method": "exact"}
    if n < MCNEMAR_EXACT_BELOW:
        statistic = float(min(n01, n10))
        p_value = float(stats.binomtest(min(n01, n10), n, 0.5).pvalue)
        method = "exact"
    else:
        statistic = (abs(n01 - n10) - 1) ** 2 / n
        p_value = float(stats.chi2.sf(statistic, df=1))
        method = "chi2"
    return {
        "statistic": float(statistic),
        "p_value": min(1.0, p_value),
        "n01": n01,
        "n10": n10,
        "method": method,
    }


OVERALL_KEYS = ("oa", "kappa", "mean_f1", "miou")
PER_CLASS_KEYS = ("precision", "recall", "f1", "iou")


def compare_reports(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Deltas b - a, overall and per class (codes of either report; None where one lacks it).

    Works on reports fresh from `evaluation_report` or read back from results JSON.
    """
    overall = {key: float(b[key]) - float(a[key]) for key in OVERALL_KEYS}
    pa, pb = a["per_class"], b["per_class"]
    codes = sorted({str(c) for c in pa} | {str(c) for c in pb}, key=int)
    per_class: dict[str, dict[str, float | None]] = {}
    for code in codes:
        ca, cb = pa.get(code), pb.get(code)
        per_class[code] = {
            key: (float(cb[key]) - float(ca[key]) if ca is not None and cb is not None else None)
            for key in PER_CLASS_KEYS
        }
    return {"overall": overall, "per_class": per_class}
