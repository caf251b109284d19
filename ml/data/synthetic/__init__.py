"""A synthetic OSO benchmark: Sentinel-2 time series of a made-up scene near Toulouse.

Real data cannot be downloaded everywhere sitslab runs, so models are told apart on a
scene whose truth is known: parcels with per-class phenology, clouds and shadows with
their mask, and label noise whose truth is kept aside. ``generate`` writes the GeoTIFF
layout, ``write_pastis`` the same data in the PASTIS layout. See docs/data-format.md.
"""

from ml.data.synthetic.generator import SynthSummary, acquisition_dates, generate
from ml.data.synthetic.pastis import to_pastis, write_pastis

__all__ = ["SynthSummary", "acquisition_dates", "generate", "to_pastis", "write_pastis"]
