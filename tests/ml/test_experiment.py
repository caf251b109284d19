"""The comparison's summary over seeds: means, spreads and paired differences."""

from __future__ import annotations

import statistics

import pytest

from ml.experiment import RF_TITLE, SCRATCH_TITLE, seed_summary, spread_text

FT = "U-BARN pre-trained + fine-tuned"


def _row(stage: str, seed: int, mean_f1: float, oa: float = 0.9) -> dict[str, object]:
    return {"run": f"{stage}, seed {seed}", "stage": stage, "seed": seed, "oa": oa,
            "kappa": oa - 0.1, "mean_f1": mean_f1, "miou": mean_f1 - 0.1}  # fmt: skip


def test_seed_summary_pairs_differences_within_each_seed() -> None:
    table = [
        _row(RF_TITLE, 0, 0.70), _row(SCRATCH_TITLE, 0, 0.60), _row(FT, 0, 0.75),
        _row(RF_TITLE, 1, 0.50), _row(SCRATCH_TITLE, 1, 0.52), _row(FT, 1, 0.49),
        _row(RF_TITLE, 2, 0.80), _row(SCRATCH_TITLE, 2, 0.70), _row(FT, 2, 0.78),
    ]  # fmt: skip
    summary = {entry["stage"]: entry for entry in seed_summary(table)}
    assert list(summary) == [RF_TITLE, SCRATCH_TITLE, FT]
    rf, scratch, ft = summary[RF_TITLE], summary[SCRATCH_TITLE], summary[FT]
    assert ft["n_seeds"] == 3
    assert ft["mean_f1"]["mean"] == pytest.approx((0.75 + 0.49 + 0.78) / 3)
    assert ft["mean_f1"]["sd"] == pytest.approx(statistics.stdev([0.75, 0.49, 0.78]))
    assert rf["mean_f1_minus"] == {}  # the baseline has nothing to be compared with
    assert set(scratch["mean_f1_minus"]) == {"rf"}
    # paired, seed by seed: +0.05, −0.01, −0.02 (not the difference of the two means' spreads)
    vs_rf = ft["mean_f1_minus"]["rf"]
    assert vs_rf["mean"] == pytest.approx(0.02 / 3)
    assert vs_rf["sd"] == pytest.approx(statistics.stdev([0.05, -0.01, -0.02]))
    assert (vs_rf["wins"], vs_rf["n"]) == (1, 3)
    vs_scratch = ft["mean_f1_minus"]["scratch"]
    assert (vs_scratch["wins"], vs_scratch["n"]) == (2, 3)
    assert vs_scratch["mean"] == pytest.approx((0.15 - 0.03 + 0.08) / 3)
    assert spread_text(vs_scratch, signed=True) == "+0.067 ± 0.091"
    assert spread_text(rf["oa"]) == "0.900 ± 0.000"


def test_seed_summary_pairs_only_seeds_that_have_both_runs() -> None:
    table = [_row(RF_TITLE, 0, 0.70), _row(FT, 0, 0.75), _row(FT, 1, 0.40)]
    ft = {e["stage"]: e for e in seed_summary(table)}[FT]
    assert ft["n_seeds"] == 2 and ft["mean_f1"]["mean"] == pytest.approx(0.575)
    assert ft["mean_f1_minus"]["rf"]["n"] == 1
    assert ft["mean_f1_minus"]["rf"]["mean"] == pytest.approx(0.05)
    assert "scratch" not in ft["mean_f1_minus"]  # no run from scratch to compare with
