"""Regional phenology: seasons that come earlier in one part of the scene than in another.

By default a class has one calendar everywhere, and parcels only jitter around it
(``phenology.TIMING_SD``). Over a real study area the same crop is sown, greens up and is
harvested days to weeks apart from one place to the next (climate, altitude, soils,
farming habits): the reason OSO trains one classifier per eco-climatic region. A
classifier trained on a few labelled patches then meets, elsewhere, crops whose seasons
are shifted from any it saw. ``RegionalShift`` is a smooth random field of such shifts,
in days, over the scene; every object (parcel, road, river, town surface cell) moves all
its seasons by the field's value at its centroid, on top of its own jitter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import map_coordinates

from ml.data.synthetic.scene import smooth_field

MAX_SHIFT_SD = 30.0
"""Days: the largest standard deviation accepted (a month: regions up to four months apart)."""
CORRELATION = 1 / 3
"""Correlation length of the field, as a share of the scene side: a few regions per scene."""
LATTICE = 64
"""The field is drawn on LATTICE + 1 points a side and interpolated: it is smooth at that."""


@dataclass(frozen=True)
class RegionalShift:
    """A smooth field of season shifts over the scene, in days."""

    lattice: np.ndarray
    """(m, m): the shift at every ``step``-th pixel row and column, in days."""
    step: float

    @classmethod
    def draw(cls, rng: np.random.Generator, side: int, sd: float) -> RegionalShift:
        """A field with correlation length ``CORRELATION`` × ``side``, rescaled so that its
        values over the scene have mean 0 and standard deviation ``sd`` exactly."""
        step = side / LATTICE
        ticks = np.arange(LATTICE + 1) * step
        points = np.stack(np.meshgrid(ticks, ticks, indexing="ij"), axis=-1).reshape(-1, 2)
        values = smooth_field(rng, points, CORRELATION * side)
        values = sd * (values - values.mean()) / values.std()
        return cls(values.reshape(LATTICE + 1, LATTICE + 1), step)

    def of_objects(self, ids: np.ndarray, first: int, count: int) -> np.ndarray:
        """(count,) days: the shift at the centroid of each of ids ``first``..``first+count-1``.

        ``ids`` is a (side, side) raster of object ids; an id with no pixel gets 0.
        """
        flat = ids.ravel().astype(np.int64) - first
        inside = np.flatnonzero((flat >= 0) & (flat < count))
        own = flat[inside]
        rows, cols = np.divmod(inside, ids.shape[1])
        pixels = np.bincount(own, minlength=count)
        centroid = [
            np.divide(np.bincount(own, weights=c + 0.5, minlength=count), pixels,
                      out=np.zeros(count), where=pixels > 0) / self.step
            for c in (rows, cols)
        ]  # fmt: skip
        shifts = map_coordinates(self.lattice, centroid, order=1, mode="nearest")
        return np.where(pixels > 0, shifts, 0.0)
