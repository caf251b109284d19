"""`generate`: a synthetic OSO benchmark in the GeoTIFF layout, deterministic per seed.

The scene is a square of ceil(sqrt(n_patches)) x ceil(sqrt(n_patches)) patches in UTM
31N (EPSG:32631) west of Toulouse; the first ``n_patches`` patches in row-major order are
written as patches, the whole square as scene files. Each stage draws from its own
child of the seed (numpy SeedSequence), so changing e.g. the noise rate leaves the
scene, the images and the clouds unchanged.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from affine import Affine
from threadpoolctl import threadpool_limits

from ml.data.splits import spatial_split
from ml.data.synthetic.checks import check_within
from ml.data.synthetic.clouds import CloudField, MaskOmissions, date_covers
from ml.data.synthetic.noise import apply_label_noise
from ml.data.synthetic.orbits import orbit_calendars
from ml.data.synthetic.phenology import object_spectra
from ml.data.synthetic.realism import Realism
from ml.data.synthetic.records import CRS, NOMENCLATURE, manifest, noise_truth, patch_pixels
from ml.data.synthetic.regions import RegionalShift
from ml.data.synthetic.register import apply_stale_register
from ml.data.synthetic.render import Renderer
from ml.data.synthetic.scene import build_scene
from ml.data.synthetic.urban import mosaic_towns
from ml.data.synthetic.writer import (
    DatasetWriter,
    PatchGrid,
    write_json,
    write_labels,
    write_parcels,
)
from ml.nomenclature import builtin

ORIGIN = (360000.0, 4830000.0)  # upper-left corner, metres (west of Toulouse)
PIXEL = 10.0
MAX_DATES = 351  # distinct days of any year, leaving a margin at both ends


@dataclass
class SynthSummary:
    """What was generated, with the measured statistics the tests and the CLI report."""

    out_dir: Path
    name: str
    n_patches: int
    patch_size: int
    side: int
    dates: list[date]
    class_pixels: dict[int, int]
    cloud_fraction: float
    shadow_fraction: float
    n_parcels: int
    altered_class: int
    altered_boundary: int
    altered_stale: int
    seconds: float
    splits: dict[str, int] = field(default_factory=dict)


def acquisition_dates(rng: np.random.Generator, n_dates: int, year: int) -> list[date]:
    """``n_dates`` distinct, sorted dates of ``year`` with irregular gaps.

    Gaps are drawn in 3..15 days, then stretched or shrunk so the series spans the whole
    year (a cloud-filtered Sentinel-2 series is irregular but covers the seasons).
    """
    first = date(year, 1, 1)
    days = (date(year + 1, 1, 1) - first).days
    check_within("n_dates", n_dates, 2, days - 14)
    start = int(rng.integers(0, 8))
    span = days - 1 - start - int(rng.integers(0, 8))
    gaps = rng.integers(3, 16, n_dates - 1).astype(float)
    offsets = np.round(np.cumsum(gaps) * span / gaps.sum()).astype(int)
    offsets = np.concatenate([[0], offsets])
    for i in range(1, n_dates):  # rounding may merge two dates: keep them strictly apart
        offsets[i] = max(offsets[i], offsets[i - 1] + 1)
    for i in range(n_dates - 2, -1, -1):
        offsets[i] = min(offsets[i], offsets[i + 1] - 1)
    return [first + timedelta(days=int(start + o)) for o in offsets]


def generate(
    out_dir: Path,
    *,
    n_patches: int,
    patch_size: int = 64,
    n_dates: int = 30,
    seed: int = 0,
    noise_rate: float = 0.05,
    cloud_fraction: float = 0.2,
    missed_clouds: float = 0.0,
    urban_mosaic: bool = False,
    orbits: int = 1,
    phenology_shift: float = 0.0,
    stale_register: float = 0.0,
    year: int = 2024,
    progress: Callable[[int, int], None] | None = None,
) -> SynthSummary:
    """Generate a synthetic OSO benchmark into ``out_dir`` (GeoTIFF layout, docs/data-format.md).

    Arguments are checked first; the dataset is built in a temporary sibling folder and
    moved into place at the end, so a failure leaves nothing behind. ``out_dir`` must
    not exist or be empty. ``progress(done, total)`` is called as patches are written.
    ``missed_clouds`` (0..0.5) is the share of contamination the cloud masks let through,
    as operational masks do (thin clouds, some dates' shadows; ``clouds.MaskOmissions``);
    0, the default, gives exact masks and leaves every other byte as it was.
    ``urban_mosaic`` renders towns as mosaics of roofs, streets, lawns and trees whose
    shares tell the classes apart (``urban``), rather than one look per class; off by
    default, and when on only town pixels change.
    ``orbits`` (1..4) cuts the scene into that many swaths, each acquired on its own
    calendar of ``n_dates`` dates; patches where two swaths overlap get both calendars
    (``synthetic.orbits``). 1, the default, gives every patch the same dates.
    ``phenology_shift`` (0..30 days) is the standard deviation over the scene of a smooth
    field of regional season shifts (``regions``): crops green up and are harvested earlier
    in one part of the scene than in another. 0, the default, leaves every byte as it was.
    ``stale_register`` (0..1) is the share of the scene, one smooth region, whose crop
    labels come from last year's parcel register (``register``): systematic label errors
    that follow crop rotations. 0, the default, leaves every byte as it was.
    """
    out_dir = Path(out_dir)
    _check_arguments(out_dir, n_patches, patch_size, n_dates, noise_rate, cloud_fraction)
    realism = Realism(
        missed_clouds=missed_clouds,
        urban_mosaic=urban_mosaic,
        orbits=orbits,
        phenology_shift=phenology_shift,
        stale_register=stale_register,
    )
    # the cloud fields are many small matrix products: threaded BLAS only adds overhead
    with threadpool_limits(limits=1, user_api="blas"):
        return _generate(
            out_dir,
            n_patches,
            patch_size,
            n_dates,
            seed,
            noise_rate,
            cloud_fraction,
            realism,
            year,
            progress,
        )


def _generate(
    out_dir: Path,
    n_patches: int,
    patch_size: int,
    n_dates: int,
    seed: int,
    noise_rate: float,
    cloud_fraction: float,
    realism: Realism,
    year: int,
    progress: Callable[[int, int], None] | None,
) -> SynthSummary:
    started = time.perf_counter()
    # children are indexed: a stream added at the end leaves the others' draws as they were
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(12)]
    rng_scene, rng_dates, rng_pheno, rng_clouds, rng_noise, rng_render, rng_strips = streams[:7]
    grid = math.ceil(math.sqrt(n_patches))
    side = grid * patch_size
    scene = build_scene(rng_scene, side)
    calendars = orbit_calendars(
        [rng_dates, *streams[9].spawn(realism.orbits - 1)],
        lambda rng: acquisition_dates(rng, n_dates, year),
        grid,
    )
    dates = calendars.dates
    doy = np.array([(d - date(year, 1, 1)).days for d in dates])
    moisture = rng_pheno.uniform(0.85, 1.05, len(dates)).astype(np.float32)
    shift = realism.phenology_shift
    regional = RegionalShift.draw(streams[10], side, shift) if shift else None
    shifts = regional.of_objects(scene.objects, 0, len(scene.classes)) if regional else None
    spectra = object_spectra(rng_pheno, scene.classes, doy, moisture, regional_shift=shifts)
    surfaces = scene.objects
    if realism.urban_mosaic:
        surfaces, spectra = mosaic_towns(streams[8], scene, spectra, doy, moisture, regional)
    clouds = CloudField.draw(rng_clouds, side, date_covers(rng_clouds, len(dates), cloud_fraction))
    noise = apply_label_noise(rng_noise, scene, noise_rate)
    if realism.stale_register:
        apply_stale_register(streams[11], scene, noise, realism.stale_register)
    strip_rows = patch_size * max(1, 256 // patch_size)
    missed = realism.missed_clouds
    omissions = (
        MaskOmissions.draw(streams[7], side, len(dates), cloud_fraction, missed) if missed else None
    )
    renderer = Renderer.build(rng_render, surfaces, spectra, clouds, strip_rows, omissions)

    ids = [f"p{i:0{max(4, len(str(n_patches - 1)))}d}" for i in range(n_patches)]
    block = max(1, grid // 5)
    splits = spatial_split(
        {pid: (i % grid + 0.5, i // grid + 0.5) for i, pid in enumerate(ids)}, block, seed=seed
    )
    transform = Affine(PIXEL, 0.0, ORIGIN[0], 0.0, -PIXEL, ORIGIN[1])
    patches = PatchGrid(grid, patch_size, ids, transform)
    legend = builtin(NOMENCLATURE)
    reference = scene.reference

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        for sub in ("images", "labels", "clouds", "reference", "scene"):
            (tmp / sub).mkdir()
        write_labels(tmp / "scene" / "labels.tif", noise.labels, CRS, transform, legend.colormap())
        write_labels(tmp / "scene" / "reference.tif", reference, CRS, transform, legend.colormap())
        write_parcels(tmp / "scene" / "parcels.tif", scene.objects, CRS, transform)
        writer = DatasetWriter(
            tmp, patches, side, calendars, CRS, noise.labels, reference, legend.colormap(), progress
        )
        if progress:
            progress(0, n_patches)
        strip_seeds = np.random.SeedSequence(int(rng_strips.integers(2**63))).spawn(
            -(-side // strip_rows)
        )
        try:
            for y0, strip_seed in zip(range(0, side, strip_rows), strip_seeds, strict=True):
                y1 = min(side, y0 + strip_rows)
                writer.submit(y0, *renderer.strip(np.random.default_rng(strip_seed), y0, y1))
        finally:
            writer.close()
        counts = writer.counts
        patch_ref = patch_pixels(reference, grid, patch_size, n_patches)
        name = f"synthetic-oso-s{seed}"
        settings = {
            "name": "sitslab synth",
            "seed": seed,
            "noise_rate": noise_rate,
            "cloud_fraction": cloud_fraction,
            **realism.recorded(),
            "year": year,
            "patch_size": patch_size,
            "n_patches": n_patches,
        }
        write_json(tmp / "manifest.json", manifest(name, ids, calendars, splits, grid, settings))
        truth = noise_truth(noise, reference, ids, grid, patch_size, noise_rate)
        write_json(tmp / "noise_truth.json", truth)
        if out_dir.exists():
            out_dir.rmdir()
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    by_split: dict[str, int] = {}
    for a in splits.values():
        by_split[a.split] = by_split.get(a.split, 0) + 1
    return SynthSummary(
        out_dir=out_dir,
        name=name,
        n_patches=n_patches,
        patch_size=patch_size,
        side=side,
        dates=dates,
        class_pixels={
            int(c): int(n) for c, n in enumerate(np.bincount(patch_ref, minlength=24)) if n
        },
        cloud_fraction=float(counts[0] / counts[2]),
        shadow_fraction=float(counts[1] / counts[2]),
        n_parcels=noise.eligible,
        altered_class=sum(a["kind"] == "class" for a in noise.altered),
        altered_boundary=sum(a["kind"] == "boundary" for a in noise.altered),
        altered_stale=sum(a["kind"] == "stale" for a in noise.altered),
        seconds=time.perf_counter() - started,
        splits=by_split,
    )


def _check_arguments(
    out_dir: Path,
    n_patches: int,
    patch_size: int,
    n_dates: int,
    noise_rate: float,
    cloud_fraction: float,
) -> None:
    if n_patches < 1:
        raise ValueError(f"n_patches must be at least 1, got {n_patches}")
    check_within("patch_size", patch_size, 16, 1024, " pixels")
    check_within("n_dates", n_dates, 2, MAX_DATES)
    check_within("noise_rate", noise_rate, 0.0, 0.5)
    check_within("cloud_fraction", cloud_fraction, 0.0, 0.9)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ValueError(f"{out_dir} already exists and is not an empty folder; choose a new one")
