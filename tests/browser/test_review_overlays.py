"""The review page's overlay picker in headless chromium: a run's prediction and agreement."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from backend import db
from backend.models import Patch
from backend.services.ingest import ingest
from tests.conftest import browser_login
from tests.review_factory import assign
from tests.run_factory import add_run, train_tiny_rf

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def world(tmp_path: Path, data_dir: Path, synthetic_source: Path, make_user, live_server):  # noqa: ANN001, ANN201
    """The tiny synthetic patches in ann's queue, and a trained RF run."""
    user = make_user("ann")
    rf_dir = train_tiny_rf(tmp_path / "rf")
    with db.get_sessionmaker()() as session:
        ingest(session=session, path=synthetic_source, format="geotiff")
        patches = list(session.scalars(select(Patch).order_by(Patch.id)))
        assign(session, patches, user.id)
        run = add_run(session, data_dir, "rf-tiny", rf_dir)
        return {"patch": patches[0].id, "run": run.id}


def test_overlay_picker_shows_a_run_prediction_and_cycles_with_m(page, world) -> None:  # noqa: ANN001
    browser_login(page, "ann")
    page.goto("/review")
    page.wait_for_selector("#review[data-ready=true]")
    option = f"run:{world['run']}"
    page.wait_for_selector(f"#overlay-select option[value='{option}']", state="attached")
    label_src = page.get_attribute("#img-label", "src")
    assert "/labels/" in label_src

    page.select_option("#overlay-select", option)
    prediction = f"/api/v1/patches/{world['patch']}/predictions/{world['run']}.png"
    page.wait_for_function(
        "url => document.getElementById('img-label').src.endsWith(url)", arg=prediction
    )
    page.wait_for_function("document.getElementById('img-label').naturalWidth > 0")
    page.wait_for_function(
        "/% agree with the label/.test(document.getElementById('overlay-agreement').textContent)"
    )
    assert page.is_visible("#img-label")

    # 'o' hides whichever overlay is chosen; 'm' cycles back to the label revision.
    page.keyboard.press("o")
    assert page.is_hidden("#img-label")
    page.keyboard.press("m")
    assert page.input_value("#overlay-select") == "label"
    assert page.get_attribute("#img-label", "src") == label_src
    assert page.is_visible("#img-label")
    assert page.text_content("#overlay-agreement") == ""
