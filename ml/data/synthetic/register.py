"""A crop register a year out of date over part of the scene: systematic label errors.

OSO's crop labels come from the farmers' declarations (the RPG, France's parcel register),
published with a delay; where a region's labels come from the previous year's register,
every parcel there carries the crop it grew the year before, which crop rotations make a
different one for most (straw cereals after rapeseed, sunflower or maize; rapeseed and
summer crops after cereals) while monocultures keep theirs (maize after maize, rice,
meadows left down). Unlike the random noise of ``noise``, these errors are systematic:
confined to one region, the same for every parcel of a class there, and between crops
that look nothing alike (a cereal label on a maize field).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import find_objects

from ml.data.synthetic.noise import LabelNoise, bounds
from ml.data.synthetic.regions import RegionalShift
from ml.data.synthetic.scene import PARCEL, Scene

PREVIOUS_CROP: dict[int, tuple[int, ...]] = {
    5: (6,),  # rapeseed is sown after a straw cereal
    6: (5, 9, 10, 7, 8, 6),  # straw cereals after a break crop, or after a cereal
    7: (6,),  # protein crops after a cereal
    8: (10, 6),  # soy after maize or a cereal
    9: (6,),  # sunflower after a cereal
    10: (10, 10, 8, 6),  # maize half the time after maize (South-West monoculture)
    12: (6,),  # tubers after a cereal
    13: (13, 13, 13, 6),  # meadows mostly stay down, some are sown after a cereal
}
"""This year's crop → the crops grown the year before (drawn uniformly, repeats weigh)."""


def stale_region(rng: np.random.Generator, scene: Scene, share: float) -> np.ndarray:
    """(objects,) bool: the objects whose centroid lies in one smooth region of the scene
    covering about ``share`` of it (the top ``share`` of a smooth random field)."""
    side = scene.objects.shape[0]
    field = RegionalShift.draw(rng, side, 1.0)
    count = len(scene.classes)
    values = field.of_objects(scene.objects, 0, count)
    present = np.bincount(scene.objects.ravel(), minlength=count) > 0
    return present & (values >= np.quantile(field.lattice, 1.0 - share))


def apply_stale_register(
    rng: np.random.Generator, scene: Scene, noise: LabelNoise, share: float
) -> None:
    """Give the crop parcels of a region covering ``share`` of the scene last year's crop.

    Edits ``noise.labels`` in place and records each changed parcel in ``noise.altered``
    (kind "stale"); parcels the random noise already gave a wrong class keep it, and the
    pixels a neighbour's shifted boundary spilled onto keep the neighbour's label.
    """
    region = stale_region(rng, scene, share)
    wrong_already = {a["parcel"] for a in noise.altered if a["kind"] == "class"}
    boxes = find_objects(scene.objects + 1)
    for obj in np.flatnonzero(region & (scene.kinds == PARCEL)):
        true = int(scene.classes[obj])
        if true not in PREVIOUS_CROP or int(obj) in wrong_already:
            continue
        previous = int(rng.choice(PREVIOUS_CROP[true]))
        if previous == true:
            continue
        box = boxes[obj]
        window = noise.labels[box]
        own = (scene.objects[box] == obj) & (window == true)
        if not own.any():
            continue
        window[own] = previous
        noise.altered.append(
            {
                "parcel": int(obj),
                "kind": "stale",
                "true": true,
                "noisy": previous,
                "changed_pixels": int(own.sum()),
                "box": bounds(box, 0, noise.labels.shape),
            }
        )
