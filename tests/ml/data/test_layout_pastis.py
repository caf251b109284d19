"""PASTIS layout reader: georeference from the GeoJSON, and each bad case reported by patch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from affine import Affine

from ml.data.layouts import LayoutError, detect_format, scan
from ml.data.layouts.pastis import parse_pastis_dates
from ml.data.synthetic import to_pastis


def _meta(ds: Path) -> dict[str, Any]:
    return json.loads((ds / "metadata.geojson").read_text())


def _save_meta(ds: Path, meta: dict[str, Any]) -> None:
    (ds / "metadata.geojson").write_text(json.dumps(meta))


def _reasons(ds: Path) -> dict[str, str]:
    reasons: dict[str, str] = {}
    for p in scan(ds).problems:
        reasons[p.patch_id] = (
            f"{reasons[p.patch_id]} | {p.reason}" if p.patch_id in reasons else p.reason
        )
    return reasons


def test_good_pastis_dataset(pastis_dataset: Path) -> None:
    assert detect_format(pastis_dataset) == "pastis"
    result = scan(pastis_dataset)
    assert result.ok and result.nomenclature.name == "pastis"
    assert [p.id for p in result.patches] == ["10000", "10001", "10002", "10003"]
    patch = result.patches[1]
    assert patch.crs == "EPSG:32631"
    assert patch.transform == Affine(10.0, 0.0, 360320.0, 0.0, -10.0, 4830000.0)
    assert patch.fold in range(1, 6) and patch.block == f"fold{patch.fold}"
    data, labels, reference = patch.load()
    assert data.series.shape == (6, 10, 32, 32) and not data.clouds.any()
    assert reference is not None and set(np.unique(labels)) <= set(range(20))
    norm = json.loads((pastis_dataset / "NORM_S2_patch.json").read_text())
    assert all(len(v["mean"]) == 10 for v in norm.values())


def test_real_pastis_defaults_lambert93_and_string_dates(pastis_dataset: Path) -> None:
    meta = _meta(pastis_dataset)
    del meta["crs"]
    feature = meta["features"][0]
    feature["properties"]["dates-S2"] = json.dumps(feature["properties"]["dates-S2"])
    _save_meta(pastis_dataset, meta)
    result = scan(pastis_dataset)
    assert result.ok and result.patches[0].crs == "EPSG:2154"


def test_oso_classes_in_the_pastis_layout(geotiff_template: Path, tmp_path: Path) -> None:
    to_pastis(geotiff_template, tmp_path / "p", classes="oso")
    result = scan(tmp_path / "p")
    assert result.ok and result.nomenclature.name == "oso-2018"
    with pytest.raises(ValueError, match="not empty"):
        to_pastis(geotiff_template, tmp_path / "p")


def test_corrupt_npy(pastis_dataset: Path) -> None:
    (pastis_dataset / "DATA_S2" / "S2_10001.npy").write_bytes(b"\x93NUMPY garbage")
    reason = _reasons(pastis_dataset)["10001"]
    assert reason.startswith("patch 10001:") and "corrupt" in reason


def test_truncated_npy(pastis_dataset: Path) -> None:
    path = pastis_dataset / "ANNOTATIONS" / "TARGET_10002.npy"
    path.write_bytes(path.read_bytes()[:200])
    assert "corrupt" in _reasons(pastis_dataset)["10002"]


def test_wrong_shapes(pastis_dataset: Path) -> None:
    series = np.load(pastis_dataset / "DATA_S2" / "S2_10000.npy")
    np.save(pastis_dataset / "DATA_S2" / "S2_10000.npy", series[:, :9])
    np.save(pastis_dataset / "DATA_S2" / "S2_10001.npy", series[:5])
    target = np.load(pastis_dataset / "ANNOTATIONS" / "TARGET_10002.npy")
    np.save(pastis_dataset / "ANNOTATIONS" / "TARGET_10002.npy", target[:, :16])
    reasons = _reasons(pastis_dataset)
    assert "has 9 bands, expected 10" in reasons["10000"]
    assert "has 5 dates but dates-S2 lists 6" in reasons["10001"]
    assert "label plane must be (32, 32)" in reasons["10002"]


def test_unknown_code_unsorted_dates_missing_file_and_footprint(pastis_dataset: Path) -> None:
    target = np.load(pastis_dataset / "ANNOTATIONS" / "TARGET_10000.npy")
    target[0, 0, 0] = 42
    np.save(pastis_dataset / "ANNOTATIONS" / "TARGET_10000.npy", target)
    meta = _meta(pastis_dataset)
    dates = meta["features"][1]["properties"]["dates-S2"]
    dates["1"], dates["2"] = dates["2"], dates["1"]
    meta["features"][3]["geometry"] = None
    _save_meta(pastis_dataset, meta)
    (pastis_dataset / "ANNOTATIONS" / "TARGET_10002.npy").unlink()
    reasons = _reasons(pastis_dataset)
    assert "code(s) 42 not defined in nomenclature 'pastis'" in reasons["10000"]
    assert "not strictly increasing" in reasons["10001"]
    assert "ANNOTATIONS/TARGET_10002.npy does not exist" in reasons["10002"]
    assert "footprint geometry is missing" in reasons["10003"]


def test_dataset_level_errors(pastis_dataset: Path) -> None:
    meta = _meta(pastis_dataset)
    _save_meta(
        pastis_dataset, {**meta, "crs": {"type": "name", "properties": {"name": "EPSG:999999"}}}
    )
    with pytest.raises(LayoutError, match="unknown CRS"):
        scan(pastis_dataset)
    _save_meta(pastis_dataset, {**meta, "features": []})
    with pytest.raises(LayoutError, match="at least one feature"):
        scan(pastis_dataset)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"1": 20180930, "0": 20180924}, ["2018-09-24", "2018-09-30"]),
        ('{"0": "20180924"}', ["2018-09-24"]),
        ([20190101, "2019-01-05"], ["2019-01-01", "2019-01-05"]),
    ],
)
def test_pastis_date_forms(raw: Any, expected: list[str]) -> None:
    dates, reasons = parse_pastis_dates("1", raw)
    assert not reasons and [d.isoformat() for d in dates or []] == expected


def test_bad_pastis_dates() -> None:
    assert "not a YYYYMMDD date" in parse_pastis_dates("7", {"0": 2018093})[1][0]
    assert "no dates-S2" in parse_pastis_dates("7", None)[1][0]
