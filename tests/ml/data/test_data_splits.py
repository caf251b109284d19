"""Spatially disjoint splits: whole blocks go to one split, dealt by a seeded rule."""

from __future__ import annotations

import pytest

from ml.data.splits import assign_folds, block_of, spatial_split, split_of_fold


def _grid_centres(n: int) -> dict[str, tuple[float, float]]:
    return {f"p{r}_{c}": (c + 0.5, r + 0.5) for r in range(n) for c in range(n)}


def test_blocks_group_neighbouring_patches() -> None:
    assert block_of(0.5, 0.5, 2) == block_of(1.5, 1.9, 2) == "b0_0"
    assert block_of(2.5, 0.5, 2) == "b1_0"
    assert block_of(-0.5, 0.5, 2) == "b-1_0"
    with pytest.raises(ValueError):
        block_of(0, 0, 0)


def test_folds_map_to_splits_like_pastis() -> None:
    assert [split_of_fold(f) for f in range(1, 6)] == ["train", "train", "train", "val", "test"]
    with pytest.raises(ValueError):
        split_of_fold(6)


def test_spatial_split_never_shares_a_block_between_splits() -> None:
    result = spatial_split(_grid_centres(10), 2, seed=3)
    split_of_block: dict[str, set[str]] = {}
    for a in result.values():
        split_of_block.setdefault(a.block, set()).add(a.split)
        assert a.split == split_of_fold(a.fold)
    assert len(split_of_block) == 25
    assert all(len(s) == 1 for s in split_of_block.values())
    counts = {s: sum(a.split == s for a in result.values()) for s in ("train", "val", "test")}
    assert counts == {"train": 60, "val": 20, "test": 20}


def test_split_is_seeded() -> None:
    centres = _grid_centres(10)
    assert spatial_split(centres, 2, seed=1) == spatial_split(centres, 2, seed=1)
    assert spatial_split(centres, 2, seed=1) != spatial_split(centres, 2, seed=2)


def test_three_blocks_already_fill_every_split() -> None:
    folds = assign_folds(["a", "b", "c"], seed=0)
    assert {split_of_fold(f) for f in folds.values()} == {"train", "val", "test"}
    with pytest.raises(ValueError):
        assign_folds(["a"], n_folds=2)
