"""The trained OSO Random Forest as a map Predictor (see ml/predictor.py).

A block of a Sentinel-2 time series is turned into OSO features on the run's saved date
grid (so a block with other acquisition dates still gets the training layout), then
classified in chunks of pixels: a depth-25 forest's `predict_proba` on a whole tile at
once would hold trees x pixels x classes in memory. The forest is per pixel, so any block
size works (window None) and it needs no context around a block (halo 0).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from sklearn.ensemble import RandomForestClassifier

from ml.data.normalise import clear_mask
from ml.gapfill import to_days
from ml.predictor import OneWindowAtATime
from ml.rf_features import clear_date_count, features, normalise_band
from ml.rf_model import load_model, vote_share

PREDICT_CHUNK = 16_384


def block_pixels(
    series: np.ndarray, clouds: np.ndarray, bands: list[str], run_bands: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(T, C, H, W) block + (T, H, W) mask -> (H*W, T, C') pixels in the run's band order
    and (H*W, T) clear flags (mask 0 and no Theia no-data in any band)."""
    series = np.asarray(series)
    clouds = np.asarray(clouds)
    if series.ndim != 4 or clouds.shape != (series.shape[0], *series.shape[2:]):
        raise ValueError(f"series (T,C,H,W) {series.shape} and clouds (T,H,W) {clouds.shape}")
    if len(bands) != series.shape[1]:
        raise ValueError(f"{len(bands)} band names for {series.shape[1]} bands")
    position = {normalise_band(b): i for i, b in enumerate(bands)}
    missing = [b for b in run_bands if normalise_band(b) not in position]
    if missing:
        raise ValueError(f"the series lacks bands the model was trained on: {missing}")
    picked = series[:, [position[normalise_band(b)] for b in run_bands]]
    t, c, h, w = picked.shape
    pixels = picked.transpose(2, 3, 0, 1).reshape(h * w, t, c)
    clear = clear_mask(picked, clouds).transpose(1, 2, 0).reshape(h * w, t)
    return pixels, clear


@dataclass
class RFPredictor(OneWindowAtATime):
    """Predictor protocol for a Random Forest run; `grid` holds the run's grid dates."""

    model: RandomForestClassifier
    bands: list[str]
    grid: list[date]
    chunk: int = PREDICT_CHUNK
    classes: list[int] = field(init=False)
    window: int | None = None
    halo: int = 0

    def __post_init__(self) -> None:
        self.classes = [int(c) for c in self.model.classes_]

    def _chunks(
        self, series: np.ndarray, clouds: np.ndarray, dates: list[date], bands: list[str]
    ) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
        """(pixel slice, features, clear flags) chunk by chunk: memory stays bounded."""
        pixels, clear = block_pixels(series, clouds, bands, self.bands)
        grid = to_days(self.grid)
        for start in range(0, pixels.shape[0], self.chunk):
            part = slice(start, start + self.chunk)
            X = features(pixels[part], dates, self.bands, valid=clear[part], grid=grid)
            yield part, X, clear[part]

    def predict_proba(
        self, series: np.ndarray, clouds: np.ndarray, dates: list[date], bands: list[str]
    ) -> np.ndarray:
        """Class probabilities (K, H, W) float32, K = len(self.classes)."""
        h, w = series.shape[2:]
        proba = np.empty((h * w, len(self.classes)), dtype=np.float32)
        for part, X, _ in self._chunks(series, clouds, dates, bands):
            proba[part] = self.model.predict_proba(X)
        return proba.T.reshape(len(self.classes), h, w)

    def predict_oso(
        self, series: np.ndarray, clouds: np.ndarray, dates: list[date], bands: list[str]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """OSO's three rasters (H, W): class (majority vote), confidence (0-100), validity."""
        h, w = series.shape[2:]
        labels = np.empty(h * w, dtype=np.int64)
        confidence = np.empty(h * w, dtype=np.uint8)
        validity = np.empty(h * w, dtype=np.int32)
        for part, X, clear in self._chunks(series, clouds, dates, bands):
            labels[part], confidence[part] = vote_share(self.model, X)
            validity[part] = clear_date_count(clear)
        return labels.reshape(h, w), confidence.reshape(h, w), validity.reshape(h, w)


def load_predictor(run_dir: Path) -> RFPredictor:
    """Load a Random Forest run written by `ml.rf.train_run` (run.json + model.joblib)."""
    run_dir = Path(run_dir)
    meta_path = run_dir / "run.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"no run.json in {run_dir}: not a finished run")
    meta = json.loads(meta_path.read_text())
    if meta.get("kind") != "rf":
        raise ValueError(f"{run_dir} holds a {meta.get('kind')!r} run, not a Random Forest")
    model = load_model(run_dir / meta.get("model", "model.joblib"))
    grid = [date.fromisoformat(d) for d in meta["grid"]]
    return RFPredictor(model=model, bands=list(meta["bands"]), grid=grid)
