"""The explorer's pixel inspector: what every chosen map says at one point.

Values come from the native COGs (never from rendered tiles, which are resampled): the
class and its name on each class map, the confidence, the reference label, the pixel's
NDVI series from the dataset's scene, and the validated patch that covers the point.
"""

from __future__ import annotations

from typing import Any

import rasterio
from rasterio.warp import transform as warp_points
from rasterio.windows import Window
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.models import Dataset, MapKind, MapProduct, Nomenclature, Patch
from backend.services.map_products import get_product, scene_paths
from ml.scene import ndvi_series, open_scene


def read_point(path: str, lon: float, lat: float) -> tuple[int | None, tuple[float, float] | None]:
    """Band-1 value at (lon, lat) and the point in the raster's CRS; None outside or nodata."""
    with rasterio.open(path) as src:
        xs, ys = warp_points("EPSG:4326", src.crs, [lon], [lat])
        row, col = src.index(xs[0], ys[0])
        if not (0 <= row < src.height and 0 <= col < src.width):
            return None, (xs[0], ys[0])
        value = int(src.read(1, window=Window(col, row, 1, 1))[0, 0])
        return (None if value == src.nodata else value), (xs[0], ys[0])


def _class_info(
    session: Session, nomenclature_id: int | None, code: int | None
) -> dict[str, Any] | None:
    if code is None:
        return None
    nomenclature = session.get(Nomenclature, nomenclature_id or 0)
    for c in nomenclature.classes if nomenclature else []:
        if c.code == code:
            return {"code": code, "name": c.name_en, "colour": c.colour}
    return {"code": code, "name": str(code), "colour": None}


def _value(session: Session, product: MapProduct, lon: float, lat: float) -> dict[str, Any]:
    value, _ = read_point(str(get_settings().path(product.file)), lon, lat)
    out: dict[str, Any] = {
        "id": product.id,
        "name": product.name,
        "kind": product.kind,
        "value": value,
    }
    if product.kind in (MapKind.classes, MapKind.reference):
        out["class"] = _class_info(session, product.meta.get("nomenclature_id"), value)
    elif product.kind == MapKind.confidence:
        out["confidence"] = None if value is None else value / 100
    elif product.kind == MapKind.disagreement:
        out["agree"] = None if value is None else value == 1
    return out


def _confidence_of(session: Session, product: MapProduct) -> MapProduct | None:
    """The confidence map produced with a class map (recorded in its meta)."""
    confidence_id = product.meta.get("confidence_id")
    return session.get(MapProduct, confidence_id) if confidence_id is not None else None


def covering_patch(session: Session, dataset_id: int, lon: float, lat: float) -> Patch | None:
    """The dataset's patch whose footprint holds the point (native bounds, per CRS)."""
    patches = session.scalars(select(Patch).where(Patch.dataset_id == dataset_id))
    projected: dict[str, tuple[float, float]] = {}
    for patch in patches:
        if patch.crs not in projected:
            xs, ys = warp_points("EPSG:4326", patch.crs, [lon], [lat])
            projected[patch.crs] = (xs[0], ys[0])
        x, y = projected[patch.crs]
        minx, miny, maxx, maxy = patch.bounds
        if minx <= x < maxx and miny < y <= maxy:
            return patch
    return None


def inspect(*, session: Session, product_ids: list[int], lon: float, lat: float) -> dict[str, Any]:
    """Every product's value at (lon, lat), plus reference, NDVI series and covering patch."""
    products = [get_product(session=session, product_id=i) for i in product_ids]
    maps = []
    for product in products:
        entry = _value(session, product, lon, lat)
        confidence = _confidence_of(session, product)
        if confidence is not None:
            entry["confidence"] = _value(session, confidence, lon, lat)["confidence"]
        maps.append(entry)
    dataset_id = next((p.dataset_id for p in products if p.dataset_id is not None), None)
    result: dict[str, Any] = {
        "lon": lon,
        "lat": lat,
        "maps": maps,
        "reference": None,
        "ndvi": [],
        "patch": None,
    }
    if dataset_id is None:
        return result
    reference = session.scalar(
        select(MapProduct).where(
            MapProduct.dataset_id == dataset_id, MapProduct.kind == MapKind.reference.value
        )
    )
    if reference is not None:
        result["reference"] = _value(session, reference, lon, lat).get("class")
    dataset = session.get(Dataset, dataset_id)
    if dataset is not None and dataset.scene_dir:
        scene = open_scene(*scene_paths(get_settings(), dataset))
        _, point = read_point(str(scene.series_path), lon, lat)
        pixel = scene.pixel(*point) if point else None
        if pixel is not None:
            result["ndvi"] = ndvi_series(scene, *pixel)
    patch = covering_patch(session, dataset_id, lon, lat)
    if patch is not None:
        result["patch"] = {
            "id": patch.id,
            "external_id": patch.external_id,
            "status": patch.status,
            "review_url": f"/review?patch={patch.id}",
        }
    return result
