"""Seeded rasters for map tests: whole scenes (series.tif + clouds.tif, written window by
window) and class maps."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

from ml.cog import hex_colormap, to_cog
from ml.predict import CLASS_NODATA
from ml.predictor import OneWindowAtATime

BANDS = ["B2", "B3", "B4", "B8"]
CRS = "EPSG:32631"
ORIGIN = (360_000.0, 4_830_000.0)  # near Toulouse, UTM 31N


def write_classes(path: Path, classes: np.ndarray, transform=None) -> Path:  # noqa: ANN001
    """A uint8 class raster of 10 m pixels in UTM 31N (nodata 255), by default near Toulouse."""
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=classes.shape[1],
        height=classes.shape[0],
        count=1,
        dtype="uint8",
        crs=CRS,
        transform=transform or from_origin(*ORIGIN, 10, 10),
        nodata=CLASS_NODATA,
    ) as dst:
        dst.write(classes, 1)
    return path


def write_class_cog(folder: Path, classes: np.ndarray, colours: dict[int, str]) -> Path:
    """`classes` as a palette COG at ``folder/maps/classes.tif``."""
    return to_cog(
        write_classes(folder / "classes.work.tif", classes),
        folder / "maps" / "classes.tif",
        categorical=True,
        colormap=hex_colormap(colours, nodata=CLASS_NODATA),
    )


def write_scene(
    folder: Path,
    *,
    height: int = 96,
    width: int = 80,
    n_dates: int = 4,
    bands: list[str] | None = None,
    seed: int = 0,
    cloudy_corner: int = 0,
    chunk: int = 1024,
) -> tuple[Path, Path]:
    """A smooth, seeded reflectance field with a few clouds; returns (series, clouds) paths.

    The `cloudy_corner` x `cloudy_corner` top-left pixels are cloudy at every date, so
    map production must mark them nodata.
    """
    bands = bands or BANDS
    folder.mkdir(parents=True, exist_ok=True)
    dates = [date(2018, 3, 1) + timedelta(days=16 * t) for t in range(n_dates)]
    transform = from_origin(*ORIGIN, 10.0, 10.0)
    common = dict(
        driver="GTiff",
        width=width,
        height=height,
        crs=CRS,
        transform=transform,
        tiled=True,
        blockxsize=256,
        blockysize=256,
        compress="deflate",
    )
    series_path, clouds_path = folder / "series.tif", folder / "clouds.tif"
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi, size=(n_dates, len(bands)))
    with (
        rasterio.open(
            series_path, "w", count=n_dates * len(bands), dtype="int16", nodata=-10000, **common
        ) as s,
        rasterio.open(clouds_path, "w", count=n_dates, dtype="uint8", nodata=255, **common) as c,
    ):
        s.descriptions = tuple(f"{d.isoformat()} {b}" for d in dates for b in bands)
        c.descriptions = tuple(d.isoformat() for d in dates)
        for row in range(0, height, chunk):
            for col in range(0, width, chunk):
                window = Window(col, row, min(chunk, width - col), min(chunk, height - row))
                yy, xx = np.mgrid[row : row + window.height, col : col + window.width].astype(
                    np.float32
                )
                series = np.empty(
                    (n_dates, len(bands), window.height, window.width), dtype=np.int16
                )
                for t in range(n_dates):
                    for b in range(len(bands)):
                        field = np.sin(xx / 9.0 + phase[t, b]) + np.cos(yy / 7.0 - phase[t, b])
                        series[t, b] = (2500 + 1200 * field + 300 * b).astype(np.int16)
                clouds = (
                    np.sin(xx / 5.0) * np.cos(yy / 4.0 + np.arange(n_dates)[:, None, None])
                ) > 0.9
                clouds = clouds.astype(np.uint8)
                if cloudy_corner:
                    clouds[:, : max(0, cloudy_corner - row), : max(0, cloudy_corner - col)] = 1
                s.write(series.reshape(-1, window.height, window.width), window=window)
                c.write(clouds, window=window)
    return series_path, clouds_path


class NdviPredictor(OneWindowAtATime):
    """Per-pixel stand-in for a trained run: class 6 where mean NDVI is high, else 13.

    `shift` moves the NDVI threshold so two instances disagree somewhere (a "DL" and an
    "RF" map of the same scene).
    """

    window = None
    halo = 0

    def __init__(self, classes: tuple[int, int] = (6, 13), shift: float = 0.0) -> None:
        self.classes = list(classes)
        self.shift = shift

    def predict_proba(self, series, clouds, dates, bands):  # noqa: ANN001, ANN201
        red = series[:, bands.index("B4")].astype(np.float32)
        nir = series[:, bands.index("B8")].astype(np.float32)
        ndvi = ((nir - red) / np.maximum(nir + red, 1)).mean(axis=0)
        p = 1 / (1 + np.exp(-10 * (ndvi - 0.4 - self.shift)))
        return np.stack([p, 1 - p]).astype(np.float32)


def scene_dataset(source: Path) -> dict:
    """Generate and ingest a tiny synthetic dataset with its scene, then register the demo's
    scene products and two predicted class maps ("DL" and "RF") with their confidence.

    Needs the test database (the `database` fixture). Returns ids and the opened scene.
    """
    from backend import db
    from backend.config import get_settings
    from backend.models import Dataset, MapKind
    from backend.services.ingest import ingest
    from backend.services.map_products import (
        register_product,
        register_scene_products,
        scene_config,
        scene_paths,
    )
    from ml.data import synthetic
    from ml.predict import predict_map
    from ml.scene import open_scene

    synthetic.generate(source, n_patches=4, patch_size=32, n_dates=6, seed=3)
    settings = get_settings()
    with db.get_sessionmaker()() as session:
        ingest(session=session, path=source, format="geotiff", name="demo")
        dataset = session.query(Dataset).one()
        products = register_scene_products(session=session, dataset=dataset)
        scene = open_scene(*scene_paths(settings, dataset))
        predicted = {}
        for name, shift in (("U-BARN", 0.0), ("Random Forest", 0.08)):
            out = settings.path(f"maps/{name.replace(' ', '-').lower()}")
            colours = scene_config(session=session, settings=settings, dataset_id=dataset.id)[
                "colours"
            ]
            result = predict_map(
                NdviPredictor(shift=shift),
                scene,
                out_dir=out,
                work_dir=out / "work",
                colours={int(k): v for k, v in colours.items()},
            )
            common = dict(session=session, dataset_id=dataset.id)
            confidence = register_product(
                kind=MapKind.confidence, name=f"{name} confidence", path=result.confidence, **common
            )
            meta = {"nomenclature_id": dataset.nomenclature_id, "confidence_id": confidence.id}
            predicted[name] = register_product(
                kind=MapKind.classes,
                name=f"{name} classes",
                path=result.classes,
                meta=meta,
                **common,
            ).id
        session.commit()
        return {
            "dataset": dataset.id,
            "products": {p.kind: p.id for p in products},
            "composites": [p.id for p in products if p.kind == "composite"],
            "predicted": predicted,
            "scene": scene,
        }
