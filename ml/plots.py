"""PNG figures saved with a run: confusion matrix, per-class F1 bars, learning curves.

Figures are drawn with matplotlib's Agg backend (no display on a GPU worker) from the
JSON-ready reports of `ml.metrics`, so a figure can be redrawn later from results.json.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _class_label(code: int, names: Mapping[int, str] | None) -> str:
    return f"{code} {names[code]}" if names and code in names else str(code)


def _save(fig: Any, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_confusion(
    report: Mapping[str, Any],
    path: Path,
    names: Mapping[int, str] | None = None,
    title: str | None = None,
) -> Path:
    """Row-normalised confusion matrix (reference rows) of the classes present, with counts."""
    labels = list(report["labels"])
    counts = np.asarray(report["confusion"], dtype=np.int64)
    normalised = np.asarray(report["confusion_normalised"], dtype=np.float64)
    shown = np.flatnonzero((counts.sum(axis=0) + counts.sum(axis=1)) > 0)
    if shown.size == 0:
        shown = np.arange(len(labels))
    counts, normalised = counts[np.ix_(shown, shown)], normalised[np.ix_(shown, shown)]
    ticks = [_class_label(labels[i], names) for i in shown]
    size = max(4.0, 0.45 * len(shown) + 2.0)
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    image = ax.imshow(normalised, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of reference pixels")
    if len(shown) <= 25:
        for (i, j), value in np.ndenumerate(counts):
            if value:
                colour = "white" if normalised[i, j] > 0.5 else "black"
                ax.text(j, i, str(value), ha="center", va="center", fontsize=6, color=colour)
    ax.set_xticks(range(len(shown)), ticks, rotation=90, fontsize=7)
    ax.set_yticks(range(len(shown)), ticks, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("reference")
    oa, kappa = report.get("oa"), report.get("kappa")
    subtitle = f"OA {oa:.3f}, kappa {kappa:.3f}" if oa is not None and kappa is not None else ""
    ax.set_title("\n".join(t for t in (title, subtitle) if t), fontsize=9)
    return _save(fig, path)


def plot_f1_bars(
    reports: Mapping[str, Mapping[str, Any]],
    path: Path,
    names: Mapping[int, str] | None = None,
) -> Path:
    """Per-class F1 of one or several runs side by side (classes present in any reference)."""
    if not reports:
        raise ValueError("no report to plot")
    codes = sorted(
        {int(c) for r in reports.values() for c, v in r["per_class"].items() if v["support"] > 0}
    )
    width = 0.8 / len(reports)
    fig, ax = plt.subplots(figsize=(max(5.0, 0.5 * len(codes) + 2.0), 4.0))
    for k, (run, report) in enumerate(reports.items()):
        values = [report["per_class"].get(str(c), {}).get("f1", 0.0) for c in codes]
        positions = np.arange(len(codes)) + (k - (len(reports) - 1) / 2) * width
        ax.bar(positions, values, width, label=f"{run} (mF1 {report['mean_f1']:.3f})")
    ax.set_xticks(range(len(codes)), [_class_label(c, names) for c in codes], rotation=90)
    ax.set_ylim(0.0, 1.0)
    ax.set_ylabel("F1")
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(reports))
    return _save(fig, path)


def plot_learning_curves(
    curves: Mapping[str, Sequence[tuple[int, float]]],
    path: Path,
    title: str | None = None,
) -> Path:
    """Metric curves by step/epoch ({"train_loss": [(epoch, value), ...], ...}).

    Losses go on the left axis, scores (names containing F1, OA, IoU or acc) on the right.
    """
    if not any(curves.values()):
        raise ValueError("no curve point to plot")
    fig, loss_ax = plt.subplots(figsize=(6.0, 4.0))
    score_ax = None
    for name, points in curves.items():
        if not points:
            continue
        steps, values = zip(*sorted(points), strict=True)
        is_score = any(key in name.lower() for key in ("f1", "oa", "iou", "acc"))
        if is_score and score_ax is None:
            score_ax = loss_ax.twinx()
            score_ax.set_ylabel("score")
        axis = score_ax if is_score else loss_ax
        axis.plot(steps, values, marker="o", markersize=3, label=name,
                  linestyle="--" if is_score else "-")  # fmt: skip
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("loss")
    handles = [h for ax in (loss_ax, score_ax) if ax for h in ax.get_legend_handles_labels()[0]]
    fig.legend(handles=handles, loc="upper right", fontsize=8)
    if title:
        loss_ax.set_title(title, fontsize=9)
    return _save(fig, path)
