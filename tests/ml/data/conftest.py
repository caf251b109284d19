"""Tiny synthetic datasets, generated once per session and copied for tests that damage them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ml.data.synthetic import generate, write_pastis

TINY = {"n_patches": 4, "patch_size": 32, "n_dates": 6, "seed": 7}


@pytest.fixture(scope="session")
def geotiff_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid 4-patch GeoTIFF-layout dataset (do not modify: copy it)."""
    out = tmp_path_factory.mktemp("template") / "geotiff"
    generate(out, **TINY)
    return out


@pytest.fixture(scope="session")
def pastis_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid 4-patch PASTIS-layout dataset (do not modify: copy it)."""
    out = tmp_path_factory.mktemp("template") / "pastis"
    write_pastis(out, **TINY)
    return out


@pytest.fixture
def geotiff_dataset(geotiff_template: Path, tmp_path: Path) -> Path:
    """A private copy of the GeoTIFF template that a test may break."""
    return Path(shutil.copytree(geotiff_template, tmp_path / "geotiff"))


@pytest.fixture
def pastis_dataset(pastis_template: Path, tmp_path: Path) -> Path:
    """A private copy of the PASTIS template that a test may break."""
    return Path(shutil.copytree(pastis_template, tmp_path / "pastis"))
