"""Class-centred training crops: rare classes drawn as often as asked, crops that hold them."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from ml.data.class_sampling import ClassCentredCrops, patch_class_counts
from ml.data.dataset import Augmentation, ClassMapping, SitsDataset
from ml.data.normalise import BandStats
from ml.data.snapshot import SnapshotPatch
from ml.data.store import S2_BANDS, PatchData, write_label, write_patch
from ml.nomenclature import builtin

PASTIS = ClassMapping.from_nomenclature(builtin("pastis"))
STATS = BandStats(
    S2_BANDS, np.zeros(10, np.float32), np.full(10, -1e4, np.float32), np.full(10, 1e4, np.float32)
)
RARE = 5
"""PASTIS code of the rare class: a 3×3 square in one corner of one patch."""


def _patch(root: Path, name: str, rare: bool) -> SnapshotPatch:
    """A 32×32 patch of code 1 (and a void border row), with the rare square if asked."""
    labels = np.ones((32, 32), np.uint8)
    labels[0] = 19  # void: ignored, never a target
    if rare:
        labels[28:31, 28:31] = RARE
    series = np.zeros((3, 10, 32, 32), np.int16)
    series[:, 0] = labels[None].astype(np.int16) * 100  # B2 tells the label back
    dates = [date(2024, 1, 1) + timedelta(days=40 * i) for i in range(3)]
    transform = Affine(10, 0, 0, 0, -10, 0)
    clouds = np.zeros((3, 32, 32), np.uint8)
    data = PatchData(series, clouds, dates, list(S2_BANDS), "EPSG:2154", transform)
    write_patch(root / name, data)
    write_label(root / f"{name}.tif", labels, "EPSG:2154", transform)
    return SnapshotPatch(name, root / name, root / f"{name}.tif", "train", "b0")


@pytest.fixture
def patches(tmp_path: Path) -> list[SnapshotPatch]:
    return [_patch(tmp_path, "common", False), _patch(tmp_path, "rare", True)]


def test_counts_per_patch_and_class_leave_ignored_codes_out(patches) -> None:
    counts = patch_class_counts(patches, PASTIS.lookup())
    assert counts.shape == (2, len(PASTIS.codes))
    one, rare = PASTIS.codes.index(1), PASTIS.codes.index(RARE)
    assert counts[:, one].tolist() == [31 * 32, 31 * 32 - 9]
    assert counts[:, rare].tolist() == [0, 9]
    assert counts.sum() == 2 * 31 * 32  # the void row counts nowhere


def test_balance_sets_how_often_a_rare_class_is_drawn(patches) -> None:
    counts = patch_class_counts(patches, PASTIS.lookup())
    rare = PASTIS.codes.index(RARE)
    rng = np.random.default_rng(0)
    shares = {}
    for balance in (0.0, 1.0):
        sampler = ClassCentredCrops(counts, balance)
        draws = [sampler.draw(rng) for _ in range(4000)]
        assert {k for _, k in draws} == {PASTIS.codes.index(1), rare}  # absent classes never
        assert all(patch == 1 for patch, k in draws if k == rare)  # only where it lies
        shares[balance] = np.mean([k == rare for _, k in draws])
    assert shares[0.0] == pytest.approx(9 / (2 * 31 * 32), abs=0.005)  # as its area
    assert shares[1.0] == pytest.approx(0.5, abs=0.03)  # as often as the common class


def test_a_crop_holds_its_class_anywhere_inside_it(patches) -> None:
    counts = patch_class_counts(patches, PASTIS.lookup())
    rare = PASTIS.codes.index(RARE)
    counts[:, :rare] = counts[:, rare + 1 :] = 0  # a sampler that only draws the rare class
    data = SitsDataset(
        patches, STATS, max_dates=3, patch_size=8, classes=PASTIS, epoch_size=200,
        class_crops=ClassCentredCrops(counts, 0.0),
    )  # fmt: skip
    arrangements = set()
    for i in range(len(data)):
        label = data[i]["label"].numpy()
        assert label.shape == (8, 8)
        assert (label == rare).any()  # the square lies in the corner: crops shifted inside
        arrangements.add((label == rare).tobytes())
    assert len(arrangements) > 10  # the pixel lands anywhere in the crop, not at its centre


def test_the_drawn_pixel_is_of_the_drawn_class(patches) -> None:
    label = PASTIS.lookup()[_label(patches[1])]
    rare = PASTIS.codes.index(RARE)
    rng = np.random.default_rng(1)
    pixels = {ClassCentredCrops.pixel(label, rare, rng) for _ in range(200)}
    assert pixels == {(r, c) for r in range(28, 31) for c in range(28, 31)}


def _label(patch: SnapshotPatch) -> np.ndarray:
    from ml.data.store import read_label

    return np.asarray(read_label(patch.label))


def test_bad_settings_are_refused(patches) -> None:
    counts = patch_class_counts(patches, PASTIS.lookup())
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        ClassCentredCrops(counts, 1.5)
    with pytest.raises(ValueError, match="no labelled pixel"):
        ClassCentredCrops(np.zeros_like(counts), 0.5)
    label = PASTIS.lookup()[_label(patches[0])]
    sampler = ClassCentredCrops(counts, 1.0)
    with pytest.raises(ValueError, match="no pixel of class"):
        ClassCentredCrops.pixel(label, PASTIS.codes.index(RARE), np.random.default_rng(0))
    too_big = SitsDataset(
        patches, STATS, max_dates=3, patch_size=40, classes=PASTIS, class_crops=sampler
    )
    with pytest.raises(ValueError, match="larger than the patch"):
        too_big[0]
    with pytest.raises(ValueError, match="need classes"):
        SitsDataset(
            patches, STATS, max_dates=3, patch_size=8, class_crops=ClassCentredCrops(counts, 1.0)
        )


def test_training_crops_show_the_rare_class_far_more_often(patches) -> None:
    counts = patch_class_counts(patches, PASTIS.lookup())
    rare = PASTIS.codes.index(RARE)

    def share(crops: ClassCentredCrops | None) -> float:
        data = SitsDataset(
            patches, STATS, max_dates=3, patch_size=8, classes=PASTIS, epoch_size=400,
            class_crops=crops,
        )  # fmt: skip
        samples = [data[i] for i in range(len(data))]
        for sample in samples:  # image and label stay aligned, flips included
            codes = np.rint(sample["x"][0, 0].numpy() * 2e4).astype(int) // 100
            kept = sample["label"].numpy() >= 0
            assert (np.asarray(PASTIS.codes)[sample["label"].numpy()[kept]] == codes[kept]).all()
        return float(np.mean([(s["label"] == rare).any().item() for s in samples]))

    uniform, balanced = share(None), share(ClassCentredCrops(counts, 1.0))
    assert uniform < 0.1
    assert balanced > 0.4


@pytest.mark.parametrize("balance", [None, 1.0])
def test_crop_class_counts_replay_the_crops_the_network_trained_on(patches, balance) -> None:
    counts = patch_class_counts(patches, PASTIS.lookup())
    crops = None if balance is None else ClassCentredCrops(counts, balance)
    data = SitsDataset(
        patches, STATS, max_dates=3, patch_size=8, classes=PASTIS, epoch_size=50,
        augmentation=Augmentation(), class_crops=crops,
    )  # fmt: skip
    expected = np.zeros(len(PASTIS.codes), np.int64)
    for epoch in (0, 1, 2):
        data.set_epoch(epoch)
        for i in range(len(data)):
            label = data[i]["label"].numpy()
            expected += np.bincount(label[label >= 0], minlength=len(PASTIS.codes))
    assert data.crop_class_counts(range(3)).tolist() == expected.tolist()
    rare = PASTIS.codes.index(RARE)
    share, in_patches = expected[rare] / expected.sum(), counts[:, rare].sum() / counts.sum()
    if balance:  # balanced crops: a prior far from the patches' for the network to learn
        assert share > 10 * in_patches
    else:
        assert share < 2 * in_patches


def test_crop_class_counts_need_classes(patches) -> None:
    unlabelled = SitsDataset(patches, STATS, max_dates=3, patch_size=8)
    with pytest.raises(ValueError, match="need classes"):
        unlabelled.crop_class_counts(range(1))
