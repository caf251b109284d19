"""Post-hoc logit adjustment: trade a network's learned class prior for mean F1.

A network learns the class frequencies of the pixels it trains on as a prior and, where a
rare class looks like a common one, names the common one. Mean F1 weighs the rare class as
much, and the forest it is compared with samples its training pixels per class, which
amounts to a uniform prior. Class-centred crops (``crop_balance``) show the rare classes
far more often than the patches hold them, so a network trained on them can err the other
way and name a rare class over a common look-alike. The adjustment (Menon et al.,
"Long-tail learning via logit adjustment", ICLR 2021) replaces the prior the network
learned, the class frequencies of its training crops, by the patches' raised to
``1 − tau``: 0 gives the decisions of a network trained on the patches' own frequencies,
1 the balanced ones, above 1 over-corrects. Without class crops both frequencies are about
the same and ``tau`` reduces to subtracting ``tau · log(class frequency)``. ``tau`` is
chosen on the whole validation patches, the network's own decisions among the candidates
(the centred crops that epochs are scored on hold a quarter of the pixels, too few of the
rare classes to choose by), and saved with the run, so test scores and maps use the same
correction.
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
"""Candidate strengths, from the patches' prior to over-correction (a network trained with
class weights has already moved part of the way)."""


@dataclass(frozen=True)
class ClassPriors:
    """Labelled pixels per class index (K,) that a network trained on (``seen``: its
    training crops, ``SitsDataset.crop_class_counts``) and that its labelled patches hold
    (``labelled``)."""

    seen: np.ndarray
    labelled: np.ndarray

    def __post_init__(self) -> None:
        if not np.asarray(self.seen).any() or not np.asarray(self.labelled).any():
            raise ValueError("the labelled patches hold no labelled pixel")

    def bias(self, tau: float) -> np.ndarray:
        """Per-class bias (K,) to subtract from the logits at strength ``tau``:
        ``log(seen frequency) − (1 − tau) · log(labelled frequency)``.

        A class the training crops never showed gets the largest bias of the others, so it
        is never favoured: the network never learned it, and −inf would make it win.
        """
        seen = np.asarray(self.seen, dtype=np.float64)
        labelled = np.asarray(self.labelled, dtype=np.float64)
        shown = seen > 0
        out = np.empty(len(seen))
        out[shown] = np.log(seen[shown] / seen.sum()) - (1.0 - tau) * np.log(
            labelled[shown] / labelled.sum()
        )
        out[~shown] = out[shown].max()
        return out.astype(np.float32)

    def candidates(self, taus: Sequence[float] = TAUS) -> list[np.ndarray]:
        """The biases validation chooses among: none (the network's own decisions) first,
        then one per strength."""
        return [np.zeros(len(self.seen), np.float32), *(self.bias(tau) for tau in taus)]


def adjusted_logits(logits: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """(B, K, ...) logits minus the per-class ``bias`` (K,), if any."""
    if bias is None:
        return logits
    shape = (1, -1) + (1,) * (logits.dim() - 2)
    return logits - bias.to(logits.device, logits.dtype).reshape(shape)


def bias_confusions(
    logits: np.ndarray, labels: np.ndarray, biases: Sequence[np.ndarray]
) -> np.ndarray:
    """Confusion matrices (len(biases), K, K) of pixels with logits (N, K) and class indices
    (N,), for the logits minus each bias; pixels labelled −1 are left out."""
    k = logits.shape[1]
    keep = labels != IGNORE_INDEX
    logits, labels = logits[keep], labels[keep]
    out = np.zeros((len(biases), k, k), dtype=np.int64)
    for i, bias in enumerate(biases):
        predicted = (logits - bias).argmax(1)
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
    biases: Sequence[np.ndarray],
    device: torch.device,
    autocast: Callable[[], AbstractContextManager[Any]],
) -> np.ndarray:
    """``bias_confusions`` summed over a dataset's samples (the whole validation patches, to
    choose ``tau``)."""
    k = len(biases[0])
    total = np.zeros((len(biases), k, k), dtype=np.int64)
    for logits, labels in sample_logits(model, dataset, device, autocast):
        total += bias_confusions(logits, labels, biases)
    return total


def mean_f1s(confusions: np.ndarray, codes: Sequence[int]) -> list[float]:
    """Mean F1 of each confusion matrix of ``bias_confusions``."""
    return [report_from_confusion(confusion, list(codes))["mean_f1"] for confusion in confusions]


def choose(scores: Sequence[float]) -> int:
    """Index of the best score; the first one on ties, so the network's own decisions (the
    first candidate) before any adjustment, and a smaller strength before a larger one."""
    return int(np.argmax(scores))


@dataclass(frozen=True)
class LogitAdjustment:
    """The chosen strength (None: no strength beat the network's own decisions), the
    validation mean F1 without adjustment and at every strength, and the priors."""

    tau: float | None
    val_unadjusted: float
    val_mean_f1: dict[float, float]
    priors: ClassPriors

    @property
    def bias(self) -> np.ndarray | None:
        """The per-class bias that test scores and maps subtract from the logits (None:
        the network's own decisions)."""
        return None if self.tau is None else self.priors.bias(self.tau)

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures for results.json."""
        return {
            "tau": self.tau,
            "val_mF1_unadjusted": self.val_unadjusted,
            "val_mF1_by_tau": {str(t): s for t, s in self.val_mean_f1.items()},
            "crop_class_pixels": np.asarray(self.priors.seen).tolist(),
            "patch_class_pixels": np.asarray(self.priors.labelled).tolist(),
        }


def fit_logit_adjustment(
    model: SegmentationModel,
    val: SitsDataset,
    priors: ClassPriors,
    codes: Sequence[int],
    device: torch.device,
    autocast: Callable[[], AbstractContextManager[Any]],
    taus: Sequence[float] = TAUS,
) -> LogitAdjustment:
    """Choose the strength on ``val`` (whole validation patches) for a model trained with
    these class ``priors``."""
    biases = priors.candidates(taus)
    scores = mean_f1s(dataset_confusions(model, val, biases, device, autocast), codes)
    best = choose(scores)
    return LogitAdjustment(
        tau=None if best == 0 else taus[best - 1],
        val_unadjusted=scores[0],
        val_mean_f1=dict(zip(taus, scores[1:], strict=True)),
        priors=priors,
    )
