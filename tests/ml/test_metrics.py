"""Metrics agree with scikit-learn on random labels; McNemar on hand examples."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    jaccard_score,
    precision_recall_fscore_support,
)
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from ml.metrics import compare_reports, confusion_matrix, evaluation_report, mcnemar

LABELS = [3, 5, 7, 11, 13]


@pytest.fixture
def random_labels() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y_true = rng.choice(LABELS, size=2000, p=[0.4, 0.3, 0.2, 0.1, 0.0])
    y_pred = np.where(rng.random(2000) < 0.6, y_true, rng.choice(LABELS, size=2000))
    return y_true, y_pred


def test_report_matches_scikit_learn(random_labels: tuple[np.ndarray, np.ndarray]) -> None:
    y_true, y_pred = random_labels
    report = evaluation_report(y_true, y_pred, LABELS, names={3: "three"})
    assert report["oa"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert report["kappa"] == pytest.approx(cohen_kappa_score(y_true, y_pred))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=LABELS, zero_division=0
    )
    iou = jaccard_score(y_true, y_pred, labels=LABELS, average=None, zero_division=0)
    for i, code in enumerate(LABELS):
        entry = report["per_class"][str(code)]
        assert entry["precision"] == pytest.approx(precision[i])
        assert entry["recall"] == pytest.approx(recall[i])
        assert entry["f1"] == pytest.approx(f1[i])
        assert entry["iou"] == pytest.approx(iou[i])
        assert entry["support"] == support[i]
    present = support > 0  # class 13 never occurs in the reference: not averaged
    assert not present[-1]
    assert report["mean_f1"] == pytest.approx(f1[present].mean())
    assert report["miou"] == pytest.approx(iou[present].mean())
    np.testing.assert_array_equal(
        report["confusion"], sk_confusion_matrix(y_true, y_pred, labels=LABELS)
    )
    rows = np.asarray(report["confusion_normalised"])
    np.testing.assert_allclose(rows[present].sum(axis=1), 1.0)
    assert report["per_class"]["3"]["name"] == "three"
    assert json.loads(json.dumps(report)) == report  # JSON round trip is lossless


def test_ignore_codes_and_unknown_predictions(random_labels: tuple[np.ndarray, np.ndarray]) -> None:
    y_true, y_pred = random_labels
    y_true = y_true.copy()
    y_true[:300] = 0  # no data
    with_ignore = evaluation_report(y_true, y_pred, LABELS, ignore=[0])
    by_hand = evaluation_report(y_true[300:], y_pred[300:], LABELS)
    assert with_ignore == by_hand
    assert with_ignore["n_pixels"] == 1700
    cm = confusion_matrix([3, 3, 5], [3, 99, 5], labels=[5, 3])
    np.testing.assert_array_equal(cm, [[1, 0], [0, 1]])  # in `labels` order; 99 left out


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        evaluation_report([1, 2], [1], [1, 2])
    with pytest.raises(ValueError, match="integer class codes"):
        evaluation_report([1.5, 2.0], [1, 2], [1, 2])
    with pytest.raises(ValueError, match="distinct"):
        confusion_matrix([1], [1], [1, 1])
    with pytest.raises(ValueError, match="prediction holds codes \\[0\\]"):
        evaluation_report([1, 2], [1, 0], [1, 2])
    with pytest.raises(ValueError, match="reference holds codes \\[7\\]"):
        evaluation_report([1, 7], [1, 2], [1, 2])


def test_mcnemar_exact_on_hand_example() -> None:
    # a right / b wrong on 2 pixels, a wrong / b right on 8, 5 pixels where both agree
    y_true = np.array([1] * 15)
    a = np.array([1, 1] + [2] * 8 + [1] * 5)
    b = np.array([2, 2] + [1] * 8 + [1] * 5)
    result = mcnemar(y_true, a, b)
    assert (result["n01"], result["n10"], result["method"]) == (2, 8, "exact")
    # two-sided binomial: 2 * P(X <= 2 | n=10, p=1/2) = 2 * (1 + 10 + 45) / 1024
    assert result["p_value"] == pytest.approx(112 / 1024)
    assert result["statistic"] == 2


def test_mcnemar_chi_square_with_continuity_correction() -> None:
    y_true = np.zeros(100, dtype=int)
    a = np.array([0] * 30 + [1] * 10 + [0] * 60)
    b = np.array([1] * 30 + [0] * 10 + [0] * 60)
    result = mcnemar(y_true, a, b)
    assert (result["n01"], result["n10"], result["method"]) == (30, 10, "chi2")
    statistic = (abs(30 - 10) - 1) ** 2 / 40
    assert result["statistic"] == pytest.approx(statistic)
    assert result["p_value"] == pytest.approx(math.erfc(math.sqrt(statistic / 2)))
    same = mcnemar(y_true, a, a)
    assert same["p_value"] == 1.0 and same["n01"] == same["n10"] == 0


def test_compare_reports_gives_b_minus_a(random_labels: tuple[np.ndarray, np.ndarray]) -> None:
    y_true, y_pred = random_labels
    a = evaluation_report(y_true, y_pred, LABELS)
    b = evaluation_report(y_true, y_true, LABELS[:4])
    delta = compare_reports(json.loads(json.dumps(a)), b)
    assert delta["overall"]["oa"] == pytest.approx(1.0 - a["oa"])
    assert delta["per_class"]["5"]["f1"] == pytest.approx(1.0 - a["per_class"]["5"]["f1"])
    assert delta["per_class"]["13"]["f1"] is None  # only in a
