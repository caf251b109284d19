"""Spatially disjoint train / val / test splits: whole blocks of neighbouring patches.

Neighbouring pixels are strongly autocorrelated, so a random patch split flatters every
model (Ploton et al., Nat. Commun. 11:4540, 2020; Roberts et al., Ecography 40:913,
2017). Patches are grouped into square blocks on the ground; blocks, never patches, are
shuffled with a seed and dealt to folds, as PASTIS deals its tiles into five folds
(Sainte Fare Garnot & Landrieu, ICCV 2021). The last fold is the test split, the one
before it validation, the rest training.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

SPLITS = ("train", "val", "test")
N_FOLDS = 5


@dataclass(frozen=True)
class SplitAssignment:
    """Where one patch goes: its block name, fold (1..n_folds) and split."""

    block: str
    fold: int
    split: str


def block_of(x: float, y: float, block_side: float) -> str:
    """Name of the square block (side ``block_side``, in CRS units) that holds point (x, y)."""
    if block_side <= 0:
        raise ValueError("block_side must be positive")
    return f"b{math.floor(x / block_side)}_{math.floor(y / block_side)}"


def split_of_fold(fold: int, n_folds: int = N_FOLDS) -> str:
    """PASTIS-style fold to split: last fold test, the one before validation, others train."""
    if not 1 <= fold <= n_folds:
        raise ValueError(f"fold {fold} outside 1..{n_folds}")
    if fold == n_folds:
        return "test"
    if fold == n_folds - 1:
        return "val"
    return "train"


def assign_folds(blocks: Sequence[str], *, n_folds: int = N_FOLDS, seed: int = 0) -> dict[str, int]:
    """Deal distinct blocks to folds 1..n_folds after a seeded shuffle.

    The dealing order starts with the test fold, then validation, then the training folds,
    so that three blocks already give one block to each split.
    """
    if n_folds < 3:
        raise ValueError("need at least 3 folds (train, val, test)")
    unique = sorted(set(blocks))
    order = np.random.default_rng(seed).permutation(len(unique))
    deal = [n_folds, n_folds - 1, *range(1, n_folds - 1)]
    return {unique[j]: deal[i % n_folds] for i, j in enumerate(order)}


def spatial_split(
    centres: Mapping[str, tuple[float, float]],
    block_side: float,
    *,
    n_folds: int = N_FOLDS,
    seed: int = 0,
) -> dict[str, SplitAssignment]:
    """Assign each patch (id -> centre x, y in one projected CRS) by the block it falls in."""
    blocks = {pid: block_of(x, y, block_side) for pid, (x, y) in centres.items()}
    folds = assign_folds(list(blocks.values()), n_folds=n_folds, seed=seed)
    return {
        pid: SplitAssignment(block=b, fold=folds[b], split=split_of_fold(folds[b], n_folds))
        for pid, b in blocks.items()
    }
