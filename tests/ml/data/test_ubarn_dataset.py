"""The U-BARN sample reader: crops, padding, dates, labels, augmentation, label subsets."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
import torch
from affine import Affine

from ml.data.dataset import Augmentation, ClassMapping, SitsDataset, label_subset
from ml.data.normalise import BandStats
from ml.data.snapshot import SnapshotPatch
from ml.data.store import NODATA, S2_BANDS, PatchData, write_label, write_patch
from ml.nomenclature import builtin

PASTIS = ClassMapping.from_nomenclature(builtin("pastis"))
IDENTITY = BandStats(
    S2_BANDS, np.zeros(10, np.float32), np.full(10, -1e6, np.float32), np.full(10, 1e6, np.float32)
)
"""x / 2e6: lets tests read raw values back from normalised samples."""


def _raw(x: torch.Tensor) -> np.ndarray:
    return np.rint(x.numpy() * 2e6).astype(np.int64)


def _patch(root: Path, name: str, n_dates: int, seed: int) -> SnapshotPatch:
    """A 24×24 patch whose band B2 at each date holds its label code × 100 + date index."""
    rng = np.random.default_rng(seed)
    labels = rng.choice([0, 1, 2, 5, 19], size=(24, 24)).astype(np.uint8)
    series = rng.integers(0, 3000, (n_dates, 10, 24, 24)).astype(np.int16)
    series[:, 0] = labels[None].astype(np.int16) * 100 + np.arange(n_dates)[:, None, None]
    clouds = np.zeros((n_dates, 24, 24), np.uint8)
    clouds[0, :4] = 1
    series[-1, 3, -4:] = NODATA
    dates = [date(2024, 1, 11) + timedelta(days=30 * i) for i in range(n_dates)]
    transform = Affine(10, 0, 0, 0, -10, 0)
    write_patch(
        root / name, PatchData(series, clouds, dates, list(S2_BANDS), "EPSG:2154", transform)
    )
    write_label(root / f"{name}.tif", labels, "EPSG:2154", transform)
    return SnapshotPatch(name, root / name, root / f"{name}.tif", "train", "b0")


@pytest.fixture
def patches(tmp_path: Path) -> list[SnapshotPatch]:
    return [_patch(tmp_path, "p0", 5, 0), _patch(tmp_path, "p1", 3, 1)]


def test_sample_is_padded_dated_and_labelled(patches: list[SnapshotPatch]) -> None:
    data = SitsDataset(patches, IDENTITY, max_dates=6, patch_size=16, classes=PASTIS)
    sample = data[1]
    assert sample["x"].shape == (6, 10, 16, 16) and sample["x"].dtype == torch.float32
    assert sample["pad"].tolist() == [False] * 3 + [True] * 3
    assert sample["days"].tolist() == [10, 40, 70, 0, 0, 0]  # days since 1 January
    assert (sample["x"][3:] == 0).all()
    raw = _raw(sample["x"][0, 0])  # B2 at date 0 = code × 100
    codes = raw // 100
    label = sample["label"]
    assert label.dtype == torch.int64
    assert (label[np.isin(codes, [0, 19])] == -1).all()  # background and void ignored
    kept = ~np.isin(codes, [0, 19])
    np.testing.assert_array_equal(np.asarray(PASTIS.codes)[label[kept]], codes[kept])


def test_clear_mask_excludes_clouds_and_nodata(patches: list[SnapshotPatch]) -> None:
    sample = SitsDataset(patches, IDENTITY, max_dates=5, patch_size=None)[0]
    clear = sample["clear"]
    assert not clear[0, :4].any() and clear[0, 4:].all()
    assert not clear[4, -4:].any() and clear[4, :-4].all()
    assert "label" not in sample


def test_evaluation_takes_the_centre_training_a_seeded_random_crop(patches) -> None:
    centre = SitsDataset(patches, IDENTITY, max_dates=5, patch_size=16, classes=PASTIS)
    whole = SitsDataset(patches, IDENTITY, max_dates=5, patch_size=None, classes=PASTIS)
    torch.testing.assert_close(centre[0]["x"], whole[0]["x"][..., 4:20, 4:20])
    crops = Augmentation(random_crop=True, flips=False, min_date_fraction=1.0)
    train = SitsDataset(patches, IDENTITY, max_dates=5, patch_size=16, augmentation=crops, seed=3)
    first = train[0]["x"]
    torch.testing.assert_close(train[0]["x"], first)  # same (seed, epoch, index): same crop
    seen = set()
    for epoch in range(8):
        train.set_epoch(epoch)
        seen.add(_raw(train[0]["x"])[0, 1, 0, 0])  # a value that moves with the crop origin
    assert len(seen) > 1


def test_flips_move_image_and_label_together(patches: list[SnapshotPatch]) -> None:
    flips = Augmentation(random_crop=False, flips=True, min_date_fraction=1.0)
    data = SitsDataset(
        patches, IDENTITY, max_dates=5, patch_size=None, classes=PASTIS, augmentation=flips
    )
    plain = SitsDataset(patches, IDENTITY, max_dates=5, patch_size=None, classes=PASTIS)
    flipped = 0
    for epoch in range(6):
        data.set_epoch(epoch)
        sample = data[0]
        codes = _raw(sample["x"][0, 0]) // 100
        kept = sample["label"] >= 0
        np.testing.assert_array_equal(np.asarray(PASTIS.codes)[sample["label"][kept]], codes[kept])
        flipped += not torch.equal(sample["x"], plain[0]["x"])
    assert flipped > 0


def test_temporal_subsampling_keeps_order_and_enough_dates(patches) -> None:
    subsample = Augmentation(random_crop=False, flips=False, min_date_fraction=0.6)
    data = SitsDataset(patches, IDENTITY, max_dates=5, patch_size=None, augmentation=subsample)
    lengths = set()
    for epoch in range(10):
        data.set_epoch(epoch)
        sample = data[0]
        n = int((~sample["pad"]).sum())
        lengths.add(n)
        days = sample["days"][:n]
        assert (days[1:] > days[:-1]).all()
        which = _raw(sample["x"][:n, 0]) % 100  # B2 holds the date index
        assert (which[:, 0, 0] == ((days.numpy() - 10) / 30).astype(int)).all()
    assert min(lengths) >= 3 and len(lengths) > 1


def test_long_series_are_cut_to_max_dates(patches: list[SnapshotPatch]) -> None:
    sample = SitsDataset(patches, IDENTITY, max_dates=3, patch_size=None)[0]
    assert sample["x"].shape[0] == 3 and sample["days"].tolist() == [10, 70, 130]


def test_crop_larger_than_patch_is_refused(patches: list[SnapshotPatch]) -> None:
    with pytest.raises(ValueError, match="larger than the patch"):
        SitsDataset(patches, IDENTITY, max_dates=5, patch_size=32)[0]


def test_label_subset_is_seeded_ordered_and_sized(patches: list[SnapshotPatch]) -> None:
    many = [SnapshotPatch(f"p{i}", Path("."), Path("."), "train", "b") for i in range(10)]
    subset = label_subset(many, 0.3, seed=0)
    assert len(subset) == 3 and subset == label_subset(many, 0.3, seed=0)
    assert [p.id for p in subset] == sorted(p.id for p in subset)
    assert label_subset(many, 0.3, seed=1) != subset
    assert len(label_subset(many, 0.01, seed=0)) == 1
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="label_fraction"):
            label_subset(many, bad, seed=0)


def test_epoch_size_cycles_through_patches_with_a_crop_each(patches) -> None:
    crops = Augmentation(random_crop=True, flips=False, min_date_fraction=1.0)
    data = SitsDataset(
        patches, IDENTITY, max_dates=5, patch_size=8, augmentation=crops, epoch_size=6
    )
    assert len(data) == 6
    n_dates = [int((~data[i]["pad"]).sum()) for i in range(6)]
    assert n_dates == [5, 3] * 3  # p0 has 5 dates, p1 has 3: indices alternate
    origins = {_raw(data[i]["x"])[0, 1, 0, 0] for i in (0, 2, 4)}
    assert len(origins) > 1  # the same patch, cropped anew at each of its turns
    assert len(SitsDataset([], IDENTITY, max_dates=5, patch_size=8, epoch_size=6)) == 0
    with pytest.raises(ValueError, match="epoch_size"):
        SitsDataset(patches, IDENTITY, max_dates=5, patch_size=8, epoch_size=0)
