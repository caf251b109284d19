"""GeoTIFF layout reader: a good dataset loads; each bad case is reported, never crashes."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine

from ml.data.layouts import LayoutError, detect_format, scan
from ml.nomenclature import builtin


def _manifest(ds: Path) -> dict[str, Any]:
    return json.loads((ds / "manifest.json").read_text())


def _save_manifest(ds: Path, manifest: dict[str, Any]) -> None:
    (ds / "manifest.json").write_text(json.dumps(manifest))


def _rewrite(
    path: Path, data: np.ndarray | None = None, descriptions: bool = True, **profile: Any
) -> None:
    """Rewrite a GeoTIFF with some of its profile or pixels changed."""
    with rasterio.open(path) as src:
        old_profile, pixels, old_descriptions = src.profile, src.read(), src.descriptions
    new = {**old_profile, **profile}
    pixels = pixels if data is None else data
    new["count"] = pixels.shape[0]
    path.unlink()
    with rasterio.open(path, "w", **new) as dst:
        dst.write(pixels)
        if descriptions and len(old_descriptions) == pixels.shape[0] and any(old_descriptions):
            dst.descriptions = old_descriptions


def _reasons(ds: Path, **kwargs: Any) -> dict[str, str]:
    """Every patch's reasons, joined, by patch id."""
    reasons: dict[str, str] = {}
    for p in scan(ds, **kwargs).problems:
        reasons[p.patch_id] = (
            f"{reasons[p.patch_id]} | {p.reason}" if p.patch_id in reasons else p.reason
        )
    return reasons


def _files(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in root.rglob("*")}


def test_good_dataset_scans_and_loads(geotiff_dataset: Path) -> None:
    before = _files(geotiff_dataset)
    result = scan(geotiff_dataset)
    assert _files(geotiff_dataset) == before, "scan must not write anything"
    assert result.ok and result.format == "geotiff" and result.nomenclature.name == "oso-2018"
    assert [p.id for p in result.patches] == ["p0000", "p0001", "p0002", "p0003"]
    first = result.patches[0]
    assert first.crs == "EPSG:32631" and first.tile == "31TCJ"
    assert first.bounds == (360000.0, 4829680.0, 360320.0, 4830000.0)
    lon, lat = np.array(first.footprint_wgs84["coordinates"][0]).mean(axis=0)
    assert 1.2 < lon < 1.5 and 43.5 < lat < 43.7, "the scene lies near Toulouse"
    assert len(first.dates) == 6 and first.split in ("train", "val", "test") and first.block
    data, labels, reference = first.load()
    assert data.series.shape == (6, 10, 32, 32) and data.series.dtype == np.int16
    assert data.clouds.shape == (6, 32, 32) and labels.shape == reference.shape == (32, 32)
    assert data.transform == first.transform and data.dates == first.dates


def test_format_detection_and_dataset_level_errors(geotiff_dataset: Path, tmp_path: Path) -> None:
    assert detect_format(geotiff_dataset) == "geotiff"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(LayoutError, match="cannot tell the layout"):
        scan(empty)
    with pytest.raises(LayoutError, match="no manifest.json"):
        scan(empty, format="geotiff")
    with pytest.raises(LayoutError, match="unknown format"):
        scan(geotiff_dataset, format="zarr")
    manifest = _manifest(geotiff_dataset)
    _save_manifest(geotiff_dataset, {**manifest, "nomenclature": "corine"})
    with pytest.raises(LayoutError, match="unknown nomenclature 'corine'"):
        scan(geotiff_dataset)
    _save_manifest(geotiff_dataset, {**manifest, "bands": ["B4", "B2"]})
    with pytest.raises(LayoutError, match="order"):
        scan(geotiff_dataset)
    (geotiff_dataset / "manifest.json").write_text("{")
    with pytest.raises(LayoutError, match="not valid JSON"):
        scan(geotiff_dataset)


def test_corrupt_image_is_a_problem_not_a_crash(geotiff_dataset: Path) -> None:
    (geotiff_dataset / "images" / "p0001.tif").write_bytes(b"not a tiff at all")
    reasons = _reasons(geotiff_dataset)
    assert list(reasons) == ["p0001"]
    assert "patch p0001" in reasons["p0001"] and "cannot be opened" in reasons["p0001"]


def test_damaged_pixel_data_is_caught(geotiff_dataset: Path) -> None:
    path = geotiff_dataset / "images" / "p0002.tif"
    with rasterio.open(path) as src:
        offset = int(src.get_tag_item("BLOCK_OFFSET_0_0", "TIFF", bidx=7))
        size = int(src.get_tag_item("BLOCK_SIZE_0_0", "TIFF", bidx=7))
    raw = bytearray(path.read_bytes())
    raw[offset : offset + size] = (
        b"\xff" * size
    )  # the header still opens, one block no longer inflates
    path.write_bytes(bytes(raw))
    reasons = _reasons(geotiff_dataset)
    assert "p0002" in reasons and "corrupt" in reasons["p0002"]


def test_wrong_band_count(geotiff_dataset: Path) -> None:
    path = geotiff_dataset / "images" / "p0000.tif"
    with rasterio.open(path) as src:
        pixels = src.read()
    _rewrite(path, data=pixels[:-10])
    reasons = _reasons(geotiff_dataset)
    assert "image has 50 bands, but 6 dates x 10 bands = 60" in reasons["p0000"]


def test_label_grid_mismatch(geotiff_dataset: Path) -> None:
    path = geotiff_dataset / "labels" / "p0003.tif"
    with rasterio.open(path) as src:
        shifted = src.transform @ Affine.translation(3, 0)
    _rewrite(path, transform=shifted)
    reasons = _reasons(geotiff_dataset)
    assert "label grid" in reasons["p0003"] and "differs from the image grid" in reasons["p0003"]


def test_label_shape_mismatch(geotiff_dataset: Path) -> None:
    path = geotiff_dataset / "reference" / "p0001.tif"
    with rasterio.open(path) as src:
        pixels = src.read()
    _rewrite(path, data=pixels[:, :16, :], height=16)
    assert "reference grid (32x16 px" in _reasons(geotiff_dataset)["p0001"]


def test_unknown_class_code(geotiff_dataset: Path) -> None:
    path = geotiff_dataset / "labels" / "p0002.tif"
    with rasterio.open(path) as src:
        pixels = src.read()
    pixels[0, :2, :2] = 99
    _rewrite(path, data=pixels)
    reason = _reasons(geotiff_dataset)["p0002"]
    assert "code(s) 99 not defined in nomenclature 'oso-2018'" in reason
    other = _reasons(geotiff_dataset, nomenclature=builtin("oso-2016"))
    assert len(other) == 4, "OSO 2018 codes are unknown to the 2016 legend"


def test_unsorted_dates(geotiff_dataset: Path) -> None:
    manifest = _manifest(geotiff_dataset)
    dates = manifest.pop("dates")
    for entry in manifest["patches"]:
        entry["dates"] = dates
    manifest["patches"][1]["dates"] = [dates[0], dates[2], dates[1], *dates[3:]]
    _save_manifest(geotiff_dataset, manifest)
    reasons = _reasons(geotiff_dataset)
    assert list(reasons) == ["p0001"] and "not strictly increasing" in reasons["p0001"]


def test_dates_that_do_not_parse(geotiff_dataset: Path) -> None:
    manifest = _manifest(geotiff_dataset)
    manifest["patches"][0]["dates"] = ["2024-13-01"] + manifest["dates"][1:]
    _save_manifest(geotiff_dataset, manifest)
    assert "'2024-13-01' is not a valid YYYY-MM-DD date" in _reasons(geotiff_dataset)["p0000"]


def test_missing_crs(geotiff_dataset: Path) -> None:
    _rewrite(geotiff_dataset / "images" / "p0000.tif", crs=None)
    assert "has no CRS" in _reasons(geotiff_dataset)["p0000"]


def test_band_descriptions_must_agree_with_manifest(geotiff_dataset: Path) -> None:
    manifest = _manifest(geotiff_dataset)
    manifest["dates"][0] = "2024-01-01" if manifest["dates"][0] != "2024-01-01" else "2024-01-02"
    _save_manifest(geotiff_dataset, manifest)
    assert all("band 1 is described as" in r for r in _reasons(geotiff_dataset).values())


def test_dates_can_come_from_band_descriptions(geotiff_dataset: Path) -> None:
    manifest = _manifest(geotiff_dataset)
    expected = [date.fromisoformat(d) for d in manifest.pop("dates")]
    _save_manifest(geotiff_dataset, manifest)
    result = scan(geotiff_dataset)
    assert result.ok and result.patches[0].dates == expected


def test_missing_file_escaping_path_and_duplicate_id(geotiff_dataset: Path) -> None:
    manifest = _manifest(geotiff_dataset)
    (geotiff_dataset / "clouds" / "p0000.tif").unlink()
    manifest["patches"][1]["image"] = "../../etc/passwd"
    manifest["patches"][3]["id"] = "p0002"
    _save_manifest(geotiff_dataset, manifest)
    reasons = [(p.patch_id, p.reason) for p in scan(geotiff_dataset).problems]
    assert ("p0000", "patch p0000: clouds file clouds/p0000.tif does not exist") in reasons
    assert any(pid == "p0001" and "inside the dataset folder" in r for pid, r in reasons)
    assert any(pid == "p0002" and "duplicate id" in r for pid, r in reasons)


def test_bad_cloud_mask_values(geotiff_dataset: Path) -> None:
    path = geotiff_dataset / "clouds" / "p0003.tif"
    with rasterio.open(path) as src:
        pixels = src.read()
    pixels[2, 0, 0] = 7
    _rewrite(path, data=pixels)
    assert "value(s) [7]" in _reasons(geotiff_dataset)["p0003"]


def test_bad_split_or_fold(geotiff_dataset: Path) -> None:
    manifest = _manifest(geotiff_dataset)
    manifest["patches"][0]["split"] = "training"
    manifest["patches"][1]["fold"] = 9
    _save_manifest(geotiff_dataset, manifest)
    reasons = _reasons(geotiff_dataset)
    assert "split 'training' is not one of train, val, test" in reasons["p0000"]
    assert "fold 9 is not an integer within 1..5" in reasons["p0001"]


def test_patches_without_split_get_spatial_blocks(geotiff_dataset: Path) -> None:
    manifest = _manifest(geotiff_dataset)
    for entry in manifest["patches"]:
        for key in ("split", "fold", "block"):
            entry.pop(key)
    _save_manifest(geotiff_dataset, manifest)
    patches = scan(geotiff_dataset).patches
    assert all(p.split in ("train", "val", "test") and p.block for p in patches)
    by_block: dict[str, set[str]] = {}
    for p in patches:
        by_block.setdefault(p.block or "", set()).add(p.split or "")
    assert all(len(s) == 1 for s in by_block.values())
