"""An admin adds a dataset from the dashboard's form, in a real browser."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.api.test_datasets import _zip
from tests.conftest import browser_login


def test_admin_ingests_a_zip_from_the_dashboard(
    page, make_user, synthetic_source: Path, tmp_path: Path
) -> None:
    make_user("boss", "admin")
    good = tmp_path / "good.zip"
    good.write_bytes(_zip(synthetic_source))
    broken_folder = tmp_path / "broken"
    shutil.copytree(synthetic_source, broken_folder)
    next((broken_folder / "images").glob("*.tif")).write_bytes(b"garbage")
    broken = tmp_path / "broken.zip"
    broken.write_bytes(_zip(broken_folder))

    browser_login(page, "boss")
    page.set_input_files("#ingest-form input[type=file]", str(broken))
    page.check("#ingest-form input[name=strict]")
    page.fill("#ingest-form input[name=name]", "from-browser")
    page.click("#ingest-form button[type=submit]")
    page.wait_for_selector("#ingest-result .error")
    assert "Strict ingest refused" in page.inner_text("#ingest-result")
    assert "p000" in page.inner_text("#ingest-result")

    page.set_input_files("#ingest-form input[type=file]", str(good))
    page.click("#ingest-form button[type=submit]")
    page.wait_for_selector("#ingest-result >> text=4 patch(es) added")
    page.wait_for_selector(".card.dataset >> text=from-browser")
    assert "4 patches" in page.inner_text(".card.dataset")
