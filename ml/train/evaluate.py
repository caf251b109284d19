"""Scoring a segmentation model: validation figures per epoch and the test predictions.

Test pixels are gathered in the canonical order shared with the Random Forest run
(``ml.rf_train``): test patches in snapshot order, whole patches, row-major, pixels whose
reference code the nomenclature ignores left out. Two runs on the same snapshot thus
predict the very same pixels, which McNemar's test needs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ml.data.dataset import IGNORE_INDEX, SitsDataset
from ml.data.store import read_label
from ml.metrics import report_from_confusion
from ml.models.ubarn_heads import SegmentationModel
from ml.train.logit_adjustment import adjusted_logits


def segmentation_loss(
    logits: torch.Tensor, label: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Cross-entropy over the labelled pixels ((B, K, H, W) logits, (B, H, W) indices).

    Weighted mean over the pixels with a class (ignored ones are −1), each pixel weighing
    ``weight[its class]`` (1 without weights); zero when a crop has none, where PyTorch's
    mean reduction would give NaN.
    """
    total = F.cross_entropy(
        logits.float(), label, weight=weight, ignore_index=IGNORE_INDEX, reduction="sum"
    )
    keep = label != IGNORE_INDEX
    mass = weight[label[keep]].sum() if weight is not None else keep.sum()
    return total / mass.clamp(min=1e-6)


def class_weights(
    counts: np.ndarray, balance: float, max_ratio: float = 50.0
) -> torch.Tensor | None:
    """Per-class loss weights (count/total)^−balance, scaled to a pixel-weighted mean of 1.

    ``balance`` 0 is plain cross-entropy (None); 1 weighs every class equally, as the
    forest's class-balanced sampling does; in between tempers it (0.5: inverse square
    root). Mean F1 scores rare classes as much as common ones: without weights a
    network that sees a class in 45 pixels out of 100,000 never predicts it. Weights
    are capped at ``max_ratio`` times the smallest, so a class seen in a handful of
    (perhaps mislabelled) pixels cannot dominate. A class absent from the labels is never
    a target, so its weight is never used; it gets the cap rather than infinity.
    """
    if balance == 0:
        return None
    counts = np.asarray(counts, dtype=np.float64)
    present = counts > 0
    if not present.any():
        return None
    weights = np.zeros_like(counts)
    weights[present] = (counts[present] / counts.sum()) ** -balance
    weights = np.minimum(weights, weights[present].min() * max_ratio)
    weights[~present] = weights[present].max()
    weights /= (weights * counts).sum() / counts.sum()
    return torch.as_tensor(weights, dtype=torch.float32)


class ConfusionCounter:
    """Accumulates a K×K confusion matrix (rows = reference) over batches of class indices."""

    def __init__(self, n_classes: int) -> None:
        self.n = n_classes
        self.counts = torch.zeros(n_classes * n_classes, dtype=torch.int64)

    def add(self, label: torch.Tensor, prediction: torch.Tensor) -> None:
        """Count the labelled pixels of a batch."""
        keep = label != IGNORE_INDEX
        pairs = label[keep] * self.n + prediction[keep]
        self.counts += torch.bincount(pairs.cpu(), minlength=self.n * self.n)

    def mean_f1(self, codes: list[int]) -> float:
        """Mean F1 over the classes present in the reference (``ml.metrics`` convention)."""
        report = report_from_confusion(self.counts.reshape(self.n, self.n).numpy(), codes)
        return report["mean_f1"]


def predict_test(
    model: SegmentationModel,
    test: SitsDataset,
    codes: list[int],
    ignore: list[int],
    device: torch.device,
    autocast: Callable[[], AbstractContextManager[Any]],
    bias: torch.Tensor | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Reference and predicted codes of the test pixels in canonical order, and pixels/s;
    ``bias`` (K,) is subtracted from the logits (``ml.train.logit_adjustment``)."""
    model.eval()
    code_of = torch.as_tensor(codes, device=device)
    y_true, y_pred, seconds, n_pixels = [], [], 0.0, 0
    for index, patch in enumerate(test.patches):
        sample = {k: v.unsqueeze(0).to(device) for k, v in test[index].items() if k != "label"}
        start = time.perf_counter()
        with torch.no_grad(), autocast():
            logits = model.predict_logits(
                sample["x"], sample["days"], sample["pad"], sample["clear"]
            )
            logits = adjusted_logits(logits, bias)
        prediction = code_of[logits[0].argmax(0)].cpu().numpy().reshape(-1)
        seconds += time.perf_counter() - start
        n_pixels += prediction.size
        reference = read_label(patch.label).reshape(-1)
        keep = ~np.isin(reference, ignore)
        y_true.append(reference[keep])
        y_pred.append(prediction[keep].astype(reference.dtype))
    speed = n_pixels / seconds if seconds > 0 else float("nan")
    return np.concatenate(y_true), np.concatenate(y_pred), speed
