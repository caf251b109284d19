"""The generator's realism options: each makes the scene hard the way real data is.

Each option models one way real Sentinel-2 series and their reference labels differ from
the generator's plain scene (docs/data-format.md). Every default leaves the generated
bytes as they were before the option existed, and ``recorded`` lists in the manifest
only the options that are on, so that datasets made without them read as before.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ml.data.synthetic.checks import check_within
from ml.data.synthetic.clouds import MAX_MISSED_CLOUDS
from ml.data.synthetic.orbits import MAX_ORBITS
from ml.data.synthetic.regions import MAX_SHIFT_SD


@dataclass(frozen=True)
class Realism:
    """What the generator adds to the plain scene; checked when made."""

    missed_clouds: float = 0.0
    """Share of cloud contamination the masks miss (thin clouds, shadows), 0..0.5."""
    urban_mosaic: bool = False
    """Towns as mosaics of roofs, streets, lawns and trees rather than one look per class."""
    orbits: int = 1
    """Relative orbits acquiring the scene, each on its own calendar, 1..4."""
    phenology_shift: float = 0.0
    """Days (standard deviation over the scene) by which seasons shift between regions."""
    stale_register: float = 0.0
    """Share of the scene whose crop labels come from last year's register, 0..1."""

    def __post_init__(self) -> None:
        check_within("missed_clouds", self.missed_clouds, 0.0, MAX_MISSED_CLOUDS)
        check_within("orbits", self.orbits, 1, MAX_ORBITS)
        check_within("phenology_shift", self.phenology_shift, 0.0, MAX_SHIFT_SD, " days")
        check_within("stale_register", self.stale_register, 0.0, 1.0)

    def recorded(self) -> dict[str, Any]:
        """The options that are not at their default, for the manifest's ``generator``."""
        values = {f.name: (getattr(self, f.name), f.default) for f in fields(self)}
        return {name: value for name, (value, default) in values.items() if value != default}
