"""Class phenologies tell crops apart the way real ones do, and all bands agree with NDVI."""

from __future__ import annotations

import numpy as np
import pytest

from ml.data.synthetic.phenology import PROFILES, object_ndvi, object_spectra
from ml.data.synthetic.spectra import NIR, RED, spectrum, vegetation_fraction

DOY = np.arange(0, 366, 5)


def _mean_ndvi(code: int, n: int = 200, seed: int = 0) -> np.ndarray:
    ndvi, _ = object_ndvi(np.random.default_rng(seed), np.full(n, code, np.uint8), DOY)
    return ndvi.mean(axis=0)


def _at(curve: np.ndarray, doy: int) -> float:
    return float(curve[np.searchsorted(DOY, doy)])


def test_every_oso_class_has_a_profile() -> None:
    assert sorted(PROFILES) == list(range(1, 24))


def test_summer_crops_alike_in_summer_but_not_in_spring() -> None:
    maize, sunflower, soy = _mean_ndvi(10), _mean_ndvi(9), _mean_ndvi(8)
    july = [_at(c, 200) for c in (maize, sunflower, soy)]
    assert max(july) - min(july) < 0.1 and min(july) > 0.65
    may = [_at(c, 140) for c in (sunflower, maize, soy)]
    assert may[0] - may[1] > 0.1 and may[1] - may[2] > 0.05


def test_winter_crops_are_green_in_spring_and_bare_in_late_summer() -> None:
    for code in (5, 6):
        curve = _mean_ndvi(code)
        assert _at(curve, 110) > 0.65 and _at(curve, 230) < 0.35
    assert _at(_mean_ndvi(10), 110) < 0.35


def test_forest_water_and_urban_levels() -> None:
    conifer, broadleaf = _mean_ndvi(17), _mean_ndvi(16)
    assert conifer.min() > 0.65
    assert _at(broadleaf, 20) < 0.5 < 0.75 < _at(broadleaf, 200)
    assert _mean_ndvi(23).max() < 0 and _mean_ndvi(1).max() < 0.3


def test_parcels_of_one_class_differ_in_timing() -> None:
    ndvi, shift = object_ndvi(np.random.default_rng(1), np.full(100, 10, np.uint8), DOY)
    assert 4 < shift.std() < 10
    assert ndvi[:, np.searchsorted(DOY, 160)].std() > 0.05


@pytest.mark.parametrize("code", [6, 10, 13, 16, 17, 15])
def test_red_and_nir_reproduce_the_ndvi_curve(code: int) -> None:
    classes = np.full(20, code, np.uint8)
    spectra = object_spectra(np.random.default_rng(2), classes, DOY, np.ones(len(DOY), np.float32))
    ndvi, _ = object_ndvi(np.random.default_rng(2), classes, DOY)
    red, nir = spectra.mean[:, :, RED].T, spectra.mean[:, :, NIR].T
    realised = (nir - red) / (nir + red)
    # outside what bare background and full canopy can produce, the curve is clipped
    reachable = (ndvi > 0.2) & (ndvi < 0.85)
    np.testing.assert_allclose(realised[reachable], ndvi[reachable], atol=0.01)
    assert (realised[ndvi <= 0.2] < 0.25).all()
    assert spectra.mean.shape == (len(DOY), 20, 10) and (spectra.mean > 0).all()


def test_rapeseed_flowers_turn_it_yellow_in_april() -> None:
    classes = np.full(50, 5, np.uint8)
    spectra = object_spectra(np.random.default_rng(3), classes, DOY, np.ones(len(DOY), np.float32))
    green = spectra.mean[:, :, 1].mean(axis=1)
    assert _at(green, 105) > 1.3 * _at(green, 75)


def test_vegetation_fraction_inverts_the_linear_mix() -> None:
    veg, soil = spectrum("leaf"), spectrum("soil")
    f = np.linspace(0, 1, 11, dtype=np.float32)
    mix = f[:, None] * veg + (1 - f[:, None]) * soil
    ndvi = (mix[:, NIR] - mix[:, RED]) / (mix[:, NIR] + mix[:, RED])
    np.testing.assert_allclose(vegetation_fraction(ndvi, veg, soil), f, atol=1e-5)
    assert vegetation_fraction(np.array([0.99, -0.9]), veg, soil).tolist() == [1.0, 0.0]
