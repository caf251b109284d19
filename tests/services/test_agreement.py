"""Agreement statistics against hand-computed and textbook values, and on a real campaign."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from backend.services import agreement_stats as stats

# Fleiss (1971) as worked in Wikipedia's "Fleiss' kappa" article:
# 10 subjects, 14 raters, 5 categories.
FLEISS_EXAMPLE = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)


def test_cohen_kappa_by_hand() -> None:
    a = ["accept", "accept", "reject", "reject", "accept", "uncertain"]
    b = ["accept", "reject", "reject", "reject", "accept", "accept"]
    # p_o = 4/6; p_e = (3*3 + 2*3 + 1*0) / 36 = 15/36; kappa = (24/36 - 15/36) / (21/36) = 9/21
    assert stats.cohen_kappa(a, b) == pytest.approx(9 / 21)
    assert stats.cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))


def test_cohen_kappa_undefined_and_mismatched() -> None:
    assert stats.cohen_kappa([], []) is None
    assert stats.cohen_kappa(["accept"] * 3, ["accept"] * 3) is None
    with pytest.raises(ValueError, match="per item"):
        stats.cohen_kappa(["accept"], [])


def test_fleiss_kappa_textbook_example() -> None:
    assert stats.fleiss_kappa(FLEISS_EXAMPLE) == pytest.approx(0.210, abs=5e-4)


def test_fleiss_kappa_two_raters_equals_scott_pi() -> None:
    # With two raters per item Fleiss' kappa is Scott's pi: p_o = 3/4,
    # pooled p = (5/8 accept, 3/8 reject), p_e = 25/64 + 9/64 = 34/64,
    # pi = (48/64 - 34/64) / (30/64).
    counts = np.array([[2, 0], [2, 0], [0, 2], [1, 1]])
    assert stats.fleiss_kappa(counts) == pytest.approx(14 / 30)
    assert stats.fleiss_kappa(np.zeros((0, 2))) is None
    assert stats.fleiss_kappa(np.array([[1, 0], [0, 1]])) is None  # nobody has two raters


def test_fleiss_category_kappa_first_category_of_example() -> None:
    # kappa_1 = 1 - sum n_i1 (14 - n_i1) / (N n (n-1) p_1 q_1), p_1 = 20/140.
    n1 = FLEISS_EXAMPLE[:, 0]
    p1 = n1.sum() / 140
    expected = 1 - (n1 * (14 - n1)).sum() / (10 * 14 * 13 * p1 * (1 - p1))
    kappas = stats.fleiss_category_kappa(FLEISS_EXAMPLE)
    assert kappas[0] == pytest.approx(expected)
    assert len(kappas) == 5


def test_pairwise_agreement() -> None:
    assert stats.pairwise_agreement(["accept", "accept", "reject"]) == pytest.approx(2 / 6)
    assert stats.pairwise_agreement(["accept"]) is None


def test_mask_iou_by_hand() -> None:
    a = np.array([[1, 1], [2, 0]], dtype=np.uint8)
    b = np.array([[1, 2], [2, 2]], dtype=np.uint8)
    # ignore 0: pixels (0,0),(0,1),(1,0) remain; class 1: I=1, U=2; class 2: I=1, U=2.
    assert stats.mask_iou(a, b, ignore=[0]) == pytest.approx(0.5)
    # without ignore: class 0: I=0 U=1 -> 0; class 1: 1/2; class 2: I=1 U=3 -> 1/3.
    assert stats.mask_iou(a, b) == pytest.approx((0 + 0.5 + 1 / 3) / 3)
    assert stats.mask_iou(a, a) == 1.0
    with pytest.raises(ValueError, match="shapes"):
        stats.mask_iou(a, np.zeros((3, 3), dtype=np.uint8))


def test_decisions_per_hour_leaves_out_pauses() -> None:
    t0 = datetime(2026, 5, 1, 9, tzinfo=UTC)
    times = [t0, t0 + timedelta(minutes=1), t0 + timedelta(minutes=2), t0 + timedelta(hours=3)]
    # two decisions in two minutes of work; the 3-hour pause is not work.
    assert stats.decisions_per_hour(times) == pytest.approx(60.0)
    assert stats.decisions_per_hour([t0]) is None


def test_median_or_none() -> None:
    assert stats.median_or_none([None, 3, 1, 2]) == 2.0
    assert stats.median_or_none([None]) is None
