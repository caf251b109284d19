"""Map products: registering the COGs that jobs and the demo produce, and describing them.

A product is one COG served as tiles by id (backend.tiles). Its row keeps what the
explorer needs without opening the file: WGS84 bounds and zoom range (for Leaflet's
layer bounds and maxNativeZoom), class areas at full resolution (for the legend), how to
render its tiles, and which dataset's scene it covers (for the pixel inspector). Each
product also gets a Web-Mercator display copy (``meta["display_file"]``, see ml.cog) that
tiles are read from; the native COG stays the one for point reads and statistics.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from rio_tiler.io import Reader
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import Settings, get_settings
from backend.errors import Invalid, NotFound
from backend.models import Dataset, MapKind, MapProduct, Nomenclature, Run
from ml.cog import Colormap, ensure_display_copy, to_cog
from ml.composite import RECIPES, RESCALE, make_composite
from ml.map_compare import AGREEMENT_COLOURS, compare_maps
from ml.predict import CLASS_NODATA, class_areas
from ml.scene import open_scene

CATEGORICAL = {MapKind.classes, MapKind.reference, MapKind.disagreement}
RENDER = {MapKind.confidence: "colormap_name=viridis&rescale=0,100"}
AGREEMENT_NAMES = {1: "agreement", 2: "disagreement"}


def geo_meta(path: Path) -> dict[str, Any]:
    """WGS84 bounds, zoom range, CRS and pixel size of a COG (read once at registration)."""
    with Reader(str(path)) as src:
        west, south, east, north = src.get_geographic_bounds(src.tms.rasterio_geographic_crs)
        return {
            "bounds": [west, south, east, north],
            "minzoom": int(src.minzoom),
            "maxzoom": int(src.maxzoom),
            "crs": src.crs.to_string(),
            "native_bounds": list(src.bounds),
            "shape": [src.height, src.width],
        }


def display_copy(path: Path, *, categorical: bool) -> tuple[Path, dict[str, int]]:
    """The Web-Mercator display copy beside the COG `path` (written when its producer did
    not: map jobs write theirs, so that recording a job's result stays short); its path and
    zoom range.

    The display copy's finest zoom shows every source pixel, so it is the product's maxzoom
    (Leaflet's maxNativeZoom): zooming further enlarges pixels without skipping any.
    """
    copy = ensure_display_copy(path, categorical=categorical)
    meta = geo_meta(copy)
    return copy, {"minzoom": meta["minzoom"], "maxzoom": meta["maxzoom"]}


def register_product(
    *,
    session: Session,
    kind: MapKind,
    name: str,
    path: Path,
    dataset_id: int | None = None,
    run_id: int | None = None,
    job_id: int | None = None,
    meta: dict[str, Any] | None = None,
    settings: Settings | None = None,
) -> MapProduct:
    """Add one product for a COG under the data directory (stored as a relative path),
    with its display copy."""
    settings = settings or get_settings()
    file = _relative(Path(path), settings)  # refuses a file outside the data directory
    display, zooms = display_copy(Path(path), categorical=kind in CATEGORICAL)
    info = {
        **geo_meta(path),
        **zooms,
        "display_file": _relative(display, settings),
        **(meta or {}),
    }
    if kind in CATEGORICAL and "areas_ha" not in info:
        info["areas_ha"] = {str(k): v for k, v in class_areas(path, nodata=None).items()}
    if kind == MapKind.composite:
        low, high = RESCALE.get(info.get("recipe", ""), (0, 3000))
        info.setdefault("render", f"rescale={low},{high}")
    info.setdefault("render", RENDER.get(kind, ""))
    product = MapProduct(
        kind=kind.value,
        name=name[:200],
        dataset_id=dataset_id,
        run_id=run_id,
        job_id=job_id,
        file=file,
        meta=info,
    )
    session.add(product)
    session.flush()
    return product


def _relative(path: Path, settings: Settings) -> str:
    """`path` relative to the data directory, as stored in the database."""
    return str(PurePosixPath(path.resolve().relative_to(settings.data_dir.resolve())))


def add_missing_display_copies(*, session: Session) -> int:
    """Write the display copy of every product registered before display copies existed
    (their tiles are warped per tile until then); returns how many were written.

    Idempotent; a product whose file is gone is left as it is.
    """
    settings = get_settings()
    written = 0
    for product in session.scalars(select(MapProduct).order_by(MapProduct.id)):
        native = settings.path(product.file)
        if "display_file" in product.meta or not native.exists():
            continue
        display, zooms = display_copy(native, categorical=MapKind(product.kind) in CATEGORICAL)
        product.meta = {**product.meta, **zooms, "display_file": _relative(display, settings)}
        written += 1
    session.commit()
    return written


def get_product(*, session: Session, product_id: int) -> MapProduct:
    """The product, or NotFound."""
    product = session.get(MapProduct, product_id)
    if product is None:
        raise NotFound(f"No map product with id {product_id}.")
    return product


def dataset_colours(session: Session, dataset: Dataset) -> Colormap:
    """The dataset nomenclature's palette; ignore codes (no data, void) are transparent."""
    nomenclature = session.get(Nomenclature, dataset.nomenclature_id)
    palette: Colormap = {}
    for c in nomenclature.classes if nomenclature else []:
        rgb = tuple(int(c.colour[i : i + 2], 16) for i in (1, 3, 5))
        palette[c.code] = (*rgb, 0 if c.ignore else 255)  # type: ignore[assignment]
    return palette


def scene_paths(settings: Settings, dataset: Dataset) -> tuple[Path, Path | None]:
    """The dataset's scene series and cloud rasters; Invalid when it has no scene."""
    if not dataset.scene_dir:
        raise Invalid(f"Dataset {dataset.name} has no whole scene to map.")
    folder = settings.path(dataset.scene_dir)
    clouds = folder / "clouds.tif"
    return folder / "series.tif", clouds if clouds.exists() else None


def scene_config(*, session: Session, settings: Settings, dataset_id: int) -> dict[str, Any]:
    """What ml.predict.run needs about a dataset's scene: absolute paths and the palette.

    Raises:
        NotFound: no such dataset. Invalid: the dataset has no scene.
    """
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise NotFound(f"No dataset with id {dataset_id}.", field="scene_dataset_id")
    series, clouds = scene_paths(settings, dataset)
    if not series.exists():
        raise Invalid(
            f"Dataset {dataset.name} has no scene series raster.", field="scene_dataset_id"
        )
    nomenclature = session.get(Nomenclature, dataset.nomenclature_id)
    classes = nomenclature.classes if nomenclature else []
    colours = {str(c.code): c.colour for c in classes if not c.ignore}
    return {"series": str(series), "clouds": str(clouds) if clouds else None, "colours": colours}


def register_scene_products(*, session: Session, dataset: Dataset) -> list[MapProduct]:
    """Reference labels and two cloud-free composites of a dataset's scene (idempotent).

    Composites are the median of clear observations over the whole period (true colour
    B4-B3-B2 and false colour B8-B4-B3). Files go to maps/dataset-<id>/.
    """
    settings = get_settings()
    scene_kinds = (MapKind.reference.value, MapKind.composite.value)
    existing = list(
        session.scalars(
            select(MapProduct).where(
                MapProduct.dataset_id == dataset.id,
                MapProduct.kind.in_(scene_kinds),
                MapProduct.job_id.is_(None),
            )
        )
    )
    if existing:
        return existing
    series, clouds = scene_paths(settings, dataset)
    scene = open_scene(series, clouds)
    folder = settings.path(f"maps/dataset-{dataset.id}")
    # Every file first (with its display copy), then the rows: no write lock is held
    # while rasters are computed.
    made: list[tuple[MapKind, str, Path, dict[str, Any]]] = []
    reference = settings.path(dataset.scene_dir) / "reference.tif"
    if reference.exists():
        cog = to_cog(
            reference,
            folder / "reference.tif",
            categorical=True,
            colormap=dataset_colours(session, dataset),
        )
        meta = {"nomenclature_id": dataset.nomenclature_id}
        made.append((MapKind.reference, f"{dataset.name} reference labels", cog, meta))
    period = (scene.dates[0], scene.dates[-1])
    for recipe in RECIPES:
        cog = make_composite(scene, folder / f"{recipe}.tif", recipe=recipe, period=period)
        label = recipe.replace("_", " ")
        name = f"{dataset.name} {label} median {_span(period)}"
        made.append((MapKind.composite, name, cog, {"recipe": recipe}))
    for kind, _name, cog, _meta in made:
        ensure_display_copy(cog, categorical=kind in CATEGORICAL)
    products = [
        register_product(
            session=session, kind=kind, name=name, path=cog, dataset_id=dataset.id, meta=meta
        )
        for kind, name, cog, meta in made
    ]
    session.commit()
    return products


def _span(period: tuple[date, date]) -> str:
    return f"{period[0].isoformat()}..{period[1].isoformat()}"


def record_prediction(session: Session, lease: Any, result: dict[str, Any]) -> None:
    """Job recorder for predict_map: one classes and one confidence product."""
    if result.get("stopped"):
        return
    params = lease.params
    out = get_settings().path(f"jobs/{lease.job_id}/out")
    run = session.get(Run, params.get("run_id")) if params.get("run_id") is not None else None
    dataset = (
        session.get(Dataset, params.get("scene_dataset_id"))
        if params.get("scene_dataset_id")
        else None
    )
    title = params.get("name") or (run.name if run else f"job {lease.job_id}")
    common = dict(
        session=session,
        dataset_id=dataset.id if dataset else None,
        run_id=run.id if run else None,
        job_id=lease.job_id,
    )
    nomenclature = {"nomenclature_id": dataset.nomenclature_id} if dataset else {}
    confidence = register_product(
        kind=MapKind.confidence,
        name=f"{title} confidence",
        path=out / result["confidence"],
        **common,
    )
    register_product(
        kind=MapKind.classes,
        name=f"{title} classes",
        path=out / result["classes"],
        meta={
            "areas_ha": result.get("areas_ha", {}),
            "run_kind": run.kind if run else None,
            "confidence_id": confidence.id,
            **nomenclature,
        },
        **common,
    )


def compare_products(*, session: Session, a_id: int, b_id: int) -> MapProduct:
    """A disagreement product between two class maps, with the agreement matrix in its meta."""
    a, b = (
        get_product(session=session, product_id=a_id),
        get_product(session=session, product_id=b_id),
    )
    for p in (a, b):
        if p.kind not in (MapKind.classes, MapKind.reference):
            raise Invalid(f"Product {p.id} is a {p.kind} map; compare two class maps.")
    if a.id == b.id:
        raise Invalid("Choose two different maps to compare.")
    settings = get_settings()
    folder = settings.path(f"maps/compare-{a.id}-{b.id}")
    try:
        comparison = compare_maps(
            settings.path(a.file),
            settings.path(b.file),
            out_dir=folder,
            ignore=_ignored(session, a),
        )
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    meta = {
        "compare": {"a": a.id, "b": b.id, **comparison.summary},
        "legend": [
            {"code": k, "name": AGREEMENT_NAMES[k], "colour": v}
            for k, v in AGREEMENT_COLOURS.items()
        ],
        "nomenclature_id": a.meta.get("nomenclature_id"),
    }
    product = register_product(
        session=session,
        kind=MapKind.disagreement,
        name=f"{a.name} vs {b.name}",
        path=comparison.agreement,
        dataset_id=a.dataset_id,
        meta=meta,
    )
    session.commit()
    return product


def _ignored(session: Session, product: MapProduct) -> tuple[int, ...]:
    """Codes left out of a comparison: predicted-map nodata and the legend's ignore codes."""
    nomenclature = session.get(Nomenclature, product.meta.get("nomenclature_id") or 0)
    ignore = [c.code for c in nomenclature.classes if c.ignore] if nomenclature else []
    return (CLASS_NODATA, *ignore)


def legend(session: Session, product: MapProduct) -> list[dict[str, Any]]:
    """Class code, name, colour and area (ha) of every class present on the map."""
    if "legend" in product.meta:
        areas = product.meta.get("areas_ha", {})
        return [
            {**item, "area_ha": areas.get(str(item["code"]), 0.0)}
            for item in product.meta["legend"]
        ]
    nomenclature = session.get(Nomenclature, product.meta.get("nomenclature_id") or 0)
    if nomenclature is None:
        return []
    areas = product.meta.get("areas_ha", {})
    return [
        {
            "code": c.code,
            "name": c.name_en,
            "colour": c.colour,
            "area_ha": areas.get(str(c.code), 0.0),
        }
        for c in nomenclature.classes
        if not c.ignore and str(c.code) in areas
    ]


def product_out(session: Session, product: MapProduct) -> dict[str, Any]:
    """The API form of a product: what the explorer needs to add it as a layer."""
    meta = product.meta
    query = meta.get("render", "")
    return {
        "id": product.id,
        "kind": product.kind,
        "name": product.name,
        "dataset_id": product.dataset_id,
        "run_id": product.run_id,
        "bounds": meta.get("bounds"),
        "minzoom": meta.get("minzoom"),
        "maxzoom": meta.get("maxzoom"),
        "tiles": f"/api/v1/maps/{product.id}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png"
        + (f"?{query}" if query else ""),
        "legend": legend(session, product),
        "compare": meta.get("compare"),
        "created_at": product.created_at.isoformat() if product.created_at else None,
    }


def list_products(*, session: Session) -> list[dict[str, Any]]:
    """Every product, newest first."""
    rows = session.scalars(select(MapProduct).order_by(MapProduct.id.desc()))
    return [product_out(session, p) for p in rows]
