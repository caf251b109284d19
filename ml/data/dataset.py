"""A torch Dataset of labelled (or unlabelled) patches from a training-set snapshot.

Each sample is one patch's image time series, normalised per band (``ml.data.normalise``),
with its dates as days since a reference, a padding mask to a fixed number of dates (so
that series of different lengths batch together, as U-BARN's transformer expects), the
clear-sky mask (for the pre-training loss) and, when classes are given, the label as
contiguous class indices (−1 where the nomenclature says "ignore").

Training samples are augmented as in Dumeur et al. (IEEE JSTARS 17, 2024): random crops
of ``patch_size`` (centred crops in evaluation), random flips and a random temporal
subsampling. All randomness of a sample comes from (seed, epoch, index), so a run resumed
in the middle of an epoch sees exactly the samples an uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ml.data.class_sampling import ClassCentredCrops
from ml.data.normalise import BandStats, clear_mask
from ml.data.snapshot import SnapshotPatch
from ml.data.store import read_label, read_patch

IGNORE_INDEX = -1


@dataclass(frozen=True)
class ClassMapping:
    """Nomenclature codes ↔ contiguous indices 0..K−1 of the network's outputs."""

    codes: tuple[int, ...]

    @classmethod
    def from_nomenclature(cls, nomenclature: Any) -> ClassMapping:
        """All non-ignored classes of a nomenclature, in code order."""
        return cls(tuple(sorted(int(c) for c in nomenclature.valid_codes)))

    def lookup(self) -> np.ndarray:
        """A 256-entry table code → index, −1 for ignored or unknown codes."""
        table = np.full(256, IGNORE_INDEX, dtype=np.int64)
        table[list(self.codes)] = np.arange(len(self.codes))
        return table

    def to_dict(self) -> dict[str, int]:
        """{"code": index}, as saved in run.json."""
        return {str(code): i for i, code in enumerate(self.codes)}


@dataclass(frozen=True)
class Augmentation:
    """How training samples are varied; ``Augmentation.none()`` for evaluation."""

    random_crop: bool = True
    flips: bool = True
    min_date_fraction: float = 0.7
    """Keep a random subset of at least this fraction of the dates (1.0: keep all)."""

    @classmethod
    def none(cls) -> Augmentation:
        """Centred crops, every date, no flips."""
        return cls(random_crop=False, flips=False, min_date_fraction=1.0)


def label_subset(
    patches: Sequence[SnapshotPatch], fraction: float, seed: int
) -> list[SnapshotPatch]:
    """A seeded subset with ``fraction`` of the patches (at least one), in snapshot order.

    Label-scarcity experiments keep whole patches (not pixels), so the subset stays
    spatially coherent, as in the paper's 10 %/50 %/100 % label settings.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"label_fraction must be in (0, 1], got {fraction}")
    if not patches:
        raise ValueError("no training patch to draw labels from")
    n = max(1, round(fraction * len(patches)))
    keep = np.sort(np.random.default_rng(seed).permutation(len(patches))[:n])
    return [patches[i] for i in keep]


def days_since(dates: Sequence[date], reference: date | None) -> np.ndarray:
    """Days from ``reference`` (default: 1 January of the first date's year) to each date."""
    ref = reference or date(dates[0].year, 1, 1)
    return np.array([(d - ref).days for d in dates], dtype=np.float32)


class SitsDataset(Dataset):
    """Patches of a snapshot as U-BARN samples.

    Args:
        patches: the snapshot patches to serve, in order.
        stats: band statistics of the training split.
        max_dates: series are padded (or, if longer, subsampled) to this many dates.
        patch_size: crop side; None serves whole patches.
        classes: code ↔ index mapping; None for unlabelled (pre-training) samples.
        augmentation: training variation; ``Augmentation.none()`` for evaluation.
        seed: base of the per-sample random generators.
        reference_date: origin of the date axis (None: 1 January of each series' year).
        epoch_size: samples per epoch, cycling through the patches (each sample its own
            crop); None: one per patch. Fixes the compute of an epoch whatever the number
            of labelled patches, so early stopping and learning-rate patience mean the same
            thing at 10 % and 100 % labels.
        class_crops: place training crops around pixels of classes drawn by this sampler
            (built on ``patches``, in their order) instead of uniformly; None: uniform
            random crops, each patch in turn.
    """

    def __init__(
        self,
        patches: Sequence[SnapshotPatch],
        stats: BandStats,
        *,
        max_dates: int,
        patch_size: int | None,
        classes: ClassMapping | None = None,
        augmentation: Augmentation | None = None,
        seed: int = 0,
        reference_date: date | None = None,
        epoch_size: int | None = None,
        class_crops: ClassCentredCrops | None = None,
    ) -> None:
        if max_dates < 1:
            raise ValueError(f"max_dates must be positive, got {max_dates}")
        if epoch_size is not None and epoch_size < 1:
            raise ValueError(f"epoch_size must be positive, got {epoch_size}")
        if class_crops is not None and (classes is None or patch_size is None):
            raise ValueError("class-centred crops need classes and a patch_size")
        self.patches = list(patches)
        self.stats = stats
        self.max_dates = max_dates
        self.patch_size = patch_size
        self.lookup = classes.lookup() if classes is not None else None
        self.augmentation = augmentation or Augmentation.none()
        self.seed = seed
        self.reference_date = reference_date
        self.epoch_size = epoch_size
        self.class_crops = class_crops
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw this epoch's crops, flips and date subsets."""
        self.epoch = epoch

    def __len__(self) -> int:
        return (self.epoch_size or len(self.patches)) if self.patches else 0

    def _window(
        self, h: int, w: int, rng: np.random.Generator, holding: tuple[int, int] | None = None
    ) -> tuple[slice, slice]:
        """The crop of an h×w patch: random or centred, or random among those ``holding`` a pixel.

        A crop around a pixel is shifted inside the patch near its border.
        """
        size = self.patch_size
        if size is None:
            return slice(0, h), slice(0, w)
        if size > h or size > w:
            raise ValueError(f"patch_size {size} is larger than the patch ({h}×{w})")
        if holding is not None:
            row, col = holding
            top = int(np.clip(row - rng.integers(size), 0, h - size))
            left = int(np.clip(col - rng.integers(size), 0, w - size))
        elif self.augmentation.random_crop:
            top, left = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
        else:
            top, left = (h - size) // 2, (w - size) // 2
        return slice(top, top + size), slice(left, left + size)

    def _dates(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Indices of the dates to keep, in order.

        Training keeps a random subset of at least ``min_date_fraction`` of them (and at
        most ``max_dates``); evaluation keeps all of them, or ``max_dates`` evenly spread.
        """
        if self.augmentation.min_date_fraction < 1.0:
            low = max(1, int(np.ceil(self.augmentation.min_date_fraction * n)))
            keep = min(int(rng.integers(low, n + 1)), self.max_dates)
            return np.sort(rng.choice(n, size=keep, replace=False))
        if n <= self.max_dates:
            return np.arange(n)
        return np.unique(np.linspace(0, n - 1, self.max_dates).round().astype(np.int64))

    def _rng(self, epoch: int, index: int) -> np.random.Generator:
        """The generator of every random choice of one sample."""
        return np.random.default_rng([self.seed, epoch, index])

    def _draw(self, rng: np.random.Generator, index: int) -> tuple[int, int]:
        """(patch index, class index) of sample ``index``; class 0 when crops are uniform."""
        if self.class_crops is not None:
            return self.class_crops.draw(rng)
        return index % len(self.patches), 0

    def _crop(
        self, rng: np.random.Generator, codes: np.ndarray | None, k: int, h: int, w: int
    ) -> tuple[slice, slice]:
        """The window of an h×w patch with label ``codes``: around a pixel of class index
        ``k`` with class crops (only they look up the whole label), else ``_window``'s."""
        holding = None
        if self.class_crops is not None and codes is not None:
            holding = self.class_crops.pixel(self.lookup[codes], k, rng)
        return self._window(h, w, rng, holding)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = self._rng(self.epoch, index)
        patch_index, k = self._draw(rng, index)
        patch = self.patches[patch_index]
        data = read_patch(patch.dir)
        codes = None if self.lookup is None else np.asarray(read_label(patch.label))
        rows, cols = self._crop(rng, codes, k, *data.series.shape[2:])
        label = None if codes is None else self.lookup[codes[rows, cols]]
        which = self._dates(data.series.shape[0], rng)
        series = np.asarray(data.series[which, :, rows, cols])
        clear = clear_mask(series, data.clouds[which, rows, cols])
        days = days_since([data.dates[i] for i in which], self.reference_date)
        if self.augmentation.flips:
            for axis in (-1, -2):
                if rng.random() < 0.5:
                    series, clear = np.flip(series, axis), np.flip(clear, axis)
                    label = np.flip(label, axis) if label is not None else None
        return self._pack(self.stats.apply(series), clear, days, label)

    def crop_class_counts(self, epochs: Iterable[int]) -> np.ndarray:
        """Labelled pixels per class index (K,) in the training crops of ``epochs``.

        The class frequencies a network trained on this dataset learned as its prior, which
        class-centred crops move far from the patches' (``ml.train.logit_adjustment``).
        Replays the crops from their seeds (the same draws as ``__getitem__``, flips aside,
        which move no pixel out of a crop) reading labels only, each patch's once.
        """
        if self.lookup is None:
            raise ValueError("crop class counts need classes")
        n_classes = int(self.lookup.max()) + 1
        counts = np.zeros(n_classes, dtype=np.int64)
        labels: dict[int, np.ndarray] = {}
        for epoch in epochs:
            for index in range(len(self)):
                rng = self._rng(epoch, index)
                patch_index, k = self._draw(rng, index)
                if patch_index not in labels:
                    labels[patch_index] = np.asarray(read_label(self.patches[patch_index].label))
                codes = labels[patch_index]
                rows, cols = self._crop(rng, codes, k, *codes.shape)
                crop = self.lookup[codes[rows, cols]].reshape(-1)
                counts += np.bincount(crop[crop >= 0], minlength=n_classes)
        return counts

    def _pack(
        self, x: np.ndarray, clear: np.ndarray, days: np.ndarray, label: np.ndarray | None
    ) -> dict[str, torch.Tensor]:
        t, missing = x.shape[0], self.max_dates - x.shape[0]
        pad = np.arange(self.max_dates) >= t
        sample = {
            "x": torch.from_numpy(np.pad(x, ((0, missing), (0, 0), (0, 0), (0, 0)))),
            "clear": torch.from_numpy(np.pad(clear, ((0, missing), (0, 0), (0, 0)))),
            "days": torch.from_numpy(np.pad(days, (0, missing))),
            "pad": torch.from_numpy(pad),
        }
        if label is not None:
            sample["label"] = torch.from_numpy(np.ascontiguousarray(label))
        return sample
