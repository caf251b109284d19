"""A fine-tuned U-BARN run as a map ``Predictor`` (``ml.predictor``).

Map production slides a window over a tile and asks for class probabilities block by
block. U-BARN sees space (the SSE's receptive field), so blocks carry a halo of context
that the map writer discards; the preferred window is the run's training patch size or
``MAP_WINDOW``, the larger. Blocks are normalised with the run's own statistics and dated
like its training series. The block's clear mask is computed from its cloud mask and
no-data, as in training; only a network that masks clouds reads it (the paper's takes
every date, cloudy or not). With the paper's GroupNorm encoder a window's statistics
reach every pixel in it, so a pixel's probabilities depend on the rest of its window; a
BatchNorm encoder (``encoder_norm="batch"``) reads each pixel's neighbourhood only.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import torch

from ml.data.dataset import days_since
from ml.data.normalise import BandStats, clear_mask
from ml.models.ubarn import UBarnConfig
from ml.models.ubarn_heads import SegmentationModel
from ml.train.artifacts import load_weights, read_run
from ml.train.config import autocast_dtype, resolve_device
from ml.train.logit_adjustment import adjusted_logits

MAP_WINDOW = 64
"""Smallest map window. With the tiny preset's 16 px crops as windows, the blending overlap
made every pixel be computed about 7 times (6 px stride); at 64 px, 1.8 times."""

GPU_BATCH = 16
"""Map windows per forward pass on a GPU, where one 64 px window leaves it mostly idle.
Not yet measured on a GPU: by estimate (64-channel feature maps of 4,096 pixels for each
of 60 dates) the paper network holds about 1 GB of activations per 64 px window in
inference, so 16 should fit a 24 GB card. On a CPU four windows per pass were 23 % slower
than one (bench/README.md, Maps), so the CPU takes one at a time."""


class UBarnPredictor:
    """Class probabilities of a U-BARN segmentation model for blocks of a time series.

    Args:
        model: the trained network.
        stats: the run's band statistics (their band order is the model's).
        classes: nomenclature codes of the probability axis.
        patch_size: the training crop side; the window is this or ``MAP_WINDOW``, the
            larger, and the halo a quarter of it.
        reference_date: the run's date origin (None: 1 January of the series' year).
        device: where to run the network.
        batch: windows per forward pass in map production; None: ``GPU_BATCH`` on CUDA,
            1 on the CPU.
        logit_bias: (K,) subtracted from the logits before the softmax, the run's logit
            adjustment (``ml.train.logit_adjustment``); None: the network's own.
    """

    def __init__(
        self,
        model: SegmentationModel,
        stats: BandStats,
        classes: list[int],
        patch_size: int,
        reference_date: date | None,
        device: torch.device,
        batch: int | None = None,
        logit_bias: np.ndarray | None = None,
    ) -> None:
        if batch is not None and batch < 1:
            raise ValueError(f"batch must be at least 1 window, got {batch}")
        self.model = model.to(device).eval()
        self.stats = stats
        self.classes = list(classes)
        self.window: int | None = max(patch_size, MAP_WINDOW)
        self.halo = patch_size // 4
        self.reference_date = reference_date
        self.device = device
        self.batch = batch or (GPU_BATCH if device.type == "cuda" else 1)
        if logit_bias is not None and len(logit_bias) != len(self.classes):
            raise ValueError(f"{len(logit_bias)} logit biases for {len(self.classes)} classes")
        # on the device once: the map's hot path subtracts it from every pass's logits
        self.logit_bias = None if logit_bias is None else torch.as_tensor(logit_bias, device=device)

    def _band_order(self, bands: list[str]) -> list[int]:
        missing = [b for b in self.stats.bands if b not in bands]
        if missing:
            raise ValueError(f"the block lacks band(s) {missing} the model was trained on")
        return [bands.index(b) for b in self.stats.bands]

    def predict_proba(
        self, series: np.ndarray, clouds: np.ndarray, dates: list[date], bands: list[str]
    ) -> np.ndarray:
        """Softmax probabilities (K, H, W) float32 for series (T, C, H, W) int16.

        Raises:
            ValueError: shapes that disagree, no date, or a band of the model missing.
        """
        if series.ndim != 4 or series.shape[0] == 0:
            raise ValueError(f"expected series (T, C, H, W) with T > 0, got {series.shape}")
        return self.predict_windows(series[None], clouds[None], dates, bands)[0]

    def predict_windows(
        self, series: np.ndarray, clouds: np.ndarray, dates: list[date], bands: list[str]
    ) -> np.ndarray:
        """Softmax probabilities (N, K, H, W) float32 for N windows (N, T, C, H, W) int16,
        in one forward pass.

        Raises:
            ValueError: shapes that disagree, no date, or a band of the model missing.
        """
        if series.ndim != 5 or series.shape[1] == 0:
            raise ValueError(f"expected series (N, T, C, H, W) with T > 0, got {series.shape}")
        n, t, c, h, w = series.shape
        if len(dates) != t or len(bands) != c or clouds.shape != (n, t, h, w):
            raise ValueError(
                f"series {series.shape}, clouds {clouds.shape}, {len(dates)} dates and "
                f"{len(bands)} bands disagree"
            )
        picked = np.asarray(series)[:, :, self._band_order(list(bands))]
        x = self.stats.apply(picked)
        clear = torch.from_numpy(clear_mask(picked, clouds)).to(self.device)
        days = np.repeat(days_since(dates, self.reference_date)[None], n, axis=0)
        x_t = torch.from_numpy(x).to(self.device)
        days_t = torch.from_numpy(days).to(self.device)
        pad = torch.zeros(n, t, dtype=torch.bool, device=self.device)
        amp = autocast_dtype(self.device)
        with torch.no_grad(), torch.autocast(self.device.type, dtype=amp, enabled=amp is not None):
            logits = self.model.predict_logits(x_t, days_t, pad, clear)
        logits = adjusted_logits(logits.float(), self.logit_bias)
        return logits.softmax(1).cpu().numpy().astype(np.float32)


def load_ubarn_predictor(
    run_dir: Path, device: str = "auto", batch: int | None = None
) -> UBarnPredictor:
    """Rebuild the predictor of a finished fine-tuning run (run.json + model.pt); `batch` as
    in ``UBarnPredictor``.

    Raises:
        FileNotFoundError: not a finished run folder.
        ValueError: a pre-training run (it has no classifier) or another kind of run.
    """
    run = read_run(Path(run_dir), stage="finetune")
    torch_device = resolve_device(device)
    model = SegmentationModel(UBarnConfig.from_dict(run["network"]), len(run["classes"]))
    model.load_state_dict(load_weights(Path(run_dir)))
    reference = run["config"].get("reference_date")
    bias = run.get("logit_bias")  # runs made before logit adjustment have none
    return UBarnPredictor(
        model,
        BandStats.from_dict(run["normalisation"]),
        [int(c) for c in run["classes"]],
        int(run["config"]["patch_size"]),
        date.fromisoformat(reference) if reference else None,
        torch_device,
        batch,
        None if bias is None else np.asarray(bias, dtype=np.float32),
    )
