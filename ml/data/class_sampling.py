"""Where training crops go: around pixels of classes drawn to show rare classes more often.

Random crops (the paper's augmentation) show each class in proportion to its area, so a
network trained for a few hundred steps barely meets a class covering 0.1 % of the
labels (woody moorland, natural grassland, industry), and mean F1 scores those classes
as much as cereals. OSO's Random Forest answers the same problem by sampling training
pixels per class. ``ClassCentredCrops`` does it for crops, as rare-class sampling does
for segmentation networks: a class is drawn with probability ∝ (pixel count)^(1 − balance),
then a patch with probability ∝ its pixels of that class, then one such pixel; the dataset
places the crop so that this pixel falls anywhere inside it. Only per-patch counts are
kept in memory (classes × patches), so the sampler scales to large snapshots.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ml.data.snapshot import SnapshotPatch
from ml.data.store import read_label


def patch_class_counts(patches: Sequence[SnapshotPatch], lookup: np.ndarray) -> np.ndarray:
    """Labelled pixels per patch and class index (P, K); ignored codes (index −1) left out."""
    n_classes = int(lookup.max()) + 1
    counts = np.zeros((len(patches), n_classes), dtype=np.int64)
    for i, patch in enumerate(patches):
        index = lookup[np.asarray(read_label(patch.label)).reshape(-1)]
        counts[i] = np.bincount(index[index >= 0], minlength=n_classes)
    return counts


class ClassCentredCrops:
    """Draws (patch, class) pairs, then a pixel of that class for the crop to hold.

    Args:
        counts: (P, K) labelled pixels per patch and class (``patch_class_counts``).
        balance: 0 draws classes in proportion to their pixels (about what uniform random
            crops give), 1 draws every present class equally often.
    """

    def __init__(self, counts: np.ndarray, balance: float) -> None:
        if not 0.0 <= balance <= 1.0:
            raise ValueError(f"crop balance must be in [0, 1], got {balance}")
        counts = np.asarray(counts, dtype=np.float64)
        totals = counts.sum(0)
        if not totals.any():
            raise ValueError("the labelled patches hold no labelled pixel")
        present = totals > 0
        weights = np.zeros_like(totals)
        weights[present] = totals[present] ** (1.0 - balance)
        self.class_probability = weights / weights.sum()
        self.patch_probability = np.divide(
            counts, totals, out=np.zeros_like(counts), where=present
        ).T  # (K, P)

    def draw(self, rng: np.random.Generator) -> tuple[int, int]:
        """(patch index, class index) of the next training crop."""
        k = int(rng.choice(len(self.class_probability), p=self.class_probability))
        patch = int(rng.choice(self.patch_probability.shape[1], p=self.patch_probability[k]))
        return patch, k

    @staticmethod
    def pixel(label: np.ndarray, k: int, rng: np.random.Generator) -> tuple[int, int]:
        """(row, col) of a random pixel of class index ``k`` in ``label`` (class indices).

        The dataset places the crop so that this pixel lands anywhere inside it, not always
        at its centre, so the network does not learn that the middle of a crop is the rare
        class.

        Raises:
            ValueError: the patch lacks class ``k``.
        """
        rows, cols = np.nonzero(label == k)
        if rows.size == 0:
            raise ValueError(f"the patch holds no pixel of class index {k}")
        i = int(rng.integers(rows.size))
        return int(rows[i]), int(cols[i])
