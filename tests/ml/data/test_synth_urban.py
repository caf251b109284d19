"""Towns as mosaics of surfaces: class shares as CORINE defines them, labels untouched."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from ml.data.synthetic.phenology import object_spectra
from ml.data.synthetic.scene import PARCEL, Scene, build_scene, jittered_grid, voronoi_cells
from ml.data.synthetic.urban import CELL, mosaic_towns

DOY = np.arange(5, 366, 12)
JULY = int(np.searchsorted(DOY, 190))


@pytest.fixture(scope="module")
def town() -> tuple[Scene, np.ndarray, np.ndarray]:
    """A 256-pixel scene (one town), its surfaces and each surface's NDVI over the year."""
    scene = build_scene(np.random.default_rng(5), 256)
    moisture = np.ones(len(DOY), np.float32)
    spectra = object_spectra(np.random.default_rng(6), scene.classes, DOY, moisture)
    surfaces, joined = mosaic_towns(np.random.default_rng(7), scene, spectra, DOY, moisture)
    assert joined.mean.shape[1] == joined.ndvi.shape[0] == surfaces.max() + 1
    np.testing.assert_array_equal(joined.mean[:, : len(scene.classes)], spectra.mean)
    return scene, surfaces, joined.ndvi


def _town_pixels(scene: Scene, code: int) -> np.ndarray:
    return (scene.kinds[scene.objects] == PARCEL) & (scene.reference == code)


def test_only_town_parcels_are_split_and_no_surface_crosses_a_parcel(
    town: tuple[Scene, np.ndarray, np.ndarray],
) -> None:
    scene, surfaces, _ = town
    in_town = np.isin(scene.reference, [1, 2, 3]) & (scene.kinds[scene.objects] == PARCEL)
    assert in_town.sum() > 2000, "the scene has a town to split"
    np.testing.assert_array_equal(surfaces[~in_town], scene.objects[~in_town])
    assert (surfaces[in_town] >= len(scene.classes)).all()
    ids, first = np.unique(surfaces[in_town], return_index=True)
    parcel_of = dict(zip(ids, scene.objects[in_town][first], strict=True))
    parents = np.vectorize(parcel_of.get)(surfaces[in_town])
    np.testing.assert_array_equal(parents, scene.objects[in_town])
    size = {}
    for code in CELL:
        pixels = _town_pixels(scene, code)
        assert pixels.sum() > 100, f"class {code} is in the town"
        size[code] = pixels.sum() / len(np.unique(surfaces[pixels]))
    # cells of CELL px, cut by the parcels' edges: a few pixels each, larger in industry
    assert 3 < size[1] < CELL[1] ** 2 and 3 < size[2] < CELL[2] ** 2, size
    assert size[3] > 1.5 * size[2], size


def test_sealed_share_follows_each_class_definition(
    town: tuple[Scene, np.ndarray, np.ndarray],
) -> None:
    """Roofs and paving stay bare all year; their pixel share sets the class (CORINE)."""
    scene, surfaces, ndvi = town
    sealed = ndvi.max(axis=1) < 0.2
    share = {code: sealed[surfaces[_town_pixels(scene, code)]].mean() for code in (1, 2, 3)}
    # drawn per cell, so one small town lands within some points of the 90 % and 45 % shares
    assert min(share[1], share[3]) > 0.75 and 0.3 < share[2] < 0.6, share
    lawn_or_tree = ~sealed[surfaces[_town_pixels(scene, 2)]]
    assert (ndvi[surfaces[_town_pixels(scene, 2)][lawn_or_tree], JULY] > 0.5).mean() > 0.8


def test_a_pixel_no_longer_names_its_town_class(
    town: tuple[Scene, np.ndarray, np.ndarray],
) -> None:
    """One July NDVI threshold splits dense from diffuse urban parcels, not mosaic pixels."""
    scene, surfaces, ndvi = town

    def separable(looks: np.ndarray) -> float:
        dense, diffuse = looks[_town_pixels(scene, 1)], looks[_town_pixels(scene, 2)]
        cut = (np.median(dense) + np.median(diffuse)) / 2
        return ((dense < cut).mean() + (diffuse >= cut).mean()) / 2

    assert separable(ndvi[scene.objects, JULY]) > 0.95
    assert separable(ndvi[surfaces, JULY]) < 0.8


@pytest.mark.parametrize("spacing", sorted(set(CELL.values())))
def test_surface_cells_are_the_exact_voronoi_cells(spacing: float) -> None:
    """The blocked nearest-seed search finds every pixel's true nearest seed at 3 and 5 px."""
    seeds = jittered_grid(np.random.default_rng(1), 96, spacing)
    cells = voronoi_cells(seeds, 96, block=4, k=16)
    rows, cols = np.mgrid[0:96, 0:96] + 0.5
    _, nearest = cKDTree(seeds).query(np.column_stack([rows.ravel(), cols.ravel()]))
    np.testing.assert_array_equal(cells.ravel(), nearest)
