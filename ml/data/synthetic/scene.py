"""The ground truth of a synthetic scene: parcels, towns, roads, water and forest.

Parcels are Voronoi cells of jittered seeds (irregular convex polygons, rasterised),
smaller inside towns. Each cell gets an OSO 2018 class from where it lies: dense urban at
a town's core, diffuse urban around it, an industrial zone at its edge; forest, natural
grassland and moorland where a smooth random field is high (so woods are contiguous);
gravel-pit lakes where another field peaks; crops, meadows, orchards and vineyards
elsewhere, in proportions close to the Toulouse plain. Roads and a meandering river are
buffered polylines burnt over the cells, with riparian woodland along the river.
Every pixel belongs to exactly one object (cell, road or river).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from affine import Affine
from rasterio.features import rasterize
from scipy.spatial import cKDTree
from shapely.geometry import LineString

PARCEL, ROAD, RIVER = 0, 1, 2
SPACING = 16.0  # px between parcel seeds: ~2.5 ha fields at 10 m
CROP_MIX = {6: 22, 13: 18, 10: 12, 9: 10, 5: 6, 8: 5, 7: 4, 15: 4, 14: 3, 12: 2, 11: 0.5}


@dataclass
class Scene:
    """Object id per pixel and, per object, its true class and kind (parcel/road/river)."""

    objects: np.ndarray
    classes: np.ndarray
    kinds: np.ndarray

    @property
    def reference(self) -> np.ndarray:
        """The clean label raster (H, W) uint8."""
        return self.classes[self.objects]


@dataclass
class _Town:
    y: float
    x: float
    core: float
    radius: float
    iy: float
    ix: float
    industry: float


def smooth_field(
    rng: np.random.Generator, points: np.ndarray, scale: float, waves: int = 32
) -> np.ndarray:
    """A stationary Gaussian random field at (y, x) points, correlation length ~``scale`` px.

    Random Fourier features (Rahimi & Recht, NIPS 2007) give a smooth field at arbitrary
    points without building a grid.
    """
    freq = rng.normal(0.0, 1.0 / scale, (waves, 2))
    phase = rng.uniform(0, 2 * np.pi, waves)
    return np.sqrt(2.0 / waves) * np.cos(points @ freq.T + phase).sum(axis=1)


def build_scene(rng: np.random.Generator, side: int) -> Scene:
    """Draw a scene of ``side`` x ``side`` pixels."""
    towns = _towns(rng, side)
    seeds = _seeds(rng, side, towns)
    cells = voronoi_cells(seeds, side)
    classes = _cell_classes(rng, seeds, towns)

    lines: list[tuple[LineString, float, int, int]] = []
    if rng.random() < 0.75:
        river = _river(rng, side)
        half_width = rng.uniform(1.5, 3.0)
        lines.append((river, half_width, 23, RIVER))
        near = _burn([(river.buffer(half_width + 3), 1)], side).astype(bool)
        riparian = np.unique(cells[near])
        riparian = riparian[(classes[riparian] >= 5) & (rng.random(len(riparian)) < 0.4)]
        classes[riparian] = 16
    lines.extend(_roads(rng, side, towns))
    burnt = _burn([(line.buffer(w), k + 1) for k, (line, w, _, _) in enumerate(lines)], side)
    objects = np.where(burnt > 0, burnt - 1 + len(seeds), cells).astype(np.int32)
    classes = np.concatenate([classes, np.array([c for _, _, c, _ in lines], np.uint8)])
    kinds = np.concatenate(
        [np.full(len(seeds), PARCEL, np.uint8), np.array([k for *_, k in lines], np.uint8)]
    )
    return Scene(objects=objects, classes=classes, kinds=kinds)


def voronoi_cells(seeds: np.ndarray, side: int, block: int = 16, k: int = 12) -> np.ndarray:
    """Index of the nearest seed for every pixel centre (the rasterised Voronoi diagram).

    Pixels are handled by ``block`` x ``block`` blocks: only the ``k`` seeds nearest to a
    block's centre are candidates, which on a jittered grid contains the true nearest seed
    when the block is at most a few seed spacings wide (16 px and 12 seeds for parcels 16 px
    apart, 4 px and 16 seeds for the towns' 3 px surface cells).
    """
    nb = -(-side // block)
    corners = np.stack(np.mgrid[0:nb, 0:nb], -1).reshape(-1, 2).astype(np.float32) * block
    _, cand = cKDTree(seeds).query(corners + block / 2, k=min(k, len(seeds)))
    cand = cand.reshape(len(corners), -1)
    off = np.arange(block, dtype=np.float32) + 0.5
    local = np.stack(np.meshgrid(off, off, indexing="ij"), -1).reshape(-1, 2)
    seeds32 = seeds.astype(np.float32)
    nearest = np.empty((len(corners), block * block), np.int32)
    for lo in range(0, len(corners), 2048):
        hi = min(lo + 2048, len(corners))
        cs = seeds32[cand[lo:hi]] - corners[lo:hi, None, :]  # candidates, block-relative
        # argmin_k |p - s_k|^2 = argmin_k (|s_k|^2 - 2 p.s_k): one batched matmul per chunk
        score = (cs**2).sum(-1)[:, None, :] - 2 * np.matmul(local[None], cs.transpose(0, 2, 1))
        nearest[lo:hi] = np.take_along_axis(cand[lo:hi], score.argmin(axis=2), axis=1)
    image = (
        nearest.reshape(nb, nb, block, block).transpose(0, 2, 1, 3).reshape(nb * block, nb * block)
    )
    return np.ascontiguousarray(image[:side, :side])


def jittered_grid(rng: np.random.Generator, side: int, spacing: float) -> np.ndarray:
    """(y, x) points of a square grid one cell beyond the scene, each moved up to 0.45 cell."""
    n = int(np.ceil(side / spacing)) + 2
    gy, gx = np.mgrid[-1 : n - 1, -1 : n - 1]
    grid = (np.column_stack([gy.ravel(), gx.ravel()]) + 0.5) * spacing
    return grid + rng.uniform(-0.45, 0.45, grid.shape) * spacing


def _towns(rng: np.random.Generator, side: int) -> list[_Town]:
    towns = []
    for _ in range(max(1, round(side * side / 250.0**2))):
        core = rng.uniform(5, 15)
        radius = min(core + rng.uniform(12, 35), side / 4)
        y, x = rng.uniform(0.15 * side, 0.85 * side, 2)
        angle = rng.uniform(0, 2 * np.pi)
        industry = rng.uniform(5, 10)
        towns.append(
            _Town(
                y,
                x,
                core,
                radius,
                y + (radius + 3) * np.sin(angle),
                x + (radius + 3) * np.cos(angle),
                industry,
            )
        )
    return towns


def _seeds(rng: np.random.Generator, side: int, towns: list[_Town]) -> np.ndarray:
    grid = jittered_grid(rng, side, SPACING)
    grid = grid[rng.random(len(grid)) > 0.25]
    dense = []
    for t in towns:
        reach = t.radius + 2 * t.industry + 3
        k = int(np.ceil(2 * reach / 7.0))
        local = (np.column_stack(np.divmod(np.arange(k * k), k)) - k / 2 + 0.5) * 7.0
        local = local + rng.uniform(-2.5, 2.5, local.shape)
        dense.append(local + (t.y, t.x))
    seeds = np.vstack([grid, *dense]) if dense else grid
    town_dist = _town_reach(seeds, towns)
    keep = np.where(np.arange(len(seeds)) < len(grid), town_dist > 1.0, town_dist <= 1.2)
    seeds = seeds[keep]
    inside = (seeds > -SPACING).all(axis=1) & (seeds < side + SPACING).all(axis=1)
    return seeds[inside]


def _town_reach(points: np.ndarray, towns: list[_Town]) -> np.ndarray:
    """Distance to the nearest town or industrial zone, in units of its radius."""
    d = np.full(len(points), np.inf)
    for t in towns:
        d = np.minimum(d, np.hypot(points[:, 0] - t.y, points[:, 1] - t.x) / t.radius)
        d = np.minimum(d, np.hypot(points[:, 0] - t.iy, points[:, 1] - t.ix) / t.industry)
    return d


def _cell_classes(rng: np.random.Generator, seeds: np.ndarray, towns: list[_Town]) -> np.ndarray:
    n = len(seeds)
    codes = np.array(list(CROP_MIX), np.uint8)
    weights = np.array(list(CROP_MIX.values()), float)
    classes = rng.choice(codes, n, p=weights / weights.sum()).astype(np.uint8)

    forest = _rank(smooth_field(rng, seeds, 90.0))
    conifer = _rank(smooth_field(rng, seeds, 60.0)) > 0.6
    lake = _rank(smooth_field(rng, seeds, 40.0))
    natural = rng.choice(np.array([18, 19, 20], np.uint8), n, p=[0.55, 0.4, 0.05])
    classes = np.where((forest > 0.73) & (forest <= 0.80), natural, classes)
    classes = np.where(forest > 0.80, np.where(conifer, 17, 16), classes).astype(np.uint8)
    classes[lake > 0.985] = 23
    beach = (lake > 0.98) & (lake <= 0.985)
    classes[beach] = np.where(rng.random(beach.sum()) < 0.5, 21, 13)

    for t in towns:
        d = np.hypot(seeds[:, 0] - t.y, seeds[:, 1] - t.x)
        ring = (d >= t.core) & (d < t.radius)
        classes[ring] = np.where(
            (d[ring] > (t.core + t.radius) / 2) & (rng.random(ring.sum()) < 0.1), 3, 2
        )
        classes[d < t.core] = 1
        classes[np.hypot(seeds[:, 0] - t.iy, seeds[:, 1] - t.ix) < t.industry] = 3
    return classes


def _rank(values: np.ndarray) -> np.ndarray:
    """Empirical quantile of each value in (0, 1]; thresholds become area shares."""
    order = np.argsort(values, kind="stable")
    rank = np.empty(len(values))
    rank[order] = np.arange(1, len(values) + 1) / len(values)
    return rank


def _polyline(rng: np.random.Generator, side: int, step: float, wiggle: float) -> LineString:
    """A line entering on one edge and leaving across the scene, with a random-walk heading."""
    horizontal = rng.random() < 0.5
    start = rng.uniform(0.1 * side, 0.9 * side)
    heading = rng.normal(0.0, 0.3)
    u, v, points = -step, start, []
    while u < side + step:
        points.append((u, v))
        heading = np.clip(heading + rng.normal(0.0, wiggle), -0.8, 0.8)
        u += step * np.cos(heading)
        v += step * np.sin(heading)
    points.append((u, v))
    return LineString([(a, b) if horizontal else (b, a) for a, b in points])


def _river(rng: np.random.Generator, side: int) -> LineString:
    """A meandering river: a sine of random wavelength plus a slow random drift."""
    u = np.arange(-10.0, side + 10.0, 4.0)
    amplitude, wavelength = rng.uniform(8, 30), rng.uniform(120, 360)
    v = rng.uniform(0.2, 0.8) * side + np.cumsum(rng.normal(0.0, 0.6, len(u)))
    v = v + amplitude * np.sin(2 * np.pi * u / wavelength + rng.uniform(0, 2 * np.pi))
    return LineString(np.column_stack([u, v] if rng.random() < 0.5 else [v, u]))


def _roads(
    rng: np.random.Generator, side: int, towns: list[_Town]
) -> list[tuple[LineString, float, int, int]]:
    roads = [(_polyline(rng, side, 40.0, 0.12), 0.9, 4, ROAD) for _ in range(1 + side // 400)]
    for t in towns:
        for angle in rng.uniform(0, np.pi, 3):
            dy, dx = t.radius * np.sin(angle), t.radius * np.cos(angle)
            line = LineString([(t.x - dx, t.y - dy), (t.x + dx, t.y + dy)])
            roads.append((line, 0.6, 4, ROAD))
    return roads


def _burn(shapes: list[tuple[Any, int]], side: int) -> np.ndarray:
    """Rasterise (geometry in x=col, y=row, value) pairs; later shapes win; 0 where none."""
    return rasterize(
        shapes, out_shape=(side, side), transform=Affine.identity(), fill=0, dtype="int32"
    )
