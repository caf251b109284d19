"""An out-of-date crop register over one region: systematic label errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio

from ml.data.synthetic import SynthSummary, generate
from ml.data.synthetic.register import PREVIOUS_CROP, stale_region
from ml.data.synthetic.scene import build_scene

SETTINGS = {"n_patches": 9, "patch_size": 64, "n_dates": 2, "seed": 2}


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, SynthSummary]:
    """The same scene with this year's register everywhere, and last year's over 60 % of it."""
    root = tmp_path_factory.mktemp("register")
    generate(root / "current", **SETTINGS)
    summary = generate(root / "stale", **SETTINGS, stale_register=0.6)
    return root / "current", root / "stale", summary


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.tif"))}


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1)


def test_a_stale_register_changes_the_labels_only(
    datasets: tuple[Path, Path, SynthSummary],
) -> None:
    current, stale, _ = datasets
    before, after = _files(current), _files(stale)
    assert before.keys() == after.keys()
    changed = {name for name in before if before[name] != after[name]}
    assert "scene/labels.tif" in changed
    assert changed <= {"scene/labels.tif"} | {n for n in before if n.startswith("labels/")}
    manifests = [json.loads((root / "manifest.json").read_text()) for root in (current, stale)]
    assert manifests[1]["generator"]["stale_register"] == 0.6
    assert "stale_register" not in manifests[0]["generator"]


def test_stale_parcels_carry_last_years_crop_whole(
    datasets: tuple[Path, Path, SynthSummary],
) -> None:
    """Every changed pixel is a crop parcel's, relabelled with a crop that can precede it,
    and each recorded parcel changed entirely (but for what random noise had changed)."""
    current, stale, summary = datasets
    labels, stale_labels = _read(current / "scene/labels.tif"), _read(stale / "scene/labels.tif")
    reference = _read(stale / "scene/reference.tif")
    parcels = _read(stale / "scene/parcels.tif")
    records = [
        a for a in json.loads((stale / "noise_truth.json").read_text())["altered"]
        if a["kind"] == "stale"
    ]  # fmt: skip
    assert len(records) == summary.altered_stale > 10
    changed = labels != stale_labels
    accounted = np.zeros_like(changed)
    for record in records:
        own = parcels == record["parcel"]
        assert record["noisy"] in PREVIOUS_CROP[record["true"]]
        assert record["noisy"] != record["true"]
        assert (reference[own] == record["true"]).all()
        was_true = own & (labels == record["true"])
        assert (stale_labels[was_true] == record["noisy"]).all()
        assert record["changed_pixels"] == was_true.sum() > 0
        accounted |= was_true
    np.testing.assert_array_equal(changed, accounted)
    assert {r["true"] for r in records} >= {6, 9}, "rotations reach cereals and sunflower"


def test_the_stale_region_is_one_smooth_share_of_the_scene() -> None:
    """About ``share`` of the area; neighbouring objects are almost always on the same side
    of its edge (a random half of the objects would split half of the neighbours)."""
    scene = build_scene(np.random.default_rng(0), 256)
    pixels = np.bincount(scene.objects.ravel(), minlength=len(scene.classes))
    for share in (0.2, 0.5):
        region = stale_region(np.random.default_rng(1), scene, share)
        assert pixels[region].sum() / pixels.sum() == pytest.approx(share, abs=0.08)
    left, right = scene.objects[:, :-1].ravel(), scene.objects[:, 1:].ravel()
    pairs = np.unique(np.stack([left, right])[:, left != right], axis=1)
    assert (region[pairs[0]] == region[pairs[1]]).mean() > 0.85
    assert stale_region(np.random.default_rng(1), scene, 1.0)[pixels > 0].all()
