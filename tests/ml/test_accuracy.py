"""Olofsson et al. (2014) estimators reproduce the paper's worked example (section 5)."""

from __future__ import annotations

import numpy as np
import pytest

from ml.accuracy import olofsson

# Table 8 of the paper: rows = map class, columns = reference; 30 m pixels.
COUNTS = [[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]]
MAPPED_PIXELS = [200_000, 150_000, 3_200_000, 6_450_000]
HECTARES_PER_PIXEL = 0.09


def test_worked_example_of_the_paper() -> None:
    result = olofsson(COUNTS, MAPPED_PIXELS, labels=[1, 2, 3, 4])
    # the paper's rounded figures (p. 54): OA 0.95 +- 0.02
    assert result["oa"]["value"] == pytest.approx(0.95, abs=0.005)
    assert result["oa"]["ci95"] == pytest.approx(0.02, abs=0.005)
    np.testing.assert_allclose(result["ua"]["value"], [0.88, 0.73, 0.93, 0.96], atol=0.005)
    np.testing.assert_allclose(result["ua"]["ci95"], [0.07, 0.10, 0.04, 0.02], atol=0.005)
    np.testing.assert_allclose(result["pa"]["value"], [0.75, 0.85, 0.93, 0.96], atol=0.005)
    np.testing.assert_allclose(result["pa"]["ci95"], [0.21, 0.25, 0.03, 0.02], atol=0.005)
    # area estimates in ha with 95 % CI: 21,158 +- 6,158; 11,686 +- 3,756; ...
    area = np.asarray(result["area"]["value"]) * HECTARES_PER_PIXEL
    half = np.asarray(result["area"]["ci95"]) * HECTARES_PER_PIXEL
    np.testing.assert_allclose(area, [21_158, 11_686, 285_770, 581_386], atol=1)
    np.testing.assert_allclose(half, [6_158, 3_756, 15_510, 16_282], atol=1)
    # more digits, from the estimator equations (eqs. 5-7, 10)
    assert result["oa"]["value"] == pytest.approx(0.9465119, rel=1e-6)
    assert result["oa"]["ci95"] == pytest.approx(0.01848328, rel=1e-5)
    np.testing.assert_allclose(
        result["pa"]["ci95"], [0.21330593, 0.25440369, 0.03432379, 0.01836120], rtol=1e-5
    )
    assert result["labels"] == [1, 2, 3, 4]
    assert sum(result["area"]["value"]) == pytest.approx(sum(MAPPED_PIXELS))
    assert result["area"]["low"][0] == pytest.approx(
        result["area"]["value"][0] - result["area"]["ci95"][0]
    )


def test_perfect_map_has_no_uncertainty() -> None:
    result = olofsson([[10, 0], [0, 20]], [100.0, 300.0])
    assert result["oa"]["value"] == 1.0 and result["oa"]["se"] == 0.0
    np.testing.assert_allclose(result["area"]["value"], [100.0, 300.0])


@pytest.mark.parametrize(
    ("counts", "areas", "message"),
    [
        ([[1, 2, 3]], [1.0], "square"),
        ([[1, 0], [0, 1]], [1.0], "one area per class"),
        ([[1, 0], [0, -1]], [1.0, 1.0], "non-negative"),
        ([[1, 0], [0, 1]], [0.0, 0.0], "positive"),
        ([[1, 0], [0, 0]], [1.0, 1.0], "no sample"),
    ],
)
def test_bad_input_is_refused(counts: list, areas: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        olofsson(counts, areas)
