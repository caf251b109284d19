"""The /api/v1/maps JSON: scene products of a dataset, legend areas, pixel inspector, comparison."""

from __future__ import annotations

from pathlib import Path

import pytest
import rasterio
from rasterio.warp import transform as warp_points

from backend import db
from backend.models import Dataset
from backend.services.map_products import register_scene_products
from tests.scenes import scene_dataset as make_scene_dataset


@pytest.fixture
def scene_dataset(database: str, tmp_path: Path) -> dict:
    return make_scene_dataset(tmp_path / "synth")


def test_scene_products_are_registered_once(admin_client, scene_dataset: dict) -> None:
    listed = admin_client.get("/api/v1/maps").json()
    kinds = sorted(p["kind"] for p in listed)
    assert kinds == [
        "classes",
        "classes",
        "composite",
        "composite",
        "confidence",
        "confidence",
        "reference",
    ]
    composite = next(p for p in listed if p["kind"] == "composite")
    assert "rescale=" in composite["tiles"]
    reference = next(p for p in listed if p["kind"] == "reference")
    assert reference["legend"] and all(item["area_ha"] > 0 for item in reference["legend"])
    side = 64 * 64 * 100 / 10_000  # 2x2 patches of 32 px at 10 m
    assert sum(item["area_ha"] for item in reference["legend"]) == pytest.approx(side, rel=0.01)
    with db.get_sessionmaker()() as session:
        again = register_scene_products(
            session=session, dataset=session.get(Dataset, scene_dataset["dataset"])
        )
    assert len(again) == 3


def test_inspector_reads_native_values(admin_client, scene_dataset: dict) -> None:
    scene = scene_dataset["scene"]
    x = scene.transform.c + 10 * 40.5
    y = scene.transform.f - 10 * 20.5
    lons, lats = warp_points(scene.crs, "EPSG:4326", [x], [y])
    ids = f"{scene_dataset['predicted']['U-BARN']},{scene_dataset['products']['reference']}"
    body = admin_client.get(
        "/api/v1/maps/inspect", params={"products": ids, "lon": lons[0], "lat": lats[0]}
    ).json()
    with rasterio.open(scene.series_path.parent / "reference.tif") as src:
        truth = int(src.read(1)[20, 40])
    assert body["reference"]["code"] == truth
    assert body["maps"][1]["class"]["code"] == truth
    assert body["maps"][0]["class"]["code"] in (6, 13)
    assert len(body["ndvi"]) == len(scene.dates)
    assert body["patch"]["review_url"].startswith("/review?patch=")
    far = admin_client.get(
        "/api/v1/maps/inspect", params={"products": ids, "lon": 5.0, "lat": 45.0}
    ).json()
    assert far["maps"][0]["value"] is None and far["patch"] is None
    assert (
        admin_client.get(
            "/api/v1/maps/inspect", params={"products": "x", "lon": 1, "lat": 43}
        ).status_code
        == 422
    )


def test_compare_two_class_maps(admin_client, scene_dataset: dict) -> None:
    a, b = scene_dataset["predicted"]["U-BARN"], scene_dataset["products"]["reference"]
    response = admin_client.post("/api/v1/maps/compare", json={"a": a, "b": b})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "disagreement"
    summary = body["compare"]
    assert summary["disagreement"] == pytest.approx(summary["quantity"] + summary["allocation"])
    assert 0 < summary["agreement"] < 1
    assert {item["name"] for item in body["legend"]} == {"agreement", "disagreement"}
    composite = scene_dataset["composites"][0]
    refused = admin_client.post("/api/v1/maps/compare", json={"a": a, "b": composite})
    assert refused.status_code == 422
