"""The seed table of kept ``bench_experiment.py`` work folders, one command away.

On two cores a seed's regimes train in folders of their own (fine-tuned in one, from
scratch in another, two seeds side by side), so no single ``bench_experiment.py`` call
prints the table over seeds. This reads the runs of every folder given, scored on the true
labels (``reference/``) or on the stored ones (``runs/``), and prints per seed and label
fraction each model's mF1, then mean ± sd over the seeds of the paired differences
(``ml.experiment.seed_summary``, as a comparison job computes them), then each class's F1
averaged over the seeds.

    .venv/bin/python bench/collect_seeds.py WORK/ft3 WORK/sc3 WORK/ft4 WORK/sc4
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from bench_experiment import points_text

from ml.experiment import FINETUNE_TITLE, RF_TITLE, SCRATCH_TITLE, seed_summary, spread

STAGES = {
    "rf": RF_TITLE,
    "scratch": SCRATCH_TITLE,
    "frozen": "U-BARN pre-trained, frozen",
    "finetune": FINETUNE_TITLE,
}
"""Run name prefixes (``rf``, ``ubarn-<regime>``) to the stage titles of ``seed_summary``,
those of a comparison job (which has no frozen stage)."""
RUN_NAME = re.compile(r"^(?:rf|ubarn-(scratch|frozen|finetune))-(\d+)(?:-s\d+)?$")
SCORED_IN = {"true": "reference", "stored": "runs"}


def scored_runs(folders: list[Path], score: str) -> list[dict[str, Any]]:
    """Every supervised run of ``folders`` with its stage, seed, fraction and results.

    The seed and label fraction come from the run's own ``run.json``, not from its name.

    A run found in several folders (the forest, which each folder trains again) is kept
    once when its predictions' confusion matrices are the same.

    Raises:
        ValueError: two folders hold the same stage, seed and fraction with other results
            (a table would silently keep one).
    """
    rows: dict[tuple[str, int, float], dict[str, Any]] = {}
    for folder in folders:
        for results in sorted((folder / SCORED_IN[score]).glob("*/results.json")):
            match = RUN_NAME.match(results.parent.name)
            if match is None:
                continue
            config = json.loads((folder / "runs" / results.parent.name / "run.json").read_text())
            config = config["config"]
            stage = STAGES[match.group(1) or "rf"]
            key = (stage, int(config["seed"]), float(config["label_fraction"]))
            scores = json.loads(results.read_text())
            if key in rows:  # each folder trains its own forest: the same one, on the same data
                if rows[key]["confusion"] != scores["confusion"]:
                    raise ValueError(
                        f"{results.parent} and {rows[key]['path']} are both {key} and differ: "
                        "folders of other data or settings; give one of them"
                    )
                continue
            rows[key] = {"stage": stage, "seed": key[1], "fraction": key[2],
                         "path": results.parent, **scores}  # fmt: skip
    return list(rows.values())


def _stages(runs: list[dict[str, Any]]) -> list[str]:
    """The stages present, in ``STAGES`` order."""
    return [s for s in STAGES.values() if any(r["stage"] == s for r in runs)]


def _table_head(title: str, first: str, stages: list[str]) -> list[str]:
    return [title, f"| {first} | " + " | ".join(stages) + " |", "|" + "---|" * (1 + len(stages))]


def _score(run: dict[str, Any] | None) -> str:
    return f"{100 * run['mean_f1']:.1f} ({100 * run['oa']:.1f})" if run else "—"


def seed_lines(runs: list[dict[str, Any]], fraction: float) -> list[str]:
    """Per seed, each stage's mF1 (OA) in points; then mean ± sd and paired differences."""
    stages = _stages(runs)
    by_seed: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for run in runs:
        by_seed[run["seed"]][run["stage"]] = run
    title = f"\n{fraction:.0%} labels, mF1 (OA) on the test pixels, points:\n"
    lines = _table_head(title, "seed", stages)
    for seed in sorted(by_seed):
        cells = [_score(by_seed[seed].get(stage)) for stage in stages]
        lines.append(f"| {seed} | " + " | ".join(cells) + " |")
    summary = {entry["stage"]: entry for entry in seed_summary(runs)}
    lines.append("\nOver the seeds (mean ± sd; seeds above zero / seeds):\n")
    for stage in stages:
        entry = summary[stage]
        line = f"- {stage}: mF1 {points_text(entry['mean_f1'])}"
        for baseline, paired in entry["mean_f1_minus"].items():
            mean, sd = 100 * paired["mean"], 100 * paired["sd"]
            line += f"; − {baseline} {mean:+.1f} ± {sd:.1f} ({paired['wins']}/{paired['n']})"
        lines.append(line)
    return lines


def class_lines(runs: list[dict[str, Any]]) -> list[str]:
    """Each class's F1 averaged over the seeds, per stage; the classes the forest and the
    best U-BARN stage disagree on most come first."""
    stages = _stages(runs)
    f1: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        for entry in run["per_class"].values():
            if entry["support"]:
                f1[entry["name"]][run["stage"]].append(entry["f1"])
    last = stages[-1]
    order = sorted(f1, key=lambda c: -abs(np.mean(f1[c][last]) - np.mean(f1[c][RF_TITLE])))
    title = f"\nF1 per class over the seeds (mean ± sd, points), by |{last} − RF|:\n"
    lines = _table_head(title, "class", stages)
    for name in order:
        cells = [points_text(spread(f1[name][s])) if f1[name][s] else "—" for s in stages]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="bench_experiment --keep folders")
    parser.add_argument(
        "--score",
        choices=SCORED_IN,
        default="true",
        help="true: the generator's reference labels; stored: the labels trained on",
    )
    args = parser.parse_args()
    runs = scored_runs(args.folders, args.score)
    if not runs:
        parser.error(f"no scored runs in {SCORED_IN[args.score]}/ of the folders given")
    for fraction in sorted({r["fraction"] for r in runs}):
        chosen = [r for r in runs if r["fraction"] == fraction]
        print("\n".join(seed_lines(chosen, fraction) + class_lines(chosen)))


if __name__ == "__main__":
    main()
