"""The OSO Random Forest baseline: the public API.

OSO, France's yearly 10 m land-cover map (Inglada et al., Remote Sensing 9(1):95, 2017),
is made by CESBIO's iota2 chain with a Random Forest over gap-filled Sentinel-2 series.
sitslab reproduces that protocol so that U-BARN is compared with the real baseline:

- `features(series, dates, bands)`: gap-filled reflectances + NDVI, NDWI, brightness per
  date of a regular 10-day grid (ml.rf_features, ml.gapfill);
- `fit(X, y, **params)`, `sample_pixels(labels, ...)`: OSO's forest parameters and
  per-class capped sampling (ml.rf_model);
- `train_run(ctx, snapshot=..., config=...)`: a whole run on a training-set snapshot
  (ml.rf_train);
- `load_predictor(run_dir)`: the run as a map Predictor (ml.rf_predictor);
- `oof_label_suspicion(X, y, groups)`: out-of-fold label suspicion per patch, for the
  review queue (ml.rf_suspicion).

Everything works on plain numpy arrays, so the baseline runs on data from outside the app;
importing this module does not load the snapshot readers (nor torch, which they bring).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ml.context import JobContext
from ml.gapfill import common_grid, gapfill, regular_grid
from ml.rf_features import clear_date_count, feature_names, features
from ml.rf_model import OSO_PARAMS, fit, load_model, sample_pixels, save_model, vote_share
from ml.rf_predictor import RFPredictor, load_predictor
from ml.rf_suspicion import oof_label_suspicion

__all__ = [
    "OSO_PARAMS",
    "RFPredictor",
    "clear_date_count",
    "common_grid",
    "feature_names",
    "features",
    "fit",
    "gapfill",
    "load_model",
    "load_predictor",
    "oof_label_suspicion",
    "regular_grid",
    "sample_pixels",
    "save_model",
    "train_run",
    "vote_share",
]


def train_run(ctx: JobContext, *, snapshot: Path | None, config: dict[str, Any]) -> dict[str, Any]:
    """Train and evaluate OSO's forest on a training-set snapshot (see ml.rf_train.train_run)."""
    from ml.rf_train import train_run as run

    return run(ctx, snapshot=snapshot, config=config)
