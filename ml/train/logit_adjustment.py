"""Post-hoc logit adjustment: trade a network's bias towards common classes for mean F1.

A network trained on dense patches learns the classes' frequencies as a prior and, where
a rare class looks like a common one, names the common one. Mean F1 weighs the rare class
as much, and the forest it is compared with samples its training pixels per class, which
amounts to a uniform prior. Subtracting ``tau · log(class frequency)`` from the logits
(Menon et al., "Long-tail learning via logit adjustment", ICLR 2021) moves the decision
towards that uniform prior after training, where loss weights mostly fade once a network
fits its training pixels. ``tau`` is chosen on the whole validation patches (0 keeps the
network's own decisions, 1 the fully balanced ones; the centred crops that epochs are
scored on hold a quarter of the pixels, too few of the rare classes to choose by) and
saved with the run, so test scores and maps use the same correction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ml.data.dataset import IGNORE_INDEX, SitsDataset
from ml.metrics import report_from_confusion
from ml.models.ubarn_heads import SegmentationModel

TAUS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
"""Candidate strengths, from none to over-correction (a network trained with class
weights has already moved part of the way)."""


def log_prior(counts: np.ndarray) -> np.ndarray:
    """Log frequency of each class among the labelled training pixels (K,).

    A class no training pixel shows gets the commonest class's frequency, so it is never
    favoured: the network never learned it, and −inf would make it win everywhere.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if not counts.any():
        raise ValueError("the labelled patches hold no labelled pixel")
    return np.log(np.where(counts > 0, counts, counts.max()) / counts.sum()).astype(np.float32)


def adjusted_logits(logits: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """(B, K, ...) logits minus the per-class ``bias`` (K,), if any."""
    if bias is None:
        return logits
    shape = (1, -1) + (1,) * (logits.dim() - 2)
    return logits - bias.to(logits.device, logits.dtype).reshape(shape)


def tau_confusions(
    logits: np.ndarray, labels: np.ndarray, prior: np.ndarray, taus: Sequence[float] = TAUS
) -> np.ndarray:
    """Confusion matrices (len(taus), K, K) of pixels with logits (N, K) and class indices
    (N,), for each strength; pixels labelled −1 are left out."""
    k = logits.shape[1]
    keep = labels != IGNORE_INDEX
    logits, labels = logits[keep], labels[keep]
    out = np.zeros((len(taus), k, k), dtype=np.int64)
    for i, tau in enumerate(taus):
        predicted = (logits - tau * prior).argmax(1)
        out[i] = np.bincount(labels * k + predicted, minlength=k * k).reshape(k, k)
    return out


def sample_logits(
    model: SegmentationModel,
    dataset: SitsDataset,
    device: torch.device,
    autocast: Callable[[], AbstractContextManager[Any]],
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(pixels, K) logits and (pixels,) class indices of each of a dataset's samples, in
    order, one at a time: memory does not grow with the split."""
    model.eval()
    for index in range(len(dataset)):
        sample = dataset[index]
        inputs = [sample[k].unsqueeze(0).to(device) for k in ("x", "days", "pad", "clear")]
        with torch.no_grad(), autocast():
            out = model.predict_logits(*inputs)[0].float()
        yield out.reshape(out.shape[0], -1).T.cpu().numpy(), sample["label"].reshape(-1).numpy()


def dataset_confusions(
    model: SegmentationModel,
    dataset: SitsDataset,
    prior: np.ndarray,
    device: torch.device,
    autocast: Callable[[], AbstractContextManager[Any]],
    taus: Sequence[float] = TAUS,
) -> np.ndarray:
    """``tau_confusions`` summed over a dataset's samples (the whole validation patches, to
    choose ``tau``)."""
    total = np.zeros((len(taus), len(prior), len(prior)), dtype=np.int64)
    for logits, labels in sample_logits(model, dataset, device, autocast):
        total += tau_confusions(logits, labels, prior, taus)
    return total


def mean_f1_by_tau(
    confusions: np.ndarray, codes: Sequence[int], taus: Sequence[float] = TAUS
) -> dict[float, float]:
    """Mean F1 for each strength ``tau``, from ``tau_confusions``."""
    return {
        tau: report_from_confusion(confusion, list(codes))["mean_f1"]
        for tau, confusion in zip(taus, confusions, strict=True)
    }


def choose_tau(scores: dict[float, float]) -> float:
    """The strength with the best validation mean F1; the weakest one on ties."""
    best = max(scores.values())
    return min(tau for tau, score in scores.items() if score >= best)


@dataclass(frozen=True)
class LogitAdjustment:
    """The chosen strength, the validation mean F1 of every candidate, and the per-class
    bias (``tau · log prior``) that test scores and maps subtract from the logits."""

    tau: float
    val_mean_f1: dict[float, float]
    bias: np.ndarray

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures for results.json."""
        return {"tau": self.tau, "val_mF1_by_tau": {str(t): s for t, s in self.val_mean_f1.items()}}


def fit_logit_adjustment(
    model: SegmentationModel,
    val: SitsDataset,
    counts: np.ndarray,
    codes: Sequence[int],
    device: torch.device,
    autocast: Callable[[], AbstractContextManager[Any]],
) -> LogitAdjustment:
    """Choose ``tau`` on ``val`` (whole validation patches) for a model trained on ``counts``
    pixels per class."""
    prior = log_prior(counts)
    scores = mean_f1_by_tau(dataset_confusions(model, val, prior, device, autocast), codes)
    tau = choose_tau(scores)
    return LogitAdjustment(tau, scores, (tau * prior).astype(np.float32))
