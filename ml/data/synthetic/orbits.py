"""Acquisition calendars per relative orbit: patches of one scene seen on different dates.

Sentinel-2 images a place from one or two relative orbits, each with its own calendar
(a 5-day revisit, thinned by cloud filtering), so real training patches from several
tiles do not share dates, and tiles where two swaths overlap have about twice as many.
OSO's forest gap-fills every series onto one regular grid, interpolating across each
calendar's own gaps; U-BARN encodes each series' actual dates. With ``n_orbits`` > 1 the
scene is cut into that many vertical swaths, each with its own calendar; a patch column
whose centre lies within ``SWATH_OVERLAP`` of a boundary is seen by both orbits. The scene
is rendered on the union of the calendars and each patch keeps the dates of its orbits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

SWATH_OVERLAP = 0.1
"""Half-width of the overlap of two neighbouring swaths, as a share of the scene width."""
MAX_ORBITS = 4


@dataclass(frozen=True)
class Calendars:
    """The scene's dates (union of the orbits' calendars) and each patch column's share."""

    dates: list[date]
    column_dates: list[np.ndarray]
    """Per patch column: sorted indices into ``dates`` of the dates its orbits acquire."""
    column_orbits: list[list[int]]
    """Per patch column: the orbits whose swath covers it."""

    def dates_of(self, col: int) -> list[date]:
        """The dates acquired over patch column ``col``."""
        return [self.dates[t] for t in self.column_dates[col]]

    @property
    def shared(self) -> bool:
        """Whether one orbit acquires the whole scene (every patch on the same dates)."""
        return all(orbits == [0] for orbits in self.column_orbits)


def swath_orbits(col: int, grid: int, n_orbits: int) -> list[int]:
    """Orbits whose swath covers the centre of patch column ``col`` of a ``grid``-wide scene."""
    x = (col + 0.5) / grid
    return [
        k
        for k in range(n_orbits)
        if k / n_orbits - SWATH_OVERLAP <= x <= (k + 1) / n_orbits + SWATH_OVERLAP
    ]


def orbit_calendars(
    rngs: list[np.random.Generator],
    draw_dates: Callable[[np.random.Generator], list[date]],
    grid: int,
) -> Calendars:
    """One calendar per generator of ``rngs`` (``draw_dates(rng)``), shared out by swath."""
    calendars = [draw_dates(rng) for rng in rngs]
    dates = sorted(set().union(*calendars))
    position = {d: i for i, d in enumerate(dates)}
    orbits = [swath_orbits(col, grid, len(rngs)) for col in range(grid)]
    column_dates = [
        np.array(sorted({position[d] for k in ks for d in calendars[k]}), dtype=np.int64)
        for ks in orbits
    ]
    return Calendars(dates, column_dates, orbits)
