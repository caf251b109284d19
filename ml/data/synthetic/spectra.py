"""Endmember reflectance spectra for the 10 Sentinel-2 bands (B2 B3 B4 B5 B6 B7 B8 B8A B11 B12).

A pixel's spectrum is a linear mix of a vegetation endmember and a background endmember
(soil, asphalt, roof, water...), the classic linear spectral mixture model (Adams, Smith &
Johnson, J. Geophys. Res. 91(B8), 1986). Values are surface reflectance in [0, 1], shaped
after typical published library spectra (green leaf red edge and NIR plateau, water
absorbing in NIR and SWIR, snow bright in the visible and dark in SWIR).
"""

from __future__ import annotations

import numpy as np

ENDMEMBERS: dict[str, tuple[float, ...]] = {
    "leaf": (0.025, 0.060, 0.025, 0.100, 0.300, 0.390, 0.440, 0.460, 0.210, 0.095),
    "needle": (0.020, 0.045, 0.022, 0.075, 0.190, 0.230, 0.255, 0.265, 0.120, 0.055),
    "soil": (0.070, 0.095, 0.125, 0.140, 0.150, 0.155, 0.160, 0.170, 0.300, 0.260),
    "straw": (0.085, 0.115, 0.150, 0.170, 0.185, 0.195, 0.205, 0.215, 0.340, 0.280),
    "chalk": (0.120, 0.150, 0.180, 0.200, 0.220, 0.230, 0.240, 0.250, 0.330, 0.290),
    "asphalt": (0.055, 0.065, 0.075, 0.080, 0.085, 0.088, 0.090, 0.092, 0.130, 0.120),
    "roof": (0.090, 0.105, 0.125, 0.135, 0.145, 0.150, 0.160, 0.165, 0.200, 0.185),
    "metal_roof": (0.170, 0.190, 0.210, 0.220, 0.230, 0.235, 0.245, 0.250, 0.280, 0.250),
    "rock": (0.110, 0.140, 0.170, 0.180, 0.190, 0.195, 0.200, 0.210, 0.310, 0.270),
    "sand": (0.140, 0.190, 0.240, 0.250, 0.255, 0.258, 0.260, 0.265, 0.390, 0.340),
    "snow": (0.900, 0.880, 0.860, 0.840, 0.820, 0.800, 0.780, 0.760, 0.080, 0.060),
    "water": (0.055, 0.045, 0.030, 0.022, 0.016, 0.013, 0.011, 0.010, 0.005, 0.003),
    "flower": (0.050, 0.180, 0.150, 0.220, 0.300, 0.350, 0.380, 0.400, 0.220, 0.120),
    "cloud": (0.480, 0.470, 0.460, 0.470, 0.480, 0.480, 0.490, 0.490, 0.420, 0.320),
}
RED, NIR = 2, 6  # indices of B4 and B8 in the band order


def spectrum(name: str) -> np.ndarray:
    """One endmember as a float32 vector of 10 reflectances."""
    return np.asarray(ENDMEMBERS[name], dtype=np.float32)


def vegetation_fraction(ndvi: np.ndarray, veg: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Vegetation cover fraction f whose linear mix f*veg + (1-f)*background has this NDVI.

    NDVI(f) = (f*(Vn-Vr) + (1-f)*(Bn-Br)) / (f*(Vn+Vr) + (1-f)*(Bn+Br)) is a Moebius map of
    f, so it inverts in closed form; the target is first clipped to what the two
    endmembers can produce, so f stays in [0, 1]. Arrays broadcast over leading axes,
    the last axis of ``veg`` and ``background`` being the bands.
    """
    vn, vr = veg[..., NIR], veg[..., RED]
    bn, br = background[..., NIR], background[..., RED]
    n_veg, n_bg = (vn - vr) / (vn + vr), (bn - br) / (bn + br)
    lo, hi = np.minimum(n_veg, n_bg), np.maximum(n_veg, n_bg)
    n = np.clip(ndvi, lo, hi)
    a, b, c, d = vn + vr, bn + br, vn - vr, bn - br
    denom = n * (a - b) - (c - d)
    safe = np.where(np.abs(denom) < 1e-9, 1e-9, denom)
    return np.clip((d - n * b) / safe, 0.0, 1.0).astype(np.float32)
