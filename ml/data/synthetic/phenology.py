"""Per-class phenology: NDVI over the year, then reflectance in all 10 bands.

Each OSO class has an NDVI profile made of double-logistic seasons (Beck et al., Remote
Sens. Environ. 100(3), 2006): ``base + sum amp * (sigmoid((t-sos)/up) - sigmoid((t-eos)/down))``
with t the day of year (negative for the previous autumn). Winter crops (rapeseed, straw
cereals) are green from the previous autumn and peak in spring; the summer crops (maize,
sunflower, soy) all peak in July-August and differ by sowing (spring) and senescence
dates; conifers stay green; water stays negative. Rapeseed gets yellow flowering in
April, rice is flooded before emergence, meadows are mown twice.

Every parcel draws its own timing shift (plus, optionally, its region's: ``regions``),
amplitude, background brightness and, for summer crops, an optional winter cover crop.
NDVI is turned into a vegetation fraction and a linear mix of vegetation and background
spectra (``spectra``), so all bands stay physically consistent with the NDVI curve.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ml.data.synthetic.spectra import spectrum, vegetation_fraction


@dataclass(frozen=True)
class Season:
    """One green period: start and end of season (day of year) and amplitude."""

    sos: float
    eos: float
    amp: float
    up: float = 10.0
    down: float = 10.0


@dataclass(frozen=True)
class Profile:
    """How one class looks over the year."""

    base: float
    seasons: tuple[Season, ...]
    background: str
    veg: str = "leaf"
    heterogeneity: float = 1.0
    mowing: bool = False
    flowering: float | None = None
    flood: tuple[float, float] | None = None
    cover_crop: bool = False


def _s(*args: float) -> Season:
    return Season(*args)


PROFILES: dict[int, Profile] = {
    1: Profile(0.14, (_s(100, 290, 0.06, 15, 15),), "roof", heterogeneity=2.5),
    2: Profile(0.30, (_s(95, 295, 0.15, 15, 15),), "roof", heterogeneity=2.5),
    3: Profile(0.07, (), "metal_roof", heterogeneity=2.0),
    4: Profile(0.10, (), "asphalt", heterogeneity=1.0),
    5: Profile(
        0.18,
        (_s(-70, 168, 0.42, 15, 8), _s(45, 168, 0.25, 10, 8), _s(245, 420, 0.45, 12, 10)),
        "soil",
        flowering=105,
    ),
    6: Profile(
        0.17,
        (_s(-35, 175, 0.22, 12, 9), _s(75, 175, 0.46, 10, 9), _s(315, 480, 0.18, 12, 10)),
        "straw",
    ),
    7: Profile(0.16, (_s(85, 175, 0.60, 9, 8),), "soil", cover_crop=True),
    8: Profile(0.16, (_s(165, 255, 0.66, 9, 10),), "soil", cover_crop=True),
    9: Profile(0.16, (_s(135, 220, 0.64, 9, 9),), "soil", cover_crop=True),
    10: Profile(0.16, (_s(150, 262, 0.68, 10, 12),), "straw", cover_crop=True),
    11: Profile(0.14, (_s(165, 270, 0.66, 9, 10),), "soil", flood=(115, 172)),
    12: Profile(0.16, (_s(125, 235, 0.64, 9, 10),), "soil", cover_crop=True),
    13: Profile(0.40, (_s(50, 320, 0.40, 15, 20),), "soil", mowing=True),
    14: Profile(0.42, (_s(95, 300, 0.33, 10, 15),), "soil", heterogeneity=1.5),
    15: Profile(0.22, (_s(125, 285, 0.33, 10, 12),), "chalk", heterogeneity=1.5),
    16: Profile(0.38, (_s(105, 300, 0.47, 8, 12),), "soil", heterogeneity=1.2),
    17: Profile(0.74, (_s(110, 280, 0.07, 20, 20),), "soil", veg="needle", heterogeneity=1.2),
    18: Profile(0.28, (_s(65, 185, 0.37, 12, 14), _s(275, 400, 0.10, 15, 15)), "soil"),
    19: Profile(0.45, (_s(95, 270, 0.22, 15, 15),), "rock", heterogeneity=1.5),
    20: Profile(0.08, (), "rock", heterogeneity=1.5),
    21: Profile(0.03, (), "sand"),
    22: Profile(-0.05, (), "snow", heterogeneity=0.3),
    23: Profile(-0.35, (_s(130, 250, 0.08, 15, 15),), "water", heterogeneity=0.3),
}
TIMING_SD = 7.0  # days of per-parcel shift of every season


@dataclass
class ObjectSpectra:
    """Per object and date: mean reflectance and the direction of within-object variation.

    ``mean`` is (T, n, C): the object's spectrum. ``spread`` is (T, n, C): how a pixel's
    spectrum moves per unit of its own vegetation-fraction offset (veg - background,
    largest at half cover, scaled by the class heterogeneity).
    """

    mean: np.ndarray
    spread: np.ndarray
    ndvi: np.ndarray

    def joined(self, other: ObjectSpectra) -> ObjectSpectra:
        """These objects followed by ``other``'s, whose ids shift by this one's object count."""
        return ObjectSpectra(
            mean=np.concatenate([self.mean, other.mean], axis=1),
            spread=np.concatenate([self.spread, other.spread], axis=1),
            ndvi=np.concatenate([self.ndvi, other.ndvi], axis=0),
        )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


def object_ndvi(
    rng: np.random.Generator,
    classes: np.ndarray,
    doy: np.ndarray,
    profiles: Mapping[int, Profile] = PROFILES,
    regional_shift: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """NDVI (n, T) of every object, and its timing shift (n,): its own draw plus, when given,
    its region's (``regional_shift``, (n,) days; ``regions``)."""
    n = len(classes)
    t = doy[None, :].astype(np.float64)
    shift = rng.normal(0.0, TIMING_SD, n)[:, None]
    if regional_shift is not None:
        shift = shift + regional_shift[:, None]
    amp_scale = rng.uniform(0.85, 1.05, n)[:, None]
    base_offset = rng.normal(0.0, 0.025, n)[:, None]
    cover = rng.random(n) < 0.3
    cuts = np.sort(rng.normal([140.0, 205.0], [10.0, 15.0], (n, 2)), axis=1)
    ndvi = np.zeros((n, len(doy)))
    for code in np.unique(classes):
        profile = profiles[int(code)]
        idx = np.flatnonzero(classes == code)
        ts = t - shift[idx]
        value = np.full((len(idx), len(doy)), profile.base) + base_offset[idx]
        for s in profile.seasons:
            bump = _sigmoid((ts - s.sos) / s.up) - _sigmoid((ts - s.eos) / s.down)
            value += s.amp * amp_scale[idx] * bump
        if profile.cover_crop:
            bump = _sigmoid((ts + 60) / 12) - _sigmoid((ts - 80) / 8)
            value += 0.25 * cover[idx, None] * bump
        if profile.mowing:
            for k in range(2):
                since = ts - cuts[idx, k : k + 1]
                value -= np.where(since >= 0, 0.3 * np.exp(-np.maximum(since, 0) / 18.0), 0.0)
        ndvi[idx] = value
    return ndvi.astype(np.float32), shift[:, 0]


def object_spectra(
    rng: np.random.Generator,
    classes: np.ndarray,
    doy: np.ndarray,
    soil_moisture: np.ndarray,
    profiles: Mapping[int, Profile] = PROFILES,
    regional_shift: np.ndarray | None = None,
) -> ObjectSpectra:
    """Reflectance of every object on every date from its class profile and its own draws.

    ``soil_moisture`` (T,) scales the background per date (wet soil is darker);
    ``profiles`` maps the codes in ``classes`` to their look (the classes' by default);
    ``regional_shift`` (n,) moves each object's seasons by its region's days.
    """
    n, n_dates = len(classes), len(doy)
    ndvi, shift = object_ndvi(rng, classes, doy, profiles, regional_shift)
    gain = rng.uniform(0.85, 1.15, n).astype(np.float32)
    veg = np.empty((n, 10), np.float32)
    background = np.empty((n, n_dates, 10), np.float32)
    hetero = np.empty(n, np.float32)
    flowers = np.zeros((n, n_dates), np.float32)
    t = doy[None, :].astype(np.float32)
    for code in np.unique(classes):
        profile = profiles[int(code)]
        idx = np.flatnonzero(classes == code)
        veg[idx] = spectrum(profile.veg)
        bg = spectrum(profile.background)[None, None, :] * gain[idx, None, None]
        bg = bg * soil_moisture[None, :, None]
        if profile.flood is not None:
            ts = t - shift[idx, None]
            wet = _sigmoid((ts - profile.flood[0]) / 3) - _sigmoid((ts - profile.flood[1]) / 3)
            bg = bg * (1 - wet[..., None]) + spectrum("water") * wet[..., None]
        background[idx] = bg
        hetero[idx] = profile.heterogeneity
        if profile.flowering is not None:
            ts = t - shift[idx, None]
            flowers[idx] = 0.45 * np.exp(-(((ts - profile.flowering) / 9.0) ** 2))
    f = vegetation_fraction(ndvi, veg[:, None, :], background)
    mean = f[..., None] * veg[:, None, :] + (1 - f[..., None]) * background
    mean = (1 - flowers[..., None]) * mean + flowers[..., None] * spectrum("flower")
    damp = (4 * f * (1 - f) + 0.25) * hetero[:, None]
    spread = (veg[:, None, :] - background) * damp[..., None]
    return ObjectSpectra(
        mean=np.ascontiguousarray(mean.transpose(1, 0, 2), dtype=np.float32),
        spread=np.ascontiguousarray(spread.transpose(1, 0, 2), dtype=np.float32),
        ndvi=ndvi,
    )
