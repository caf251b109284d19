"""Map production: a class map and a confidence map over a whole scene, with any Predictor.

The scene is cut into output blocks aligned with the COG's 512-pixel tiles. Each block
reads only the windows of the global sliding-window grid that touch it (ml.blend), blends
their class probabilities, and writes its classes and confidence into tiled work rasters.
Memory is bounded by one block plus its windows, whatever the scene size. A progress file
lists finished blocks, so a restarted job (crash, lease lost, cancel) skips them. At the
end the work rasters become COGs (ml.cog) and class areas are counted at full resolution.

Classes are uint8 codes with nodata 255 (no valid observation at any date); confidence
is the blended top-class probability in percent (uint8 0..100, nodata 255).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.windows import Window

from ml.blend import Tiling, axis_weights, covering
from ml.cog import BLOCK, display_path, hex_colormap, to_cog, web_mercator_copy, work_profile
from ml.predictor import Predictor
from ml.scene import NODATA, Scene, open_scene

CLASS_NODATA = 255
CONFIDENCE_NODATA = 255
PROGRESS_FILE = "progress.json"

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class MapResult:
    """Where a finished map's COGs are and what they hold."""

    classes: Path
    confidence: Path
    areas_ha: dict[int, float]
    pixels_per_s: float
    stopped: bool = False


def blocks(scene: Scene, size: int = BLOCK) -> list[Window]:
    """Output blocks in row-major order, aligned on the COG tile grid."""
    return [
        Window(col, row, min(size, scene.width - col), min(size, scene.height - row))
        for row in range(0, scene.height, size)
        for col in range(0, scene.width, size)
    ]


def predict_block(predictor: Predictor, scene: Scene, block: Window, tiling: Tiling) -> np.ndarray:
    """Blended probabilities (K, h, w) float32 of one output block.

    Reads the union of the windows that touch the block once, runs the predictor on them
    ``predictor.batch`` windows per call and accumulates weight x probability, so the block
    equals the same pixels of a pass over the whole scene (no seams at block or window
    edges).
    """
    r0, c0, h, w = int(block.row_off), int(block.col_off), int(block.height), int(block.width)
    wy, wx = min(tiling.window, scene.height), min(tiling.window, scene.width)
    rows = covering(r0, r0 + h, scene.height, wy, tiling.stride)
    cols = covering(c0, c0 + w, scene.width, wx, tiling.stride)
    top, left = rows[0], cols[0]
    region = Window(left, top, cols[-1] + wx - left, rows[-1] + wy - top)
    series, clouds = scene.read(region)
    acc = np.zeros((len(predictor.classes), h, w), dtype=np.float32)
    total = np.zeros((h, w), dtype=np.float32)
    starts = [(sy, sx) for sy in rows for sx in cols]
    row_weights = {sy: axis_weights(sy, wy, scene.height, tiling) for sy in rows}
    col_weights = {sx: axis_weights(sx, wx, scene.width, tiling) for sx in cols}
    for first in range(0, len(starts), predictor.batch):
        group = starts[first : first + predictor.batch]
        views = [
            (slice(sy - top, sy - top + wy), slice(sx - left, sx - left + wx)) for sy, sx in group
        ]
        probas = predictor.predict_windows(
            np.stack([series[:, :, ys, xs] for ys, xs in views]),
            np.stack([clouds[:, ys, xs] for ys, xs in views]),
            scene.dates,
            scene.bands,
        )
        for (sy, sx), proba in zip(group, probas, strict=True):
            weight = np.outer(row_weights[sy], col_weights[sx]).astype(np.float32)
            # Intersection of this window with the block, in window and block coordinates.
            a0, a1 = max(sy, r0), min(sy + wy, r0 + h)
            b0, b1 = max(sx, c0), min(sx + wx, c0 + w)
            win = (slice(a0 - sy, a1 - sy), slice(b0 - sx, b1 - sx))
            out = (slice(a0 - r0, a1 - r0), slice(b0 - c0, b1 - c0))
            acc[(slice(None), *out)] += proba[(slice(None), *win)] * weight[win]
            total[out] += weight[win]
    acc /= total
    return acc


def no_observation(series: np.ndarray, clouds: np.ndarray) -> np.ndarray:
    """(h, w) True where no date is both clear and inside the swath."""
    valid = (clouds == 0) & ~(series == NODATA).all(axis=1)
    return ~valid.any(axis=0)


def predict_map(
    predictor: Predictor,
    scene: Scene,
    *,
    out_dir: Path,
    work_dir: Path,
    colours: dict[int, str] | None = None,
    block: int = BLOCK,
    overlap: int | None = None,
    window: int | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    tags: dict[str, str] | None = None,
) -> MapResult:
    """Predict `scene` block by block into classes.tif and confidence.tif COGs in `out_dir`,
    each with its Web-Mercator display copy (ml.cog), written here rather than when the
    job's result is recorded, which must stay short.

    Args:
        predictor: any trained model (ml.predictor.Predictor).
        scene: the opened scene (ml.scene.open_scene).
        out_dir: where the two COGs go.
        work_dir: work rasters and the progress file; a second call with the same
            work_dir and settings skips the blocks already done.
        colours: {code: "#rrggbb"} palette written into the class COG.
        block: output block side (a multiple of 512 keeps blocks on COG tiles).
        overlap: window overlap; default a quarter of the window (at least 2 x halo + 2).
        window: inference window side instead of the predictor's preferred one (a
            fully convolutional model runs larger windows faster, with fewer overlaps).
        progress: called with (fraction, message) after each block.
        should_stop: polled between blocks; when True the function returns early with
            `stopped=True` and everything done so far kept for the next call.
        tags: extra tags for both COGs.
    """
    tiling = Tiling.for_model(window or predictor.window, predictor.halo, block, overlap)
    work_dir.mkdir(parents=True, exist_ok=True)
    todo = blocks(scene, block)
    signature = {
        "series": scene.series_path.name,
        "size": [scene.width, scene.height],
        "block": block,
        "tiling": [tiling.window, tiling.overlap, tiling.halo],
        "classes": list(map(int, predictor.classes)),
    }
    done = _resume(work_dir, signature, scene)
    start, fresh = time.perf_counter(), 0
    codes = np.asarray(predictor.classes, dtype=np.uint8)
    for i, window in enumerate(todo):
        if i in done:
            continue
        if should_stop is not None and should_stop():
            return MapResult(
                out_dir / "classes.tif", out_dir / "confidence.tif", {}, 0.0, stopped=True
            )
        proba = predict_block(predictor, scene, window, tiling)
        series, clouds = scene.read(window)
        empty = no_observation(series, clouds)
        classes = np.where(empty, CLASS_NODATA, codes[proba.argmax(axis=0)]).astype(np.uint8)
        confidence = np.rint(proba.max(axis=0) * 100).astype(np.uint8)
        confidence[empty] = CONFIDENCE_NODATA
        for name, array in (("classes.tif", classes), ("confidence.tif", confidence)):
            with rasterio.open(work_dir / name, "r+") as dst:
                dst.write(array, 1, window=window)
        done.add(i)
        fresh += int(window.width * window.height)
        _save_progress(work_dir, signature, done)
        if progress is not None:
            progress(len(done) / len(todo), f"block {len(done)}/{len(todo)}")
    rate = fresh / max(time.perf_counter() - start, 1e-9)
    palette = hex_colormap(colours, nodata=CLASS_NODATA) if colours else None
    out_dir.mkdir(parents=True, exist_ok=True)
    classes_cog = to_cog(
        work_dir / "classes.tif",
        out_dir / "classes.tif",
        categorical=True,
        colormap=palette,
        tags=tags,
    )
    confidence_cog = to_cog(
        work_dir / "confidence.tif", out_dir / "confidence.tif", categorical=False, tags=tags
    )
    for cog, categorical in ((classes_cog, True), (confidence_cog, False)):
        web_mercator_copy(cog, display_path(cog), categorical=categorical)
    return MapResult(classes_cog, confidence_cog, class_areas(classes_cog), rate)


def _resume(work_dir: Path, signature: dict[str, Any], scene: Scene) -> set[int]:
    """Blocks already done under the same settings; otherwise fresh work rasters."""
    path = work_dir / PROGRESS_FILE
    if path.exists():
        state = json.loads(path.read_text())
        if state.get("signature") == signature and all(
            (work_dir / n).exists() for n in ("classes.tif", "confidence.tif")
        ):
            return set(state["done"])
    for name, nodata in (("classes.tif", CLASS_NODATA), ("confidence.tif", CONFIDENCE_NODATA)):
        profile = work_profile(
            width=scene.width,
            height=scene.height,
            count=1,
            dtype="uint8",
            crs=scene.crs,
            transform=scene.transform,
            nodata=nodata,
        )
        with rasterio.open(work_dir / name, "w", **profile):
            pass
    _save_progress(work_dir, signature, set())
    return set()


def _save_progress(work_dir: Path, signature: dict[str, Any], done: set[int]) -> None:
    """Write the progress file atomically (a crash never leaves it half written)."""
    partial = work_dir / (PROGRESS_FILE + ".partial")
    partial.write_text(json.dumps({"signature": signature, "done": sorted(done)}))
    partial.replace(work_dir / PROGRESS_FILE)


def class_areas(path: Path, nodata: int | None = CLASS_NODATA) -> dict[int, float]:
    """Hectares per class of a class raster, counted at full resolution block by block."""
    counts = np.zeros(256, dtype=np.int64)
    with rasterio.open(path) as src:
        pixel_m2 = abs(src.transform.a * src.transform.e)
        for _, window in src.block_windows(1):
            counts += np.bincount(src.read(1, window=window).ravel(), minlength=256)
    return {
        code: round(float(n) * pixel_m2 / 10_000, 4)
        for code, n in enumerate(counts)
        if n and code != nodata
    }


def run(ctx: Any, *, params: dict[str, Any]) -> dict[str, Any]:
    """Job kind `predict_map`: predict a scene with a trained run into ctx.out_dir.

    params: run_dir (a U-BARN or RF run's folder), series and clouds (absolute paths of
    the scene rasters), colours ({code: "#rrggbb"}, optional), block, overlap, window,
    device.
    Writes classes.tif, confidence.tif and map.json (areas, classes) into ctx.out_dir and
    returns the same summary; `stopped` is true when cancellation interrupted it.
    """
    from ml.models.registry import load_predictor

    scene = open_scene(
        Path(params["series"]), Path(params["clouds"]) if params.get("clouds") else None
    )
    predictor = load_predictor(Path(params["run_dir"]), device=params.get("device", "auto"))
    colours = {int(k): v for k, v in (params.get("colours") or {}).items()}
    ctx.logger.info("predicting %dx%d px, %d dates", scene.width, scene.height, len(scene.dates))
    result = predict_map(
        predictor,
        scene,
        out_dir=Path(ctx.out_dir),
        work_dir=Path(ctx.checkpoint_dir) / "predict",
        colours=colours,
        block=int(params.get("block", BLOCK)),
        overlap=params.get("overlap"),
        window=params.get("window"),
        progress=ctx.progress,
        should_stop=ctx.should_stop,
        tags={"SITSLAB_RUN": Path(params["run_dir"]).name},
    )
    summary = {
        "stopped": result.stopped,
        "classes": result.classes.name,
        "confidence": result.confidence.name,
        "areas_ha": {str(k): v for k, v in result.areas_ha.items()},
        "class_codes": [int(c) for c in predictor.classes],
        "width": scene.width,
        "height": scene.height,
        "pixels_per_s": round(result.pixels_per_s, 1),
    }
    if not result.stopped:
        (Path(ctx.out_dir) / "map.json").write_text(json.dumps(summary, indent=2))
    return summary


def run_job(ctx: Any, *, snapshot: Path | None = None, config: dict[str, Any]) -> dict[str, Any]:
    """The worker's entry point (ml.worker.kinds signature); `config` holds run()'s params."""
    del snapshot  # a map is predicted from a trained run, not from a training set
    return run(ctx, params=config)
