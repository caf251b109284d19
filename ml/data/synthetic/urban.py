"""Towns as 10 m pixels see them: a mosaic of roofs, streets, gardens and trees.

By default each town parcel has one look (dense urban a roof with a little green, diffuse
urban a greener roof), so a single pixel's spectrum names its class. Real urban classes
are defined by layout instead: CORINE's continuous urban fabric is over 80 % sealed
surface, discontinuous urban fabric 30 to 80 % with gardens and trees between the
houses, industrial and commercial units large roofs and car parks. At 10 m a pixel of a
town is a roof, a street, a lawn or a tree, or a mix of two, whichever class the block
belongs to; a lawn in a suburb looks like a meadow, a roof in a suburb like a roof in
the centre. ``mosaic_towns`` splits every town parcel into such surfaces (cells of 30 m,
50 m in industrial zones) whose shares depend on the class, so that the class can only
be read from a pixel's neighbourhood, the way OSO's pixel classifier finds it hard.
Labels, parcels and everything outside towns are left as they were.
"""

from __future__ import annotations

import numpy as np

from ml.data.synthetic.phenology import ObjectSpectra, Profile, Season, object_spectra
from ml.data.synthetic.regions import RegionalShift
from ml.data.synthetic.scene import PARCEL, Scene, jittered_grid, voronoi_cells

SURFACES: dict[int, Profile] = {
    0: Profile(0.08, (), "roof", heterogeneity=1.5),  # house or building roof
    1: Profile(0.05, (), "metal_roof"),  # warehouse, shop or factory roof
    2: Profile(0.08, (), "asphalt"),  # street, yard, car park
    3: Profile(0.40, (Season(60, 300, 0.30, 15, 20),), "soil", mowing=True),  # lawn
    4: Profile(0.38, (Season(105, 300, 0.47, 8, 12),), "soil", heterogeneity=1.2),  # tree
}
# per town class: share of each surface (roof, large roof, paved, lawn, tree)
SURFACE_SHARES: dict[int, tuple[float, ...]] = {
    1: (0.55, 0.05, 0.30, 0.03, 0.07),  # continuous urban fabric: 90 % sealed
    2: (0.30, 0.00, 0.15, 0.35, 0.20),  # discontinuous urban fabric: 45 % sealed
    3: (0.15, 0.45, 0.32, 0.05, 0.03),  # industrial and commercial units: 92 % sealed
}
CELL = {1: 3.0, 2: 3.0, 3: 5.0}  # px between surface cell centres, per town class


def mosaic_towns(
    rng: np.random.Generator,
    scene: Scene,
    spectra: ObjectSpectra,
    doy: np.ndarray,
    soil_moisture: np.ndarray,
    regional: RegionalShift | None = None,
) -> tuple[np.ndarray, ObjectSpectra]:
    """Per pixel, the id of the surface it shows, and the spectra of every id.

    Ids below ``len(scene.classes)`` are the scene's own objects with ``spectra``; town
    parcels are replaced by new ids, one per surface cell, appended after them. With
    ``regional``, lawns and trees keep their town's season shift as the parcels around do.
    """
    side = scene.objects.shape[0]
    town_object = (scene.kinds == PARCEL) & np.isin(scene.classes, list(SURFACE_SHARES))
    in_town = town_object[scene.objects]
    pixel_class = scene.classes[scene.objects]
    cells = np.zeros(scene.objects.shape, np.int64)
    n_cells = 0
    for spacing in sorted(set(CELL.values())):
        seeds = jittered_grid(rng, side, spacing)
        grid = voronoi_cells(seeds, side, block=4, k=16)
        here = np.isin(pixel_class, [c for c, s in CELL.items() if s == spacing])
        cells[here] = grid[here] + n_cells
        n_cells += len(seeds)
    key = scene.objects[in_town].astype(np.int64) * n_cells + cells[in_town]
    keys, surface = np.unique(key, return_inverse=True)
    parent_class = scene.classes[keys // n_cells]
    looks = np.zeros(len(keys), np.uint8)
    for code, shares in SURFACE_SHARES.items():
        idx = np.flatnonzero(parent_class == code)
        looks[idx] = rng.choice(len(shares), len(idx), p=shares)
    surfaces = scene.objects.copy()
    surfaces[in_town] = len(scene.classes) + surface.astype(np.int32)
    shifts = regional.of_objects(surfaces, len(scene.classes), len(keys)) if regional else None
    town = object_spectra(rng, looks, doy, soil_moisture, SURFACES, shifts)
    return surfaces, spectra.joined(town)
