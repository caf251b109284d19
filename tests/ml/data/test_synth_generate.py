"""The synthetic OSO benchmark: deterministic, with the configured clouds and label noise."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import rasterio
from scipy.ndimage import binary_dilation

from ml.data.layouts import scan
from ml.data.store import CLOUD, SHADOW
from ml.data.synthetic import SynthSummary, acquisition_dates, generate
from ml.data.synthetic.pastis import oso_to_pastis

SETTINGS = {
    "n_patches": 16,
    "patch_size": 32,
    "n_dates": 6,
    "seed": 3,
    "noise_rate": 0.1,
    "cloud_fraction": 0.3,
}
AGRICULTURE = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSummary]:
    out = tmp_path_factory.mktemp("synth") / "ds"
    return out, generate(out, **SETTINGS)


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read()


def _rasters(root: Path) -> dict[str, np.ndarray]:
    return {str(p.relative_to(root)): _read(p) for p in sorted(root.rglob("*.tif"))}


def test_same_seed_gives_identical_arrays(synth: tuple[Path, SynthSummary], tmp_path: Path) -> None:
    root, _ = synth
    again = generate(tmp_path / "again", **SETTINGS).out_dir
    first, second = _rasters(root), _rasters(again)
    assert first.keys() == second.keys() and len(first) == 4 * 16 + 5
    for name, array in first.items():
        np.testing.assert_array_equal(array, second[name], err_msg=name)
    for name in ("manifest.json", "noise_truth.json"):
        assert (root / name).read_text() == (again / name).read_text()


def test_other_seed_gives_another_scene(synth: tuple[Path, SynthSummary], tmp_path: Path) -> None:
    root, _ = synth
    other = generate(tmp_path / "other", **{**SETTINGS, "seed": 4}).out_dir
    assert not np.array_equal(
        _read(root / "scene" / "reference.tif"), _read(other / "scene" / "reference.tif")
    )
    assert not np.array_equal(
        _read(root / "images" / "p0000.tif"), _read(other / "images" / "p0000.tif")
    )


def test_noise_and_clouds_leave_the_scene_unchanged(
    synth: tuple[Path, SynthSummary], tmp_path: Path
) -> None:
    root, _ = synth
    clean = generate(tmp_path / "clean", **{**SETTINGS, "noise_rate": 0.0, "cloud_fraction": 0.0})
    reference = _read(root / "scene" / "reference.tif")
    np.testing.assert_array_equal(_read(clean.out_dir / "scene" / "reference.tif"), reference)
    np.testing.assert_array_equal(_read(clean.out_dir / "scene" / "labels.tif"), reference)
    assert clean.cloud_fraction == 0.0 and not _read(clean.out_dir / "scene" / "clouds.tif").any()
    assert clean.altered_class == clean.altered_boundary == 0


def test_cloud_fraction_is_as_configured(synth: tuple[Path, SynthSummary]) -> None:
    root, summary = synth
    masks = np.stack([_read(p) for p in sorted((root / "clouds").glob("*.tif"))])
    cloud = (masks == CLOUD).mean()
    assert abs(cloud - SETTINGS["cloud_fraction"]) < 0.03
    assert summary.cloud_fraction == pytest.approx(cloud)
    assert 0 < (masks == SHADOW).mean() < cloud
    per_date = (masks == CLOUD).mean(axis=(0, 2, 3))
    assert per_date.std() > 0.05, "cover varies from date to date"
    series = np.stack([_read(p) for p in sorted((root / "images").glob("*.tif"))])
    blue = series.reshape(16, 6, 10, 32, 32)[:, :, 0]
    assert (
        blue[masks == CLOUD].mean()
        > 2500
        > 1000
        > blue[masks == 0].mean()
        > blue[masks == SHADOW].mean()
    )


def test_missed_clouds_brighten_pixels_the_masks_call_clear(
    synth: tuple[Path, SynthSummary], tmp_path: Path
) -> None:
    """Omissions only unflag or brighten: exact-mask pixels stay, thin clouds go unmasked."""
    root, _ = synth
    missed = generate(tmp_path / "missed", **{**SETTINGS, "missed_clouds": 0.5}).out_dir
    exact, blurred = _rasters(root), _rasters(missed)
    for name in ("scene/reference.tif", "scene/labels.tif", "labels/p0003.tif"):
        np.testing.assert_array_equal(exact[name], blurred[name], err_msg=name)
    masks = np.stack([exact[f"clouds/p{i:04d}.tif"] for i in range(16)])
    seen = np.stack([blurred[f"clouds/p{i:04d}.tif"] for i in range(16)])
    assert ((seen == masks) | ((seen == 0) & (masks == SHADOW))).all(), "only shadows unflagged"
    assert (seen == CLOUD).sum() == (masks == CLOUD).sum()
    assert ((masks == SHADOW) & (seen == 0)).any(), "some dates' shadows are missed"
    blue = np.stack([exact[f"images/p{i:04d}.tif"] for i in range(16)]).reshape(16, 6, 10, 32, 32)
    hazy = np.stack([blurred[f"images/p{i:04d}.tif"] for i in range(16)]).reshape(blue.shape)
    brighter = hazy[:, :, 0].astype(int) - blue[:, :, 0] > 200
    thin = brighter & (seen == 0) & (masks == 0)
    assert 0.02 < thin.mean() < 0.3, "thin clouds over clear-flagged pixels"
    np.testing.assert_array_equal(hazy[:, :, 0][masks == CLOUD], blue[:, :, 0][masks == CLOUD])
    manifest = json.loads((missed / "manifest.json").read_text())
    assert manifest["generator"]["missed_clouds"] == 0.5
    assert "missed_clouds" not in json.loads((root / "manifest.json").read_text())["generator"]


def test_urban_mosaic_changes_town_pixels_only(
    synth: tuple[Path, SynthSummary], tmp_path: Path
) -> None:
    """Labels, masks and the country stay; towns (and the pixels mixed with them) change."""
    root, _ = synth
    mosaic = generate(tmp_path / "mosaic", **{**SETTINGS, "urban_mosaic": True}).out_dir
    plain, towns = _rasters(root), _rasters(mosaic)
    for name, array in plain.items():
        if not name.startswith("images/") and name != "scene/series.tif":
            np.testing.assert_array_equal(array, towns[name], err_msg=name)
    reference = _read(root / "scene" / "reference.tif")[0]
    town = np.isin(reference, [1, 2, 3])
    assert town.sum() > 100, "the scene has a town"
    near_town = binary_dilation(town)
    grid = int(np.sqrt(SETTINGS["n_patches"]))
    size = SETTINGS["patch_size"]
    changed = np.zeros_like(town)
    for i in range(SETTINGS["n_patches"]):
        name = f"images/p{i:04d}.tif"
        rows, cols = divmod(i, grid)
        window = (slice(rows * size, (rows + 1) * size), slice(cols * size, (cols + 1) * size))
        changed[window] = (plain[name] != towns[name]).any(axis=0)
    assert not (changed & ~near_town).any(), "nothing changes away from towns"
    assert changed[town].mean() > 0.9
    manifest = json.loads((mosaic / "manifest.json").read_text())
    assert manifest["generator"]["urban_mosaic"] is True
    assert "urban_mosaic" not in json.loads((root / "manifest.json").read_text())["generator"]


def test_label_noise_rate_is_as_configured(synth: tuple[Path, SynthSummary]) -> None:
    root, summary = synth
    truth = json.loads((root / "noise_truth.json").read_text())
    parcels = _read(root / "scene" / "parcels.tif")[0]
    labels, reference = (
        _read(root / "scene" / "labels.tif")[0],
        _read(root / "scene" / "reference.tif")[0],
    )
    eligible = truth["eligible_parcels"]
    flipped = 0
    for obj in np.unique(parcels):
        inside = parcels == obj
        if inside.sum() >= 20:
            noisy_major = np.bincount(labels[inside]).argmax()
            flipped += noisy_major != np.bincount(reference[inside]).argmax()
    assert abs(flipped / eligible - SETTINGS["noise_rate"]) <= 0.02
    kinds = [a["kind"] for a in truth["altered"]]
    assert kinds.count("class") == summary.altered_class == round(0.1 * eligible)
    assert kinds.count("boundary") == summary.altered_boundary == round(0.05 * eligible)
    for record in truth["altered"]:
        inside = parcels == record["parcel"]
        if record["kind"] == "class":
            assert record["noisy"] != record["true"]
            assert np.bincount(labels[inside]).argmax() == record["noisy"]
        for pid in record["patches"]:
            assert record["parcel"] in truth["patches"][pid]["parcels"]
            assert truth["patches"][pid]["changed_pixels"] > 0
    changed = sum(p["changed_pixels"] for p in truth["patches"].values())
    assert changed == int((labels != reference).sum())


def test_class_frequencies_are_plausible(tmp_path: Path) -> None:
    summary = generate(tmp_path / "big", n_patches=16, patch_size=64, n_dates=2, seed=0)
    counts = np.zeros(24)
    for code, n in summary.class_pixels.items():
        counts[code] = n
    share = counts / counts.sum()
    assert share[AGRICULTURE].sum() > 0.4, "the Toulouse plain is mostly farmland"
    assert share[1:5].sum() > 0.02 and share[16:18].sum() > 0.03 and share[23] > 0
    assert np.count_nonzero(share) >= 15 and share.max() < 0.4
    assert share[6] > share[11] and share[0] == 0


def test_layout_is_valid_and_georeferenced(synth: tuple[Path, SynthSummary]) -> None:
    root, summary = synth
    result = scan(root)
    assert result.ok and len(result.patches) == 16 and result.name == "synthetic-oso-s3"
    assert {p.split for p in result.patches} == {"train", "val", "test"}
    with rasterio.open(root / "scene" / "series.tif") as src:
        assert src.count == 60 and src.crs.to_epsg() == 32631 and src.nodata == -10000
        assert src.descriptions[:2] == (f"{summary.dates[0]} B2", f"{summary.dates[0]} B3")
        assert src.profile["compress"] == "deflate" and src.block_shapes[0] == (128, 128)
        assert (src.transform.c, src.transform.f) == (360000.0, 4830000.0)
    assert summary.side == 128 and summary.n_parcels > 20


def test_acquisition_dates_are_irregular_and_cover_the_year() -> None:
    dates = acquisition_dates(np.random.default_rng(0), 30, 2024)
    assert len(dates) == 30 and dates == sorted(set(dates))
    assert dates[0].year == dates[-1].year == 2024 and (dates[-1] - dates[0]).days > 330
    gaps = {(b - a).days for a, b in zip(dates, dates[1:], strict=False)}
    assert len(gaps) > 4
    assert len(acquisition_dates(np.random.default_rng(0), 300, 2023)) == 300
    with pytest.raises(ValueError, match="n_dates"):
        acquisition_dates(np.random.default_rng(0), 400, 2024)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"n_patches": 0}, "n_patches"),
        ({"patch_size": 8}, "patch_size"),
        ({"noise_rate": 0.9}, "noise_rate"),
        ({"cloud_fraction": 0.95}, "cloud_fraction"),
        ({"missed_clouds": 0.6}, "missed_clouds"),
        ({"missed_clouds": -0.1}, "missed_clouds"),
        ({"n_dates": 1}, "n_dates"),
        ({"orbits": 0}, "orbits"),
        ({"orbits": 5}, "orbits"),
        ({"phenology_shift": -1.0}, "phenology_shift"),
        ({"phenology_shift": 31.0}, "phenology_shift"),
        ({"stale_register": -0.1}, "stale_register"),
        ({"stale_register": 1.5}, "stale_register"),
    ],
)
def test_bad_arguments_write_nothing(tmp_path: Path, change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate(tmp_path / "out", **{**SETTINGS, **change})
    assert list(tmp_path.iterdir()) == []


def test_refuses_a_non_empty_folder_and_reports_progress(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="not an empty folder"):
        generate(tmp_path / "busy", n_patches=2, patch_size=16, n_dates=2)
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["keep.txt"]
    calls: list[tuple[int, int]] = []
    generate(
        tmp_path / "empty",
        n_patches=3,
        patch_size=16,
        n_dates=2,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls[0] == (0, 3) and calls[-1] == (3, 3) and calls == sorted(calls)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy", "empty"], (
        "no temporary folder left"
    )


def test_pastis_class_mapping() -> None:
    mapped = oso_to_pastis(np.array([10, 1, 11, 6, 23], np.uint8))
    assert mapped.tolist() == [3, 0, 19, 2, 0]


def test_dates_of_the_summary_match_the_manifest(synth: tuple[Path, SynthSummary]) -> None:
    root, summary = synth
    manifest = json.loads((root / "manifest.json").read_text())
    assert [date.fromisoformat(d) for d in manifest["dates"]] == summary.dates
    assert manifest["generator"]["seed"] == 3 and manifest["nomenclature"] == "oso-2018"
