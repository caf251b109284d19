"""Quality control in headless chromium: an admin creates a campaign with the form, two
annotators' work shows on their dashboard, a reviewer reads the agreement, settles a
disagreement side by side, and exports."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from backend import db
from backend.models import Campaign, Dataset, LabelRevision, Patch
from backend.services.ingest import ingest
from backend.services.labels import current_revision, read_revision
from ml.data import synthetic
from tests.conftest import browser_login
from tests.quality_data import two_annotator_campaign

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def work(tmp_path: Path, make_user, live_server: str) -> dict:  # noqa: ANN001
    """Five ingested synthetic patches (real parcels), decided by two annotators."""
    make_user("admin", "admin")
    make_user("rev", "reviewer")
    synthetic.generate(tmp_path / "src", n_patches=5, patch_size=48, n_dates=8, seed=5)
    with db.get_sessionmaker()() as session:
        report = ingest(session=session, path=tmp_path / "src", format="geotiff")
        world = two_annotator_campaign(session, make_user, session.get(Dataset, report.dataset_id))
        return {
            "campaign": world["campaign"].id,
            "dataset": world["dataset"].name,
            "patches": [p.id for p in world["patches"]],
            "mask_b": world["mask_b"],
            "gold": world["patches"][1].external_id,
            "train": world["patches"][0].split,
        }


def _switch(page, username: str) -> None:  # noqa: ANN001
    page.context.clear_cookies()
    browser_login(page, username)


def test_campaign_agreement_adjudication_export(page, work: dict, screenshots: Path) -> None:  # noqa: ANN001
    # An admin creates a second campaign with the form (overlap 1, gold by external id).
    browser_login(page, "admin")
    page.goto("/campaigns")
    page.fill("#campaign-form input[name=name]", "second pass")
    page.fill("#campaign-form input[name=overlap]", "1")
    page.fill("#campaign-form input[name=split]", work["train"])
    page.fill("#campaign-form textarea[name=gold]", f"{work['gold']} accept")
    page.click("#campaign-form button[type=submit]")
    page.wait_for_url("**/campaigns/*")
    assert "second pass" in page.text_content("h1")
    with db.get_sessionmaker()() as session:
        assert session.scalar(select(Campaign).where(Campaign.name == "second pass")) is not None
    # A refused form says why and stays on the page.
    page.goto("/campaigns")
    page.fill("#campaign-form input[name=name]", "too many")
    page.fill("#campaign-form input[name=overlap]", "9")
    page.click("#campaign-form button[type=submit]")
    page.wait_for_selector("#campaign-error:has-text('Overlap')")

    # An annotator sees their own progress on the dashboard, and the review page opens.
    _switch(page, "annotator_a")
    page.goto("/")
    row = page.locator(
        f".campaign[data-campaign-id='{work['campaign']}'] tr[data-annotator=annotator_a]"
    )
    assert (
        row.locator("td.done").text_content() == "5"
        and row.locator("td.remaining").text_content() == "0"
    )
    assert page.locator("tr[data-annotator=annotator_b]").count() == 0
    page.goto("/review")
    page.wait_for_load_state("networkidle")

    # The reviewer reads the agreement and the disagreements.
    _switch(page, "rev")
    page.goto(f"/campaigns/{work['campaign']}")
    assert page.locator("table.progress tr[data-annotator]").count() == 2
    page.click("text=agreement and disagreements")
    page.wait_for_url(f"**/campaigns/{work['campaign']}/agreement")
    assert page.text_content("#fleiss") == "0.375"
    assert page.locator("#disagreements tbody tr").count() == 3
    page.screenshot(path=str(screenshots / "agreement.png"), full_page=True)

    # ... opens the patch whose two corrections differ and keeps annotator_b's mask.
    disputed = work["patches"][2]
    page.click(f"#disagreements tr[data-patch-id='{disputed}'] a.adjudicate")
    page.wait_for_url(f"**/adjudication/{disputed}?campaign={work['campaign']}")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.version img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.locator(".version").count() == 3  # the original and both annotators
    page.fill("#adj-comment", "the hedge is on annotator_b's side")
    page.screenshot(path=str(screenshots / "adjudication.png"), full_page=True)
    page.locator(".version", has_text="annotator_b").locator("button.keep").click()
    page.wait_for_selector("#adj-result[data-settled=corrected]")
    assert page.text_content("#patch-status") == "corrected"
    with db.get_sessionmaker()() as session:
        patch = session.get(Patch, disputed)
        final = current_revision(session=session, patch_id=disputed)
        assert patch.status == "corrected" and final.source == "adjudication"
        assert np.array_equal(read_revision(final), work["mask_b"])
        assert (
            session.scalar(select(LabelRevision).where(LabelRevision.source == "adjudication"))
            == final
        )
    page.goto(f"/campaigns/{work['campaign']}/agreement")
    assert (
        "settled" in page.locator(f"#disagreements tr[data-patch-id='{disputed}']").text_content()
    )

    # ... and exports; the zip holds the settled status.
    page.goto("/campaigns")
    page.select_option("#export-form select[name=dataset]", work["dataset"])
    page.click("#export-form button[type=submit]")
    link = page.wait_for_selector("#export-link")
    response = page.request.get(link.get_attribute("href"))
    assert response.status == 200
    with zipfile.ZipFile(io.BytesIO(response.body())) as zf:
        patches_csv = zf.read("patches.csv").decode()
        assert {"validation.gpkg", f"labels/{work['dataset']}/manifest.json"} <= set(zf.namelist())
    assert "corrected" in patches_csv
