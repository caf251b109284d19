"""bench/collect_seeds.py: the seed table of work folders, paired within each seed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.bench_scripts import load_bench_script

collect_seeds = load_bench_script("collect_seeds")


def _run(folder: Path, name: str, seed: int, mean_f1: float, rice_f1: float) -> None:
    """A scored run as bench_experiment.py keeps it: run.json in runs/, results in reference/."""
    (folder / "runs" / name).mkdir(parents=True)
    config = {"seed": seed, "label_fraction": 0.1}
    (folder / "runs" / name / "run.json").write_text(json.dumps({"config": config}))
    per_class = {"4": {"name": "Rice", "f1": rice_f1, "support": 691},
                 "9": {"name": "Roads", "f1": 0.5, "support": 0}}  # fmt: skip
    results = {"oa": 0.9, "kappa": 0.8, "mean_f1": mean_f1, "miou": 0.6, "per_class": per_class,
               "confusion": [[int(1000 * mean_f1), 1], [2, 3]]}  # fmt: skip
    (folder / "reference" / name).mkdir(parents=True)
    (folder / "reference" / name / "results.json").write_text(json.dumps(results))


@pytest.fixture
def folders(tmp_path: Path) -> list[Path]:
    """Seeds 3 and 4, each fine-tuned in one folder and trained from scratch in another;
    a pre-training and a folder of another name are not supervised runs, and are left out."""
    scores = {3: (0.70, 0.75, 0.78), 4: (0.80, 0.79, 0.81)}  # RF, scratch, fine-tuned
    made = []
    for seed, (rf, scratch, finetune) in scores.items():
        ft, sc = tmp_path / f"ft{seed}", tmp_path / f"sc{seed}"
        _run(ft, f"rf-10-s{seed}", seed, rf, rice_f1=0.9)
        _run(ft, f"ubarn-finetune-10-s{seed}", seed, finetune, rice_f1=0.5)
        _run(ft, f"pretrain-s{seed}", seed, 0.0, rice_f1=0.0)
        _run(sc, f"ubarn-scratch-10-s{seed}", seed, scratch, rice_f1=0.7)
        _run(sc, "notes", seed, 0.0, rice_f1=0.0)
        made += [ft, sc]
    return made


def test_differences_are_paired_within_each_seed(folders: list[Path], capsys) -> None:  # noqa: ANN001
    sys.argv = ["collect_seeds.py", *map(str, folders)]
    collect_seeds.main()
    out = capsys.readouterr().out
    head = "| seed | Random Forest (OSO) | U-BARN from scratch | U-BARN pre-trained + fine-tuned |"
    assert head in out  # the comparison job's titles
    assert "| 3 | 70.0 (90.0) | 75.0 (90.0) | 78.0 (90.0) |" in out
    assert "| 4 | 80.0 (90.0) | 79.0 (90.0) | 81.0 (90.0) |" in out
    # fine-tuned − RF: +8 and +1 → 4.5 ± 4.9; − scratch: +3 and +2 → 2.5 ± 0.7
    finetuned = "- U-BARN pre-trained + fine-tuned: mF1 79.5 ± 2.1; − rf +4.5 ± 4.9 (2/2)"
    assert finetuned + "; − scratch +2.5 ± 0.7 (2/2)" in out
    assert "- U-BARN from scratch: mF1 77.0 ± 2.8; − rf +2.0 ± 4.2 (1/2)\n" in out  # +5, −1
    assert "| Rice | 90.0 ± 0.0 | 70.0 ± 0.0 | 50.0 ± 0.0 |" in out
    assert "Roads" not in out  # no test pixels


def test_a_forest_trained_again_is_kept_once_and_another_refused(
    folders: list[Path], tmp_path: Path
) -> None:
    again = tmp_path / "again"
    _run(again, "rf-10-s3", 3, 0.70, rice_f1=0.9)  # each work folder trains its forest
    runs = collect_seeds.scored_runs([*folders, again], "true")
    assert len(runs) == 6 and [r["path"].parts[-3] for r in runs if r["seed"] == 3][0] == "ft3"
    other = tmp_path / "other"
    _run(other, "rf-10-s3", 3, 0.71, rice_f1=0.9)  # another scene's forest, same seed
    with pytest.raises(ValueError, match="differ"):
        collect_seeds.scored_runs([*folders, other], "true")
