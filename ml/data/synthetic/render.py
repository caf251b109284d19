"""Turn the scene's objects into Sentinel-2 reflectance, one strip of rows at a time.

Per pixel and date: the object's spectrum (``phenology``), moved along the object's
vegetation/background direction by the pixel's own fixed cover offset (within-field
heterogeneity); mixed with the neighbouring object's spectrum at some object edges (the
sensor's point spread makes border pixels mixtures); multiplied by a per-date, per-band
gain (residual atmospheric correction error); plus sensor noise; then clouds (opaque,
bright, semi-transparent at their edges) and shadows (darkened) on top, and optionally the
thin clouds that the mask misses (``MaskOmissions``), which change the reflectance and not
the mask. Only one strip
is in memory at a time, so scene size is bounded by disk, not memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from ml.data.store import CLEAR, CLOUD, SHADOW
from ml.data.synthetic.clouds import CloudField, MaskOmissions
from ml.data.synthetic.phenology import ObjectSpectra
from ml.data.synthetic.spectra import spectrum

# neighbour offsets (rows, cols) of the four mixing directions
DY = np.array([-1, 1, 0, 0])
DX = np.array([0, 0, -1, 1])
MIX_PROBABILITY = 0.7
SCALE = 10000.0  # reflectance to int16 units
SENSOR_NOISE = 0.006  # reflectance, standard deviation per pixel, date and band


def edge_mixing(rng: np.random.Generator, objects: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel: the direction (0..3) of the neighbour it mixes with, or -1, and the weight."""
    side_y, side_x = objects.shape
    direction = rng.integers(0, 4, objects.shape).astype(np.int8)
    padded = np.pad(objects, 1, mode="edge")
    partner = np.empty_like(objects)
    for d in range(4):
        shifted = padded[1 + DY[d] : 1 + DY[d] + side_y, 1 + DX[d] : 1 + DX[d] + side_x]
        np.copyto(partner, shifted, where=direction == d)
    mixed = (partner != objects) & (rng.random(objects.shape) < MIX_PROBABILITY)
    direction[~mixed] = -1
    return direction, rng.uniform(0.15, 0.5, objects.shape).astype(np.float32)


@dataclass
class Renderer:
    """Everything needed to render any strip of the scene, deterministically.

    Spectra are kept band-first and already in int16 units (reflectance x 10000), with
    each date's gains folded in, so a date costs two gathers, a multiply-add, the noise
    and one clip-and-cast per pixel.
    """

    objects: np.ndarray
    mean: np.ndarray  # (T, C, n) object spectra x gain x 10000
    spread: np.ndarray  # (T, C, n)
    clouds: CloudField
    offset: np.ndarray
    mix_direction: np.ndarray
    mix_weight: np.ndarray
    cloud: np.ndarray  # (T, C, 1) cloud spectrum x brightness x 10000
    shadow_factor: np.ndarray
    noise: np.ndarray
    omissions: MaskOmissions | None = None

    @classmethod
    def build(
        cls,
        rng: np.random.Generator,
        objects: np.ndarray,
        spectra: ObjectSpectra,
        clouds: CloudField,
        max_strip_rows: int,
        omissions: MaskOmissions | None = None,
    ) -> Renderer:
        n_dates, _, n_bands = spectra.mean.shape
        white = rng.standard_normal(objects.shape).astype(np.float32)
        offset = 0.06 * white + 0.25 * gaussian_filter(white, 2.0)
        direction, weight = edge_mixing(rng, objects)
        gains = rng.normal(1.0, 0.02, (n_dates, n_bands, 1)).astype(np.float32) * SCALE
        brightness = rng.uniform(0.9, 1.2, (n_dates, 1, 1)).astype(np.float32)
        noise_len = 2 * max_strip_rows * objects.shape[1] * n_bands
        return cls(
            objects=objects,
            mean=np.ascontiguousarray(spectra.mean.transpose(0, 2, 1)) * gains,
            spread=np.ascontiguousarray(spectra.spread.transpose(0, 2, 1)) * gains,
            clouds=clouds,
            offset=offset.astype(np.float32),
            mix_direction=direction,
            mix_weight=weight,
            cloud=spectrum("cloud")[None, :, None] * brightness * SCALE,
            shadow_factor=rng.uniform(0.3, 0.5, n_dates).astype(np.float32),
            noise=rng.standard_normal(noise_len, dtype=np.float32) * (SENSOR_NOISE * SCALE),
            omissions=omissions,
        )

    def strip(self, rng: np.random.Generator, y0: int, y1: int) -> tuple[np.ndarray, np.ndarray]:
        """Series (T, C, h, W) int16 x 10000 and cloud mask (T, h, W) uint8 of rows y0..y1."""
        side_y, width = self.objects.shape
        n_dates, n_bands, _ = self.mean.shape
        h = y1 - y0
        obj = self.objects[y0:y1]
        offset = self.offset[y0:y1]
        rows, cols = np.nonzero(self.mix_direction[y0:y1] >= 0)
        d = self.mix_direction[y0:y1][rows, cols]
        flat = rows * width + cols
        own = obj[rows, cols]
        partner = self.objects[
            np.clip(rows + y0 + DY[d], 0, side_y - 1), np.clip(cols + DX[d], 0, width - 1)
        ]
        weight = self.mix_weight[y0:y1][rows, cols]
        size = n_bands * h * width
        series = np.empty((n_dates, n_bands, h, width), np.int16)
        masks = np.empty((n_dates, h, width), np.uint8)
        for t in range(n_dates):
            mean = self.mean[t]
            x = np.take(mean, obj, axis=1)
            x += offset * np.take(self.spread[t], obj, axis=1)
            x.reshape(n_bands, -1)[:, flat] += weight * (mean[:, partner] - mean[:, own])
            start = int(rng.integers(0, len(self.noise) - size + 1))
            x += self.noise[start : start + size].reshape(n_bands, h, width)
            mask, opacity = self.clouds.strip(t, y0, y1)
            _blend_cloud(x, opacity, self.cloud[t])
            shadow = mask == SHADOW
            if shadow.any():
                x[:, shadow] *= self.shadow_factor[t]
            if self.omissions is not None:
                self._add_omissions(x, mask, t, y0, y1)
            np.clip(x, 0, 20000, out=series[t], casting="unsafe")
            masks[t] = mask
        return series, masks

    def _add_omissions(self, x: np.ndarray, mask: np.ndarray, t: int, y0: int, y1: int) -> None:
        """Blend date ``t``'s thin clouds into ``x`` and unflag its shadows if missed, in place."""
        _blend_cloud(x, self.omissions.thin_opacity(t, y0, y1) * (mask != CLOUD), self.cloud[t])
        if self.omissions.shadow_missed[t]:
            mask[mask == SHADOW] = CLEAR


def _blend_cloud(x: np.ndarray, opacity: np.ndarray, cloud: np.ndarray) -> None:
    """Mix ``cloud`` (C, 1) into ``x`` (C, h, W) by ``opacity`` (h, W), in place, where > 0."""
    covered = opacity > 0
    if covered.any():
        x[:, covered] += opacity[covered] * (cloud - x[:, covered])
