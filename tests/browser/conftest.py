"""Browser-test fixtures: where the pages' screenshots go."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """docs/ under ``make screenshots`` (SITSLAB_SCREENSHOTS=1), else the test's own folder.

    The README shows these pages; a plain test run still takes the screenshots (a page
    that cannot render fails there) but leaves the committed images alone.
    """
    return DOCS if os.environ.get("SITSLAB_SCREENSHOTS") == "1" else tmp_path
