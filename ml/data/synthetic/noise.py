"""Label noise with its truth kept aside, so label-error detection can be scored.

Two kinds of error that photo-interpreters and crop registers really make: a whole
parcel declared as a plausible wrong class (maize declared as soy, a meadow as natural
grassland), and a boundary drawn a few pixels off (the parcel's label spills over its
neighbour on one side). A fraction ``noise_rate`` of the parcels get the first kind,
``noise_rate / 2`` others the second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.ndimage import find_objects

from ml.data.synthetic.checks import check_within
from ml.data.synthetic.scene import PARCEL, Scene

CONFUSIONS: dict[int, tuple[int, ...]] = {
    1: (2, 3), 2: (1, 3, 13), 3: (2, 1), 4: (3, 2),
    5: (6, 7), 6: (5, 7, 13), 7: (6, 5), 8: (10, 9), 9: (10, 8), 10: (8, 9, 11),
    11: (10, 23), 12: (10, 9), 13: (18, 6, 14), 14: (15, 13), 15: (14, 13),
    16: (17, 19), 17: (16, 19), 18: (13, 19), 19: (18, 16), 20: (21, 3), 21: (20, 18),
    22: (20,), 23: (11, 13),
}  # fmt: skip
MIN_PIXELS = 20  # parcels smaller than this are never altered (too little to see)


@dataclass
class LabelNoise:
    """The noisy label raster and, per altered parcel, what was done to it."""

    labels: np.ndarray
    altered: list[dict[str, Any]] = field(default_factory=list)
    eligible: int = 0


def apply_label_noise(rng: np.random.Generator, scene: Scene, noise_rate: float) -> LabelNoise:
    """Alter the class of round(rate * n) eligible parcels, the boundary of round(rate / 2 * n)."""
    check_within("noise_rate", noise_rate, 0.0, 0.5)
    reference = scene.reference
    labels = reference.copy()
    pixels = np.bincount(scene.objects.ravel(), minlength=len(scene.classes))
    eligible = np.flatnonzero((scene.kinds == PARCEL) & (pixels >= MIN_PIXELS))
    n_class = int(round(noise_rate * len(eligible)))
    n_shift = min(int(round(noise_rate / 2 * len(eligible))), len(eligible) - n_class)
    chosen = rng.permutation(eligible)
    boxes = find_objects(scene.objects + 1)
    noise = LabelNoise(labels=labels, eligible=len(eligible))
    for obj in chosen[:n_class]:
        true = int(scene.classes[obj])
        wrong = int(rng.choice(CONFUSIONS[true]))
        box = boxes[obj]
        labels[box][scene.objects[box] == obj] = wrong
        noise.altered.append(
            {
                "parcel": int(obj),
                "kind": "class",
                "true": true,
                "noisy": wrong,
                "changed_pixels": int(pixels[obj]),
                "box": bounds(box, 0, labels.shape),
            }
        )
    for obj in chosen[n_class : n_class + n_shift]:
        dy, dx = _shift(rng)
        changed = _grow(
            labels, scene.objects, boxes[obj], int(obj), int(scene.classes[obj]), dy, dx
        )
        noise.altered.append(
            {
                "parcel": int(obj),
                "kind": "boundary",
                "true": int(scene.classes[obj]),
                "noisy": int(scene.classes[obj]),
                "shift": [dy, dx],
                "changed_pixels": int(changed),
                "box": bounds(boxes[obj], 3, labels.shape),
            }
        )
    return noise


def bounds(box: tuple[slice, slice], pad: int, shape: tuple[int, ...]) -> list[int]:
    """[row0, row1, col0, col1] (end exclusive) of a bounding box grown by ``pad`` pixels."""
    return [
        max(0, box[0].start - pad),
        min(shape[0], box[0].stop + pad),
        max(0, box[1].start - pad),
        min(shape[1], box[1].stop + pad),
    ]


def _shift(rng: np.random.Generator) -> tuple[int, int]:
    magnitude = int(rng.integers(1, 4))
    dy, dx = [(magnitude, 0), (-magnitude, 0), (0, magnitude), (0, -magnitude)][rng.integers(4)]
    return dy, dx


def _grow(
    labels: np.ndarray,
    objects: np.ndarray,
    box: tuple[slice, slice],
    obj: int,
    code: int,
    dy: int,
    dx: int,
) -> int:
    """Paint the parcel's class over the pixels its outline moves onto; returns how many."""
    y0, y1, x0, x1 = bounds(box, 3, objects.shape)
    inside = objects[y0:y1, x0:x1] == obj
    moved = np.zeros_like(inside)
    src_y, dst_y = (
        (slice(0, inside.shape[0] - dy), slice(dy, None))
        if dy >= 0
        else (slice(-dy, None), slice(0, dy))
    )
    src_x, dst_x = (
        (slice(0, inside.shape[1] - dx), slice(dx, None))
        if dx >= 0
        else (slice(-dx, None), slice(0, dx))
    )
    moved[dst_y, dst_x] = inside[src_y, src_x]
    window = labels[y0:y1, x0:x1]
    spill = moved & ~inside & (window != code)
    window[spill] = code
    return int(spill.sum())
