"""Cloud-Optimized GeoTIFFs for map products: one profile, one writer, one validator.

Every map product (class map, confidence, composite, comparison) is produced the same way:
blocks are written into a plain tiled GeoTIFF under a work folder (so memory stays bounded
and a restarted job can append to it), then translated once into a COG with 512-pixel
internal tiles, DEFLATE, and overviews. Overviews of class maps use `mode` resampling
(`average` would invent classes, `nearest` samples one pixel out of many); continuous
bands use `average` and the horizontal-differencing predictor.

Maps are produced in the scene's own CRS (UTM for Sentinel-2), which point reads and
statistics need; web maps tile in Web Mercator. Each product therefore also gets a display
copy already on the WebMercatorQuad grid (`web_mercator_copy`), so titiler reads tiles
from it without a warp per tile.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import morecantile
import rasterio
from rio_cogeo.cogeo import cog_translate, cog_validate
from rio_cogeo.profiles import cog_profiles

BLOCK = 512
WEB_TMS = morecantile.tms.get("WebMercatorQuad")
Colormap = dict[int, tuple[int, int, int, int]]


def work_profile(
    *,
    width: int,
    height: int,
    count: int,
    dtype: str,
    crs: Any,
    transform: Any,
    nodata: float | None,
) -> dict[str, Any]:
    """Profile of the intermediate tiled GeoTIFF that blocks are written into."""
    return {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": count,
        "dtype": dtype,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
        "compress": "deflate",
        "BIGTIFF": "IF_SAFER",
    }


def to_cog(
    src: Path,
    dst: Path,
    *,
    categorical: bool,
    colormap: Colormap | None = None,
    tags: dict[str, str] | None = None,
) -> Path:
    """Translate a tiled GeoTIFF into a COG at `dst` (written beside it, then renamed).

    Args:
        src: the intermediate GeoTIFF.
        dst: where the COG goes.
        categorical: class codes (mode overviews, no predictor) or continuous values
            (average overviews, PREDICTOR=2).
        colormap: a palette written into the COG so titiler and QGIS show the same colours.
        tags: extra dataset tags (nomenclature, run id, ...).

    Returns:
        `dst`.
    """
    return _translate(
        src,
        dst,
        _profile(BLOCK, categorical),
        categorical,
        colormap=colormap,
        additional_cog_metadata=tags,
    )


def web_mercator_copy(src: Path, dst: Path, *, categorical: bool) -> Path:
    """A display copy of the COG `src` on the WebMercatorQuad grid, written at `dst`.

    Its finest level is the first web zoom at least as fine as the source's pixels
    (``zoom_level_strategy="upper"``): the zoom nearest the source's resolution is coarser
    than 10 m pixels at French latitudes and would skip some of them. Pixels are resampled
    with `nearest` (classes stay classes; what titiler does when it warps per tile), internal
    tiles are the grid's 256² tiles, so one web tile reads one block. The palette comes
    along with the pixels.

    Returns:
        `dst`.
    """
    return _translate(
        src,
        dst,
        _profile(WEB_TMS.matrix(0).tileWidth, categorical),
        categorical,
        tms=WEB_TMS,
        zoom_level_strategy="upper",
        resampling="nearest",
    )


def display_path(cog: Path) -> Path:
    """Where the display copy of `cog` lives: beside it, ``<stem>.web.tif``."""
    return cog.with_name(cog.stem + ".web.tif")


def ensure_display_copy(cog: Path, *, categorical: bool) -> Path:
    """The display copy of `cog`, written unless its producer (a map job) already did."""
    copy = display_path(cog)
    return copy if copy.exists() else web_mercator_copy(cog, copy, categorical=categorical)


def _profile(block: int, categorical: bool) -> dict[str, Any]:
    profile = cog_profiles.get("deflate")
    profile.update(blockxsize=block, blockysize=block)
    if not categorical:
        profile["predictor"] = 2
    return profile


def _translate(
    src: Path, dst: Path, profile: dict[str, Any], categorical: bool, **options: Any
) -> Path:
    """cog_translate into a file beside `dst`, renamed once complete (no half-written COG)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    partial = dst.with_name(dst.name + ".partial")
    with warnings.catch_warnings():
        # rio-cogeo warns that a palette sets the colour interpretation: that is the point.
        warnings.filterwarnings("ignore", "Dataset color interpretation", UserWarning)
        cog_translate(
            str(src),
            str(partial),
            profile,
            overview_resampling="mode" if categorical else "average",
            in_memory=False,
            quiet=True,
            **options,
        )
    partial.replace(dst)
    return dst


def is_valid_cog(path: Path) -> bool:
    """True when rio-cogeo finds `path` a valid COG (no errors; warnings allowed)."""
    valid, _errors, _warnings = cog_validate(str(path), quiet=True)
    return bool(valid)


def overview_resampling(path: Path) -> str | None:
    """The OVERVIEW_RESAMPLING tag rio-cogeo records in the dataset tags ("MODE", ...)."""
    with rasterio.open(path) as src:
        return src.tags().get("OVERVIEW_RESAMPLING")


def hex_colormap(colours: dict[int, str], *, nodata: int | None = None) -> Colormap:
    """A GDAL palette from {code: "#rrggbb"}; the nodata entry is fully transparent."""
    palette: Colormap = {}
    for code, colour in colours.items():
        palette[int(code)] = (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16), 255)
    if nodata is not None:
        palette[int(nodata)] = (0, 0, 0, 0)
    return palette
