"""Map production: seamless sliding windows, block-wise resume, valid COGs, bounded memory."""

from __future__ import annotations

import tracemalloc
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import rasterio
from scipy.ndimage import uniform_filter

from ml.blend import Tiling
from ml.cog import display_path, is_valid_cog, overview_resampling
from ml.predict import CLASS_NODATA, blocks, predict_block, predict_map
from ml.predictor import OneWindowAtATime
from ml.scene import open_scene
from tests.scenes import write_scene

COLOURS = {1: "#ff0000", 2: "#00ff00", 3: "#0000ff"}


class ContextPredictor(OneWindowAtATime):
    """Per-pixel term plus a 2*halo+1 box mean that sees padding at window edges.

    Near a window edge the box reads reflected pixels instead of the neighbours, so a
    naive tiling shows seams; blending that ignores the halo removes them exactly.
    """

    classes = [1, 2, 3]

    def __init__(self, window: int | None = 24, halo: int = 2, batch: int = 1) -> None:
        self.window, self.halo, self.batch, self.calls = window, halo, batch, 0
        self.batches: list[int] = []

    def predict_windows(
        self, series: np.ndarray, clouds: np.ndarray, dates: list[date], bands: list[str]
    ) -> np.ndarray:
        self.batches.append(len(series))
        return super().predict_windows(series, clouds, dates, bands)

    def predict_proba(
        self, series: np.ndarray, clouds: np.ndarray, dates: list[date], bands: list[str]
    ) -> np.ndarray:
        self.calls += 1
        mean = series.astype(np.float32).mean(axis=0) / 1000.0  # (C, H, W)
        context = (
            uniform_filter(mean[1], size=2 * self.halo + 1, mode="reflect")
            if self.halo
            else mean[1]
        )
        logits = np.stack([mean[0], context, 0.5 * (mean[0] + context) + 0.3 * mean[-1]])
        logits = logits - logits.max(axis=0)
        e = np.exp(logits)
        return (e / e.sum(axis=0)).astype(np.float32)


@pytest.fixture
def scene(tmp_path: Path):  # noqa: ANN201
    series, clouds = write_scene(tmp_path / "scene", height=70, width=90, cloudy_corner=5)
    return open_scene(series, clouds)


def whole_pass(predictor: ContextPredictor, scene) -> np.ndarray:  # noqa: ANN001
    """One window over the entire scene: the reference a seamless tiling must reproduce."""
    series, clouds = scene.read(rasterio.windows.Window(0, 0, scene.width, scene.height))
    return predictor.predict_proba(series, clouds, scene.dates, scene.bands)


@pytest.mark.parametrize("batch", [1, 3])
def test_blocks_equal_one_pass_over_the_scene(scene, batch: int) -> None:  # noqa: ANN001
    """Windows handed over several at a time land where they belong."""
    predictor = ContextPredictor(window=24, halo=2, batch=batch)
    expected = whole_pass(predictor, scene)
    tiling = Tiling.for_model(24, 2, block=32)
    for window in blocks(scene, 32):
        predictor.batches.clear()
        got = predict_block(predictor, scene, window, tiling)
        r, c, h, w = window.row_off, window.col_off, window.height, window.width
        np.testing.assert_allclose(got, expected[:, r : r + h, c : c + w], atol=1e-5)
        full, rest = divmod(sum(predictor.batches), batch)
        assert predictor.batches == [batch] * full + ([rest] if rest else [])
    assert predictor.calls > len(blocks(scene, 32)) + 1  # several windows per block


def test_naive_tiling_has_seams(scene) -> None:  # noqa: ANN001
    """The same predictor without overlap differs from the one pass (so the test above can fail)."""
    predictor = ContextPredictor(window=24, halo=2)
    expected = whole_pass(predictor, scene)
    window = rasterio.windows.Window(0, 0, scene.width, scene.height)
    got = predict_block(predictor, scene, window, Tiling(24, 0, 0))
    assert not np.allclose(got, expected, atol=1e-3)


def test_per_pixel_predictor_needs_no_overlap(scene) -> None:  # noqa: ANN001
    predictor = ContextPredictor(window=None, halo=0)
    expected = whole_pass(predictor, scene)
    tiling = Tiling.for_model(None, 0, block=32)
    assert tiling.overlap == 0
    window = blocks(scene, 32)[4]
    got = predict_block(predictor, scene, window, tiling)
    r, c = window.row_off, window.col_off
    np.testing.assert_allclose(got, expected[:, r : r + 32, c : c + 32], atol=1e-6)


def test_map_cogs_are_valid_and_resumable(scene, tmp_path: Path) -> None:  # noqa: ANN001
    predictor = ContextPredictor(window=24, halo=2)
    asked = []

    def stop_after_three() -> bool:
        asked.append(1)
        return len(asked) > 3

    work, out = tmp_path / "work", tmp_path / "out"
    first = predict_map(
        predictor,
        scene,
        out_dir=out,
        work_dir=work,
        colours=COLOURS,
        block=32,
        should_stop=stop_after_three,
    )
    assert first.stopped and not (out / "classes.tif").exists()
    calls_before = predictor.calls
    events: list[tuple[float, str]] = []
    done = predict_map(
        predictor,
        scene,
        out_dir=out,
        work_dir=work,
        colours=COLOURS,
        block=32,
        progress=lambda f, m: events.append((f, m)),
    )
    n_blocks = len(blocks(scene, 32))
    assert len(events) == n_blocks - 3 and events[-1][0] == pytest.approx(1.0)
    # A fresh, uninterrupted run gives the same map with more predictor calls.
    fresh = ContextPredictor(window=24, halo=2)
    again = predict_map(
        fresh,
        scene,
        out_dir=tmp_path / "out2",
        work_dir=tmp_path / "work2",
        colours=COLOURS,
        block=32,
    )
    assert predictor.calls - calls_before < fresh.calls
    with rasterio.open(done.classes) as a, rasterio.open(again.classes) as b:
        resumed, full = a.read(1), b.read(1)
        assert a.colormap(1)[2][:3] == (0, 255, 0)
        assert a.nodata == CLASS_NODATA
    np.testing.assert_array_equal(resumed, full)
    assert (resumed[:5, :5] == CLASS_NODATA).all()  # clouds at every date
    expected = np.asarray([1, 2, 3])[whole_pass(fresh, scene).argmax(axis=0)]
    np.testing.assert_array_equal(resumed[5:, 5:], expected[5:, 5:])
    for path, mode in ((done.classes, "MODE"), (done.confidence, "AVERAGE")):
        assert is_valid_cog(path) and is_valid_cog(display_path(path))
        assert overview_resampling(path) == mode
    assert sum(done.areas_ha.values()) == pytest.approx((70 * 90 - 25) * 100 / 10_000)


def test_bad_scene_is_refused_before_writing(tmp_path: Path) -> None:
    series, clouds = write_scene(tmp_path / "a", height=20, width=20)
    _, other_clouds = write_scene(tmp_path / "b", height=20, width=24)
    with pytest.raises(ValueError, match="dates"):
        open_scene(series, other_clouds)
    with rasterio.open(series, "r+") as src:
        src.set_band_description(1, "not a date")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        open_scene(series, clouds)
    with pytest.raises(FileNotFoundError):
        open_scene(tmp_path / "missing.tif")


def _peak_bytes(tmp_path: Path, side: int) -> int:
    series, clouds = write_scene(
        tmp_path / f"s{side}", height=side, width=side, n_dates=2, bands=["B4", "B8"]
    )
    scene = open_scene(series, clouds)
    tracemalloc.start()
    predict_map(
        ContextPredictor(window=None, halo=0),
        scene,
        out_dir=tmp_path / f"o{side}",
        work_dir=tmp_path / f"w{side}",
        colours=COLOURS,
    )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_scene_size(tmp_path: Path) -> None:
    small = _peak_bytes(tmp_path, 1024)
    large = _peak_bytes(tmp_path, 4096)
    # 16x the pixels; a whole-scene array of 4096^2 float32 alone would be 64 MiB.
    assert large < 1.5 * small + 4 * 2**20, (small, large)
